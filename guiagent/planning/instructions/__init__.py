"""Explicit instructions -> a list of typed sub-goals (the grammar of the `rule` planner).

General English instruction phrasing, no per-site rules: clauses joined by commas, "and",
"then", "and then", ";" or sentences; each starts with a verb ("click", "type ... into ...",
"tick", "select", "press ctrl+s", "scroll down 3 times", ...) followed by a target phrase
("the 'ok' button", "button ONE", "the 2nd input box", "the button labeled 'Cancel'").
Quoted text ('...', "...", “...”) is kept verbatim and never split. A piece that does not
start with a verb continues the previous clause ("Select A, B and C"). Whatever cannot be
read with confidence raises `InstructionNotUnderstood` naming the part; nothing is guessed.

    >>> parse_instructions("Type 'Ada' into Name, tick Subscribe, then click Submit")
    [TypeGoal(text='Ada', field=Ref(text='Name', role='field', ...)), SetToggleGoal(...), ClickGoal(...)]
"""

from __future__ import annotations

from dataclasses import replace

from guiagent.planning.instructions.anchors import anchored
from guiagent.planning.instructions.clauses import KNOWN, Browse, Parsed, Submit, split_clauses
from guiagent.planning.instructions.forms import form_fill
from guiagent.planning.instructions.goals import (
    AutocompleteGoal,
    BackGoal,
    ClickGoal,
    ClickKind,
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
    Ref,
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
    describe_goal,
    ordinal_text,
)
from guiagent.planning.instructions.menus import fold_menus, names_menu
from guiagent.planning.instructions.phrases import PRONOUN, Masked
from guiagent.planning.instructions.reading import link_reads, reading_clause
from guiagent.planning.instructions.results import result_clause
from guiagent.planning.instructions.scrolling import scroll_end_clause
from guiagent.planning.instructions.visual import visual_clause
from guiagent.schema.errors import InstructionNotUnderstood

__all__ = [
    "ColorGoal", "NudgeGoal", "HighlightGoal",
    "AutocompleteGoal", "FinishFormGoal", "CopyGoal", "DateTimeGoal", "SliderGoal", "SpinGoal", "KNOWN", "BackGoal", "ClickGoal", "ClickKind", "FocusGoal", "HomeGoal", "KeyGoal", "MenuGoal", "OpenAppGoal", "Ref",
    "ScrollGoal", "SearchClickGoal", "SelectGoal", "SetToggleGoal", "SelectLikeGoal", "DragGoal", "SubGoal", "TypeGoal", "WaitGoal",
    "WithinGoal", "ReadGoal", "ComposeGoal", "describe_goal", "ordinal_text", "parse_instructions",
]


def parse_instructions(instruction: str) -> list[SubGoal]:
    """Parse an instruction into sub-goals. Raises InstructionNotUnderstood naming the part
    it could not read. An empty list is a valid answer ("Select nothing")."""
    if not instruction or not instruction.strip():
        raise InstructionNotUnderstood("I can't parse '': the instruction is empty; say what to do, "
                                       "e.g. \"click 'OK'\"")
    if not names_menu(instruction) and (goals := anchored(instruction, parse_instructions)) is not None:  # "click Y on the post by X"
        return goals
    if (goals := form_fill(instruction, parse_instructions)) is not None:  # forms.py: several values, one form
        return goals
    t = Masked(instruction.strip())
    parsed: list[Parsed] = []
    for clause in split_clauses(t):
        parsed.extend(result_clause(clause) or visual_clause(t, clause) or scroll_end_clause(t, clause)  # scrolling.py
                      or reading_clause(t, clause))  # results.py, reading.py, else parse_clause
    return link_reads(t, _combine(t, fold_menus(parsed)))  # fold: "open the X menu and click Y"


def _named(goal: Parsed) -> Ref | None:
    match goal:
        case ClickGoal(target=r) | SetToggleGoal(target=r) | FocusGoal(target=r) | SearchClickGoal(target=r):
            return r
        case SelectGoal(option=r) | TypeGoal(field=r) | Browse(target=r):
            return r
        case _:
            return None


def _combine(t: Masked, parsed: list[Parsed]) -> list[SubGoal]:
    """Resolve "it", fold "press Enter" into the typing before it, and a "look through the
    tabs" into the click that follows it."""
    goals: list[SubGoal] = []
    browse: Browse | None = None
    last: Ref | None = None
    for g in parsed:
        if isinstance(g, ClickGoal | SetToggleGoal | FocusGoal) and g.target == PRONOUN:
            if last is None:
                raise t.error(t.masked, "'it' refers to nothing named before")
            g = replace(g, target=last)
        if browse is not None:
            if not isinstance(g, ClickGoal):
                raise t.error(t.masked, f"it says to look through the {browse.container}s but not what to click")
            goals.append(SearchClickGoal(g.target, browse.container))
            browse = None
        elif isinstance(g, Browse):
            browse = g
        elif isinstance(g, Submit | KeyGoal) and goals and isinstance(goals[-1], TypeGoal) \
                and not goals[-1].submit and (isinstance(g, Submit) or (g.keys == ("enter",) and g.times == 1)):
            goals[-1] = replace(goals[-1], submit=True)  # "type X and press Enter"
        elif isinstance(g, Submit):
            goals.append(ClickGoal(Ref("Submit", "button")))
        else:
            goals.append(g)
        last = _named(g) or last
    if browse is not None:
        what = f"found {browse.target.describe()!r}, and then what? (say 'and click it')" if browse.target \
            else f"look through the {browse.container}s for what?"
        raise t.error(t.masked, what)
    return goals
