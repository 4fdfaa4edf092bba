"""Which top-level windows were on screen, and when, as the X server saw it.

`MapLog` selects SubstructureNotify on the root window: every map and unmap of a top-level
window reaches it as an event, in the server's own order. A test reads the whole history
after the fact instead of sampling the screen now and then (samples miss short states, and two
queries in a row are not one moment).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any


@dataclass(frozen=True)
class MapEvent:
    mapped: bool
    window: int
    title: str
    pid: int | None


class MapLog:
    def __init__(self, display_name: str) -> None:
        from Xlib import X
        from Xlib.display import Display

        self._X = X
        self.display = Display(display_name)
        self.display.screen().root.change_attributes(event_mask=X.SubstructureNotifyMask)
        self.display.sync()
        self.events: list[MapEvent] = []
        self.pid: int | None = None  # the process whose windows `history` reports
        self._names: dict[int, tuple[str, int | None]] = {}

    def __enter__(self) -> MapLog:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.display.close()

    def _name(self, wid: int) -> tuple[str, int | None]:
        """Title and _NET_WM_PID of a window, read once (a window keeps its id while hidden)."""
        if wid not in self._names:
            from Xlib import error as xerror

            win = self.display.create_resource_object("window", wid)
            try:
                title = win.get_full_property(self.display.intern_atom("_NET_WM_NAME"), self._X.AnyPropertyType)
                pid = win.get_full_property(self.display.intern_atom("_NET_WM_PID"), self._X.AnyPropertyType)
            except xerror.XError:  # gone before we asked: it stays unnamed
                return "", None
            text = title.value if title is not None else b""
            self._names[wid] = (text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text),
                                int(pid.value[0]) if pid is not None and len(pid.value) else None)
        return self._names[wid]

    def drain(self) -> list[MapEvent]:
        """Take in the events the server has sent so far; returns the whole history."""
        X = self._X
        self.display.sync()  # a round trip: every event generated before now is in our queue
        while self.display.pending_events():
            ev: Any = self.display.next_event()
            # send_event: a client's synthetic UnmapNotify (ICCCM withdraw), not a real unmap
            if ev.type in (X.MapNotify, X.UnmapNotify) and not ev.send_event:
                self.events.append(MapEvent(ev.type == X.MapNotify, ev.window.id, *self._name(ev.window.id)))
        return self.events

    def history(self) -> list[tuple[bool, str]]:
        """(mapped, title) of each map or unmap of the windows of process `pid`, in order."""
        return [(e.mapped, e.title) for e in self.drain() if self.pid is not None and e.pid == self.pid]
