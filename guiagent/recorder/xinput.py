"""pynput glue for the desktop recorder: key names, and X server timestamps.

pynput runs the mouse and the keyboard listener in two threads with two RECORD connections,
so their callbacks can arrive out of order (a key press before the release of the click
that preceded it). The X server stamps every event with its own millisecond clock, shared by
both; `timed_listener` exposes that stamp to the callbacks and `ServerClock` maps it onto
time.monotonic(), so the recorder can restore the true order and pair frames precisely.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from guiagent.schema import NAMED_KEYS

_PYNPUT_NAMES = {
    "cmd": "meta", "alt_gr": "alt", "caps_lock": "capslock", "esc": "escape", "page_up": "pageup",
    "page_down": "pagedown", "print_screen": "printscreen", "media_volume_up": "volumeup",
    "media_volume_down": "volumedown",
}
_KEYSYMS = {65056: "tab", 65421: "enter", 65307: "escape"}  # ISO_Left_Tab (shift+tab), KP_Enter, Escape


def pynput_key(key: Any) -> tuple[str, str | None]:
    """(canonical key name, produced character) of a pynput key; name "" when unknown."""
    name = getattr(key, "name", None)
    if isinstance(name, str):  # a pynput.keyboard.Key member
        for suffix in ("_l", "_r"):
            if name.endswith(suffix) and name != "alt_gr":
                name = name[: -len(suffix)]
        name = _PYNPUT_NAMES.get(name, name)
        if name == "space":
            return "space", " "
        return (name, None) if name in NAMED_KEYS else ("", None)
    char = getattr(key, "char", None)
    if isinstance(char, str) and len(char) == 1:
        return char.lower(), char
    vk = getattr(key, "vk", None)
    return (_KEYSYMS.get(vk, "") if isinstance(vk, int) else ""), None


class ServerClock:
    """Maps X server milliseconds to time.monotonic(): offset = the smallest (arrival - stamp)
    seen, i.e. the delay of the fastest-delivered event. `observe` at arrival, `to_mono`
    later (with the best offset known by then). Thread-safe."""

    WRAP = 1 << 32

    def __init__(self) -> None:
        self._offset: float | None = None
        self._last_ms: int | None = None
        self._wraps = 0
        self._lock = threading.Lock()

    def observe(self, server_ms: int, arrived: float | None = None) -> float:
        """Note an event's arrival; returns its stamp in (unwrapped) server seconds."""
        now = time.monotonic() if arrived is None else arrived
        with self._lock:
            if self._last_ms is not None and server_ms < self._last_ms - self.WRAP // 2:
                self._wraps += 1  # the 32-bit millisecond counter wrapped (every 49.7 days)
            self._last_ms = server_ms
            stamp = (server_ms + self._wraps * self.WRAP) / 1000.0
            if self._offset is None or now - stamp < self._offset:
                self._offset = now - stamp
            return stamp

    def to_mono(self, stamp: float) -> float:
        with self._lock:
            return stamp + (self._offset or 0.0)

    def map(self, server_ms: int | None, arrived: float | None = None) -> float:
        """observe + to_mono; the arrival time when there is no server stamp."""
        if server_ms is None:
            return time.monotonic() if arrived is None else arrived
        return self.to_mono(self.observe(server_ms, arrived))


def timed_listener(cls: type) -> type:
    """A pynput X11 listener class whose callbacks can read `listener.server_time` (ms) of the
    event being handled. Other backends lack `_handle_message`: server_time stays None."""

    class Timed(cls):
        server_time: int | None = None

        def _handle_message(self, display: Any, event: Any, *rest: Any) -> None:
            self.server_time = getattr(event, "time", None)
            super()._handle_message(display, event, *rest)

    Timed.__name__ = f"Timed{cls.__name__}"
    return Timed


def stop_listener(listener: Any, timeout: float = 2.0) -> bool:
    """Stop a pynput listener and wait for its thread; True when it ended.

    pynput 1.8 on X11 sends the RECORD disable on the connection that is blocked in the
    recording, so after the first event `stop()` never lands; the RECORD spec wants it from
    another connection, so it is sent again on pynput's own control connection."""
    listener.stop()
    listener.join(0.1)
    if listener.is_alive():
        try:
            listener._display_stop.record_disable_context(listener._context)
            listener._display_stop.flush()
        except Exception:  # already closed: the thread is on its way out
            pass
        listener.join(timeout)
    return not listener.is_alive()
