"""The repeated items of a list (posts, rows, cards, emails) as horizontal bands of the
screen, from pixels: items are separated by horizontal rules, borders or bars, which show as
long horizontal edges (a row whose pixels differ from the row above across most of the
width). The band that holds a given y is the item that holds what is drawn there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

Box = tuple[int, int, int, int]


def horizontal_rules(image: Image.Image, span: float = 0.6, tol: int = 12, merge: int = 6) -> list[int]:
    """The y of every horizontal boundary: rows where the colour changes from the row above
    over at least `span` of the width; edges closer than `merge` px are one boundary (a rule's
    two sides, a card's border and the gap after it)."""
    gray = np.asarray(image.convert("L"), dtype=np.int16)
    if gray.shape[0] < 2:
        return []
    changed = np.abs(np.diff(gray, axis=0)) > tol
    rows = np.nonzero(changed.mean(axis=1) >= span)[0] + 1
    out: list[list[int]] = []
    for y in rows.tolist():
        if out and y - out[-1][-1] <= merge:
            out[-1].append(y)
        else:
            out.append([y])
    return [run[0] if len(run) == 1 else (run[0] + run[-1]) // 2 for run in out]


@dataclass(frozen=True)
class Band:
    """An item's band: `top`/`bottom` in pixels; `closed_top`/`closed_bottom` say whether a
    boundary was seen there (else the band runs to the image's edge: the item may go on
    beyond what is shown)."""

    top: int
    bottom: int
    closed_top: bool
    closed_bottom: bool

    def box(self, width: int) -> Box:
        return 0, self.top, width, self.bottom


def band_at(rules: list[int], y: float, height: int, min_gap: int = 8) -> Band:
    """The band between the boundaries around `y` (boundaries closer than `min_gap` to y are
    the item's own border, not the next item's)."""
    above = [r for r in rules if r <= y - min_gap / 2]
    below = [r for r in rules if r >= y + min_gap / 2]
    return Band(above[-1] if above else 0, below[0] if below else height, bool(above), bool(below))
