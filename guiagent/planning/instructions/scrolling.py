"""Scrolling to an end: "Scroll to the bottom of the textarea", "scroll the agreement down to
the end", "scroll all the way up in the list", "scroll to the top". The goal is a `ScrollGoal`
with `to_end`: the skill scrolls on until nothing moves any more (skills/scrolling.py), and
that is its postcondition. Plain "scroll down 3 times" stays with motions.py."""

from __future__ import annotations

import re

from guiagent.planning.instructions.goals import Ref, ScrollGoal
from guiagent.planning.instructions.phrases import Masked, parse_ref

_END = r"(?P<end>bottom|end|foot|top|beginning|start|head)"
_WAY = r"(?:(?:all\s+the\s+way|right|fully|completely)\s+)?"
_DIR = r"(?:(?P<d>down|up)(?:wards?)?\s+)?"
# "scroll [all the way] [down] to the [very] bottom [of X]"
_TO_END_OF = re.compile(rf"^scroll\s+{_WAY}{_DIR}(?:to|till|until\s+(?:you\s+)?(?:reach|get\s+to))\s+the\s+"
                        rf"(?:very\s+)?{_END}(?:\s+of\s+(?P<x>.+))?$", re.I)
# "scroll the agreement [all the way] [down] to the bottom", "scroll the list down to its end"
_X_TO_END = re.compile(rf"^scroll\s+(?P<x>(?!(?:down|up|to|all|right)\b).+?)\s+{_WAY}{_DIR}(?:to\s+)?"
                       rf"(?:the|its)\s+(?:very\s+)?{_END}$", re.I)
# "scroll all the way down [in X]"
_ALL_THE_WAY = re.compile(r"^scroll\s+(?:all\s+the\s+way|right)\s+(?P<d>down|up)(?:wards?)?"
                          r"(?:\s+(?:in|on|within|inside|over)\s+(?P<x>.+))?$", re.I)


def scroll_end_clause(t: Masked, clause: str) -> list[ScrollGoal] | None:
    """A clause that scrolls to an end, else None (other parsers read it)."""
    s = clause.strip().rstrip(".!")
    m = _TO_END_OF.match(s) or _X_TO_END.match(s) or _ALL_THE_WAY.match(s)
    if m is None:
        return None
    end = (m.groupdict().get("end") or "").lower()
    up = end in ("top", "beginning", "start", "head") or (m.group("d") or "").lower() == "up"
    anchor: Ref | None = parse_ref(t, m.group("x"), clause) if m.group("x") else None
    return [ScrollGoal("up" if up else "down", 1, 5.0, anchor, to_end=True)]
