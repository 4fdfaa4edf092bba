"""DPI awareness and the monitor layout for the Windows device. The math is devices.coords'.

Windows scales coordinates per process according to its DPI awareness:

- per-monitor aware (2): every API speaks physical pixels: the GDI capture mss does,
  SetCursorPos/SendInput (pyautogui), UIA's BoundingRectangle and ElementFromPoint. The device
  asks for this first thing with `SetProcessDpiAwareness(2)`. uiautomation and mss ask for the
  same at import, but pyautogui calls `SetProcessDPIAware()` (system aware) at import, and the
  first call in a process wins, so the device makes its call before importing any of them.
- system aware (1): the whole desktop is scaled by the system DPI (the primary monitor's at
  logon): input = physical / system scale.
- unaware (0): each monitor is scaled by its own DPI: input = physical / that monitor's scale,
  the default placement of `coords.Monitor`.

Assumption (documented, not verified on real Windows here): UIA hands a client rectangles in
the client's own coordinate space, the same as the input APIs. So a UIA rectangle is in *input*
coordinates, and `rect_to_screenshot` maps it through `ScreenMap.from_input`. For the usual
per-monitor-aware process that is the identity plus the capture origin. Some providers
misreport under scaling (32-bit apps' menus at 150 %); nothing client-side can fix that.
When the process could not become per-monitor aware (awareness set earlier by a host app),
Windows also virtualizes what the process can ask about its monitors: pass the physical
layout with `monitors=` ("L,T,W,H@SCALE;...").
"""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import Sequence
from typing import Any

from devices.coords import Monitor, ScreenMap
from guiagent.schema import Box
from guiagent.schema.errors import ConfigError

log = logging.getLogger(__name__)

UNAWARE, SYSTEM_AWARE, PER_MONITOR = 0, 1, 2
AWARENESS_NAMES = {UNAWARE: "unaware", SYSTEM_AWARE: "system", PER_MONITOR: "per-monitor"}


def current_awareness() -> int:
    """This process's DPI awareness (0, 1, 2). Elsewhere than Windows nothing is virtualized."""
    if sys.platform != "win32":
        return PER_MONITOR
    import ctypes

    value = ctypes.c_int(-1)
    try:
        if ctypes.windll.shcore.GetProcessDpiAwareness(None, ctypes.byref(value)) == 0:
            return int(value.value)
    except (AttributeError, OSError):  # before Windows 8.1
        pass
    try:
        return SYSTEM_AWARE if ctypes.windll.user32.IsProcessDPIAware() else UNAWARE
    except (AttributeError, OSError):
        return UNAWARE


def make_per_monitor_aware() -> int:
    """Ask for per-monitor DPI awareness (a no-op when already set) and return what we got."""
    if sys.platform != "win32":
        return PER_MONITOR
    import ctypes

    try:
        ctypes.windll.shcore.SetProcessDpiAwareness(PER_MONITOR)  # fails once anything set it
    except (AttributeError, OSError):
        try:
            ctypes.windll.user32.SetProcessDPIAware()
        except (AttributeError, OSError):
            pass
    got = current_awareness()
    if got != PER_MONITOR:
        log.warning("this process is DPI %s (something set it before the Windows device): UIA and input "
                    "coordinates are scaled; pass monitors= with the physical layout", AWARENESS_NAMES.get(got, got))
    return got


def monitor_scale(gx: float, gy: float) -> float:
    """DPI scale (1.0 = 96 dpi) of the monitor at a global physical point; 1.0 off Windows."""
    if sys.platform != "win32":
        return 1.0
    import ctypes
    import ctypes.wintypes

    try:
        hmon = ctypes.windll.user32.MonitorFromPoint(ctypes.wintypes.POINT(int(gx), int(gy)), 2)  # NEAREST
        dpi_x, dpi_y = ctypes.c_uint(), ctypes.c_uint()
        if ctypes.windll.shcore.GetDpiForMonitor(hmon, 0, ctypes.byref(dpi_x), ctypes.byref(dpi_y)) == 0:
            return dpi_x.value / 96.0
    except (AttributeError, OSError) as exc:
        log.debug("GetDpiForMonitor failed: %s", exc)
    return 1.0


def parse_monitors(spec: str | Sequence[Monitor]) -> list[Monitor]:
    """ "L,T,W,H@SCALE;L,T,W,H" (physical pixels, scale optional) -> Monitors; Monitors pass through."""
    if not isinstance(spec, str):
        return list(spec)
    out: list[Monitor] = []
    for part in (p.strip() for p in spec.split(";")):
        if not part:
            continue
        rect, _, scale = part.partition("@")
        try:
            left, top, width, height = (int(v) for v in rect.split(","))
            out.append(Monitor(left, top, width, height, float(scale) if scale else 1.0))
        except ValueError:
            raise ConfigError(f"monitor must be L,T,W,H or L,T,W,H@SCALE, got {part!r}") from None
    if not out:
        raise ConfigError(f"no monitors in {spec!r}")
    return out


def input_layout(monitors: Sequence[Monitor], awareness: int) -> list[Monitor]:
    """Physical monitors (with their DPI scale) -> the Monitors whose `scale` maps input
    coordinates for a process of this awareness (what ScreenMap needs)."""
    if not monitors:
        raise ConfigError("no monitors")
    if awareness == PER_MONITOR:
        return [Monitor(m.left, m.top, m.width, m.height, 1.0) for m in monitors]
    if awareness == SYSTEM_AWARE:
        primary = next((m for m in monitors if m.contains(0, 0)), monitors[0])
        return [Monitor(m.left, m.top, m.width, m.height, primary.scale) for m in monitors]
    return [Monitor(m.left, m.top, m.width, m.height, m.scale) for m in monitors]


def _input_rect(m: Monitor) -> tuple[float, float, float, float]:
    ox, oy = m.origin_input
    w, h = m.input_size
    return ox, oy, ox + w, oy + h


def rect_to_screenshot(screen: ScreenMap, left: float, top: float, right: float, bottom: float) -> Box | None:
    """A UIA rectangle (input coordinates, right/bottom exclusive) -> a box in screenshot pixels,
    clipped to the screenshot; None when it is empty or shows on no monitor of the capture."""
    if right <= left or bottom <= top:
        return None
    if not any(ml < right and left < mr and mt < bottom and top < mb
               for ml, mt, mr, mb in map(_input_rect, screen.monitors)):
        return None
    # Corners are mapped separately (from_input clamps a corner hanging off a monitor onto its
    # edge, which clips the box); the last input unit covers `scale` physical pixels.
    pl, pt = screen.from_input(left, top)
    last = screen.monitor_at_input(right - 1, bottom - 1)
    pr, pb = screen.from_input(right - 1, bottom - 1)
    step = last.scale if last is not None else 1.0
    w, h = screen.size
    box = (max(0, math.floor(pl + 1e-6)), max(0, math.floor(pt + 1e-6)),
           min(w, math.ceil(pr + step - 1e-6)), min(h, math.ceil(pb + step - 1e-6)))
    return box if box[2] > box[0] and box[3] > box[1] else None


def describe(awareness: int, monitors: Sequence[Monitor]) -> str:
    mons = "; ".join(f"{m.left},{m.top},{m.width}x{m.height}@{m.scale:g}" for m in monitors)
    return f"DPI {AWARENESS_NAMES.get(awareness, awareness)}, monitors {mons}"


def pick_capture(mons: list[dict[str, Any]], monitor: int | str | None) -> Monitor:
    """The capture rectangle for a monitor choice: all (mss monitor 0), primary, or 1..n."""
    sel = "" if monitor is None else str(monitor).strip().lower()
    if sel in ("", "all", "0"):
        return Monitor.from_mss(mons[0])
    if sel == "primary":
        return Monitor.from_mss(next((m for m in mons[1:] if m.get("is_primary")), mons[min(1, len(mons) - 1)]))
    if sel.isdigit() and 0 < int(sel) < len(mons):
        return Monitor.from_mss(mons[int(sel)])
    raise ConfigError(f"no monitor {monitor!r}: choose all, primary or 1..{len(mons) - 1}")
