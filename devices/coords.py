"""Desktop coordinate spaces, converted in exactly one place (Linux/X11 and Windows share it).

Three spaces:

- *global physical* pixels: the virtual desktop as mss captures it. Monitors sit side by side
  in it and the origin may be negative (a monitor left of the primary starts at x=-1920).
- *screenshot* pixels: the captured image; (0, 0) is the capture rectangle's top-left.
- *input* coordinates: what pyautogui / the OS pointer APIs expect. With a DPI scale (Windows
  at 125 %, a Retina Mac) one input unit covers `scale` physical pixels of that monitor.

A monitor's input origin defaults to its physical origin divided by its own scale, which is
what Windows reports to DPI-unaware processes and what macOS does with points; a platform
that places monitors differently passes `input_origin` explicitly. On X11 every scale is 1.0
and input == global physical.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from guiagent.schema.errors import ConfigError


@dataclass(frozen=True)
class Monitor:
    """One monitor in global physical pixels; `scale` = physical / logical (1.25, 1.5, 2.0)."""

    left: int
    top: int
    width: int
    height: int
    scale: float = 1.0
    input_origin: tuple[float, float] | None = None  # top-left in input coordinates

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ConfigError(f"monitor size must be positive, got {self.width}x{self.height}")
        if not self.scale > 0:
            raise ConfigError(f"monitor scale must be positive, got {self.scale}")

    @classmethod
    def from_mss(cls, mon: Mapping[str, Any], scale: float = 1.0) -> Monitor:
        return cls(int(mon["left"]), int(mon["top"]), int(mon["width"]), int(mon["height"]), scale)

    @property
    def right(self) -> int:
        return self.left + self.width

    @property
    def bottom(self) -> int:
        return self.top + self.height

    @property
    def origin_input(self) -> tuple[float, float]:
        if self.input_origin is not None:
            return self.input_origin
        return self.left / self.scale, self.top / self.scale

    @property
    def input_size(self) -> tuple[float, float]:
        return self.width / self.scale, self.height / self.scale

    def contains(self, gx: float, gy: float) -> bool:
        """Whether a global physical point lies on this monitor."""
        return self.left <= gx < self.right and self.top <= gy < self.bottom

    def contains_input(self, x: float, y: float) -> bool:
        """Whether an input-space point lies on this monitor."""
        ox, oy = self.origin_input
        w, h = self.input_size
        return ox <= x < ox + w and oy <= y < oy + h

    def clamp(self, gx: float, gy: float) -> tuple[float, float]:
        return min(max(gx, self.left), self.right - 1), min(max(gy, self.top), self.bottom - 1)


def bounding_box(monitors: Sequence[Monitor]) -> Monitor:
    """The rectangle holding every monitor (what mss calls monitor 0), scale 1."""
    if not monitors:
        raise ConfigError("no monitors to bound")
    left = min(m.left for m in monitors)
    top = min(m.top for m in monitors)
    right = max(m.right for m in monitors)
    bottom = max(m.bottom for m in monitors)
    return Monitor(left, top, right - left, bottom - top)


def _distance2(m: Monitor, gx: float, gy: float) -> float:
    cx, cy = m.clamp(gx, gy)
    return (cx - gx) ** 2 + (cy - gy) ** 2


class ScreenMap:
    """Converts between screenshot pixels, global physical pixels and input coordinates.

    `monitors` are every monitor of the desktop (so input points land on the right one);
    `capture` is the rectangle the screenshots show, in global physical pixels (default:
    the bounding box of all monitors). A point in a gap between monitors of different sizes
    is moved to the nearest monitor, since the OS pointer cannot go there either.
    """

    def __init__(self, monitors: Sequence[Monitor], capture: Monitor | None = None) -> None:
        if not monitors:
            raise ConfigError("a ScreenMap needs at least one monitor")
        self.monitors: tuple[Monitor, ...] = tuple(monitors)
        self.capture = capture if capture is not None else bounding_box(self.monitors)

    @property
    def size(self) -> tuple[int, int]:
        """Screenshot size in pixels."""
        return self.capture.width, self.capture.height

    @property
    def scale(self) -> float:
        """Scale of the monitor at the capture's centre (what DeviceInfo.scale reports)."""
        c = self.capture
        return self.nearest_monitor(c.left + c.width / 2, c.top + c.height / 2).scale

    # -- which monitor ------------------------------------------------------------------

    def index_at(self, gx: float, gy: float) -> int | None:
        """Index in `monitors` of the monitor holding a global physical point, else None."""
        return next((i for i, m in enumerate(self.monitors) if m.contains(gx, gy)), None)

    def monitor_at(self, gx: float, gy: float) -> Monitor | None:
        i = self.index_at(gx, gy)
        return None if i is None else self.monitors[i]

    def nearest_monitor(self, gx: float, gy: float) -> Monitor:
        return self.monitor_at(gx, gy) or min(self.monitors, key=lambda m: _distance2(m, gx, gy))

    def monitor_at_input(self, x: float, y: float) -> Monitor | None:
        return next((m for m in self.monitors if m.contains_input(x, y)), None)

    # -- conversions --------------------------------------------------------------------

    def to_global(self, px: float, py: float) -> tuple[float, float]:
        """Screenshot pixel -> global physical pixel."""
        return self.capture.left + px, self.capture.top + py

    def to_screenshot(self, gx: float, gy: float) -> tuple[float, float]:
        """Global physical pixel -> screenshot pixel (may fall outside the image)."""
        return gx - self.capture.left, gy - self.capture.top

    def contains_global(self, gx: float, gy: float) -> bool:
        """Whether a global physical point is inside the captured rectangle."""
        return self.capture.contains(gx, gy)

    def global_to_input(self, gx: float, gy: float) -> tuple[int, int]:
        m = self.nearest_monitor(gx, gy)
        gx, gy = m.clamp(gx, gy)
        ox, oy = m.origin_input
        # floor: the input unit that contains the physical pixel (round() would bank-round .5)
        return _floor(ox + (gx - m.left) / m.scale), _floor(oy + (gy - m.top) / m.scale)

    def input_to_global(self, x: float, y: float) -> tuple[float, float]:
        m = self.monitor_at_input(x, y)
        if m is None:  # off every monitor: use the monitor whose input rectangle is nearest
            m = min(self.monitors, key=lambda mm: _input_distance2(mm, x, y))
        ox, oy = m.origin_input
        return m.clamp(m.left + (x - ox) * m.scale, m.top + (y - oy) * m.scale)

    def to_input(self, px: float, py: float) -> tuple[int, int]:
        """Screenshot pixel -> the integer coordinates pyautogui / the OS pointer expects."""
        return self.global_to_input(*self.to_global(px, py))

    def from_input(self, x: float, y: float) -> tuple[float, float]:
        """Input coordinates -> screenshot pixel (may fall outside the image)."""
        return self.to_screenshot(*self.input_to_global(x, y))


def _floor(v: float) -> int:
    return math.floor(v + 1e-9)  # tolerate float error such as 799.99999999 for 800


def _input_distance2(m: Monitor, x: float, y: float) -> float:
    ox, oy = m.origin_input
    w, h = m.input_size
    cx, cy = min(max(x, ox), ox + w - 1), min(max(y, oy), oy + h - 1)
    return (cx - x) ** 2 + (cy - y) ** 2
