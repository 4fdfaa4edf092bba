"""The fuzz generator is deterministic and covers what issue 14 lists; every generated reply meets
the real parsers and raises nothing but their own error (the fast, device-free half of the fuzz
run; tests/e2e/test_fuzz_replies.py runs the same cases through the whole loop)."""

from __future__ import annotations

import math
import re
from collections import Counter

import pytest

from grounding.coord_parse import parse_point
from guiagent.eval.fuzz_cases import BIG, FuzzCase, generate_cases
from guiagent.planning.dpot import parse_plan_reply
from guiagent.planning.prompting import parse_json_reply, parse_reply_action
from guiagent.planning.react import _parse as parse_react
from guiagent.schema.errors import PlanParseError

CASES = generate_cases(seed=0, n=1000)


def test_same_seed_same_cases_other_seed_other_cases() -> None:
    assert generate_cases(seed=0, n=1000) == CASES
    assert generate_cases(seed=1, n=1000) != CASES
    assert [c.id for c in CASES] == list(range(1000))


def test_the_cases_cover_the_issue_list() -> None:
    families = Counter(c.family for c in CASES)
    for family in ("truncated", "prose", "empty", "unknown_type", "missing_field", "wrong_type",
                   "huge_or_nan_point", "extra_field", "nested_garbage", "unicode_junk", "array",
                   "many_actions", "hostile", "plan", "location", "http_body", "10MB"):
        assert families[family] > 0, family
    assert Counter(c.slot for c in CASES).keys() == {"react", "dpot_plan", "dpot_act", "grounder", "autoui"}
    big = [c for c in CASES if len(c.reply) >= BIG]
    assert 1 <= len(big) <= 8  # a few, so the run stays fast
    replies = "\n".join(c.reply for c in CASES if len(c.reply) < BIG)
    for needle in ("NaN", "Infinity", "1e308", "1" + "0" * 400, "ignore previous instructions", "```json", "\ufeff",
                   "@PT:DELETE@", "@ID:PAY@", "@K:DELETE@"):
        assert needle in replies, needle
    judged = [c for c in CASES if c.expect == "judge"]
    assert sum(bool(c.sensitive) for c in judged) >= 50
    assert sum(c.sensitive is False for c in judged) >= 20  # benign ones too: a guard that refuses all fails


def _planner_parse(case: FuzzCase) -> None:
    """What the planner does with the reply text (raw HTTP bodies are the chat client's business)."""
    reply = case.reply.replace("@", "")  # tokens left unfilled: still text to parse
    if case.slot == "react":
        parse_react(reply, (360, 640))
    elif case.slot == "dpot_act":
        parse_reply_action(parse_json_reply(reply), reply, (360, 640))
    else:
        parse_plan_reply(reply)


@pytest.mark.parametrize("slot", ["react", "dpot_act", "dpot_plan"])
def test_every_planner_reply_parses_or_raises_plan_parse_error(slot: str) -> None:
    seen = 0
    for case in CASES:
        if case.slot != slot or case.raw_body or len(case.reply) >= BIG:
            continue
        seen += 1
        try:
            _planner_parse(case)
        except PlanParseError as exc:
            assert str(exc) and len(str(exc)) < 2000, case
        else:
            assert case.expect == "judge", f"case {case.id} ({case.family}) parsed: {case.reply[:200]!r}"
    assert seen > 50


def test_every_grounder_reply_parses_or_raises_plan_parse_error() -> None:
    for case in CASES:
        if case.slot != "grounder" or case.raw_body or len(case.reply) >= BIG:
            continue
        text = case.reply.replace("@K:DELETE@", "300, 600").replace("@BOX:DELETE@", "40, 570, 590, 640")
        text = text.replace("@", "")
        try:
            point = parse_point(text, "norm1000")
        except PlanParseError as exc:
            assert str(exc), case
        else:
            assert math.isfinite(point.x) and 0 <= point.x <= 1 and 0 <= point.y <= 1


def test_chat_client_bugs_the_fuzz_found() -> None:
    """Bodies a broken or hostile endpoint can send: each is a ModelError, never another exception."""
    from openai_server import OpenAIServer, Reply

    from grounding.models.base import ChatMessage
    from grounding.models.openai_client import OpenAIChat
    from guiagent.schema.errors import ModelError

    bodies = {
        '{"id": ' + "7" * 5000 + "}": "not valid JSON",  # ValueError (int digits limit) escaped
        '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}": "not valid JSON",  # RecursionError escaped
    }
    with OpenAIServer() as srv:
        chat = OpenAIChat(base_url=srv.url, model="m", max_retries=0)
        for body, why in bodies.items():
            srv.push(Reply.raw(body))
            with pytest.raises(ModelError, match=why):
                chat.chat([ChatMessage("user", "hi")])
        # content parts with non-text items: TypeError escaped; usage of Infinity: OverflowError escaped
        srv.push(Reply.raw('{"choices": [{"message": {"content": [{"text": 5}, {"text": "ok"}]}}], '
                           '"usage": {"prompt_tokens": Infinity, "completion_tokens": -5}}'))
        reply = chat.chat([ChatMessage("user", "hi")])
        assert reply.text == "ok" and reply.usage_estimated and reply.usage.prompt_tokens >= 0
        chat.close()


def test_every_autoui_reply_decides_or_raises_plan_parse_error() -> None:
    from PIL import Image

    from guiagent.planning.autoui import AutoUIPlanner
    from guiagent.schema import Observation, TokenUsage

    obs = Observation(screenshot=Image.new("RGB", (36, 64)), elements=(), screen_size=(36, 64))
    cases = [c for c in CASES if c.slot == "autoui" and not c.raw_body]
    assert len(cases) > 20
    for case in cases:
        reply = re.sub(r"@YX:\w+@", "[0.6, 0.3]", case.reply)
        planner = AutoUIPlanner(lambda text, image, n, r=reply: (r, TokenUsage(calls=1)))
        try:
            planner.next("save the note", obs, [])
        except PlanParseError as exc:
            assert str(exc) and case.expect == "reject", case
        else:
            assert case.expect == "judge", f"case {case.id} decided: {reply[:200]!r}"
