"""X11 helpers for the desktop device: which window is where and whose it is, and typing
any Unicode text.

Window ownership: the top-level window under a point comes from XTranslateCoordinates on
the root (the server's own stacking, so it works with or without a window manager); the
client window inside a WM frame is the one carrying WM_STATE; its process id comes from
`_NET_WM_PID`, else from the X-Resource extension (the server knows the pid of every local
client, even for windows that never set `_NET_WM_PID`).

Unicode typing: XTest can only press keycodes, and the keymap has none for "ü" or "漢". We
bind the wanted keysym to a spare keycode (ChangeKeyboardMapping), press it, and keep the
binding until the slot is needed again or `restore()` runs. Reverting right after the press
races with the application reading the event (the app may look the keycode up after the
revert and get nothing: xdotool loses the last character that way); keeping bindings and
reusing the least recently used slot, never sooner than `min_reuse_s`, avoids that race.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from guiagent.schema.errors import DeviceDisconnected, DeviceError

log = logging.getLogger(__name__)

_CONTROL_KEYSYMS = {"\n": "Return", "\r": "Return", "\t": "Tab", "\b": "BackSpace"}


@dataclass(frozen=True)
class WindowInfo:
    id: int
    pid: int | None
    title: str


def char_keysym(ch: str) -> int:
    """The X keysym of one character (Latin-1 keysyms equal the code point; the rest of
    Unicode is 0x01000000 + code point)."""
    from Xlib import XK

    if ch in _CONTROL_KEYSYMS:
        return XK.string_to_keysym(_CONTROL_KEYSYMS[ch])
    cp = ord(ch)
    if 0x20 <= cp <= 0x7E or 0xA0 <= cp <= 0xFF:
        return cp
    if cp < 0x20 or 0x7F <= cp < 0xA0:
        raise DeviceError(f"cannot type control character U+{cp:04X}")
    return 0x01000000 | cp


class X11Session:
    """One connection to the X server for window queries and Unicode typing (thread-safe)."""

    def __init__(self, display: str | None = None) -> None:
        from Xlib import error as xerror
        from Xlib.display import Display

        try:
            self.display = Display(display)
        except (xerror.DisplayError, OSError) as exc:
            raise DeviceDisconnected(f"cannot open X display {display or '$DISPLAY'}: {exc}") from exc
        self._xerror = xerror.XError
        self.root = self.display.screen().root
        self._lock = threading.RLock()
        self._atoms: dict[str, int] = {}
        self._has_xres = self.display.has_extension("X-Resource")
        self.typer = KeysymTyper(self)

    @property
    def name(self) -> str:
        return str(self.display.get_display_name())

    def atom(self, name: str) -> int:
        if name not in self._atoms:
            self._atoms[name] = self.display.intern_atom(name)
        return self._atoms[name]

    def close(self) -> None:
        with self._lock:
            try:
                self.typer.restore()
            finally:
                self.display.close()

    # -- windows --------------------------------------------------------------------------

    def _drain(self) -> None:
        """Drop queued events (MappingNotify after keymap changes reaches every client; we
        select nothing else) so the connection's queue cannot grow without bound."""
        while self.display.pending_events():
            self.display.next_event()

    def _window(self, wid: int) -> Any:
        return self.display.create_resource_object("window", wid)

    def _prop(self, win: Any, name: str) -> Any:
        from Xlib import X

        prop = win.get_full_property(self.atom(name), X.AnyPropertyType)
        return None if prop is None else prop.value

    def _client(self, win: Any, depth: int = 3) -> Any:
        """The application window: `win` itself, or the WM_STATE child inside a WM frame."""
        if self._prop(win, "WM_STATE") is not None or depth == 0:
            return win
        for child in win.query_tree().children:
            found = self._client(child, depth - 1)
            if self._prop(found, "WM_STATE") is not None:
                return found
        return win

    def pid_of(self, win: Any) -> int | None:
        value = self._prop(win, "_NET_WM_PID")
        if value is not None and len(value):
            return int(value[0])
        if self._has_xres:
            from Xlib.ext import res

            reply = self.display.res_query_client_ids([{"client": win.id, "mask": res.LocalClientPIDMask}])
            for entry in reply.ids:
                if entry.value:
                    return int(entry.value[0])
        return None

    def title_of(self, win: Any) -> str:
        value = self._prop(win, "_NET_WM_NAME")
        if value is None:
            value = self._prop(win, "WM_NAME")
        if value is None:
            return ""
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        return str(value)

    def _info(self, win: Any) -> WindowInfo:
        client = self._client(win)
        return WindowInfo(client.id, self.pid_of(client), self.title_of(client))

    def window_at(self, gx: int, gy: int) -> WindowInfo | None:
        """The top-level window under a root-window point, None over the bare desktop."""
        with self._lock:
            try:
                self._drain()
                child = self.root.translate_coords(self.root, int(gx), int(gy)).child
                if not child:
                    return None
                return self._info(child)
            except self._xerror as exc:  # the window vanished between two requests
                log.debug("window lookup at (%s, %s) failed: %s", gx, gy, exc)
                return None

    def pointer(self) -> tuple[int, int]:
        with self._lock:
            p = self.root.query_pointer()
            return int(p.root_x), int(p.root_y)

    def _toplevel(self, win: Any) -> Any | None:
        """The root child that contains `win`."""
        while True:
            tree = win.query_tree()
            if tree.parent == 0 or tree.parent.id == self.root.id or tree.root.id == win.id:
                return None if win.id == self.root.id else win
            win = tree.parent

    def focused(self) -> WindowInfo | None:
        """The top-level window holding the keyboard focus (None when focus is nowhere)."""
        from Xlib import X

        with self._lock:
            try:
                focus = self.display.get_input_focus().focus
                if focus == X.PointerRoot:  # focus follows the pointer
                    return self.window_at(*self.pointer())
                if not focus or focus == X.NONE or focus.id == self.root.id:
                    return None
                top = self._toplevel(focus)
                return None if top is None else self._info(top)
            except self._xerror as exc:
                log.debug("focus lookup failed: %s", exc)
                return None

    def _rect(self, win: Any) -> tuple[int, int, int, int]:
        g = win.get_geometry()
        pos = self.root.translate_coords(win, 0, 0)  # the window's origin in root coordinates
        return int(pos.x), int(pos.y), int(pos.x) + int(g.width), int(pos.y) + int(g.height)

    def window_rects(self) -> list[tuple[int, int, int, int]]:
        """Root rectangles (left, top, right, bottom) of the top-level windows under the pointer
        and holding the focus: where the effect of an action shows first."""
        from Xlib import X

        rects: list[tuple[int, int, int, int]] = []
        with self._lock:
            try:
                self._drain()
                p = self.root.query_pointer()
                if p.child:
                    rects.append(self._rect(p.child))
                focus = self.display.get_input_focus().focus
                if focus and focus not in (X.PointerRoot, X.NONE) and focus.id != self.root.id:
                    top = self._toplevel(focus)
                    if top is not None and top.id != getattr(p.child, "id", None):
                        rects.append(self._rect(top))
            except self._xerror as exc:  # a window vanished between two requests
                log.debug("window rectangles lookup failed: %s", exc)
                return []
        return rects

    def active(self) -> WindowInfo | None:
        """The active window per the window manager (_NET_ACTIVE_WINDOW), else the focus."""
        with self._lock:
            try:
                value = self._prop(self.root, "_NET_ACTIVE_WINDOW")
                if value is not None and len(value) and value[0]:
                    return self._info(self._window(int(value[0])))
            except self._xerror as exc:
                log.debug("_NET_ACTIVE_WINDOW lookup failed: %s", exc)
        return self.focused()


class KeysymTyper:
    """Types arbitrary Unicode through XTest by binding keysyms to spare keycodes."""

    def __init__(self, session: X11Session, min_reuse_s: float = 0.25) -> None:
        self.s = session
        self.min_reuse_s = min_reuse_s
        self._bound: dict[int, int] = {}  # keycode -> keysym we bound there
        self._used_at: dict[int, float] = {}  # keycode -> last press time

    def _layout(self) -> tuple[dict[int, tuple[int, bool]], list[int]]:
        """keysym -> (keycode, needs shift) for the current keymap, and the spare keycodes."""
        d = self.s.display
        lo, hi = d.display.info.min_keycode, d.display.info.max_keycode
        table: dict[int, tuple[int, bool]] = {}
        spare: list[int] = []
        for i, syms in enumerate(d.get_keyboard_mapping(lo, hi - lo + 1)):
            kc = lo + i
            if kc in self._bound:
                spare.append(kc)
                table.setdefault(self._bound[kc], (kc, False))
                continue
            if not any(syms):
                if kc > lo:  # the lowest keycode (8) is not a real key in XKB keymaps
                    spare.append(kc)
                continue
            for level, sym in enumerate(syms[:2]):
                if sym and sym not in table:
                    table[sym] = (kc, level == 1)
        return table, spare

    def _bind(self, keysym: int, spare: list[int]) -> int:
        if not spare:
            raise DeviceError("no spare keycode to type a non-keyboard character on this X server")
        kc = min(spare, key=lambda k: self._used_at.get(k, 0.0))
        # Never rebind a slot the application may still be reading an event of.
        age = time.monotonic() - self._used_at.get(kc, 0.0)
        if age < self.min_reuse_s:
            time.sleep(self.min_reuse_s - age)
        self.s.display.change_keyboard_mapping(kc, [(keysym, keysym)])
        self.s.display.sync()
        self._bound[kc] = keysym
        return kc

    def type(self, text: str, interval: float = 0.0, should_stop: Callable[[], bool] | None = None) -> None:
        """Type `text` (any Unicode, plus \\n and \\t). `should_stop` is polled between keys."""
        from Xlib import XK, X
        from Xlib.ext import xtest

        keysyms = [char_keysym(ch) for ch in text]  # validate everything before pressing anything
        d = self.s.display
        with self.s._lock:
            table, spare = self._layout()
            shift = d.keysym_to_keycode(XK.string_to_keysym("Shift_L"))
            for ks in keysyms:
                if should_stop is not None and should_stop():
                    return
                if ks in table:
                    kc, needs_shift = table[ks]
                else:
                    kc, needs_shift = self._bind(ks, spare), False
                    for sym, (k, _) in list(table.items()):
                        if k == kc:  # the keysym that slot held before is gone now
                            del table[sym]
                    table[ks] = (kc, False)
                if needs_shift:
                    xtest.fake_input(d, X.KeyPress, shift)
                xtest.fake_input(d, X.KeyPress, kc)
                xtest.fake_input(d, X.KeyRelease, kc)
                if needs_shift:
                    xtest.fake_input(d, X.KeyRelease, shift)
                d.sync()
                self._used_at[kc] = time.monotonic()
                if interval > 0:
                    time.sleep(interval)
            self.s._drain()

    def restore(self) -> None:
        """Give the borrowed keycodes back (map them to nothing again)."""
        if not self._bound:
            return
        try:
            for kc in list(self._bound):
                self.s.display.change_keyboard_mapping(kc, [(0, 0)])
            self.s.display.sync()
        except Exception as exc:  # the server may already be gone at shutdown
            log.debug("could not restore the keymap: %s", exc)
        self._bound.clear()
        self._used_at.clear()
