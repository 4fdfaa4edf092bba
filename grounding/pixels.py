"""Pixel primitives the widget detectors share (grounding/detect.py, grounding/faces.py): the
detector options, an image as an RGB array, the edge map, run-length component labelling and the
outer profile of an outline. numpy + PIL only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class DetectorOptions:
    edge_threshold: int = 24  # max-channel difference that makes an edge
    box_min: int = 9  # checkbox / radio side, px
    box_max: int = 34  # a 13 px checkbox on a 2x (HiDPI) screen is 26-30 px
    field_min_w: int = 30
    field_min_h: int = 12
    field_max_h: int = 72
    button_max_h: int = 200  # big buttons on a 2x (HiDPI) screen run past 150 px
    max_width_frac: float = 0.98  # outlines spanning the whole width are bars, not widgets


def to_rgb_array(image: Any) -> np.ndarray:
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"))
    arr = np.asarray(image)
    if arr.ndim == 2:
        return np.repeat(arr[:, :, None], 3, axis=2)
    return arr[:, :, :3]


def edge_map(rgb: np.ndarray, threshold: int) -> np.ndarray:
    """Pixels that differ from a right or lower neighbour by more than `threshold` in any
    channel (both pixels of the pair marked). uint8 max-min avoids a slow int16 copy."""
    h, w = rgb.shape[:2]
    dx = np.zeros((h, w - 1), dtype=bool)
    dy = np.zeros((h - 1, w), dtype=bool)
    for c in range(rgb.shape[2]):
        ch = np.ascontiguousarray(rgb[:, :, c], dtype=np.uint8)
        a, b = ch[:, 1:], ch[:, :-1]
        dx |= (np.maximum(a, b) - np.minimum(a, b)) > threshold
        a, b = ch[1:], ch[:-1]
        dy |= (np.maximum(a, b) - np.minimum(a, b)) > threshold
    e = np.zeros(rgb.shape[:2], dtype=bool)
    e[:, :-1] |= dx
    e[:, 1:] |= dx
    e[:-1] |= dy
    e[1:] |= dy
    return e


@dataclass
class Runs:
    """Horizontal runs of an edge map and the component label of each run."""

    row: np.ndarray
    start: np.ndarray  # first pixel
    end: np.ndarray  # one past the last pixel
    label: np.ndarray


def label_runs(mask: np.ndarray) -> Runs:
    """8-connected component labelling on runs: runs in adjacent rows that touch (diagonals
    included) are joined with a vectorized union-find (hooking + pointer jumping)."""
    h, w = mask.shape
    padded = np.zeros((h, w + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    d = np.diff(padded, axis=1)
    sr, sc = np.nonzero(d == 1)
    _, ec = np.nonzero(d == -1)
    n = len(sr)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Runs(empty, empty, empty, empty)
    stride = w + 2
    start_key = sr.astype(np.int64) * stride + sc
    end_key = sr.astype(np.int64) * stride + ec  # exclusive end
    # For run b in row y+1, the runs a in row y with a.end >= b.start and a.start <= b.end
    # (8-connectivity) form a contiguous range of indices.
    prev_row = (sr.astype(np.int64) - 1) * stride
    lo = np.searchsorted(end_key, prev_row + sc, side="left")
    hi = np.searchsorted(start_key, prev_row + ec, side="right")
    valid = (sr > 0) & (hi > lo)
    counts = np.where(valid, hi - lo, 0)
    b_idx = np.repeat(np.arange(n), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    a_idx = np.repeat(lo, counts) + offsets
    parent = np.arange(n)
    while len(a_idx):
        pa, pb = parent[a_idx], parent[b_idx]
        differ = pa != pb
        if not differ.any():
            break
        pa, pb = pa[differ], pb[differ]
        low = np.minimum(pa, pb)
        np.minimum.at(parent, pa, low)
        np.minimum.at(parent, pb, low)
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
    return Runs(sr.astype(np.int64), sc.astype(np.int64), ec.astype(np.int64), parent)


@dataclass
class Outline:
    bbox: Box  # left, top, right (exclusive), bottom (exclusive)
    left: np.ndarray  # leftmost x per row (relative to bbox), -1 where the row is empty
    right: np.ndarray
    top: np.ndarray  # topmost y per column (relative to bbox)
    bottom: np.ndarray

    @property
    def w(self) -> int:
        return self.bbox[2] - self.bbox[0]

    @property
    def h(self) -> int:
        return self.bbox[3] - self.bbox[1]


def box_outline(box: Box) -> Outline:
    """The outline of a plain rectangle."""
    w, h = box[2] - box[0], box[3] - box[1]
    return Outline(box, np.zeros(h, dtype=np.int64), np.full(h, w - 1, dtype=np.int64),
                   np.zeros(w, dtype=np.int64), np.full(w, h - 1, dtype=np.int64))


@dataclass
class Components:
    """Per component of `Runs` (index = the component's number): its box (right / bottom
    exclusive) and pixel count; `index` maps each run to its component."""

    index: np.ndarray
    x0: np.ndarray
    y0: np.ndarray
    x1: np.ndarray
    y1: np.ndarray
    area: np.ndarray


def components(runs: Runs, width: int, height: int) -> Components:
    """The boxes and pixel counts of the labelled components of `runs` (vectorized)."""
    _, inv = np.unique(runs.label, return_inverse=True)
    k = int(inv.max()) + 1 if len(inv) else 0
    x0, y0 = np.full(k, width, dtype=np.int64), np.full(k, height, dtype=np.int64)
    x1, y1 = np.zeros(k, dtype=np.int64), np.zeros(k, dtype=np.int64)
    area = np.zeros(k, dtype=np.int64)
    np.minimum.at(x0, inv, runs.start)
    np.minimum.at(y0, inv, runs.row)
    np.maximum.at(x1, inv, runs.end)
    np.maximum.at(y1, inv, runs.row + 1)
    np.add.at(area, inv, runs.end - runs.start)
    return Components(inv, x0, y0, x1, y1, area)
