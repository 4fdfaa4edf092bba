"""The rule planner's skills: one generator per sub-goal kind, yielding attempts (an action,
its other phrasing, its postcondition) and receiving what the screen shows after each.

    basic     click, focus, type, keys, scroll, apps, toggles, options
    search    find-and-click through tabs and collapsible sections
    choose    selection by meaning, drag and drop
    slots     values for several labelled fields in one sentence
    text      autocomplete, copy and paste
    interrupt popups that interrupt a sub-goal; a form's sole button
    verify    postconditions and their check
"""

from __future__ import annotations

from typing import assert_never

from guiagent.planning.instructions import (
    AutocompleteGoal,
    BackGoal,
    ClickGoal,
    CopyGoal,
    DragGoal,
    FocusGoal,
    HomeGoal,
    KeyGoal,
    OpenAppGoal,
    ScrollGoal,
    SearchClickGoal,
    SelectGoal,
    SelectLikeGoal,
    SetToggleGoal,
    SubGoal,
    TypeGoal,
    WaitGoal,
)
from guiagent.planning.skills import basic, choose, search, slots, text
from guiagent.planning.skills.common import Attempt, Notes, Seen, Steps

__all__ = ["Attempt", "Notes", "Seen", "Steps", "run_goal"]


def run_goal(goal: SubGoal, seen: Seen, notes: Notes) -> Steps:
    """The attempts for `goal`, given the screen before it."""
    match goal:
        case ClickGoal() | FocusGoal() | KeyGoal() | ScrollGoal() | OpenAppGoal() | WaitGoal() | BackGoal() \
                | HomeGoal():
            yield from basic.simple(goal, seen)
        case TypeGoal() if slots.wants_slots(goal, seen.obs):
            yield from slots.slot_fill(goal, seen)
        case TypeGoal():
            yield basic.typing(goal, seen)
        case SetToggleGoal():
            yield from basic.set_toggle(goal, seen, notes)
        case SelectGoal():
            yield from basic.select(goal, seen, notes)
        case SearchClickGoal():
            yield from search.search_click(goal, seen)
        case SelectLikeGoal():
            yield from choose.select_like(goal, seen)
        case DragGoal():
            yield from choose.drag(goal, seen)
        case AutocompleteGoal():
            yield from text.autocomplete(goal, seen)
        case CopyGoal():
            yield from text.copy_paste(goal, seen, notes)
        case _:
            assert_never(goal)
