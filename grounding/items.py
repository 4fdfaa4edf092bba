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


def rule_columns(image: Image.Image, y: int, tol: int = 12, near: int = 3, span: float = 0.6) -> np.ndarray:
    """Which columns a rule at `y` changes: the widest edge row within `near` px of `y` (a
    boundary's y is the middle of its edge rows), as a boolean mask over the width."""
    gray = np.asarray(image.convert("L"), dtype=np.int16)
    lo, hi = max(1, y - near), min(gray.shape[0], y + near + 1)
    if lo >= hi:
        return np.zeros(gray.shape[1], dtype=bool)
    diff = np.abs(gray[lo:hi] - gray[lo - 1:hi - 1]) > tol
    best = int(np.argmax(diff.mean(axis=1)))
    return np.asarray(diff[best]) if diff[best].mean() >= span else np.any(diff, axis=0)


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


def plus_marks(image: Image.Image, box: Box, arm: int = 3, dark: int = 100) -> list[tuple[int, int]]:
    """The centres of "+" glyphs drawn inside `box` (a tree's expand marker, a collapsed
    node): a dark pixel with dark arms of `arm` px in all four directions and light pixels on
    its four diagonals (which a filled blob, a box's corner or a line does not have)."""
    x0, y0, x1, y1 = (max(0, int(v)) for v in box)
    gray = np.asarray(image.convert("L").crop((x0, y0, x1, y1)), dtype=np.int16)
    d = gray < dark
    h, w = d.shape
    if h <= 2 * arm or w <= 2 * arm:
        return []
    core = d[arm:h - arm, arm:w - arm].copy()
    for k in range(1, arm + 1):
        for dy, dx in ((0, k), (0, -k), (k, 0), (-k, 0)):
            core &= d[arm + dy:h - arm + dy, arm + dx:w - arm + dx]
    for dy, dx in ((arm, arm), (arm, -arm), (-arm, arm), (-arm, -arm)):
        core &= ~d[arm + dy:h - arm + dy, arm + dx:w - arm + dx]
    ys, xs = np.nonzero(core)
    out: list[tuple[int, int]] = []
    for y, x in zip((ys + y0 + arm).tolist(), (xs + x0 + arm).tolist(), strict=True):
        if not any(abs(x - a) <= 2 * arm and abs(y - b) <= 2 * arm for a, b in out):  # one per glyph
            out.append((x, y))
    return out


def ink(image: Image.Image, box: Box, min_chroma: int = 60) -> tuple[int, int, int] | None:
    """The colour of the coloured strokes inside `box` (a link's text): the median of its
    saturated pixels; None when it has none (black or grey text)."""
    x0, y0, x1, y1 = (max(0, int(v)) for v in box)
    rgb = np.asarray(image.convert("RGB").crop((x0, y0, x1, y1)), dtype=np.int16).reshape(-1, 3)
    coloured = rgb[(rgb.max(axis=1) - rgb.min(axis=1)) >= min_chroma]
    if len(coloured) == 0:
        return None
    r, g, b = np.median(coloured, axis=0).astype(int).tolist()
    return r, g, b


def colour_clusters(image: Image.Image, box: Box, colour: tuple[int, int, int], tol: int = 60,
                    gap: int = 4) -> list[Box]:
    """The boxes of the runs of columns in `box` that hold pixels of `colour` (within `tol`
    per channel), split where `gap` px of columns hold none: the separate words or glyphs
    drawn in that colour (a pager's "1 2 3 >")."""
    x0, y0 = (max(0, int(v)) for v in box[:2])
    rgb = np.asarray(image.convert("RGB").crop((x0, y0, int(box[2]), int(box[3]))), dtype=np.int16)
    if rgb.size == 0:
        return []
    near = np.asarray((np.abs(rgb - np.array(colour, dtype=np.int16)) <= tol).all(axis=2))
    cols = np.nonzero(near.any(axis=0))[0].tolist()
    out: list[Box] = []
    for x in cols:
        if out and x - out[-1][2] <= gap:
            out[-1] = (out[-1][0], 0, x + 1, 0)
        else:
            out.append((x, 0, x + 1, 0))
    boxes = []
    for a, _, b, _ in out:
        ys = np.nonzero(near[:, a:b].any(axis=1))[0]
        boxes.append((a + x0, int(ys[0]) + y0, b + x0, int(ys[-1]) + 1 + y0))
    return boxes
