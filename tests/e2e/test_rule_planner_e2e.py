"""The rule planner end to end: the real loop, the real Qt demo form on Xvfb, real input,
AT-SPI + OCR perception and the text grounder; the form's own submission is the judge."""

from __future__ import annotations

from devices.x11.xvfb import VirtualDisplay
from guiagent.demo import run_demo
from guiagent.events import AgentEvent, Decided
from guiagent.schema import Decision


def _run(task: str) -> tuple[dict | None, list[Decision], str]:
    decisions: list[Decision] = []

    def keep(ev: AgentEvent) -> None:
        if isinstance(ev, Decided):
            decisions.append(ev.decision)

    report = run_demo(task, subscribers=[keep])
    return report.submitted, decisions, report.result.status


def test_other_phrasing_with_a_radio_and_a_role_word(xdisplay: VirtualDisplay) -> None:
    submitted, decisions, status = _run(
        "Enter 'Grace Hopper' in the name field. Select Pro, tick Subscribe and press Submit.")
    assert status == "success"
    assert submitted == {"name": "Grace Hopper", "subscribe": True, "plan": "Pro"}
    assert [d.subgoal for d in decisions][:4] == [
        "type 'Grace Hopper' into name field", "select Pro", "tick Subscribe checkbox", "click Submit"]


def test_a_checkbox_already_ticked_is_not_clicked_again(xdisplay: VirtualDisplay) -> None:
    submitted, decisions, status = _run("tick Subscribe, then tick Subscribe again and click Submit")
    assert status == "success"
    assert submitted is not None and submitted["subscribe"] is True  # a second click would have cleared it
    assert len(decisions) == 3, [(d.subgoal, d.thought) for d in decisions]  # tick, submit, done: the second tick skipped
    assert "already on" in decisions[1].thought


def test_a_target_that_is_not_there_ends_honestly_after_one_rephrasing(xdisplay: VirtualDisplay) -> None:
    submitted, decisions, status = _run("click the 'Frobnicate' button")
    assert status == "failed" and submitted is None
    # the loop fed the grounding failure back: "the button 'Frobnicate'", then "Frobnicate", then give up
    final = decisions[-1].action
    assert final.type == "done" and final.status == "impossible" and "Frobnicate" in (final.answer or "")
