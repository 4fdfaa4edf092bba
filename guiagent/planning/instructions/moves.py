"""Drag and drop clauses: "drag X onto Y", "drag X to the top / to the 2nd position"."""

from __future__ import annotations

import re

from guiagent.planning.instructions.goals import DragGoal
from guiagent.planning.instructions.phrases import Masked, count, ordinal, parse_ref

_POSITION = re.compile(r"(?:the\s+)?(?:(?P<top>top|start|beginning)|(?P<bottom>bottom|end)|(?P<o>\w+)\s+(?:position|place|spot)"
                       r"|position\s+(?P<n>\d+))(?:\s+of\s+the\s+list)?$", re.I)


def drag_goal(t: Masked, rest: str, part: str) -> DragGoal:
    """"drag X onto Y", "drag X to the top / to the 2nd position"."""
    if r := re.fullmatch(r"(?P<s>.+?)\s+(?P<w>up|down)(?:\s+by)?\s+(?P<n>\w+)\s+(?:positions?|places?|spots?)", rest, re.I):
        n = count(r.group("n"))
        if n is None:
            raise t.error(part, f"by how many places is {r.group('n')!r}?")
        return DragGoal(parse_ref(t, r.group("s"), part), offset=n if r.group("w").lower() == "down" else -n)
    m = re.match(r"(?P<s>.+?)\s+(?:on ?to|into|to|over|on|in)\s+(?P<d>.+)$", rest, re.I)
    if m is None:
        raise t.error(part, "drag it where? (e.g. 'drag X onto Y' or 'drag X to the top')")
    source = parse_ref(t, m.group("s"), part)
    if p := _POSITION.fullmatch(m.group("d").strip()):
        if p.group("top"):
            return DragGoal(source, position=1)
        if p.group("bottom"):
            return DragGoal(source, position=-1)
        n = int(p.group("n")) if p.group("n") else ordinal(p.group("o"))
        if n is None:
            raise t.error(part, f"which position is {p.group('o')!r}?")
        return DragGoal(source, position=n)
    return DragGoal(source, dest=parse_ref(t, m.group("d"), part))
