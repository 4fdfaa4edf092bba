"""Where to click a name that the screen shows only in part: inside a longer OCR label (two
links read as one line, a menu read as one box), or cut by a control drawn over it (a button
on top of another). The centre of what was read would land between two things or on the
other one, and a wrong click can cost more than a failed one."""

from __future__ import annotations

import math
from collections.abc import Sequence
from collections.abc import Set as AbstractSet

from guiagent.planning.instructions import Ref
from guiagent.planning.skills.common import named, visible, words
from guiagent.schema import Element, Observation, Point, Role, Target


def word_point(el: Element, text: str, obs: Observation) -> Point | None:
    """Where `text` sits inside `el` when its label says more: an OCR line ("cursus potenti":
    two links read as one) or a box read with its lines joined ("Jorrie Mahalia": a menu of
    two items). The centre would land between them or on the other one, so the point is
    estimated from the characters: the number of lines from the box's shape (a line of c
    characters of height h is about 0.55·h·c wide), the word's line and place in it."""
    label, want = el.label.split(), words(text).casefold().split()
    k = _words_at(label, want)
    if k is None or len(want) == len(label):
        return None
    total = len(" ".join(label))
    n = max(1, min(len(label), round(math.sqrt(0.55 * el.height * total / max(el.width, 1)))))
    per = total / n
    lines: list[list[int]] = [[] for _ in range(n)]
    at = 0
    for i, w in enumerate(label):  # each word on the line its middle falls in
        lines[min(n - 1, int((at + len(w) / 2) / per))].append(i)
        at += len(w) + 1
    row = next(r for r, idx in enumerate(lines) if k in idx)
    line = lines[row]
    widest = max(len(" ".join(label[i] for i in idx)) for idx in lines if idx)
    start = len(" ".join(label[i] for i in line if i < k)) + (1 if line[0] < k else 0)
    span = len(" ".join(label[k:k + len(want)]))
    x = el.bbox[0] + el.width * (start + span / 2) / max(widest, 1)
    y = el.bbox[1] + el.height * (row + 0.5) / n
    return Point.from_pixels(x, y, obs.screen_size)


def _words_at(label: list[str], want: list[str]) -> int | None:
    """Where the words `want` start in `label`: the same words, else the closest run that
    OCR may have cut or misread ("Margaret" for "Margareta"); None when none is close."""
    from grounding.query import lexical_score

    have = [words(w).casefold() for w in label]
    runs = range(len(have) - len(want) + 1)
    if not want or not runs:
        return None
    if (k := next((i for i in runs if have[i:i + len(want)] == want), None)) is not None:
        return k
    score, k = max((lexical_score(" ".join(want), " ".join(have[i:i + len(want)]))[0], i) for i in runs)
    return k if score >= 0.8 else None


def aim(obs: Observation, ref: Ref, exclude: Sequence[Element] = (), cut: bool = True) -> Target | None:
    """A point on `ref`'s words when they can be read only inside a longer label (see
    `word_point`) and nothing on screen is called so; None when the grounder can be trusted
    with the description (an element of that name exists, or none holds the words)."""
    from grounding.query import lexical_score, normalize

    want = normalize(ref.text)
    if not want or named(obs, ref, exclude, loose=False) is not None:
        return None
    if any(lexical_score(want, normalize(e.label))[0] >= 0.85 for e in visible(obs) if e.label):
        return None  # a near spelling of the whole name: the grounder's fuzzy match is the better bet
    skip = {e.id for e in exclude}
    hit = named(obs, ref, exclude) or next((e for e in visible(obs) if e.id not in skip and len(e.label.split()) > 1
                                            and _words_at(e.label.split(), words(ref.text).casefold().split())
                                            is not None), None)
    if hit is None or (point := word_point(hit, ref.text, obs)) is None:
        return uncovered(obs, ref, skip) if cut else None
    return Target(point=point, description=ref.describe())


_CONTROLS = (Role.BUTTON, Role.LINK, Role.CHECKBOX, Role.RADIO, Role.TAB, Role.MENU_ITEM, Role.ICON)


def _cuts(control: Element, piece: Element, start: bool) -> bool:
    """`control` lies over `piece`, or meets it where the rest of the name would go (right of
    the start of a name, left of its end)."""
    (cl, ct, cr, cb), (pl, pt, pr, pb) = control.bbox, piece.bbox
    if cl < pr and pl < cr and ct < pb and pt < cb:
        return True
    rows = ct < pb and pt < cb
    return rows and (abs(cl - pr) <= 3 if start else abs(cr - pl) <= 3)


def _free_part(el: Element, over: Element) -> tuple[float, float] | None:
    """The centre of the largest band of `el` that `over` does not cover."""
    left, t, r, b = el.bbox
    bands = [(left, t, r, min(b, over.bbox[1])), (left, max(t, over.bbox[3]), r, b),
             (left, t, min(r, over.bbox[0]), b), (max(left, over.bbox[2]), t, r, b)]
    bands = [x for x in bands if x[2] - x[0] >= 4 and x[3] - x[1] >= 4]
    if not bands:
        return None
    x0, y0, x1, y1 = max(bands, key=lambda x: (x[2] - x[0]) * (x[3] - x[1]))
    return (x0 + x1) / 2, (y0 + y1) / 2


def uncovered(obs: Observation, ref: Ref, skip: AbstractSet[str] = frozenset()) -> Target | None:
    """A name cut by another control drawn over it ("ON" + "E" of a button ONE half under a
    button TWO): the readable piece of it (its start or its end) that touches that control,
    clicked on the part the control does not cover. None when nothing on screen is so cut."""
    want = "".join(words(ref.text).casefold().split())
    if len(want) < 2:
        return None
    shown = [e for e in visible(obs) if e.id not in skip]
    for piece in sorted((e for e in shown if e.role == Role.TEXT), key=lambda e: -len(e.label)):
        have = "".join(words(piece.label).casefold().split())
        # a piece of a third of the name at least, two letters at least: "E" alone could be anything
        if len(have) < max(2, len(want) / 3) or have == want or not (want.startswith(have) or want.endswith(have)):
            continue
        over = [c for c in shown if c is not piece and c.role in _CONTROLS and _cuts(c, piece, want.startswith(have))
                and "".join(words(c.label).casefold().split()) not in want]
        if not over:
            continue  # a piece of the name with nothing drawn over it: no sign it was cut
        spot = _free_part(piece, max(over, key=lambda c: c.width * c.height))
        if spot is not None:
            return Target(point=Point.from_pixels(*spot, obs.screen_size), description=ref.describe())
    return None
