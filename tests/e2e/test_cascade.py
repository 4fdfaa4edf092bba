"""The cascade (`--planner rule+dpot`) end to end: the real Qt demo form on Xvfb, real input,
the scripted model server behind D-PoT. The rule planner types and submits; the clause it cannot
parse goes to the model, and the hand-off is on the step. The form's own submission is the judge,
and the tokens billed are compared with D-PoT alone doing the whole task on the same form."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from devices.x11.xvfb import VirtualDisplay
from guiagent.demo import _read_submission, demo_form
from guiagent.eval.scripted_server import ChatRequest, ScriptedChatServer
from guiagent.events import AgentEvent, Decided
from guiagent.planning.cascade import segment
from guiagent.runner import RunOptions, run_task
from guiagent.schema import Decision

TASK = "Type 'Ada Lovelace' into Name, make sure the newsletter box shows a tick, then click Submit"
EXPECTED = {"name": "Ada Lovelace", "subscribe": True}


def _model(actions: list[dict[str, Any]]) -> Any:
    """D-PoT's two calls per step: a plan (call 1), then the next scripted action (call 2)."""
    queue = list(actions)

    def reply(req: ChatRequest) -> str:
        if "Current step:" in req.text:
            return json.dumps({"thought": "next", "action": queue.pop(0)})
        return json.dumps({"thought": "plan", "next_step": "the next step", "remaining_plan": []})

    return reply


def _run(planner: str, actions: list[dict[str, Any]], tmp_path: Path) -> tuple[dict | None, list[Decision], int, str]:
    decisions: list[Decision] = []

    def keep(ev: AgentEvent) -> None:
        if isinstance(ev, Decided):
            decisions.append(ev.decision)

    out = tmp_path / f"{planner}.json"
    with ScriptedChatServer(_model(actions)) as srv, demo_form(out):
        options = RunOptions(device="desktop", planner=planner, grounder="text", max_steps=10, max_seconds=120,
                             planner_options={"base_url": srv.url, "model": "scripted", "api_key": "none",
                                              "max_retries": 0})
        result = run_task(TASK, options, subscribers=[keep])
        submitted = _read_submission(out)
        tokens = srv.usage_sent.prompt_tokens + srv.usage_sent.completion_tokens
    return submitted, decisions, tokens, result.status


def test_segments_send_only_the_unparsed_clause_to_the_model() -> None:
    assert [(s.kind, s.text) for s in segment(TASK)] == [
        ("rule", "Type 'Ada Lovelace' into Name"), ("model", "make sure the newsletter box shows a tick"),
        ("rule", "click Submit")]
    # a task the rule planner reads whole stays one rule segment, in its own words
    assert [(s.kind, s.text) for s in segment("Type 'Ada' into Name and tick Subscribe")] == [
        ("rule", "Type 'Ada' into Name and tick Subscribe")]


def test_rule_then_dpot_on_the_demo_form_costs_fewer_tokens_than_dpot(xdisplay: VirtualDisplay,
                                                                      tmp_path: Path) -> None:
    tick, done = {"type": "click", "target": "Subscribe checkbox"}, {"type": "done", "status": "success"}
    submitted, decisions, cascade_tokens, status = _run("rule+dpot", [tick, done], tmp_path)
    assert status == "success" and submitted is not None
    assert {k: submitted.get(k) for k in EXPECTED} == EXPECTED
    by = [d.planner for d in decisions]
    assert by[0] == "rule" and "dpot" in by and by[-1] == "rule", by
    handoffs = [d.handoff for d in decisions if d.handoff]
    assert len(handoffs) == 1 and "make sure the newsletter box" in handoffs[0]
    assert handoffs[0].startswith("rule -> dpot: ") and "can't parse" in handoffs[0]

    whole = [{"type": "type", "text": "Ada Lovelace", "target": "Name field"}, tick,
             {"type": "click", "target": "Submit button"}, done]
    submitted, decisions, dpot_tokens, status = _run("dpot", whole, tmp_path)
    assert status == "success" and submitted is not None
    assert {k: submitted.get(k) for k in EXPECTED} == EXPECTED
    assert all(d.planner in ("", "dpot") for d in decisions)
    # the model served 2 of 4 steps in the cascade, all 4 alone (D-PoT: two calls a step)
    assert 0 < cascade_tokens < dpot_tokens * 0.75, (cascade_tokens, dpot_tokens)
