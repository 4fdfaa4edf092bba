"""Raw input events -> semantic actions (pure: no I/O, no clocks; time comes with the events).

The desktop recorder feeds pointer/wheel/key events in order and calls `tick(now)` now and
then so that pending things (a click that might become a double click, a typed string, a
run of wheel notches) are emitted once their window has passed. Every recognized action
carries the time of its FIRST raw event, so the recorder can pair it with the frame captured
just before it, and the pixel where it happened, for the element hit test.

Key events use canonical names (`guiagent.schema.normalize_key`) plus the produced character
when the backend knows it. pynput (X11) applies Shift to the character but not Caps Lock, so
Caps Lock is applied here, to letters only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal

from guiagent.schema import (
    MODIFIERS,
    NAMED_KEYS,
    Action,
    Click,
    DoubleClick,
    Drag,
    Key,
    Point,
    RightClick,
    Scroll,
    ScrollDirection,
    Target,
    TypeText,
)

Button = Literal["left", "right", "middle"]
_MOD_ORDER = ("ctrl", "alt", "shift", "meta")
# US layout, for backends that report the key but not the character it produced.
_SHIFTED = dict(zip("`1234567890-=[]\\;',./", "~!@#$%^&*()_+{}|:\"<>?", strict=True))


@dataclass(frozen=True)
class PointerMove:
    t: float
    x: int
    y: int


@dataclass(frozen=True)
class PointerButton:
    t: float
    x: int
    y: int
    button: Button
    pressed: bool


@dataclass(frozen=True)
class WheelScroll:
    t: float
    x: int
    y: int
    dx: int  # notches, > 0 = right
    dy: int  # notches, > 0 = up (away from the user)


@dataclass(frozen=True)
class KeyPress:
    t: float
    key: str  # canonical name: "a", "enter", "shift", ...
    char: str | None = None  # the character produced, when the backend knows it


@dataclass(frozen=True)
class KeyRelease:
    t: float
    key: str


RawEvent = PointerMove | PointerButton | WheelScroll | KeyPress | KeyRelease


@dataclass(frozen=True)
class Recognized:
    action: Action
    t_start: float  # time of the first raw event of this action
    t_end: float
    point: tuple[int, int] | None = None  # pixel where it happened (for the element hit test)
    # No input between t_prev (the last button/wheel/non-modifier key before typed text) and
    # t_start, nor between t_end and t_next (the event or tick that emitted it; None: finish).
    t_prev: float | None = None
    t_next: float | None = None


@dataclass(frozen=True)
class Thresholds:
    double_click_s: float = 0.4
    double_click_px: float = 6.0
    drag_px: float = 10.0
    type_pause_s: float = 1.5
    scroll_merge_s: float = 0.6
    scroll_per_notch: float = 0.1  # fraction of the screen one wheel notch scrolls


@dataclass
class _Press:
    button: Button
    t: float
    x: int
    y: int
    travel: float = 0.0
    second: bool = False  # second press of a possible double click


@dataclass
class _Typing:
    chars: list[str] = field(default_factory=list)
    t0: float = 0.0
    last: float = 0.0
    prev: float | None = None  # the last raw input before the first character


@dataclass
class _ScrollRun:
    direction: ScrollDirection
    notches: int
    t0: float
    last: float
    x: int
    y: int


class ActionRecognizer:
    """Turns a stream of raw events into actions with normalized point targets."""

    def __init__(self, screen_size: tuple[int, int], thresholds: Thresholds | None = None) -> None:
        self.size = screen_size
        self.th = thresholds or Thresholds()
        self.mods: set[str] = set()
        self._mod_t: dict[str, float] = {}  # when each held modifier went down
        self.caps = False
        self.ignored = 0  # raw events that map to no action (middle clicks, unknown keys)
        self._press: _Press | None = None
        self._click: tuple[float, float, int, int] | None = None  # t_press, t_release, x, y
        self._typing = _Typing()
        self._scroll: _ScrollRun | None = None
        self._lone_mod: str | None = None
        self._last_input: float | None = None  # time of the last button, wheel or non-modifier key

    # -- helpers -------------------------------------------------------------------------

    def _target(self, x: float, y: float) -> Target:
        return Target(point=Point.from_pixels(x, y, self.size))

    def _flush_click(self) -> list[Recognized]:
        if self._click is None:
            return []
        t0, t1, x, y = self._click
        self._click = None
        return [Recognized(Click(target=self._target(x, y)), t0, t1, (x, y))]

    def _flush_typing(self, submit: bool = False, t_end: float | None = None) -> list[Recognized]:
        ty = self._typing
        if not ty.chars:
            return []
        text = "".join(ty.chars)
        self._typing = _Typing()
        return [Recognized(TypeText(text=text, submit=submit), ty.t0, t_end if t_end is not None else ty.last,
                           t_prev=ty.prev)]

    def _flush_scroll(self) -> list[Recognized]:
        s = self._scroll
        if s is None:
            return []
        self._scroll = None
        amount = min(5.0, max(s.notches, 1) * self.th.scroll_per_notch)
        action = Scroll(direction=s.direction, amount=amount, anchor=self._target(s.x, s.y))
        return [Recognized(action, s.t0, s.last, (s.x, s.y))]

    def _flush_all(self) -> list[Recognized]:
        out = self._flush_click() + self._flush_scroll() + self._flush_typing()
        return sorted(out, key=lambda r: r.t_start)

    def _chord(self, key: str, t: float) -> list[Recognized]:
        mods = [m for m in _MOD_ORDER if m in self.mods]
        return [Recognized(Key(keys=(*mods, key)), self._since_mods(t, mods), t)]

    def _since_mods(self, t: float, mods: list[str] | set[str]) -> float:
        """An action starts when its first held modifier went down (the frame before that)."""
        return min([t, *(self._mod_t.get(m, t) for m in mods)])

    # -- the state machine ---------------------------------------------------------------

    def feed(self, ev: RawEvent) -> list[Recognized]:
        """Process one event; returns the actions it completed, oldest first."""
        out = self._feed(ev)
        if isinstance(ev, PointerButton | WheelScroll) or (isinstance(ev, KeyPress) and ev.key not in MODIFIERS):
            self._last_input = ev.t
        return [r if r.t_next is not None else replace(r, t_next=ev.t) for r in out]

    def _feed(self, ev: RawEvent) -> list[Recognized]:
        out = self.tick(ev.t)
        match ev:
            case PointerMove():
                if self._press is not None:
                    self._press.travel = max(self._press.travel, math.dist((ev.x, ev.y), (self._press.x, self._press.y)))
            case PointerButton(pressed=True):
                out += self._on_press(ev)
            case PointerButton(pressed=False):
                out += self._on_release(ev)
            case WheelScroll():
                out += self._on_wheel(ev)
            case KeyPress():
                out += self._on_key(ev)
            case KeyRelease():
                if ev.key in MODIFIERS:
                    self.mods.discard(ev.key)
                    self._mod_t.pop(ev.key, None)
                    if self._lone_mod == ev.key == "meta":
                        out += self._flush_all() + [Recognized(Key(keys=("meta",)), ev.t, ev.t)]
                    self._lone_mod = None
        return out

    def _on_press(self, ev: PointerButton) -> list[Recognized]:
        self._lone_mod = None
        out = self._flush_scroll() + self._flush_typing()
        if self._press is not None:  # a second button while one is held: drop the first
            self.ignored += 1
        second = False
        if self._click is not None:
            t0, t1, x, y = self._click
            near = math.dist((x, y), (ev.x, ev.y)) <= self.th.double_click_px
            if ev.button == "left" and near and ev.t - t1 <= self.th.double_click_s:
                second = True
            else:
                out += self._flush_click()
        self._press = _Press(ev.button, ev.t, ev.x, ev.y, second=second)
        return out

    def _on_release(self, ev: PointerButton) -> list[Recognized]:
        p = self._press
        if p is None or p.button != ev.button:
            self.ignored += 1
            return []
        self._press = None
        travel = max(p.travel, math.dist((ev.x, ev.y), (p.x, p.y)))
        if p.button == "middle":
            self.ignored += 1
            return []
        if p.button == "right":
            return [Recognized(RightClick(target=self._target(p.x, p.y)), p.t, ev.t, (p.x, p.y))]
        if travel > self.th.drag_px:
            out = self._flush_click()
            duration = min(10.0, max(0.05, ev.t - p.t))
            drag = Drag(start=self._target(p.x, p.y), end=self._target(ev.x, ev.y), duration=duration)
            return [*out, Recognized(drag, p.t, ev.t, (p.x, p.y))]
        if p.second and self._click is not None:
            t0, _, x, y = self._click
            self._click = None
            return [Recognized(DoubleClick(target=self._target(x, y)), t0, ev.t, (x, y))]
        self._click = (p.t, ev.t, p.x, p.y)
        return []

    def _on_wheel(self, ev: WheelScroll) -> list[Recognized]:
        self._lone_mod = None
        if ev.dy == 0 and ev.dx == 0:
            return []
        out = self._flush_click() + self._flush_typing()
        if abs(ev.dy) >= abs(ev.dx):
            direction: ScrollDirection = "up" if ev.dy > 0 else "down"
            notches = abs(ev.dy)
        else:
            direction = "right" if ev.dx > 0 else "left"
            notches = abs(ev.dx)
        s = self._scroll
        if s is not None and s.direction == direction and ev.t - s.last <= self.th.scroll_merge_s:
            s.notches += notches
            s.last = ev.t
            return out
        out += self._flush_scroll()
        self._scroll = _ScrollRun(direction, notches, ev.t, ev.t, ev.x, ev.y)
        return out

    def _on_key(self, ev: KeyPress) -> list[Recognized]:
        key = ev.key
        if key in MODIFIERS:
            if key not in self.mods:
                self._mod_t[key] = ev.t
            self.mods.add(key)
            self._lone_mod = key
            return []
        self._lone_mod = None
        if key == "capslock":
            self.caps = not self.caps
            return []
        if key not in NAMED_KEYS and len(key) != 1:
            self.ignored += 1
            return []
        out = self._flush_click() + self._flush_scroll()
        if self.mods - {"shift"}:  # a hotkey chord: ctrl/alt/meta (+ shift) + key
            base = key.lower() if len(key) == 1 else key
            return out + self._flush_typing() + self._chord(base, ev.t)
        char = self._char(ev)
        if char is not None:
            ty = self._typing
            if not ty.chars:
                ty.t0 = self._since_mods(ev.t, self.mods & {"shift"})
                ty.prev = self._last_input
            ty.chars.append(char)
            ty.last = ev.t
            return out
        if key == "backspace" and self._typing.chars:
            self._typing.chars.pop()
            self._typing.last = ev.t
            return out
        if key == "enter" and "shift" not in self.mods and self._typing.chars:
            return out + self._flush_typing(submit=True, t_end=ev.t)
        return out + self._flush_typing() + self._chord(key, ev.t)

    def _char(self, ev: KeyPress) -> str | None:
        """The printable character this press typed, or None for a named key."""
        if ev.key == "space":
            return " "
        ch = ev.char
        if ch is None and len(ev.key) == 1:
            ch = ev.key
            if "shift" in self.mods:
                ch = _SHIFTED.get(ch, ch.upper())
        if ch is None or len(ch) != 1 or not ch.isprintable():
            return None
        if self.caps and ch.isalpha():
            ch = ch.swapcase()
        return ch

    def tick(self, now: float) -> list[Recognized]:
        """Emit what has waited long enough: a lone click, a typed string, a wheel run."""
        out: list[Recognized] = []
        if self._click is not None and self._press is None and now - self._click[1] > self.th.double_click_s:
            out += self._flush_click()
        if self._typing.chars and now - self._typing.last > self.th.type_pause_s:
            out += self._flush_typing()
        if self._scroll is not None and now - self._scroll.last > self.th.scroll_merge_s:
            out += self._flush_scroll()
        return sorted((replace(r, t_next=now) for r in out), key=lambda r: r.t_start)

    def finish(self) -> list[Recognized]:
        """End of recording: emit everything pending (a button still held is dropped)."""
        if self._press is not None:
            self.ignored += 1
            self._press = None
        return self._flush_all()

    @property
    def typing_since(self) -> float | None:
        """Start of the string being typed, None when nothing is buffered."""
        return self._typing.t0 if self._typing.chars else None

    def anchor_times(self) -> set[float]:
        """Times of raw events that may still start an action: their frames must be kept."""
        out = set(self._mod_t.values())
        if self._press is not None:
            out.add(self._press.t)
        if self._click is not None:
            out.add(self._click[0])
        if self._typing.chars:
            out.add(self._typing.t0)
        if self._scroll is not None:
            out.add(self._scroll.t0)
        return out

    @property
    def pending(self) -> bool:
        return bool(self._click or self._typing.chars or self._scroll or self._press)
