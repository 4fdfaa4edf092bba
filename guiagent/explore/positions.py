"""Positional instructions from a screen's layout, in the many ways people say where a thing is.

"the field below Email" is one form; people also write "the input under Email", "the box
above Password", "the checkbox left of Remember me", "the button next to Cancel", "the row
between Wi-Fi and Bluetooth", "the second text field", "the last button", "the bottom button,
below Save", "the button under the Subscribe checkbox" (the anchor is a control, named with its
role). Every form is derived from geometry only: the nearest named neighbour in each direction
(columns overlap for above/below, rows for left/right), the element's rank among the elements
of its kind in reading order, and whether it is the top/bottom/left/right one of its kind.
A few forms are drawn per target (deterministically per element), so training data covers
the phrasings without one target dominating the set.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Sequence

from grounding.element_text import role_words
from guiagent.explore.graph import is_chrome
from guiagent.schema import Element, Role

PER_TARGET = 4  # positional instructions kept per target
MAX_ANCHOR = 30  # longer texts are paragraphs, not labels people point from
ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth")
_SAY = {
    # target lies <direction> its anchor
    "below": ("below {a}", "under {a}", "beneath {a}", "right under {a}", "just below {a}"),
    "above": ("above {a}", "over {a}", "just above {a}"),
    "right": ("right of {a}", "to the right of {a}", "next to {a}", "beside {a}"),
    "left": ("left of {a}", "to the left of {a}", "next to {a}", "beside {a}"),
}
# what people call an element of a role besides its role words
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "text field": ("field", "input", "box", "text box", "entry"),
    "checkbox": ("check box", "option", "tick box"),
    "switch": ("toggle",),
    "item": ("row", "entry", "item"),
    "list row": ("row", "entry"),
    "button": ("button",),
}


def _name(e: Element) -> str:
    return " ".join((e.name or "").split())


def _inside(a: Element, b: Element) -> bool:
    """`a`'s box lies within `b`'s."""
    return a.bbox[0] >= b.bbox[0] and a.bbox[1] >= b.bbox[1] and a.bbox[2] <= b.bbox[2] and a.bbox[3] <= b.bbox[3]


def _overlaps(a0: int, a1: int, b0: int, b1: int) -> bool:
    return a0 < b1 and b0 < a1


def neighbours(e: Element, elements: Sequence[Element]) -> dict[str, Element]:
    """The nearest named element in each direction from `e` ("below": `e` is below it)."""
    l0, t0, r0, b0 = e.bbox
    best: dict[str, tuple[int, Element]] = {}
    reach = min(4 * max(e.height, 24), 240)
    for o in elements:
        name = _name(o)
        if (o.id == e.id or not name or len(name) > MAX_ANCHOR or is_chrome(o) or not o.enabled
                or _inside(o, e) or _inside(e, o) or o.width < 4 or o.height < 4):
            continue
        l1, t1, r1, b1 = o.bbox
        gaps = {"below": (_overlaps(l0, r0, l1, r1) and b1 <= t0 + 4, t0 - b1),
                "above": (_overlaps(l0, r0, l1, r1) and t1 >= b0 - 4, t1 - b0),
                "right": (_overlaps(t0, b0, t1, b1) and r1 <= l0 + 4, l0 - r1),
                "left": (_overlaps(t0, b0, t1, b1) and l1 >= r0 - 4, l1 - r0)}
        for direction, (ok, gap) in gaps.items():
            if ok and gap < reach and (direction not in best or gap < best[direction][0]):
                best[direction] = (gap, o)
    return {d: o for d, (_, o) in best.items()}


def anchor_text(a: Element) -> str:
    """How an instruction names its anchor: plain text by its words, a control with its role."""
    if a.role is Role.TEXT and not a.clickable:
        return _name(a)
    return f"the {_name(a)} {role_words(a)}"


def _reading(e: Element) -> tuple[int, int]:
    return (e.bbox[1] + e.bbox[3]) // 20, e.bbox[0]


def rank_words(e: Element, elements: Sequence[Element]) -> list[str]:
    """Ordinal and extreme words for `e` among the elements of its kind: "second", "last", "bottom"."""
    what = role_words(e)
    peers = sorted((o for o in elements if role_words(o) == what and not is_chrome(o) and o.enabled
                    and o.width >= 4 and o.height >= 4), key=_reading)
    if len(peers) < 2 or e not in peers:
        return []
    i = peers.index(e)
    out = [ORDINALS[i]] if i < len(ORDINALS) else []
    if i == len(peers) - 1:
        out.append("last")
    ys = [p.center[1] for p in peers]
    xs = [p.center[0] for p in peers]
    if e.center[1] == max(ys) and ys.count(max(ys)) == 1:
        out.append("bottom")
    if e.center[1] == min(ys) and ys.count(min(ys)) == 1:
        out.append("top")
    row = [p for p in peers if abs(p.center[1] - e.center[1]) <= max(4, e.height // 2)]
    if len(row) >= 2 and e.center[0] == max(xs[peers.index(p)] for p in row):
        out.append("right")
    if len(row) >= 2 and e.center[0] == min(xs[peers.index(p)] for p in row):
        out.append("left")
    return out


def positional_instructions(e: Element, elements: Sequence[Element], label: str) -> list[str]:
    """Up to `PER_TARGET` positional instructions for target `e` (whose own label is `label`)."""
    what = role_words(e)
    rng = random.Random(zlib.crc32(f"{e.id}|{label}".encode()))
    nouns = (what, *(s for s in _SYNONYMS.get(what, ()) if s != what))
    near = {d: a for d, a in neighbours(e, elements).items() if _name(a).casefold() != label.casefold()}
    groups: list[list[str]] = []
    for direction, a in near.items():
        groups.append([f"the {rng.choice(nouns)} {form.format(a=anchor_text(a))}" for form in _SAY[direction]])
    for one, two in (("below", "above"), ("right", "left")):
        if one in near and two in near:
            groups.append([f"the {rng.choice(nouns)} between {_name(near[one])} and {_name(near[two])}"])
    ranks = rank_words(e, elements)
    if ranks:
        forms = []
        for r in ranks:
            noun = rng.choice(nouns)
            forms.append(f"the {r} {noun}" if r not in ("right", "left") else f"the {noun} on the {r}")
            if "below" in near:
                forms.append(f"the {r} {noun}, below {_name(near['below'])}" if r not in ("right", "left")
                             else f"the {noun} at the {r} below {_name(near['below'])}")
        groups.append(forms)
    rng.shuffle(groups)
    out: list[str] = []
    for g in groups:  # one form from each kind of clue before a second from any
        if len(out) >= PER_TARGET:
            break
        out.append(rng.choice(g))
    return out
