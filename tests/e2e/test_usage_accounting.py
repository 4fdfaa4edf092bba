"""Tokens are data: planning and grounding tokens, including those of rejected attempts, reach
the step, the run result and the episode meta — counted against what a real HTTP model server
reported, not against the agent's own arithmetic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openai_server import OpenAIServer

from grounding.models.openai_client import OpenAIChat
from grounding.vlm import OpenAIGrounder
from guiagent.planning.react import ReActPlanner
from guiagent.runner import Run, RunOptions
from guiagent.schema import TokenUsage
from guiagent.schema.errors import GroundingError, PlanParseError

pytestmark = pytest.mark.usefixtures("xdisplay")

CLICK_OK = 'Thought: the OK button\nAction: {"type": "click", "target": "the OK button"}'
DONE = 'Thought: finished\nAction: {"type": "done", "status": "success"}'


@pytest.fixture(scope="module")
def desktop(xdisplay):
    from devices.x11.device import open_desktop

    dev = open_desktop("", a11y=False)
    yield dev
    dev.close()


def _run(desktop, srv: OpenAIServer, out: Path):
    chat = OpenAIChat(base_url=srv.url, model="test", max_retries=0)
    planner = ReActPlanner(chat, marks=False)
    grounder = OpenAIGrounder(OpenAIChat(base_url=srv.url, model="test", max_retries=0))
    run = Run("press OK", RunOptions(device="desktop", planner="react", grounder="openai", out=out, report=False,
                                     max_steps=4), device=desktop, planner=planner, grounder=grounder)
    return run.agent, run.execute()


def test_rejected_replies_and_grounding_tokens_reach_step_result_and_meta(desktop, tmp_path: Path) -> None:
    # step 0: a reply that does not parse, a click whose location the grounder model cannot
    # give, then done. Every one of those four model calls spent tokens.
    with OpenAIServer(["I would click OK.", CLICK_OK, "somewhere near the middle", DONE]) as srv:
        agent, result = _run(desktop, srv, tmp_path / "ep")
        sent = srv.usage_sent
    assert result.status == "success"
    assert sent.calls == 4 and sent.prompt_tokens > 0
    assert len(agent.history) == 1
    step = agent.history[0]
    assert (step.usage.prompt_tokens, step.usage.completion_tokens) == (sent.prompt_tokens, sent.completion_tokens)
    assert step.usage.calls == 4
    # the decision holds the planner's share only (three planner calls)
    assert step.decision is not None and step.decision.usage.calls == 3
    assert result.usage == step.usage
    meta = json.loads((tmp_path / "ep" / "meta.json").read_text())
    assert TokenUsage(**meta["usage"]) == result.usage
    lines = [json.loads(line) for line in (tmp_path / "ep" / "steps.jsonl").read_text().splitlines()]
    assert TokenUsage(**lines[0]["usage"]) == step.usage


def test_a_step_that_fails_keeps_the_tokens_it_spent(desktop, tmp_path: Path) -> None:
    # three unparsable replies fail step 0 (decide_retries = 2); step 1 is done
    with OpenAIServer(["no json here", "still none", "nope", DONE]) as srv:
        agent, result = _run(desktop, srv, tmp_path / "ep")
        sent = srv.usage_sent
    assert result.status == "success"
    failed, done = agent.history
    assert failed.outcome.status == "failed" and "no valid decision" in (failed.outcome.error or "")
    assert failed.usage.calls == 3 and failed.usage.prompt_tokens > 0
    assert failed.usage + done.usage == result.usage
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (sent.prompt_tokens, sent.completion_tokens)


def test_errors_declare_usage_instead_of_having_it_patched_on() -> None:
    spent = TokenUsage(prompt_tokens=10, completion_tokens=2, calls=1)
    err = PlanParseError("bad", raw="x", usage=spent)
    assert err.usage == spent and err.raw == "x"
    assert GroundingError("nothing").usage == TokenUsage()
    assert GroundingError("nothing").with_usage(spent).usage == spent
