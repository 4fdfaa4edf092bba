"""Structured outputs end to end: the planners and the VLM grounder, built through the registry,
talk through the real OpenAIChat client to the scripted server, which records each request's
dialect and schema and refuses the dialects a test tells it to."""

from __future__ import annotations

import json
import logging

import pytest
from openai_server import OpenAIServer, Reply
from PIL import Image

from grounding.models.openai_client import OpenAIChat
from guiagent.planning.react import JSON_TURN, ReActPlanner
from guiagent.planning.structured import PLAN_SCHEMA
from guiagent.registry import build_grounder, build_planner
from guiagent.schema import Click, Element, Key, Observation, Role, Target
from guiagent.schema.errors import ModelError, PlanParseError

TASK = "Tick Subscribe"
PLAN = '{"thought": "t", "next_step": "tick Subscribe", "remaining_plan": []}'


def screen() -> Observation:
    return Observation(screenshot=Image.new("RGB", (400, 300), "white"), screen_size=(400, 300), elements=(
        Element(id="3", role=Role.CHECKBOX, name="Subscribe", bbox=(10, 10, 120, 40)),
        Element(id="7", role=Role.BUTTON, name="Submit", bbox=(10, 60, 120, 90))))


def act(action: dict[str, object]) -> str:
    return json.dumps({"thought": "tick it", "action": action})


@pytest.mark.parametrize("mode", ["json_schema", "json_object", "ollama"])
def test_dpot_sends_each_dialect_with_the_plan_and_action_schemas(mode: str) -> None:
    with OpenAIServer([PLAN, act({"type": "click", "target": {"element": "3"}})]) as srv:
        planner = build_planner("dpot", base_url=srv.url, model="m", structured=mode, platform="linux")
        decision = planner.next(TASK, screen(), [])
        planner.close()
    assert decision.action == Click(target=Target(element="3"))
    plan_req, act_req = srv.requests
    assert [plan_req.dialect, act_req.dialect] == [mode, mode]
    assert plan_req.schema == PLAN_SCHEMA
    schema = act_req.schema
    assert schema is not None
    kinds = [a["properties"]["type"]["const"] for a in schema["properties"]["action"]["anyOf"]]
    assert "click" in kinds and "type" in kinds and "done" in kinds and "swipe" not in kinds  # a desktop
    assert schema["properties"]["action"]["anyOf"][0][
        "properties"]["target"]["anyOf"][0]["properties"] == {"element": {"type": "string", "enum": ["3", "7"]}}
    body = act_req.body
    if mode == "json_schema":
        assert body["response_format"]["json_schema"]["name"] == "dpot_action"
        assert body["response_format"]["json_schema"]["strict"] is False
    elif mode == "json_object":
        assert body["response_format"] == {"type": "json_object", "schema": schema}
    else:
        assert body["format"] == schema and "response_format" not in body


def test_off_sends_no_format_and_react_is_told_the_json_form_only_when_constrained() -> None:
    reply = act({"type": "click", "target": {"element": "7"}})
    with OpenAIServer([reply, reply]) as srv:
        off = build_planner("react", base_url=srv.url, model="m")
        off.next(TASK, screen(), [])
        on = build_planner("react", base_url=srv.url, model="m", structured="json_object", images=False)
        decision = on.next(TASK, screen(), [])
        off.close()
        on.close()
    plain, constrained = srv.requests
    assert plain.dialect is None and "response_format" not in plain.body and JSON_TURN not in plain.text
    assert constrained.dialect == "json_object" and JSON_TURN in constrained.text
    assert constrained.image_urls == [] and len(plain.image_urls) == 1  # images=False: text only
    assert decision.thought == "tick it" and decision.action == Click(target=Target(element="7"))


def test_auto_probes_once_and_falls_back_with_the_reason_logged(caplog: pytest.LogCaptureFixture) -> None:
    with OpenAIServer(lambda req: Reply.from_schema(), refuse={"json_schema"}, refuse_status=422) as srv:
        planner = build_planner("react", base_url=srv.url, model="m", structured="auto")
        with caplog.at_level(logging.WARNING):
            planner.next(TASK, screen(), [])
            planner.next(TASK, screen(), [])
        planner.close()
    assert [r.dialect for r in srv.requests] == ["json_schema", "json_object", "json_object"]  # probed once
    assert isinstance(planner, ReActPlanner) and isinstance(planner.model, OpenAIChat)
    assert planner.model.probe.fallbacks == [
        "json_schema refused (HTTP 422: response_format type 'json_schema' is not supported by this server); "
        "falling back to json_object"]
    assert "json_schema refused (HTTP 422" in caplog.text and "falling back to json_object" in caplog.text


def test_auto_ends_unconstrained_when_every_dialect_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    reply = f"Thought: tick it\nAction: {json.dumps({'type': 'click', 'target': '#3'})}"
    with OpenAIServer(lambda req: reply, refuse={"json_schema", "json_object"}, refuse_status=500) as srv:
        planner = build_planner("react", base_url=srv.url, model="m", structured="auto", max_retries=3)
        with caplog.at_level(logging.WARNING):
            decision = planner.next(TASK, screen(), [])
            planner.next(TASK, screen(), [])
        planner.close()
    # a refused format is not retried (not even a 500), and the probe is not repeated
    assert [r.dialect for r in srv.requests] == ["json_schema", "json_object", None, None]
    assert decision.action == Click(target=Target(element="3"))
    assert "json_object refused (HTTP 500" in caplog.text and "falling back to off" in caplog.text


def test_an_explicit_mode_the_endpoint_refuses_is_an_error_not_a_fallback() -> None:
    with OpenAIServer(lambda req: Reply.from_schema(), refuse={"json_schema"}) as srv:
        planner = build_planner("dpot", base_url=srv.url, model="m", structured="json_schema", max_retries=3)
        with pytest.raises(ModelError, match="HTTP 400: response_format type 'json_schema' is not supported"):
            planner.next(TASK, screen(), [])
        planner.close()
    assert len(srv.requests) == 1


def test_constrained_replies_are_still_validated() -> None:
    raw_newline = '{"thought": "the box\nis empty", "action": {"type": "click", "target": {"element": "3"}}}'
    modifier_last = act({"type": "key", "keys": ["s", "ctrl"]})  # fits the schema, not the action rules
    with OpenAIServer([raw_newline, modifier_last, act({"type": "key", "keys": ["ctrl", "s"]})]) as srv:
        planner = build_planner("react", base_url=srv.url, model="m", structured="json_object")
        decision = planner.next(TASK, screen(), [])
        assert decision.action == Click(target=Target(element="3"))  # the raw newline was repaired
        assert decision.thought == "the box\nis empty"
        with pytest.raises(PlanParseError, match="only the last key may be a non-modifier"):
            planner.next(TASK, screen(), [], feedback=None)
        retry = planner.next(TASK, screen(), [], feedback="only the last key may be a non-modifier")
        planner.close()
    assert retry.action == Key(keys=("ctrl", "s"))
    assert all(r.dialect == "json_object" for r in srv.requests)


@pytest.mark.parametrize("mode", ["json_schema", "json_object", "ollama"])
def test_the_vlm_grounder_asks_for_a_point_in_the_dialect(mode: str) -> None:
    with OpenAIServer(['{"point_2d": [500, 250]}']) as srv:
        grounder = build_grounder("openai", base_url=srv.url, model="m", structured=mode)
        result = grounder.ground("the Subscribe box", screen())
        grounder.close()
    (req,) = srv.requests
    assert req.dialect == mode and req.schema is not None and req.schema["required"] == ["point_2d"]
    assert (result.point.x, result.point.y) == (0.5, 0.25)  # the generic family's 0-1000 scale
