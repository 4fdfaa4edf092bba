"""Sliders in pixels: a long thin bar (the track) with a short run of columns standing out
above and below it (the knob). Works on one edge-map component's outer profile
(`grounding.pixels.Outline`), so a knob glued to its track is found with it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grounding.pixels import Box, Outline


@dataclass(frozen=True)
class Slider:
    """A horizontal slider seen in the pixels: its track (a long thin bar) and its knob (the
    part that stands out above and below the track)."""

    track: Box
    knob: Box

    @property
    def fraction(self) -> float:
        """Where the knob's centre sits along the track, 0 (left end) .. 1 (right end)."""
        left, right = self.track[0], self.track[2]
        return min(1.0, max(0.0, ((self.knob[0] + self.knob[2]) / 2 - left) / max(1, right - left)))


def slider_of(o: Outline) -> Slider | None:
    """A component that is a long thin bar with a short run of columns standing out above
    and below it (the knob on its track)."""
    w, h = o.w, o.h
    if w < 3 * h or w < 40:
        return None
    ok = (o.top >= 0) & (o.bottom >= 0)
    if ok.mean() < 0.9:
        return None
    top, bottom = int(np.median(o.top[ok])), int(np.median(o.bottom[ok]))
    if bottom - top < 2 or h - (bottom - top + 1) < 4 or w < 4 * (bottom - top + 1):
        return None  # no part stands out of the bar: a plain box, not a knob on a track
    out = ok & (o.top < top - 2) & (o.bottom > bottom + 2)
    start, end = _run(out)
    if end - start < 4 or end - start > 3 * h or (ok & ~out).mean() < 0.6:
        return None
    bar = ok.copy()
    bar[start:end] = False
    if (np.abs(o.top[bar] - top) <= 2).mean() < 0.85 or (np.abs(o.bottom[bar] - bottom) <= 2).mean() < 0.85:
        return None  # the rest is not a straight bar
    x0, y0 = o.bbox[0], o.bbox[1]
    knob = (x0 + start, y0 + int(o.top[start:end].min()), x0 + end, y0 + int(o.bottom[start:end].max()) + 1)
    return Slider((x0, y0 + top, o.bbox[2], y0 + bottom + 1), knob)


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of every run of True in a 1-D mask."""
    d = np.diff(np.concatenate([[False], mask, [False]]).astype(np.int8))
    return [(int(a), int(b)) for a, b in zip(np.nonzero(d == 1)[0], np.nonzero(d == -1)[0], strict=True)]


def _run(mask: np.ndarray) -> tuple[int, int]:
    """(start, end) of the longest run of True ((0, 0) when none)."""
    return max(true_runs(mask), key=lambda r: r[1] - r[0], default=(0, 0))
