"""The rule planner's skills: one generator per sub-goal kind, yielding attempts (an action,
its other phrasing, its postcondition) and receiving what the screen shows after each.

    basic     click, focus, type, keys, scroll, apps, toggles, options
    search    find-and-click through tabs and collapsible sections, tree folders
    results   the Nth result of a list that may span pages
    choose    selection by meaning, drag and drop, drags in a direction
    colors    things named by their colour, every shade of a hue
    selection a paragraph's text highlighted by a drag
    slots     values for several labelled fields in one sentence
    text      autocomplete, copy and paste
    read      the Nth / last word (line, number) of a paragraph or text area, typed into a field
    widgets   sliders and spinners, set to a number and read back
    pickers   dates and times, drop-downs drawn as a box with an arrow
    interrupt popups that interrupt a sub-goal; a form's sole button
    verify    postconditions and their check
"""

from __future__ import annotations

from typing import assert_never

from guiagent.planning.instructions import (
    AutocompleteGoal,
    BackGoal,
    ClickGoal,
    ColorGoal,
    ComposeGoal,
    CopyGoal,
    DateTimeGoal,
    DragGoal,
    FinishFormGoal,
    FocusGoal,
    HighlightGoal,
    HomeGoal,
    KeyGoal,
    MenuGoal,
    NudgeGoal,
    OpenAppGoal,
    ReadGoal,
    ScrollGoal,
    SearchClickGoal,
    SelectGoal,
    SelectLikeGoal,
    SetToggleGoal,
    SliderGoal,
    SpinGoal,
    SubGoal,
    TypeGoal,
    WaitGoal,
    WithinGoal,
)
from guiagent.planning.skills import (
    basic,
    choose,
    colors,
    compose,
    menus,
    pickers,
    read,
    results,
    scrolling,
    search,
    selection,
    slots,
    text,
    widgets,
    within,
)
from guiagent.planning.skills.common import Attempt, Notes, Seen, Steps

__all__ = ["Attempt", "Notes", "Seen", "Steps", "run_goal"]


def run_goal(goal: SubGoal, seen: Seen, notes: Notes) -> Steps:
    """The attempts for `goal`, given the screen before it."""
    match goal:
        case ClickGoal() if results.wants(goal):
            yield from results.nth_result(goal, seen)
        case ClickGoal() if within.below(goal, seen, notes):
            yield from within.scroll_to(goal, seen, notes)
        case ScrollGoal(to_end=True):
            yield from scrolling.scroll_to_end(goal, seen)
        case ClickGoal() | FocusGoal() | KeyGoal() | ScrollGoal() | OpenAppGoal() | WaitGoal() | BackGoal() \
                | HomeGoal():
            yield from basic.simple(goal, seen)
        case FinishFormGoal():
            yield from slots.finish_form(seen)
        case TypeGoal() if slots.wants_slots(goal, seen.obs):
            yield from slots.slot_fill(goal, seen)
        case TypeGoal() if slots.relabelled(goal, seen.obs) is not None:
            yield slots.type_by_label(goal, seen)
        case TypeGoal():
            yield basic.typing(goal, seen)
        case SetToggleGoal():
            yield from basic.set_toggle(goal, seen, notes)
        case SelectGoal():
            yield from basic.select(goal, seen, notes)
        case SearchClickGoal():
            yield from search.search_click(goal, seen)
        case SelectLikeGoal():
            yield from choose.select_like(goal, seen, notes)
        case DragGoal():
            yield from choose.drag(goal, seen)
        case AutocompleteGoal():
            yield from text.autocomplete(goal, seen)
        case CopyGoal():
            yield from text.copy_paste(goal, seen, notes)
        case ReadGoal():
            yield from read.read_text(goal, seen, notes)
        case SliderGoal():
            yield from widgets.slider(goal, seen)
        case SpinGoal():
            yield from widgets.spinner(goal, seen)
        case DateTimeGoal():
            yield from pickers.datetime(goal, seen)
        case WithinGoal():
            yield from within.within_click(goal, seen, notes)
        case MenuGoal():
            yield from menus.through_menu(goal, seen)
        case ColorGoal():
            yield from colors.color_click(goal, seen, notes)
        case NudgeGoal():
            yield from choose.nudge(goal, seen, notes)
        case HighlightGoal():
            yield from selection.highlight(goal, seen, notes)
        case ComposeGoal():
            yield from compose.compose(goal, seen, notes)
        case _:
            assert_never(goal)
