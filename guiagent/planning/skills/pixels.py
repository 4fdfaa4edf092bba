"""Screen units and screenshot pixels, and whether a frame's pixels changed: what the skills
that check their effect on the pixels share. Element boxes and points are in screen units;
crops of the screenshot are in its pixels (a HiDPI screenshot has more of them)."""

from __future__ import annotations

import numpy as np

from guiagent.schema import Observation, Point

Box = tuple[int, int, int, int]
NOISE = 24  # a grey-level step: less is noise (a caret, anti-aliasing, compression)


def scale(obs: Observation) -> tuple[float, float]:
    """Screenshot pixels per screen unit, across and down."""
    img = obs.screenshot
    w, h = obs.screen_size
    return (img.width / w, img.height / h) if img is not None and w and h else (1.0, 1.0)


def px_box(obs: Observation, box: Box | tuple[float, float, float, float], cover: bool = False) -> Box:
    """`box` (screen units) in screenshot pixels; `cover`: the far edges rounded up, so that the
    pixel box holds all of it (else truncated, as crops of text lines are)."""
    sx, sy = scale(obs)
    far = np.ceil if cover else np.floor
    return int(box[0] * sx), int(box[1] * sy), int(far(box[2] * sx)), int(far(box[3] * sy))


def full(obs: Observation) -> Box:
    """The whole screenshot, in its pixels."""
    img = obs.screenshot
    return (0, 0, img.width, img.height) if img is not None else (0, 0, 1, 1)


def point_at(obs: Observation, box: Box) -> Point:
    """The centre of `box` (screenshot pixels), as a point on the screen."""
    sx, sy = scale(obs)
    w, h = obs.screen_size
    return Point.from_pixels(min(w - 1, (box[0] + box[2]) / 2 / sx), min(h - 1, (box[1] + box[3]) / 2 / sy),
                             obs.screen_size)


def grey(obs: Observation, box: Box | None = None) -> np.ndarray | None:
    """The screenshot (or its `box`) as grey levels; None without a screenshot."""
    img = obs.screenshot
    if img is None:
        return None
    return np.asarray((img.crop(box) if box else img).convert("L"), dtype=np.int16)


def changed(before: Observation, after: Observation, box: Box) -> bool:
    """Some pixel in `box` changed by more than noise between the frames (a frame that cannot
    be compared counts as changed: nothing shows that it did not)."""
    a, b = grey(before, box), grey(after, box)
    return a is None or b is None or a.shape != b.shape or int(np.abs(a - b).max(initial=0)) > NOISE
