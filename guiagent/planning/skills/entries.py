"""Reading an entry of a list or a record: the value beside a field's label ("Email: ada@x.org"
-> the address, which is what "click their email" means), and the control that turns to the
next page of a paged list (">", "Next", "»").
"""

from __future__ import annotations

import re
from collections.abc import Callable

from guiagent.planning.instructions import Ref
from guiagent.planning.skills.common import norm, reading_order, same_row, visible
from guiagent.schema import Element, Observation, Point, Target

# how a pager's "next" reads: the words, and arrows as OCR reads them (an underlined ">" reads "≥")
_NEXT = re.compile(r"^(?:next(?: page)?|older|more results|[>›»→≥]{1,2}|next\s*[>›»])$", re.I)


def next_page(obs: Observation) -> Target | None:
    """The pager's "next" control on the screen (the lowest one), else None."""
    hits = [e for e in visible(obs) if _NEXT.match(e.label.strip())]
    if not hits:
        return None
    el = max(hits, key=lambda e: (e.bbox[3], e.bbox[0]))
    return Target(element=el.id, description="the next page control")


def _label_words(e: Element) -> set[str] | None:
    """The words of a field label ("Phone:" -> {phone}); None when `e` is no label."""
    text = e.label.strip()
    if not text.endswith(":") and ":" not in text:
        return None
    head = text.split(":", 1)[0]
    got = set(norm(head).split())
    return got if got and len(got) <= 3 else None


def _label(pool: list[Element], ref: Ref) -> Element | None:
    """The label that names `ref`'s field: all its words, else the first word of `ref`
    ("phone number" -> "Phone:", "email" -> "E-mail:" read as "email")."""
    want = norm(ref.text).split()
    if not want:
        return None
    best: tuple[int, Element] | None = None
    for e in pool:
        got = _label_words(e)
        if got is None:
            continue
        score = 3 if got == set(want) else 2 if want[0] in got else 1 if got <= set(want) else 0
        if score and (best is None or score > best[0]):
            best = (score, e)
    return best[1] if best else None


def value_of(obs: Observation, ref: Ref, inside: Callable[[Element], bool]) -> Target | None:
    """The value shown for the field `ref` names, among the elements `inside` accepts: the
    text right of its label on the same row, else the one below it; when OCR read label and
    value as one line, a point on the value's part of it. None when no label names it."""
    pool = [e for e in visible(obs) if inside(e) and e.label]
    label = _label(pool, ref)
    if label is None:
        return None
    desc = f"the {ref.text} value"
    head, _, rest = label.label.partition(":")
    if rest.strip():  # "Email: ada@x.org" read as one box: the value's part of it
        share = (len(head) + 1 + len(rest) / 2) / max(1, len(label.label))
        x = label.bbox[0] + label.width * share
        return Target(point=Point.from_pixels(x, label.center[1], obs.screen_size), description=desc)
    right = [e for e in pool if e.id != label.id and same_row(e, label) and e.bbox[0] >= label.bbox[2] - 4]
    if right:
        return Target(element=min(right, key=lambda e: e.bbox[0]).id, description=desc)
    below = [e for e in reading_order(pool) if e.bbox[1] >= label.bbox[3] - 2
             and e.bbox[0] < label.bbox[2] and e.bbox[2] > label.bbox[0] and _label_words(e) is None]
    return Target(element=below[0].id, description=desc) if below else None
