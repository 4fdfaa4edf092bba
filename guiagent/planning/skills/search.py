"""Find-and-click through tabs and collapsible sections: open them one by one until the
target is visible. Opening a tab / section must show new content (its postcondition)."""

from __future__ import annotations

import re

from guiagent.planning.instructions import SearchClickGoal
from guiagent.planning.skills.basic import click_check
from guiagent.planning.skills.common import (
    Attempt,
    Seen,
    Steps,
    named,
    norm,
    reading_order,
    same_row,
    state,
    targets,
    visible,
)
from guiagent.schema import Click, Done, Element, Observation, Role, Target

_HEADER = re.compile(r"(?:tab|section)\s*#?\s*\d+\b", re.I)


def containers(obs: Observation, kind: str) -> list[Element]:
    """Tabs / section headers on screen: by role, by a name like "Tab #2" / "Section 3", or
    an element that says whether it is expanded."""
    found = reading_order([e for e in visible(obs) if e.role == Role.TAB or re.match(rf"{kind}\b", e.label, re.I)
                           or _HEADER.fullmatch(e.label.strip()) or "expanded" in e.extras])
    return found or (tab_strip(obs) if kind == "tab" else [])


def tab_strip(obs: Observation) -> list[Element]:
    """Tabs drawn as plain buttons: the top row of two or more buttons, above all the text."""
    buttons = reading_order([e for e in visible(obs) if e.role == Role.BUTTON])
    if not buttons:
        return []
    row = [b for b in buttons if same_row(b, buttons[0])]
    texts = [e for e in visible(obs) if e.role in (Role.TEXT, Role.LINK)]
    if len(row) < 2 or any(t.bbox[1] < max(b.bbox[3] for b in row) - 4 for t in texts):
        return []
    return sorted(row, key=lambda b: b.bbox[0])


def search_click(goal: SearchClickGoal, seen: Seen) -> Steps:
    """Click the target when it is visible, else open the next tab / section not yet tried.
    A first sweep wants the exact text; only when no tab has it does a second sweep accept
    it inside a longer text (an OCR line)."""
    kind, ref, tried, loose = goal.container, goal.target, set[str](), False
    obs = seen.obs
    while True:
        boxes = containers(obs, kind)
        hit = named(obs, ref, exclude=boxes, loose=loose)
        if hit is not None or not ref.text:
            yield Attempt(tuple(Click(target=t) for t in targets(ref)), check=click_check(ref))
            return
        for c in boxes:  # the open one was looked at already
            if state(c) is True or c.extras.get("expanded") is True:
                tried.add(norm(c.label) or c.id)
        todo = next((c for c in boxes if (norm(c.label) or c.id) not in tried), None)
        if todo is None and not loose and boxes:
            loose, tried = True, set()
            continue
        if todo is None:
            answer = f"{ref.describe()} is in none of the {len(boxes)} {kind}s"
            yield Attempt((Done(status="impossible", answer=answer),), f"looked through every {kind}")
            return
        tried.add(norm(todo.label) or todo.id)
        desc = todo.label or f"the {kind}"
        # no postcondition here: the open tab shows nothing new when clicked, and the
        # sweep itself looks for the target after every click
        seen = yield Attempt((Click(target=Target(element=todo.id, description=desc)),
                              Click(target=Target(description=desc))),
                             f"{ref.describe()} is not visible; opening {kind} {todo.label!r}")
        obs = seen.obs
