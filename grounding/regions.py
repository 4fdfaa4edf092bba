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
    # work on the cell-aligned band around the differing pixels only (the same cells as the
    # whole frame: on 4K a small change otherwise costs two frame-sized masks)
    oy = int(rows[0]) // cell * cell
    band_cols = np.flatnonzero((cur[rows[0]: rows[-1] + 1] != prev[rows[0]: rows[-1] + 1]).any(axis=0))
    ox = int(band_cols[0]) // cell * cell
    ey, ex = min(h, -(-(int(rows[-1]) + 1) // cell) * cell), min(w, -(-(int(band_cols[-1]) + 1) // cell) * cell)
    cur_b, prev_b = cur[oy:ey, ox:ex], prev[oy:ey, ox:ex]
    changed = np.abs(cur_b.astype(np.int16) - prev_b.astype(np.int16)) > threshold
    if not changed.any():
        return []
    h_b, w_b = changed.shape
    gh, gw = -(-h_b // cell), -(-w_b // cell)
    padded = np.zeros((gh * cell, gw * cell), dtype=bool)
    padded[:h_b, :w_b] = changed
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
        rects.append((ox + int(x0 + cols[0]) - margin, oy + int(y0 + rows[0]) - margin,
                      ox + int(x0 + cols[-1]) + 1 + margin, oy + int(y0 + rows[-1]) + 1 + margin))
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


def _widest_gap(busy: np.ndarray, lo: int, hi: int, min_gap: int) -> int | None:
    """The middle of the widest run of empty rows/columns in [lo, hi) (the last on ties), or None
    when no run is `min_gap` wide. A cut there splits no text: the gap between two letters is a
    pixel or two, and even a space between words is narrower than `min_gap`."""
    empty = busy[lo:hi] == 0
    best: tuple[int, int] | None = None  # (length, middle)
    start = None
    for i, e in enumerate([*empty, False]):
        if e and start is None:
            start = i
        elif not e and start is not None:
            if i - start >= min_gap and (best is None or i - start >= best[0]):
                best = (i - start, lo + (start + i) // 2)
            start = None
    return best[1] if best else None


def tiles(gray: np.ndarray, box: Box, limit: int = 960, min_gap: int = 16) -> list[Box]:
    """`box` cut into pieces whose sides keep within `limit`, each cut in the middle of the
    widest empty band (>= `min_gap` px) in the second half before the limit, along the long side
    first, else the other. The detector shrinks anything bigger than `limit` to fit, and small
    text (a 10 px menu bar) does not survive that shrinking; a box up to 1.5x the limit with no
    such band is left whole (shrunk a little) rather than cut through a word."""
    left, top, right, bottom = box
    w, h = right - left, bottom - top
    if w <= limit and h <= limit:
        return [box]
    crop = gray[top:bottom, left:right].astype(np.int16)
    edges = np.zeros(crop.shape, dtype=bool)
    edges[:, 1:] |= np.abs(np.diff(crop, axis=1)) > 24
    edges[1:, :] |= np.abs(np.diff(crop, axis=0)) > 24
    axes = (True, False) if w >= h else (False, True)
    # a wide empty band on either axis; failing that, on a box far over the limit (shrinking it
    # would lose small text), the widest narrow gap: a rare cut through a word beats unreadable text
    tries = [(v, min_gap) for v in axes] + [(v, 1) for v in axes if (w if v else h) > 1.5 * limit]
    for vertical, gap in tries:
        if (w if vertical else h) <= limit:
            continue
        busy = edges.sum(axis=0) if vertical else edges.sum(axis=1)
        at = _widest_gap(busy, int(0.5 * limit), limit, gap)
        if at is None:
            continue
        if vertical:
            parts: tuple[Box, Box] = ((left, top, left + at, bottom), (left + at, top, right, bottom))
        else:
            parts = ((left, top, right, top + at), (left, top + at, right, bottom))
        return [t for p in parts for t in tiles(gray, p, limit, min_gap)]
    return [box]
