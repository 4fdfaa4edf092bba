"""Which text labels which input on a form, decided for the whole form at once.

A label may stand left of its field, above it, below it, or inside it (a placeholder, drawn in
grey). Labelling each field alone by "the nearest text left or above" goes wrong on a form
whose labels sit below their fields: each label is then just above the *next* field. So the
form is read as a whole: for each placement (left, above, below, right) the labels are
assigned one-to-one to the fields (an optimal assignment, not nearest-first); the placement
that labels the most fields (then with the smallest gaps) wins; a field it leaves unlabelled
takes its grey text (a placeholder), else the nearest unused label in any placement.

`assign` (the optimal one-to-one assignment) also serves the planner: several values of one
sentence go into several fields the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from grounding.query import normalize
from guiagent.schema import Element, Observation, Role

Box = tuple[int, int, int, int]
_PLACEMENTS = ("left", "above", "below", "right")
_INPUTS = frozenset({Role.TEXT_FIELD, Role.COMBOBOX})


def assign(scores: Sequence[Sequence[float | None]]) -> dict[int, int]:
    """Row -> column, one-to-one, the most pairs first, then the highest total score. None
    marks a pair that may not be made. (Hungarian algorithm; rows and columns may differ in
    number.)"""
    rows = len(scores)
    cols = len(scores[0]) if rows else 0
    if not rows or not cols:
        return {}
    # a feasible pair outweighs any sum of score differences: more pairs always win
    big = 1.0 + sum(max((abs(s) for s in row if s is not None), default=0.0) for row in scores) * 2
    flip = rows > cols
    n, m = (cols, rows) if flip else (rows, cols)

    def cost(i: int, j: int) -> float:
        s = scores[j][i] if flip else scores[i][j]
        return 0.0 if s is None else -(big + s)

    u, v = [0.0] * (n + 1), [0.0] * (m + 1)
    p, way = [0] * (m + 1), [0] * (m + 1)
    for i in range(1, n + 1):
        p[0], j0 = i, 0
        minv, used = [float("inf")] * (m + 1), [False] * (m + 1)
        while True:
            used[j0] = True
            i0, delta, j1 = p[j0], float("inf"), 0
            for j in range(1, m + 1):
                if not used[j]:
                    cur = cost(i0 - 1, j - 1) - u[i0] - v[j]
                    if cur < minv[j]:
                        minv[j], way[j] = cur, j0
                    if minv[j] < delta:
                        delta, j1 = minv[j], j
            for j in range(m + 1):
                if used[j]:
                    u[p[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
    pairs = {p[j] - 1: j - 1 for j in range(1, m + 1) if p[j]}
    out = {(j if flip else i): (i if flip else j) for i, j in pairs.items()}
    return {r: c for r, c in out.items() if scores[r][c] is not None}


@dataclass(frozen=True)
class FieldLabel:
    field: Element
    label: str
    placement: str  # left | above | below | right | inside | name (the field's own a11y name)
    text: Element | None = None  # the static text that labels it (None: inside or its name)


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def gap(label: Box, field: Box, placement: str) -> float | None:
    """How far `label` stands from `field` in `placement`, in field heights (None: it does
    not stand there)."""
    l0, t0, r0, b0 = label
    l1, t1, r1, b1 = field
    h = max(1, b1 - t1)
    same_row = _overlap(t0, b0, t1, b1) >= 0.5 * min(b0 - t0, h)
    # above/below: the label starts over the field (left-aligned or centred on it)
    over = _overlap(l0, r0, l1, r1) >= 0.5 * max(1, min(r0 - l0, r1 - l1)) and l1 - h <= l0 <= r1 - 4
    match placement:
        case "left" if same_row and r0 <= l1 + 6 and l1 - r0 <= 4 * h + 40:
            return max(0, l1 - r0) / h
        case "right" if same_row and l0 >= r1 - 6 and l0 - r1 <= 2 * h:
            return max(0, l0 - r1) / h
        case "above" if over and b0 <= t1 + 6 and t1 - b0 <= 1.5 * h + 8:
            return max(0, t1 - b0) / h + 0.3 * abs(l0 - l1) / h
        case "below" if over and t0 >= b1 - 6 and t0 - b1 <= 1.5 * h + 8:
            return max(0, t0 - b1) / h + 0.3 * abs(l0 - l1) / h
        case _:
            return None


def grey_text(obs: Observation, box: Box) -> bool:
    """The text drawn inside `box` is grey on a light face: a placeholder, not a value."""
    img = obs.screenshot
    if img is None:
        return False
    x0, y0, x1, y1 = box
    inset = max(2, min(5, (y1 - y0) // 6))
    crop = np.asarray(img.crop((x0 + inset, y0 + inset, x1 - inset, y1 - inset)).convert("L"), dtype=np.int16)
    if crop.size == 0:
        return False
    fill = float(np.median(crop))
    ink = crop[np.abs(crop - fill) > 40]
    if fill < 200 or ink.size < 8:
        return False
    return bool(np.percentile(ink, 10) > 90)  # typed text is near black; a placeholder stays grey


def _is_label(e: Element, inputs: Sequence[Element]) -> bool:
    if e.role is not Role.TEXT or not normalize(e.label) or len(e.label) > 40:
        return False
    cx, cy = e.center
    return not any(f.bbox[0] <= cx <= f.bbox[2] and f.bbox[1] <= cy <= f.bbox[3] for f in inputs)


def form_labels(obs: Observation, elements: Sequence[Element] | None = None) -> list[FieldLabel]:
    """Every input on the screen with its label (see the module doc), in reading order. An
    a11y field keeps its own name; a field nothing labels is left out."""
    shown = list(obs.elements if elements is None else elements)
    inputs = sorted((e for e in shown if e.role in _INPUTS or e.editable), key=lambda e: (e.bbox[1], e.bbox[0]))
    named = {f.id: FieldLabel(f, f.name.strip(), "name") for f in inputs if f.source == "a11y" and f.name.strip()}
    fields = [f for f in inputs if f.id not in named]
    texts = [e for e in shown if _is_label(e, inputs)]
    inside = {f.id for f in fields if f.value and normalize(f.value) and grey_text(obs, f.bbox)}
    out: dict[str, FieldLabel] = dict(named)
    if fields:
        best: tuple[tuple[int, float], str, dict[int, int]] | None = None
        for placement in _PLACEMENTS:
            costs = [[gap(t.bbox, f.bbox, placement) for t in texts] for f in fields]
            pairs = assign([[None if c is None else -c for c in row] for row in costs])
            pairs.update({i: -1 for i, f in enumerate(fields) if f.id in inside and i not in pairs})
            key = (len(pairs), -sum(costs[i][j] or 0.0 for i, j in pairs.items() if j >= 0))
            if best is None or key > best[0]:
                best = (key, placement, pairs)
        assert best is not None
        _, placement, pairs = best
        used = {j for j in pairs.values() if j >= 0}
        # fields the winning placement left unlabelled: the nearest unused label, any placement
        rest = [i for i in range(len(fields)) if i not in pairs]
        free = [j for j in range(len(texts)) if j not in used]
        any_gap = [[_nearest_gap(texts[j].bbox, fields[i].bbox) for j in free] for i in rest]
        extra = assign([[None if c is None else -c for c in row] for row in any_gap])
        for i, f in enumerate(fields):
            j = pairs.get(i)
            if j is not None and j >= 0:
                out[f.id] = FieldLabel(f, _clean(texts[j].label), placement, texts[j])
            elif j == -1 or (j is None and f.id in inside):
                out[f.id] = FieldLabel(f, _clean(f.value or ""), "inside")
        for a, b in extra.items():
            f, t = fields[rest[a]], texts[free[b]]
            if f.id not in out:
                out[f.id] = FieldLabel(f, _clean(t.label), _nearest_placement(t.bbox, f.bbox), t)
    return [out[f.id] for f in inputs if f.id in out]


def _nearest_gap(label: Box, field: Box) -> float | None:
    gaps = [g for p in _PLACEMENTS if (g := gap(label, field, p)) is not None]
    return min(gaps) if gaps else None


def _nearest_placement(label: Box, field: Box) -> str:
    return min(_PLACEMENTS, key=lambda p: g if (g := gap(label, field, p)) is not None else float("inf"))


def _clean(label: str) -> str:
    """"Year:", "Email *" -> "Year", "Email"."""
    return label.strip().rstrip(":*").strip()
