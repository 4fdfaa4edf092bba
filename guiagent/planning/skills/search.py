"""Find-and-click through tabs and collapsible sections: open them one by one until the
target is visible. Opening a tab / section must show new content (its postcondition). With
neither on screen, a tree: its collapsed nodes (a "+" left of the name) open one by one."""

from __future__ import annotations

import re

from guiagent.planning.instructions import Ref, SearchClickGoal
from guiagent.planning.skills.aim import aim
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
from guiagent.planning.skills.pixels import scale as pixel_scale
from guiagent.schema import Click, Done, Element, Observation, Role, Target

_HEADER = re.compile(r"(?:tab|section)\s*#?\s*\d+\b", re.I)
_MAX_NODES = 12  # tree nodes opened at most while looking for a name


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


def drawn_open(tabs: list[Element]) -> Element | None:
    """The open tab of a strip, from pixels: the one tab that reaches lower than the others,
    whose bottoms agree (it joins the panel it shows). None when the strip does not say."""
    row = [t for t in tabs if same_row(t, tabs[0])] if tabs else []
    if len(row) < 2:
        return None
    low = max(row, key=lambda t: t.bbox[3])
    rest = [t.bbox[3] for t in row if t is not low]
    return low if low.bbox[3] - max(rest) >= 2 and max(rest) - min(rest) <= 1 else None


def collapsed_node(obs: Observation, opened: list[str]) -> tuple[Element, tuple[float, float]] | None:
    """The shallowest collapsed node of a tree not opened yet, and its expand marker (a point,
    normalized): a line of text with a "+" drawn left of it (in the gutter up to the text
    before it on its row)."""
    from grounding.items import plus_marks

    lines = [e for e in visible(obs) if e.role in (Role.TEXT, Role.LINK) and re.search(r"[^\W\d_]{2}", e.label)]
    sx, sy = pixel_scale(obs)
    found: list[tuple[float, float, Element]] = []
    for e in lines:
        if norm(e.label) in opened:
            continue
        left = max((o.bbox[2] for o in lines if o is not e and same_row(o, e) and o.bbox[2] <= e.bbox[0]), default=0)
        box = (round(left * sx), round(e.bbox[1] * sy), round(e.bbox[0] * sx), round(e.bbox[3] * sy))
        for mx, my in plus_marks(obs.screenshot, box):
            if min(lines, key=lambda o: abs(o.center[1] - my / sy)) is e:  # the mark is on this line's row
                found.append((mx / obs.screenshot.width, my / obs.screenshot.height, e))  # normalized
    if not found:
        return None
    x, y, e = min(found, key=lambda f: (round(f[0] * obs.screenshot.width / 8), f[1]))  # least indented, then top
    return e, (x, y)


def _same_place(a: Element, b: Element) -> bool:
    return abs(a.center[0] - b.center[0]) < a.width / 2 and abs(a.center[1] - b.center[1]) < a.height / 2


def _as_named(el: Element, ref: Ref) -> bool:
    """`el` is what `ref` names to the letter: a link when it says link (the same word as plain
    text is not it), and its punctuation when quoted ("mauris." is another link than "mauris")."""
    if ref.role == "link" and el.role != Role.LINK:
        return False
    if ref.quoted and not ref.text.strip()[-1:].isalnum():
        return el.label.strip().casefold().endswith(ref.text.strip()[-1:].casefold())
    return True


def search_click(goal: SearchClickGoal, seen: Seen) -> Steps:
    """Click the target when it is visible, else open the next tab / section not yet tried.
    A first sweep wants the exact text; only when no tab has it is it accepted inside a
    longer text (an OCR line): where it shows now, else in the tab where the sweep saw it,
    else a second sweep looks for it."""
    kind, ref, loose = goal.container, goal.target, False
    tried: list[Element] = []  # by place: OCR may read a tab's name differently once it is open
    last: Element | None = None  # the tab opened last
    inside: Element | None = None  # the tab where the words showed inside a longer text
    opened: list[str] = []  # tree nodes opened, by name
    obs = seen.obs
    while True:
        boxes = containers(obs, kind)
        hit = named(obs, ref, exclude=boxes, loose=loose)
        if hit is not None and not loose and not _as_named(hit, ref):
            hit = None  # a first sweep takes only the very thing: other tabs may hold it
        if hit is None and not loose and inside is None and last is not None \
                and named(obs, ref, exclude=boxes) is not None:
            inside = last
        if hit is not None or not ref.text:
            spot = aim(obs, ref, exclude=boxes)  # the words inside a longer OCR line: a point on them
            yield Attempt(((Click(target=spot),) if spot else ()) + tuple(Click(target=t) for t in targets(ref)),
                          check=click_check(ref))
            return
        tried.extend(c for c in boxes if state(c) is True or c.extras.get("expanded") is True)  # looked at
        if not tried and kind == "tab" and (shown := drawn_open(boxes)) is not None:
            tried.append(shown)  # its content is on the screen already
        todo = next((c for c in boxes if not any(_same_place(c, t) for t in tried)), None)
        if todo is None and not loose and boxes:
            loose = True
            if named(obs, ref, exclude=boxes) is None:  # back to where it was seen, else a second sweep
                tried = [c for c in boxes if inside is not None and not _same_place(c, inside)]
            continue
        if todo is None and not boxes and len(opened) < _MAX_NODES \
                and (node := collapsed_node(obs, opened)) is not None:
            # no tabs or sections: a tree, whose collapsed nodes open one by one (shallowest first)
            opened.append(norm(node[0].label))
            seen = yield Attempt((Click(target=Target.at(*node[1])),),
                                 f"{ref.describe()} is not visible; opening tree node {node[0].label!r}")
            obs = seen.obs
            continue
        if todo is None and not boxes and not loose:
            loose = True  # nothing left to open: the words inside a longer OCR line
            continue
        if todo is None:
            answer = f"{ref.describe()} is in none of the {len(boxes)} {kind}s"
            yield Attempt((Done(status="impossible", answer=answer),), f"looked through every {kind}")
            return
        tried.append(todo)
        last = todo
        desc = todo.label or f"the {kind}"
        # no postcondition here: the open tab shows nothing new when clicked, and the
        # sweep itself looks for the target after every click
        seen = yield Attempt((Click(target=Target(element=todo.id, description=desc)),
                              Click(target=Target(description=desc))),
                             f"{ref.describe()} is not visible; opening {kind} {todo.label!r}")
        obs = seen.obs
