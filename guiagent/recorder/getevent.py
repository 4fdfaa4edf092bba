"""Parsing Android's `getevent -lp` (axis ranges) and `getevent -lt` (the event stream) into
touch gestures and key presses in screen pixels. Pure: the recorder feeds it lines.

Both the labelled (`-l`) and the numeric forms are understood. Touch panels report raw
coordinates in their own range, in the display's natural orientation; `to_screen` scales
them to display pixels and applies the current rotation.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from guiagent.recorder.semantics import Recognized
from guiagent.recorder.touch import TouchThresholds, classify_touch
from guiagent.schema import Action, Back, Home, Key

_ABS_CODES = {"0000": "ABS_X", "0001": "ABS_Y", "002f": "ABS_MT_SLOT", "0035": "ABS_MT_POSITION_X",
              "0036": "ABS_MT_POSITION_Y", "0039": "ABS_MT_TRACKING_ID"}
_TYPES = {"0000": "EV_SYN", "0001": "EV_KEY", "0003": "EV_ABS"}
_KEY_CODES = {"014a": "BTN_TOUCH", "009e": "KEY_BACK", "0066": "KEY_HOME", "00ac": "KEY_HOMEPAGE",
              "001c": "KEY_ENTER", "008b": "KEY_MENU", "0073": "KEY_VOLUMEUP", "0072": "KEY_VOLUMEDOWN",
              "0074": "KEY_POWER", "00d9": "KEY_SEARCH"}
_SYN_CODES = {"0000": "SYN_REPORT"}
_KEY_VALUES = {"DOWN": 1, "UP": 0, "REPEAT": 2}
KEY_ACTIONS: dict[str, Action] = {
    "KEY_BACK": Back(), "KEY_HOME": Home(), "KEY_HOMEPAGE": Home(), "KEY_ENTER": Key(keys=("enter",)),
    "KEY_MENU": Key(keys=("menu",)), "KEY_VOLUMEUP": Key(keys=("volumeup",)),
    "KEY_VOLUMEDOWN": Key(keys=("volumedown",)), "KEY_POWER": Key(keys=("power",)),
    "KEY_SEARCH": Key(keys=("search",)),
}

_AXIS_RE = re.compile(r"(?:ABS \(0003\):)?\s*(\w+)\s*:\s*value -?\d+, min (-?\d+), max (-?\d+)")
_EVENT_RE = re.compile(r"^\[\s*(\d+\.\d+)\]\s+(?:(/dev/input/\S+):\s+)?(\S+)\s+(\S+)\s+(\S+)\s*$")


@dataclass(frozen=True)
class Axis:
    min: int
    max: int

    def fraction(self, v: int) -> float:
        # As Android's InputReader scales: the axis covers max - min + 1 raw steps.
        span = self.max - self.min + 1
        return (v - self.min) / span if span > 0 else 0.0


@dataclass
class InputDevice:
    path: str
    name: str = ""
    axes: dict[str, Axis] = field(default_factory=dict)

    @property
    def is_touchscreen(self) -> bool:
        return ("ABS_MT_POSITION_X" in self.axes and "ABS_MT_POSITION_Y" in self.axes) or (
            "ABS_X" in self.axes and "ABS_Y" in self.axes)

    def xy_axes(self) -> tuple[Axis, Axis]:
        if "ABS_MT_POSITION_X" in self.axes:
            return self.axes["ABS_MT_POSITION_X"], self.axes["ABS_MT_POSITION_Y"]
        return self.axes["ABS_X"], self.axes["ABS_Y"]


def parse_getevent_p(text: str) -> dict[str, InputDevice]:
    """`getevent -lp` (or `-p`) output -> input devices with their axis ranges."""
    devices: dict[str, InputDevice] = {}
    cur: InputDevice | None = None
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("add device"):
            path = s.split(":", 1)[1].strip()
            cur = devices.setdefault(path, InputDevice(path))
        elif cur is not None and s.startswith("name:"):
            cur.name = s.split(":", 1)[1].strip().strip('"')
        elif cur is not None and (m := _AXIS_RE.search(s)):
            code = m.group(1)
            cur.axes[_ABS_CODES.get(code.lower(), code)] = Axis(int(m.group(2)), int(m.group(3)))
    return devices


def touchscreen(devices: dict[str, InputDevice]) -> InputDevice | None:
    """The touch panel: multi-touch axes preferred, then single-touch."""
    mt = [d for d in devices.values() if "ABS_MT_POSITION_X" in d.axes]
    st = [d for d in devices.values() if d.is_touchscreen]
    found = mt or st
    return found[0] if found else None


@dataclass(frozen=True)
class InputEvent:
    t: float  # the kernel's clock, seconds
    device: str
    type: str
    code: str
    value: int


def parse_event_line(line: str) -> InputEvent | None:
    """One `getevent -lt` / `-t` line -> an event; None for anything else."""
    m = _EVENT_RE.match(line.strip())
    if m is None:
        return None
    t, dev, etype, code, raw = m.groups()
    etype = _TYPES.get(etype.lower(), etype)
    table = {"EV_ABS": _ABS_CODES, "EV_KEY": _KEY_CODES, "EV_SYN": _SYN_CODES}.get(etype, {})
    code = table.get(code.lower(), code)
    if raw in _KEY_VALUES:
        value = _KEY_VALUES[raw]
    else:
        try:
            value = int(raw, 16)
        except ValueError:
            return None
        if value >= 0x80000000:  # 32-bit two's complement: ffffffff = -1 (finger lifted)
            value -= 1 << 32
    return InputEvent(float(t), dev or "", etype, code, value)


def to_screen(fx: float, fy: float, natural: tuple[int, int], rotation: int) -> tuple[float, float]:
    """Fractions of the panel (natural orientation) -> pixels of the rotated screen."""
    w, h = natural
    x, y = fx * w, fy * h
    match rotation % 4:
        case 1:
            return y, w - x
        case 2:
            return w - x, h - y
        case 3:
            return h - y, x
        case _:
            return x, y


@dataclass
class _Finger:
    down_t: float
    start: tuple[float, float]
    last: tuple[float, float]
    travel: float = 0.0


class GestureTracker:
    """Event stream -> taps, long presses, swipes (first finger) and hardware keys."""

    def __init__(
        self, panel: InputDevice, screen_size: tuple[int, int], rotation: int = 0,
        thresholds: TouchThresholds | None = None,
    ) -> None:
        self.panel = panel
        self.screen_size = screen_size
        self.rotation = rotation
        self.th = thresholds or TouchThresholds()
        self.ax, self.ay = panel.xy_axes()
        self.ignored = 0
        self._slot = 0
        self._ids: dict[int, int] = {}  # slot -> tracking id (down fingers)
        self._raw: dict[int, list[int | None]] = {}  # slot -> [raw x, raw y]
        self._touch_down = False  # BTN_TOUCH (single-touch panels)
        self._primary: int | None = None  # slot of the finger the gesture follows
        self._finger: _Finger | None = None
        self._keys: dict[str, float] = {}

    @property
    def natural(self) -> tuple[int, int]:
        w, h = self.screen_size
        return (w, h) if self.rotation % 2 == 0 else (h, w)

    def _pos(self, slot: int) -> tuple[float, float] | None:
        rx, ry = self._raw.get(slot, [None, None])
        if rx is None or ry is None:
            return None
        return to_screen(self.ax.fraction(rx), self.ay.fraction(ry), self.natural, self.rotation)

    def feed(self, ev: InputEvent) -> list[Recognized]:
        if ev.device and ev.device != self.panel.path:
            return self._key(ev) if ev.type == "EV_KEY" else []
        match ev.type, ev.code:
            case "EV_ABS", "ABS_MT_SLOT":
                self._slot = ev.value
            case "EV_ABS", "ABS_MT_TRACKING_ID":
                if ev.value < 0:
                    self._ids.pop(self._slot, None)
                else:
                    self._ids[self._slot] = ev.value
            case "EV_ABS", "ABS_MT_POSITION_X" | "ABS_X":
                self._raw.setdefault(self._slot if ev.code.startswith("ABS_MT") else 0, [None, None])[0] = ev.value
            case "EV_ABS", "ABS_MT_POSITION_Y" | "ABS_Y":
                self._raw.setdefault(self._slot if ev.code.startswith("ABS_MT") else 0, [None, None])[1] = ev.value
            case "EV_KEY", "BTN_TOUCH":
                self._touch_down = ev.value != 0
            case "EV_KEY", _:
                return self._key(ev)
            case "EV_SYN", "SYN_REPORT":
                return self._sync(ev.t)
        return []

    def _down_slots(self) -> set[int]:
        if "ABS_MT_POSITION_X" in self.panel.axes:
            return set(self._ids)  # multi-touch protocol B: a finger is down while it has an id
        return {0} if self._touch_down else set()

    def _sync(self, t: float) -> list[Recognized]:
        down = self._down_slots()
        f = self._finger
        if f is None:
            if down:
                self._primary = min(down)
                p = self._pos(self._primary)
                if p is not None:
                    self._finger = _Finger(t, p, p)
                if len(down) > 1:
                    self.ignored += 1
            return []
        assert self._primary is not None
        if self._primary in down:
            p = self._pos(self._primary)
            if p is not None:
                f.last = p
                f.travel = max(f.travel, math.dist(p, f.start))
            if len(down) > 1:
                self.ignored += 1  # multi-finger gestures: only the first finger is kept
            return []
        self._finger = None
        action = classify_touch(f.down_t, t, f.start, f.last, f.travel, self.screen_size, self.th)
        start = (round(f.start[0]), round(f.start[1]))
        return [Recognized(action, f.down_t, t, start)]

    def _key(self, ev: InputEvent) -> list[Recognized]:
        if ev.value == 1:
            self._keys.setdefault(ev.code, ev.t)
            return []
        if ev.value == 0 and ev.code in self._keys:
            t0 = self._keys.pop(ev.code)
            action = KEY_ACTIONS.get(ev.code)
            if action is None:
                self.ignored += 1
                return []
            return [Recognized(action, t0, ev.t)]
        return []
