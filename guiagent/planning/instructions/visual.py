"""Clauses about what the screen shows rather than what it names: things by colour
(colors.py), drags in a direction (motions.py), and selecting a paragraph's text:
"highlight the text in the 1st paragraph", "select all the text of the second paragraph",
"highlight paragraph 3", "select the last paragraph".

`visual_clause` reads one clause (None: not one of these; the ordinary grammar reads it)."""

from __future__ import annotations

import re

from guiagent.planning.instructions.colors import color_clause
from guiagent.planning.instructions.goals import HighlightGoal, SubGoal
from guiagent.planning.instructions.motions import nudge_goal
from guiagent.planning.instructions.phrases import Masked
from guiagent.planning.instructions.reading import ordinal_of

_PARA = r"(?:paragraph|passage|block\s+of\s+text|text\s+block)"
_HIGHLIGHT = re.compile(
    r"^(?:highlight|select|mark|hilite|hi-light)\s+(?:all\s+(?:of\s+)?)?(?:the\s+)?(?:(?:whole|entire|full)\s+)?"
    r"(?:(?:text|words|contents?|sentences?)\s+(?:in|of|from|inside|within)\s+)?(?:the\s+)?(?:(?:whole|entire)\s+)?"
    rf"(?:(?P<o>[\w\s-]+?)\s+{_PARA}|{_PARA}\s+(?:(?:number|no\.?|#)\s*)?(?P<n>\d+|\w+))$", re.I)


def highlight_goal(clause: str) -> HighlightGoal | None:
    s = " ".join(clause.strip().rstrip(".!").split())
    m = _HIGHLIGHT.match(s)
    if m is None:
        return None
    said = m.group("o") or m.group("n")
    n = int(said) if said.isdigit() else ordinal_of(said)
    return HighlightGoal(n) if n is not None and n != 0 else None


def visual_clause(t: Masked, clause: str) -> list[SubGoal] | None:
    if (goals := color_clause(clause)) is not None:
        return list(goals)
    if (nudge := nudge_goal(t, clause)) is not None:
        return [nudge]
    if (high := highlight_goal(clause)) is not None:
        return [high]
    return None
