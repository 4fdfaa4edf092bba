"""Regions of a frame worth reading: what changed since the last frame (`dirty_regions`), what
differs from the background on a fresh one (`content_regions`), and big regions cut into tiles
the OCR detector reads without shrinking them (`tiles`). numpy only."""

from __future__ import annotations

import numpy as np

Box = tuple[int, int, int, int]


def _clip(box: Box, size: tuple[int, int]) -> Box:
    w, h = size
    return max(0, box[0]), max(0, box[1]), min(w, box[2]), min(h, box[3])


def _intersects(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _union(a: Box, b: Box) -> Box:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def dirty_regions(prev: np.ndarray, cur: np.ndarray, cell: int = 32, threshold: int = 24,
                  margin: int = 8) -> list[Box]:
    """Rectangles (with `margin`) around the pixels that changed between two grayscale frames:
    the frames are diffed on a grid of `cell` px, neighbouring dirty cells are merged, and each
    group is tightened to the changed pixels it holds."""
    h, w = cur.shape
    rows = np.flatnonzero((cur != prev).any(axis=1))  # the rows that differ at all (cheap on 4K)
    if len(rows) == 0:
        return []
    changed = np.zeros(cur.shape, dtype=bool)
    changed[rows] = np.abs(cur[rows].astype(np.int16) - prev[rows].astype(np.int16)) > threshold
    if not changed.any():
        return []
    gh, gw = -(-h // cell), -(-w // cell)
    padded = np.zeros((gh * cell, gw * cell), dtype=bool)
    padded[:h, :w] = changed
    grid = np.asarray(padded.reshape(gh, cell, gw, cell).any(axis=(1, 3)))  # an array (numpy types any() as maybe a scalar)
    seen = np.zeros_like(grid)
    rects: list[Box] = []
    for gy, gx in zip(*np.nonzero(grid), strict=True):
        if seen[gy, gx]:
            continue
        stack, cells = [(gy, gx)], []
        seen[gy, gx] = True
        while stack:  # flood fill over 8-neighbours; the grid is small (40x25 for 1280x800)
            y, x = stack.pop()
            cells.append((y, x))
            for ny in range(max(0, y - 1), min(gh, y + 2)):
                for nx in range(max(0, x - 1), min(gw, x + 2)):
                    if grid[ny, nx] and not seen[ny, nx]:
                        seen[ny, nx] = True
                        stack.append((ny, nx))
        ys, xs = [int(c[0]) for c in cells], [int(c[1]) for c in cells]
        y0, y1, x0, x1 = min(ys) * cell, (max(ys) + 1) * cell, min(xs) * cell, (max(xs) + 1) * cell
        sub = changed[y0:y1, x0:x1]
        rows, cols = np.nonzero(sub.any(axis=1))[0], np.nonzero(sub.any(axis=0))[0]
        rects.append((int(x0 + cols[0]) - margin, int(y0 + rows[0]) - margin,
                      int(x0 + cols[-1]) + 1 + margin, int(y0 + rows[-1]) + 1 + margin))
    return [_clip(r, (w, h)) for r in _merge(rects)]


def _merge(rects: list[Box]) -> list[Box]:
    rects = list(rects)
    merged = True
    while merged:
        merged = False
        for i in range(len(rects)):
            for j in range(i + 1, len(rects)):
                if _intersects(rects[i], rects[j]):
                    rects[i] = _union(rects[i], rects.pop(j))
                    merged = True
                    break
            if merged:
                break
    return rects


def content_regions(gray: np.ndarray, cell: int = 32, level: int = 24) -> list[Box]:
    """Where the frame holds anything but its background colour (the most common gray level,
    e.g. an empty desktop around a window): the regions worth reading on a fresh frame."""
    sample = gray[::4, ::4]
    background = int(np.bincount(sample.ravel(), minlength=256).argmax())
    return dirty_regions(np.full_like(gray, background), gray, cell, level, margin=12)


def _quietest(busy: np.ndarray, lo: int, hi: int) -> int:
    """The index in [lo, hi) with the fewest busy pixels (the last one on ties): a gap between
    text lines or columns, where a cut splits no text."""
    window = busy[lo:hi]
    return lo + int(len(window) - 1 - np.argmin(window[::-1]))


def tiles(gray: np.ndarray, box: Box, limit: int = 960) -> list[Box]:
    """`box` cut into pieces no side of which exceeds `limit`, each cut along the quietest row or
    column in the last quarter before the limit. The detector shrinks anything bigger than
    `limit` to fit, and small text (a 10 px menu bar) does not survive that shrinking."""
    left, top, right, bottom = box
    w, h = right - left, bottom - top
    if w <= limit and h <= limit:
        return [box]
    crop = gray[top:bottom, left:right].astype(np.int16)
    edges = np.zeros(crop.shape, dtype=bool)
    edges[:, 1:] |= np.abs(np.diff(crop, axis=1)) > 24
    edges[1:, :] |= np.abs(np.diff(crop, axis=0)) > 24
    if w >= h:
        cut = left + _quietest(edges.sum(axis=0), int(0.75 * limit), limit)
        parts: tuple[Box, Box] = ((left, top, cut, bottom), (cut, top, right, bottom))
    else:
        cut = top + _quietest(edges.sum(axis=1), int(0.75 * limit), limit)
        parts = ((left, top, right, cut), (left, cut, right, bottom))
    return [t for p in parts for t in tiles(gray, p, limit)]
