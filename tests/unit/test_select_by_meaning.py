"""Selection by meaning: each example its own option (one-to-one, the highest total
similarity), and an honest refusal when an example's option is no clearer than another."""

from __future__ import annotations

import pytest
from test_rule_skills import el, needs_minilm, obs

from guiagent.planning.rule import RulePlanner
from guiagent.planning.skills.choose import pick_by_meaning
from guiagent.schema import Click, Role

pytestmark = needs_minilm


def test_each_example_gets_its_own_option() -> None:
    labels = ["start", "launch", "huge", "quiet"]
    picks = pick_by_meaning(("begin", "commence"), labels, "similar")
    assert not picks.unclear and sorted(labels[i] for i in picks.chosen) == ["launch", "start"]  # never shared
    assert [labels[i] for i in pick_by_meaning(("huge",), labels, "similar").chosen] == ["huge"]  # the word itself


@pytest.mark.parametrize("task", ["Select words similar to begin, depraved and click Submit.",
                                  "tick the options that mean begin and depraved, then press Submit"])
def test_a_weak_tie_is_ticked_and_said_to_be_a_guess(task: str) -> None:
    screen = obs(*(el(f"b{i}", Role.CHECKBOX, w, i, checked=False) for i, w in
                   enumerate(["launch", "calm", "evil", "quiet"])), el("s", Role.BUTTON, "Submit", 5))
    d = RulePlanner().next(task, screen, [])
    assert isinstance(d.action, Click)
    assert "a guess: no option is clearly closest to 'depraved'" in d.thought
