"""Marks inside a text field's face that are not its text: the caret and a text area's resize
grip. Both work on `ink`, the mask of the face's pixels that differ from its fill.

- The caret: a thin dark vertical bar in one unbroken run. A "j" or an "i" is a tall thin band
  too, but its dot stands apart from its stem (two runs).
- The grip: the short parallel strokes along the anti-diagonal, alone in the bottom-right
  corner, that a resizable multi-line text area draws (Chromium, Firefox, GTK draw it with two
  or three lines or dotted lines; a single-line input never has one).
"""

from __future__ import annotations

import numpy as np


def luma(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def caret(crop: np.ndarray, ink: np.ndarray, start: int, end: int) -> bool:
    """Columns [start, end) of the face hold a text caret."""
    if end - start > 4:
        return False
    rows = np.nonzero(ink[:, start:end].any(axis=1))[0]
    if len(rows) == 0 or rows[-1] - rows[0] + 1 != len(rows):
        return False  # broken: a letter with a dot
    band = crop[:, start:end][ink[:, start:end]]
    return float(luma(band.astype(np.float32)).mean()) < 80  # a glyph may touch it (the arm of an "r")


def _peaks(values: np.ndarray, most: int) -> tuple[float, int]:
    """How much of `values` (integers) lies within 1 of its `most` most common values (greedy
    over a histogram smoothed by 3), and how many of those peaks hold 3 values or more."""
    if len(values) == 0:
        return 0.0, 0
    lo = int(values.min())
    hist = np.bincount(values - lo).astype(np.int64)
    left = hist.copy()
    taken, strong = 0, 0
    for _ in range(most):
        smooth = np.convolve(left, [1, 1, 1], mode="same")
        if smooth.max() == 0:
            break
        c = int(smooth.argmax())
        got = int(left[max(0, c - 1): c + 2].sum())
        left[max(0, c - 1): c + 2] = 0
        taken += got
        strong += got >= 3
    return taken / len(values), strong


def grip(ink: np.ndarray) -> tuple[int, int] | None:
    """The top-left corner (x, y) of a resize grip in the face's bottom-right corner, else
    None. The strokes: at least two, 85% of the corner's ink on at most three anti-diagonals,
    each long, and nothing of them touching the corner's left or top edge (not part of text)."""
    h, w = ink.shape
    side = max(5, min(h // 2, w // 4, 28))
    if h < 5 or w < 2 * side:
        return None
    corner = ink[h - side:, w - side:]
    ys, xs = np.nonzero(corner)
    if len(ys) < 5 or corner[:, 0].any() or corner[0, :].any():
        return None
    if xs.max() < side * 0.6 or ys.max() < side * 0.6:
        return None  # not pushed into the corner
    # the strokes continue out of the corner only if they are text: ink right left of it is too
    y0, x0 = h - side + int(ys.min()), w - side + int(xs.min())
    if ink[y0:, max(0, x0 - 3): x0].any() or ink[max(0, y0 - 3): y0, x0:].any():
        return None
    share, strong = _peaks((xs + ys).astype(np.int64), 3)
    along = int((xs - ys).max() - (xs - ys).min())
    if share < 0.85 or strong < 2 or along < max(3, 0.25 * side):
        return None
    return x0, y0
