"""The host shared by the X11 and the Windows desktop: mss for pixels, pyautogui for input.

Written once here: the capture (errors -> DeviceDisconnected), pyautogui loaded on first use
with its fail-safe deliberately on (a pointer in a screen corner raises, which becomes
`StopRequested`; devices.wrappers.KillSwitchDevice then trips the kill switch), the agent's own
points nudged out of the fail-safe corners, the own-window guard (never click or type into a
window of `exclude_pids`), key chords, text with a fallback hook for what pyautogui cannot type,
and wheel notches. A backend subclasses `PointerDevice` and supplies the window lookups
(`owner_at`, `focused_owner`, `pointer_position`), the fallback typer and its extras.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from PIL import Image

from devices.base import Device, Spot
from devices.coords import Monitor, ScreenMap
from guiagent.schema import Action, Key, Modifier, ScrollDirection
from guiagent.schema.errors import (
    ConfigError,
    DeviceDisconnected,
    DeviceError,
    StopRequested,
    UnsupportedAction,
)

log = logging.getLogger(__name__)

FAILSAFE_REASON = "pyautogui fail-safe: the pointer is in a screen corner"
# canonical key name (guiagent.schema.NAMED_KEYS) -> pyautogui name, where they differ
PYAUTOGUI_KEYS = {"escape": "esc", "meta": "win", "menu": "apps"}
PLAIN_TEXT = frozenset(chr(c) for c in range(0x20, 0x7F)) | {"\n", "\t"}
WHEEL_DELTA = 120  # wheel units per notch; pyautogui on Windows passes its "clicks" through raw
MOUSEEVENTF_HWHEEL = 0x01000


def parse_pids(value: int | str | Iterable[int] | None) -> set[int]:
    """exclude_pids option -> a set; default: this process (the agent never acts on itself)."""
    if value is None:
        return {os.getpid()}
    if isinstance(value, int):
        return {value}
    items: Iterable[int | str] = [p for p in value.replace(" ", "").split(",") if p] if isinstance(value, str) else value
    try:
        return {int(p) for p in items}
    except ValueError:
        raise ConfigError(f"exclude_pids must be process ids, got {items!r}") from None


def wheel_notches(direction: ScrollDirection, amount: float, span_px: int, scale: float, wheel_px: float) -> int:
    """Signed wheel notches for scrolling `amount` of a `span_px` (screenshot pixels) screen;
    `scale` = screenshot pixels per logical pixel there, `wheel_px` = logical pixels a notch scrolls."""
    notches = max(1, round(amount * span_px / scale / wheel_px))
    return notches if direction in ("up", "right") else -notches


def load_pyautogui(display: str | None) -> Any:
    """pyautogui, imported on first use: on X11 it opens the display at import time (so import
    it with ours set), and on Windows its import would make the process only system DPI aware."""
    old = os.environ.get("DISPLAY")
    if display:
        os.environ["DISPLAY"] = display
    try:
        # pyautogui imports its optional MouseInfo app (tkinter and one more X connection, ~50 ms
        # of a cold start) unless it cannot: we never open that app
        sys.modules.setdefault("mouseinfo", None)  # type: ignore[arg-type]
        import pyautogui
    except Exception as exc:
        raise DeviceError(f"pyautogui cannot start{' on ' + display if display else ''}: {exc}") from exc
    finally:
        if display and old is None:
            os.environ.pop("DISPLAY", None)
        elif display and old is not None:
            os.environ["DISPLAY"] = old
    pm = pyautogui.platformModule
    bound = getattr(getattr(pm, "_display", None), "get_display_name", lambda: display)()
    conn = getattr(pm, "_display", None)  # X11 only
    if display and conn is not None and (bound != display or not _alive(conn)):
        # imported earlier for another X display, or for an earlier server of the same name
        # (a virtual display stopped and started again): follow ours
        from Xlib.display import Display

        log.warning("pyautogui was bound to %s; rebinding it to %s", bound, display)
        pm._display = Display(display)
    return pyautogui


def _alive(conn: Any) -> bool:
    """One round trip on an Xlib connection: False when its server is gone."""
    try:
        conn.screen().root.query_pointer()
    except Exception:
        return False
    return True


class ScreenCapture:
    """mss on one display; frames as RGB images, failures as DeviceDisconnected."""

    def __init__(self, display: str | None = None, attempts: int = 4) -> None:
        self._lock = threading.Lock()  # one grab at a time on the connection
        self._mss = _open_mss(display, attempts)
        self.where = f" on {display}" if display else ""

    @property
    def monitors(self) -> list[dict[str, Any]]:
        return list(self._mss.monitors)

    def grab(self, rect: Monitor) -> Image.Image:
        area = {"left": rect.left, "top": rect.top, "width": rect.width, "height": rect.height}
        with self._lock:
            try:
                shot = self._mss.grab(area)
            except Exception as exc:
                raise DeviceDisconnected(f"screen capture{self.where} failed: {exc}") from exc
        # BGRX -> RGB in C straight from mss's buffer (`.bgra`/`.rgb` copy it first); the frame
        # stays raw (no PNG) until someone writes it.
        return Image.frombytes("RGB", shot.size, shot.raw, "raw", "BGRX")

    def close(self) -> None:
        self._mss.close()


def _open_mss(display: str | None, attempts: int) -> Any:
    """mss, retried: an X server (Xvfb here) drops a connection opened right after another
    client closed one, then accepts again (measured: 64 of 100 back-to-back reconnects needed a
    retry). On Windows mss opens no connection and the first attempt stands."""
    import mss

    for attempt in range(attempts):
        try:
            return mss.MSS(display=display) if display else mss.MSS()
        except Exception as exc:
            if attempt == attempts - 1:
                raise DeviceDisconnected(f"cannot capture the screen{' on ' + display if display else ''}: {exc}") from exc
            time.sleep(0.05 * 2**attempt)
    raise AssertionError("unreachable")


class PointerInput:
    """pyautogui with the fail-safe on, plus a fallback for text it cannot type.

    `via` names this input in Outcomes; `fallback(text) -> via` types what is not plain ASCII
    (pyautogui presses virtual keys of the current layout)."""

    def __init__(self, display: str | None, *, via: str, fallback: Callable[[str], str], pause: float = 0.0,
                 type_interval: float = 0.0, wheel_px: float = 60.0) -> None:
        self.display, self.via, self.fallback = display, via, fallback
        self.pause, self.type_interval, self.wheel_px = float(pause), float(type_interval), float(wheel_px)
        self.mod: Any = None

    def gui(self) -> Any:
        if self.mod is None:
            self.mod = load_pyautogui(self.display)
        self.mod.FAILSAFE = True  # deliberately on: the user's corner escape
        self.mod.PAUSE = self.pause
        return self.mod

    @contextlib.contextmanager
    def failsafe_stops(self) -> Iterator[None]:
        """pyautogui's fail-safe exception -> StopRequested."""
        gui = self.gui()
        try:
            yield
        except gui.FailSafeException as exc:
            raise StopRequested(FAILSAFE_REASON) from exc

    def off_corner(self, x: int, y: int) -> tuple[int, int]:
        """Parking the pointer in a fail-safe corner would stop us at the next action: nudge it in."""
        gui = self.gui()
        if (x, y) in gui.FAILSAFE_POINTS:
            w, h = gui.size()
            x, y = min(max(x, 1), w - 2), min(max(y, 1), h - 2)
        return x, y

    def type(self, text: str) -> str:
        if set(text) <= PLAIN_TEXT:
            self.gui().write(text, interval=self.type_interval)
            return self.via
        self.gui().failSafeCheck()  # the fallback bypasses pyautogui: honour the corner first
        return self.fallback(text)

    def keys(self, keys: tuple[str, ...]) -> str:
        gui = self.gui()
        if len(keys) == 1 and len(keys[0]) == 1 and keys[0] not in PLAIN_TEXT:
            return self.type(keys[0])  # a lone non-ASCII character
        names = [PYAUTOGUI_KEYS.get(k, k) for k in keys]
        missing = [k for k, n in zip(keys, names, strict=True) if not gui.platformModule.keyboardMapping.get(n)]
        if missing:
            raise UnsupportedAction(f"key {'+'.join(missing)} does not exist on this keyboard")
        gui.hotkey(*names)
        return self.via

    def wheel(self, notches: int, vertical: bool, x: int, y: int) -> None:
        gui = self.gui()
        if sys.platform != "win32":  # X11: pyautogui clicks are notches
            (gui.scroll if vertical else gui.hscroll)(notches, x=x, y=y)
        elif vertical:
            gui.scroll(notches * WHEEL_DELTA, x=x, y=y)
        else:  # pyautogui's hscroll scrolls vertically on Windows: send the horizontal wheel
            import ctypes

            gui.moveTo(x, y)
            ctypes.windll.user32.mouse_event(MOUSEEVENTF_HWHEEL, 0, 0, notches * WHEEL_DELTA, 0)


@dataclass(frozen=True)
class Owner:
    """Who owns a window: its process, and its title when the platform tells."""

    pid: int | None
    title: str = ""

    def __str__(self) -> str:
        return f"{self.title!r} (pid {self.pid})" if self.title else f"(pid {self.pid})"


class PointerDevice(Device):
    """A desktop driven through pyautogui: the primitives every pointer platform shares.

    Set by the subclass: `screen` (ScreenMap), `capture_rect`, `capture` (ScreenCapture), `input`
    (PointerInput), `exclude_pids`, `home_key`."""

    screen: ScreenMap
    capture: ScreenCapture
    capture_rect: Monitor
    input: PointerInput
    exclude_pids: set[int]
    home_key: Key | None = None
    _input_lock: threading.RLock  # one action at a time; a long wait must not block screenshots

    # -- the platform's window lookups ---------------------------------------------------

    def owner_at(self, x: int, y: int) -> Owner | None:
        """The owner of the window under input point (x, y)."""
        return None

    def focused_owner(self) -> Owner | None:
        """The owner of the window that receives keys."""
        return None

    def pointer_position(self) -> tuple[int, int]:
        x, y = self.input.gui().position()
        return int(x), int(y)

    def wheel_scale(self, x: int, y: int) -> float:
        """Screenshot pixels per logical pixel at input point (x, y)."""
        return self.screen.scale

    # -- pixels and guards ---------------------------------------------------------------

    def screenshot(self) -> Image.Image:
        return self.capture.grab(self.capture_rect)

    def guard_point(self, x: int, y: int) -> None:
        owner = self.owner_at(x, y)
        if owner is not None and owner.pid in self.exclude_pids:
            raise DeviceError(f"refusing to act on the agent's own window {owner} at ({x}, {y})")

    def guard_keyboard(self) -> None:
        owner = self.focused_owner()
        if owner is not None and owner.pid in self.exclude_pids:
            raise DeviceError(f"refusing to send keys: the focused window {owner} is the agent's own")

    def input_point(self, at: Spot) -> tuple[int, int]:
        """Input coordinates of a spot, off the fail-safe corners, after the own-window check."""
        x, y = self.input.off_corner(*self.screen.to_input(at.x, at.y))
        self.guard_point(x, y)
        return x, y

    @contextlib.contextmanager
    def acting(self, action: Action) -> Iterator[None]:
        with self._input_lock, self.input.failsafe_stops():
            yield

    # -- the primitives ------------------------------------------------------------------

    def tap(self, at: Spot) -> str:
        self.input.gui().click(*self.input_point(at))
        return self.input.via

    def modified_tap(self, at: Spot, modifiers: tuple[Modifier, ...]) -> str:
        gui = self.input.gui()
        x, y = self.input_point(at)
        names = [PYAUTOGUI_KEYS.get(m, m) for m in modifiers]
        held: list[str] = []
        try:
            for name in names:
                gui.keyDown(name)
                held.append(name)
            gui.click(x, y)
        finally:  # a modifier left down would corrupt every later key and click
            for name in reversed(held):
                gui.keyUp(name)
        return self.input.via

    def double_tap(self, at: Spot) -> str:
        self.input.gui().doubleClick(*self.input_point(at))
        return self.input.via

    def secondary_tap(self, at: Spot) -> str:
        self.input.gui().click(*self.input_point(at), button="right")
        return self.input.via

    def hover(self, at: Spot) -> str:
        self.input.gui().moveTo(*self.input_point(at))  # motion events only: no button goes down
        return self.input.via

    def long_press(self, at: Spot, seconds: float) -> str:
        x, y = self.input_point(at)
        gui = self.input.gui()
        gui.mouseDown(x, y)
        try:
            self.sleep(seconds)
        finally:
            gui.mouseUp(x, y)
        return self.input.via

    def type_text(self, text: str, *, into: Spot | None, clear: bool, submit: bool) -> str:
        gui = self.input.gui()
        if into is not None:
            gui.click(*self.input_point(into))
        self.guard_keyboard()
        if clear:
            gui.hotkey("ctrl", "a")
            gui.press("backspace")
        via = self.input.type(text) if text else self.input.via
        if submit:
            gui.press("enter")
        return via

    def press_keys(self, keys: tuple[str, ...]) -> str:
        self.guard_keyboard()
        return self.input.keys(keys)

    def scroll(self, direction: ScrollDirection, amount: float, at: Spot | None) -> str:
        if at is not None:
            x, y = self.input_point(at)
        else:
            x, y = self.pointer_position()
            self.guard_point(x, y)
        vertical = direction in ("up", "down")
        w, h = self.screen.size
        notches = wheel_notches(direction, amount, h if vertical else w, self.wheel_scale(x, y), self.input.wheel_px)
        self.input.wheel(notches, vertical, x, y)
        return self.input.via

    def drag(self, start: Spot, end: Spot, seconds: float) -> str:
        (sx, sy), (ex, ey) = self.input_point(start), self.input_point(end)
        gui = self.input.gui()
        gui.moveTo(sx, sy)
        gui.mouseDown(sx, sy)
        try:
            gui.moveTo(ex, ey, duration=seconds)  # intermediate motion events
        finally:
            gui.mouseUp(ex, ey)
        return self.input.via

    def back(self) -> str:
        """Alt+Left: back in browsers and file managers."""
        self.guard_keyboard()
        self.input.gui().hotkey("alt", "left")
        return self.input.via

    def home(self) -> str:
        if self.home_key is None:  # not in `supported` then: only reached when called directly
            raise UnsupportedAction("home has no common meaning on a desktop; set home_key to enable it")
        self.guard_keyboard()
        return self.input.keys(self.home_key.keys)


def parse_home_key(value: str | None) -> Key | None:
    """The `home_key` option: the chord a desktop sends for `home` (None: home unsupported)."""
    try:
        return Key.model_validate({"keys": value}) if value else None  # the validator splits "ctrl+s"
    except ValueError as exc:
        raise ConfigError(f"home_key {value!r} is not a key chord: {exc}") from None
