"""Things drawn on a plain background (a shape, an icon, a tile, a handle), found from pixels:
connected pixels that differ from the background colour. numpy + PIL only. Used to move a
thing the screen names by no text ("drag the item left") and to see where it went."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from grounding.pixels import Box, components, label_runs, to_rgb_array


@dataclass(frozen=True)
class Thing:
    """A connected blob of non-background pixels: its box (right / bottom exclusive), its
    pixel count and the centre of its pixels."""

    bbox: Box
    area: int
    center: tuple[float, float]


def background(rgb: np.ndarray) -> tuple[int, int, int]:
    """The most common colour of the image's top and side borders (a page's background)."""
    border = np.concatenate([rgb[0], rgb[:, 0], rgb[:, -1]]).reshape(-1, 3).astype(np.int64)
    keys = (border[:, 0] << 16) | (border[:, 1] << 8) | border[:, 2]
    vals, counts = np.unique(keys, return_counts=True)
    k = int(vals[np.argmax(counts)])
    return k >> 16, (k >> 8) & 255, k & 255


def _overlap(a: Box, b: Box) -> int:
    return max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))


def things(image: Any, skip: Sequence[Box] = (), tol: int = 40, min_side: int = 8) -> list[Thing]:
    """The blobs of `image` that differ from its background by more than `tol` in a channel,
    at least `min_side` px each way and under a quarter of the image (the page's other
    panels), that lie mostly outside the `skip` boxes (text lines, buttons). Largest first."""
    rgb = to_rgb_array(image)
    h, w = rgb.shape[:2]
    bg = np.array(background(rgb), dtype=np.int16)
    ink = (np.abs(rgb.astype(np.int16) - bg) > tol).any(axis=2)
    runs = label_runs(ink)
    if len(runs.row) == 0:
        return []
    c = components(runs, w, h)
    sx, sy = np.zeros(len(c.area)), np.zeros(len(c.area))
    n = runs.end - runs.start
    np.add.at(sx, c.index, n * (runs.start + runs.end - 1) / 2)
    np.add.at(sy, c.index, n * runs.row)
    x0, y0, x1, y1, area = c.x0, c.y0, c.x1, c.y1, c.area
    cw, ch = x1 - x0, y1 - y0
    keep = (cw >= min_side) & (ch >= min_side) & (cw * ch < 0.25 * w * h)
    out = []
    for i in np.nonzero(keep)[0]:
        box = (int(x0[i]), int(y0[i]), int(x1[i]), int(y1[i]))
        size = (box[2] - box[0]) * (box[3] - box[1])
        if any(_overlap(box, s) > 0.5 * size for s in skip):
            continue
        out.append(Thing(box, int(area[i]), (float(sx[i] / area[i]), float(sy[i] / area[i]))))
    return sorted(out, key=lambda t: -t.area)


def room(image: Any, box: Box, direction: str, tol: int = 40) -> int:
    """How far `box` can move in `direction` (px) before it meets other ink or the image's
    edge, looking along the band the box spans."""
    rgb = to_rgb_array(image)
    h, w = rgb.shape[:2]
    bg = np.array(background(rgb), dtype=np.int16)
    x0, y0, x1, y1 = box
    match direction:
        case "left":
            strip, flip, edge = rgb[y0:y1, :x0], True, x0
        case "right":
            strip, flip, edge = rgb[y0:y1, x1:], False, w - x1
        case "up":
            strip, flip, edge = rgb[:y0, x0:x1].transpose(1, 0, 2), True, y0
        case _:
            strip, flip, edge = rgb[y1:, x0:x1].transpose(1, 0, 2), False, h - y1
    if strip.size == 0:
        return 0
    ink = (np.abs(strip.astype(np.int16) - bg) > tol).any(axis=2).any(axis=0)
    if flip:
        ink = ink[::-1]
    hits = np.nonzero(ink)[0]
    return int(hits[0]) if len(hits) else int(edge)
