"""The touch panel: turns taps and swipes into kernel input events (what `getevent` shows),
classifies the gesture on release (tap, long press, drag) and hands it to the model.

Events use the multitouch type-B protocol in the panel's own coordinates: the natural
(unrotated) orientation, scaled to the axis ranges `getevent -p` reports. Note: on a real phone
`input tap` injects above the kernel and getevent does not see it; here every touch is
reported as if a finger made it, so a recorder can be tested against the virtual phone.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from devices.simphone.model import PhoneModel

log = logging.getLogger(__name__)

EV_SYN, EV_KEY, EV_ABS = 0x00, 0x01, 0x03
SYN_REPORT = 0x00
BTN_TOOL_FINGER, BTN_TOUCH = 0x145, 0x14A
ABS_MT_SLOT, ABS_MT_TOUCH_MAJOR = 0x2F, 0x30
ABS_MT_POSITION_X, ABS_MT_POSITION_Y, ABS_MT_TRACKING_ID, ABS_MT_PRESSURE = 0x35, 0x36, 0x39, 0x3A
KEY_VOLUMEDOWN, KEY_VOLUMEUP, KEY_POWER = 0x72, 0x73, 0x74

EV_LABELS = {EV_SYN: "EV_SYN", EV_KEY: "EV_KEY", EV_ABS: "EV_ABS"}
CODE_LABELS = {
    EV_SYN: {SYN_REPORT: "SYN_REPORT"},
    EV_KEY: {BTN_TOOL_FINGER: "BTN_TOOL_FINGER", BTN_TOUCH: "BTN_TOUCH", KEY_VOLUMEDOWN: "KEY_VOLUMEDOWN",
             KEY_VOLUMEUP: "KEY_VOLUMEUP", KEY_POWER: "KEY_POWER"},
    EV_ABS: {ABS_MT_SLOT: "ABS_MT_SLOT", ABS_MT_TOUCH_MAJOR: "ABS_MT_TOUCH_MAJOR",
             ABS_MT_POSITION_X: "ABS_MT_POSITION_X", ABS_MT_POSITION_Y: "ABS_MT_POSITION_Y",
             ABS_MT_TRACKING_ID: "ABS_MT_TRACKING_ID", ABS_MT_PRESSURE: "ABS_MT_PRESSURE"},
}
KEYS_DEVICE = "/dev/input/event0"
TOUCH_DEVICE = "/dev/input/event2"

LONG_PRESS_S = 0.5  # ViewConfiguration long-press timeout
SLOP_DP = 8  # touch slop: movement below this is still a tap
MOVE_INTERVAL_S = 1 / 60


@dataclass(frozen=True)
class InputEvent:
    time: float  # CLOCK_MONOTONIC seconds
    device: str
    type: int
    code: int
    value: int


class TouchPanel:
    def __init__(self, model: PhoneModel) -> None:
        self.model = model
        self.name = model.scenario.touch.name
        self._subscribers: set[asyncio.Queue[InputEvent]] = set()
        self._tracking_id = 0
        self._down: tuple[float, float, float] | None = None  # x, y, t of the current press
        self._last: tuple[float, float] = (0.0, 0.0)

    @property
    def axis_max(self) -> tuple[int, int]:
        w, h = self.model.physical_size
        t = self.model.scenario.touch
        return t.max_x if t.max_x is not None else w - 1, t.max_y if t.max_y is not None else h - 1

    def subscribe(self) -> asyncio.Queue[InputEvent]:
        q: asyncio.Queue[InputEvent] = asyncio.Queue()
        self._subscribers.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[InputEvent]) -> None:
        self._subscribers.discard(q)

    def to_panel(self, x: float, y: float) -> tuple[int, int]:
        """Display pixel of the current orientation -> raw panel coordinates."""
        m = self.model
        nw, nh = m.natural_size
        r = m.rotation
        if r == 1:
            nx, ny = nw - 1 - y, x
        elif r == 2:
            nx, ny = nw - 1 - x, nh - 1 - y
        elif r == 3:
            nx, ny = y, nh - 1 - x
        else:
            nx, ny = x, y
        mx, my = self.axis_max
        px = round(min(max(nx, 0), nw - 1) * mx / max(nw - 1, 1))
        py = round(min(max(ny, 0), nh - 1) * my / max(nh - 1, 1))
        return px, py

    def _emit(self, events: list[tuple[int, int, int]]) -> None:
        now = time.monotonic()
        for etype, code, value in events:
            ev = InputEvent(now, TOUCH_DEVICE, etype, code, value & 0xFFFFFFFF)
            for q in self._subscribers:
                q.put_nowait(ev)

    # --- the three primitives ----------------------------------------------------------------

    def down(self, x: float, y: float) -> None:
        self._tracking_id = (self._tracking_id + 1) & 0xFFFF
        px, py = self.to_panel(x, y)
        self._down = (x, y, time.monotonic())
        self._last = (x, y)
        self._emit([(EV_ABS, ABS_MT_TRACKING_ID, self._tracking_id), (EV_KEY, BTN_TOUCH, 1),
                    (EV_KEY, BTN_TOOL_FINGER, 1), (EV_ABS, ABS_MT_POSITION_X, px),
                    (EV_ABS, ABS_MT_POSITION_Y, py), (EV_ABS, ABS_MT_TOUCH_MAJOR, 6),
                    (EV_ABS, ABS_MT_PRESSURE, 48), (EV_SYN, SYN_REPORT, 0)])

    def move(self, x: float, y: float) -> None:
        if self._down is None:
            return
        ox, oy = self.to_panel(*self._last)
        px, py = self.to_panel(x, y)
        self._last = (x, y)
        events = []
        if px != ox:
            events.append((EV_ABS, ABS_MT_POSITION_X, px))
        if py != oy:
            events.append((EV_ABS, ABS_MT_POSITION_Y, py))
        if events:
            self._emit([*events, (EV_SYN, SYN_REPORT, 0)])

    def up(self, x: float | None = None, y: float | None = None) -> str:
        """Release; the gesture is classified and applied. Returns what happened."""
        if self._down is None:
            return "no touch in progress"
        if x is not None and y is not None:
            self.move(x, y)
        x0, y0, t0 = self._down
        x1, y1 = self._last
        self._down = None
        self._emit([(EV_ABS, ABS_MT_TRACKING_ID, -1), (EV_KEY, BTN_TOUCH, 0), (EV_KEY, BTN_TOOL_FINGER, 0),
                    (EV_SYN, SYN_REPORT, 0)])
        slop = SLOP_DP * self.model.density / 160.0
        if abs(x1 - x0) <= slop and abs(y1 - y0) <= slop:
            held = time.monotonic() - t0
            result = self.model.tap(x0, y0, long=held >= LONG_PRESS_S)
        else:
            result = self.model.swipe(x0, y0, x1, y1)
        log.debug("gesture from (%.0f,%.0f) to (%.0f,%.0f): %s", x0, y0, x1, y1, result)
        return result

    # --- what `input` uses -------------------------------------------------------------------

    async def tap(self, x: float, y: float) -> str:
        self.down(x, y)
        return self.up()

    async def swipe(self, x1: float, y1: float, x2: float, y2: float, duration_s: float) -> str:
        """Press, move along the line for `duration_s` (real time, like `input swipe`), release."""
        self.down(x1, y1)
        start = time.monotonic()
        while True:
            await asyncio.sleep(MOVE_INTERVAL_S)
            frac = min(1.0, (time.monotonic() - start) / duration_s) if duration_s > 0 else 1.0
            self.move(x1 + (x2 - x1) * frac, y1 + (y2 - y1) * frac)
            if frac >= 1.0:
                break
        return self.up(x2, y2)


# --- getevent text -------------------------------------------------------------------------------

def format_event(ev: InputEvent, labels: bool, timestamps: bool, show_device: bool) -> str:
    """One line as AOSP getevent prints it (labels padded to 12/20 columns)."""
    out = ""
    if timestamps:
        out += f"[{int(ev.time):8d}.{int((ev.time % 1) * 1e6):06d}] "
    if show_device:
        out += f"{ev.device}: "
    if not labels:
        return out + f"{ev.type:04x} {ev.code:04x} {ev.value:08x}"
    type_label = EV_LABELS.get(ev.type)
    code_label = CODE_LABELS.get(ev.type, {}).get(ev.code)
    value_label = None
    if ev.type == EV_KEY:
        value_label = {0: "UP", 1: "DOWN", 2: "REPEAT"}.get(ev.value)
    out += f"{type_label:<12.12s}" if type_label else f"{ev.type:04x}        "
    out += f" {code_label:<20.20s}" if code_label else f" {ev.code:04x}                "
    out += f" {value_label:<20.20s}" if value_label else f" {ev.value:08x}            "
    return out


def describe_devices(panel: TouchPanel, labels: bool) -> str:
    """`getevent -p` / `-lp`: the input devices and the touch axes' ranges."""
    mx, my = panel.axis_max

    def code(t: int, c: int) -> str:
        return f"{CODE_LABELS[t][c]:<20s}" if labels else f"{c:04x}"

    keys = " ".join(code(EV_KEY, c) for c in (KEY_VOLUMEDOWN, KEY_VOLUMEUP, KEY_POWER))
    lines = [f"add device 1: {KEYS_DEVICE}", '  name:     "gpio-keys"', "  events:",
             f"    {'KEY (0001)' if not labels else 'KEY (0001)'}: {keys}", "  input props:", "    <none>"]
    lines += [f"add device 2: {TOUCH_DEVICE}", f'  name:     "{panel.name}"', "  events:",
              f"    KEY (0001): {code(EV_KEY, BTN_TOOL_FINGER)} {code(EV_KEY, BTN_TOUCH)}"]
    axes = [(ABS_MT_SLOT, 0, 9), (ABS_MT_TOUCH_MAJOR, 0, 255), (ABS_MT_POSITION_X, 0, mx),
            (ABS_MT_POSITION_Y, 0, my), (ABS_MT_TRACKING_ID, 0, 65535), (ABS_MT_PRESSURE, 0, 255)]
    for n, (c, lo, hi) in enumerate(axes):
        prefix = "    ABS (0003): " if n == 0 else " " * 16
        lines.append(f"{prefix}{code(EV_ABS, c)}  : value 0, min {lo}, max {hi}, fuzz 0, flat 0, resolution 0")
    lines += ["  input props:", "    INPUT_PROP_DIRECT"]
    return "\n".join(lines) + "\n"
