"""Touch gestures (Android): one finger down..up -> tap, long press or swipe."""

from __future__ import annotations

import math
from dataclasses import dataclass

from guiagent.schema import Action, Click, LongPress, Point, Swipe, Target


@dataclass(frozen=True)
class TouchThresholds:
    slop_fraction: float = 0.02  # max travel of a tap, as a fraction of the short screen side
    long_press_s: float = 0.5


def classify_touch(
    t_down: float, t_up: float, start: tuple[float, float], end: tuple[float, float], travel: float,
    screen_size: tuple[int, int], thresholds: TouchThresholds | None = None,
) -> Action:
    """One finger down..up (screen pixels) -> tap, long press or swipe."""
    th = thresholds or TouchThresholds()
    slop = th.slop_fraction * min(screen_size)
    duration = max(0.0, t_up - t_down)

    def target(p: tuple[float, float]) -> Target:
        return Target(point=Point.from_pixels(p[0], p[1], screen_size))

    if max(travel, math.dist(start, end)) <= slop:
        if duration >= th.long_press_s:
            return LongPress(target=target(start), duration=min(10.0, duration))
        return Click(target=target(start))
    return Swipe(start=target(start), end=target(end), duration=min(10.0, max(0.01, duration)))
