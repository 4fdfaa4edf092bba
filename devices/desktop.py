"""The desktop device on Linux/X11: mss for pixels, pyautogui for input, AT-SPI for the tree.

    open_desktop("")          the whole virtual screen (every monitor; mss monitor 0)
    open_desktop("1")         one monitor (mss numbering, 1 = first); "primary" = the primary
    open_desktop("", region="100,100,800,600")   only that rectangle of the virtual screen

Input goes through pyautogui (FAILSAFE stays on: a pointer in a screen corner raises, which
becomes `StopRequested` and trips the kill switch); text that pyautogui cannot type (anything
beyond ASCII) goes through XTest with keysym remapping (`devices.x11`). Before every pointer
action the device asks the X server whose window is under the point, and before every key
action whose window has the focus: it refuses to act on windows of `exclude_pids` (default:
this process, so the agent never clicks its own UI).

Choices: `back` = Alt+Left (browsers, file managers). `home` has no meaning every desktop
agrees on (Super opens a launcher on GNOME and nothing without a window manager), so it is
unsupported unless `home_key` names the chord to send. `swipe` is a touch gesture: use
`drag` or `scroll` on a desktop.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import subprocess
import threading
import time
from collections.abc import Iterable
from typing import Any

from PIL import Image

from devices.atspi import AtspiReader, nodes_to_elements
from devices.base import Device, DeviceInfo
from devices.coords import Monitor, ScreenMap
from devices.killswitch import KillSwitch
from devices.x11 import X11Session
from guiagent.errors import ConfigError, DeviceDisconnected, DeviceError, StopRequested, UnsupportedAction
from guiagent.schema import (
    Action,
    Back,
    Click,
    Done,
    DoubleClick,
    Drag,
    Element,
    Home,
    Key,
    LongPress,
    OpenApp,
    Outcome,
    RightClick,
    Scroll,
    Swipe,
    Target,
    TypeText,
    Wait,
)

log = logging.getLogger(__name__)

SUPPORTED = frozenset({"click", "double_click", "right_click", "long_press", "type", "key", "scroll",
                       "drag", "open_app", "back", "wait", "done"})
# canonical key name (guiagent.schema.NAMED_KEYS) -> pyautogui name, where they differ
PYAUTOGUI_KEYS = {"escape": "esc", "meta": "win", "menu": "apps"}
PLAIN_TEXT = frozenset(chr(c) for c in range(0x20, 0x7F)) | {"\n", "\t"}


def parse_region(value: str | Iterable[int]) -> Monitor:
    """ "X,Y,W,H" (or four ints) -> the capture rectangle in global pixels."""
    parts = [p.strip() for p in value.split(",")] if isinstance(value, str) else list(value)
    try:
        left, top, width, height = (int(p) for p in parts)
    except ValueError:
        raise ConfigError(f"region must be four integers X,Y,W,H, got {value!r}") from None
    return Monitor(left, top, width, height)


def parse_pids(value: int | str | Iterable[int] | None) -> set[int]:
    if value is None:
        return {os.getpid()}
    if isinstance(value, int):
        return {value}
    if isinstance(value, str):
        value = [p for p in value.replace(" ", "").split(",") if p]
    try:
        return {int(p) for p in value}
    except ValueError:
        raise ConfigError(f"exclude_pids must be process ids, got {value!r}") from None


class DesktopDevice(Device):
    """A Linux/X11 desktop (a real display or Xvfb).

    monitor: "" / "all" / 0 = the whole virtual screen, N = mss monitor N, "primary".
    region: "X,Y,W,H" capture rectangle instead of a monitor. display: X display name
    (default $DISPLAY). exclude_pids: processes whose windows are never acted on (default
    this one). kill_switch: checked before every action, tripped by the fail-safe.
    pause: pyautogui.PAUSE after each input call (s). a11y / a11y_python / a11y_timeout:
    the AT-SPI tree reader. home_key: chord to send for `home` (default: unsupported).
    wheel_px: pixels one wheel click scrolls (turns Scroll.amount into clicks).
    type_interval: seconds between typed characters.
    """

    def __init__(
        self,
        monitor: int | str | None = None,
        *,
        region: str | Iterable[int] | None = None,
        display: str | None = None,
        exclude_pids: int | str | Iterable[int] | None = None,
        kill_switch: KillSwitch | None = None,
        pause: float = 0.02,
        a11y: bool | str = True,
        a11y_python: str | None = None,
        a11y_timeout: float = 5.0,
        home_key: str | None = None,
        wheel_px: float = 60.0,
        type_interval: float = 0.0,
    ) -> None:
        self.display_name = display or os.environ.get("DISPLAY") or ""
        if not self.display_name:
            raise DeviceDisconnected("no X display: set DISPLAY, or start one (devices.xvfb.VirtualDisplay)")
        self.exclude_pids = parse_pids(exclude_pids)
        self.kill_switch = kill_switch
        self.pause = float(pause)
        try:
            self.home_key = Key(keys=home_key) if home_key else None
        except ValueError as exc:
            raise ConfigError(f"home_key {home_key!r} is not a key chord: {exc}") from None
        self.wheel_px = float(wheel_px)
        self.type_interval = float(type_interval)
        self.launched: list[subprocess.Popen[bytes]] = []
        self._lock = threading.Lock()  # the mss connection
        self._input_lock = threading.RLock()  # one action at a time (a long wait must not block screenshots)
        self._gui_mod: Any = None

        self.x11 = X11Session(self.display_name)
        import mss

        try:
            self._mss = mss.MSS(display=self.display_name)
        except Exception as exc:
            self.x11.close()
            raise DeviceDisconnected(f"cannot capture X display {self.display_name}: {exc}") from exc
        try:
            # X11 has no logical pixels: input coordinates are root-window pixels, scale 1.
            mons = self._mss.monitors
            monitors = [Monitor.from_mss(m) for m in mons[1:]] or [Monitor.from_mss(mons[0])]
            capture = parse_region(region) if region is not None else self._pick_monitor(mons, monitor)
            whole = Monitor.from_mss(mons[0])
            if not (whole.contains(capture.left, capture.top) and whole.contains(capture.right - 1, capture.bottom - 1)):
                raise ConfigError(f"region {region!r} is not inside the screen {whole.width}x{whole.height}")
        except Exception:
            self._mss.close()
            self.x11.close()
            raise
        self.screen = ScreenMap(monitors, capture)
        self._grab = {"left": capture.left, "top": capture.top, "width": capture.width, "height": capture.height}
        use_a11y = a11y if isinstance(a11y, bool) else str(a11y).strip().lower() not in ("0", "false", "no", "off")
        self._atspi = AtspiReader(a11y_python, timeout=float(a11y_timeout)) if use_a11y else None
        supported = SUPPORTED | ({"home"} if self.home_key else set())
        self.info = DeviceInfo(
            id=f"desktop:{monitor or 'all'}@{self.display_name}",
            platform="linux", screen_size=self.screen.size, scale=self.screen.scale,
            model=f"X11 {self.display_name}", supported=frozenset(supported),
        )

    @staticmethod
    def _pick_monitor(mons: list[dict[str, Any]], monitor: int | str | None) -> Monitor:
        sel = "" if monitor is None else str(monitor).strip().lower()
        if sel in ("", "all", "0"):
            return Monitor.from_mss(mons[0])
        if sel == "primary":
            primary = next((m for m in mons[1:] if m.get("is_primary")), mons[1] if len(mons) > 1 else mons[0])
            return Monitor.from_mss(primary)
        if sel.isdigit() and 0 < int(sel) < len(mons):
            return Monitor.from_mss(mons[int(sel)])
        raise ConfigError(f"no monitor {monitor!r}: choose all, primary or 1..{len(mons) - 1}")

    # -- pixels -------------------------------------------------------------------------

    def screenshot(self) -> Image.Image:
        with self._lock:
            try:
                shot = self._mss.grab(self._grab)
            except Exception as exc:
                raise DeviceDisconnected(f"screen capture on {self.display_name} failed: {exc}") from exc
        # BGRX -> RGB in C straight from mss's buffer (`.bgra`/`.rgb` copy it first); the frame
        # stays raw (no PNG) until someone writes it.
        return Image.frombytes("RGB", shot.size, shot.raw, "raw", "BGRX")

    def ui_tree(self) -> list[Element]:
        if self._atspi is None:
            return []
        return nodes_to_elements(self._atspi.nodes(skip_pids=self.exclude_pids), self.screen)

    def foreground(self) -> str | None:
        info = self.x11.active()
        return (info.title or None) if info is not None else None

    # -- input --------------------------------------------------------------------------

    def _gui(self) -> Any:
        """pyautogui, imported on first use (it opens the X display at import time)."""
        if self._gui_mod is None:
            old = os.environ.get("DISPLAY")
            os.environ["DISPLAY"] = self.display_name
            try:
                import pyautogui
            except Exception as exc:
                raise DeviceError(f"pyautogui cannot start on {self.display_name}: {exc}") from exc
            finally:
                if old is None:
                    os.environ.pop("DISPLAY", None)
                else:
                    os.environ["DISPLAY"] = old
            pm = pyautogui.platformModule
            bound = getattr(getattr(pm, "_display", None), "get_display_name", lambda: self.display_name)()
            if bound != self.display_name:  # imported earlier for another display: follow ours
                from Xlib.display import Display

                log.warning("pyautogui was bound to %s; rebinding it to %s", bound, self.display_name)
                pm._display = Display(self.display_name)
            self._gui_mod = pyautogui
        self._gui_mod.FAILSAFE = True  # deliberately on: the user's corner escape
        self._gui_mod.PAUSE = self.pause
        return self._gui_mod

    def _point(self, gui: Any, target: Target) -> tuple[int, int]:
        """Input coordinates of a grounded target, after the own-window check."""
        x, y = self.screen.to_input(*self.to_pixels(target))
        if (x, y) in gui.FAILSAFE_POINTS:
            # Parking the pointer in a fail-safe corner would stop us at the next action.
            w, h = gui.size()
            x, y = min(max(x, 1), w - 2), min(max(y, 1), h - 2)
        self._guard_point(x, y)
        return x, y

    def _guard_point(self, x: int, y: int) -> None:
        win = self.x11.window_at(x, y)
        if win is not None and win.pid in self.exclude_pids:
            raise DeviceError(f"refusing to act on the agent's own window {win.title!r} (pid {win.pid}) at ({x}, {y})")

    def _guard_keyboard(self) -> None:
        win = self.x11.focused()
        if win is not None and win.pid in self.exclude_pids:
            raise DeviceError(f"refusing to send keys: the focused window {win.title!r} is the agent's own (pid {win.pid})")

    def _sleep(self, seconds: float) -> None:
        if self.kill_switch is None:
            time.sleep(seconds)
        elif self.kill_switch.wait(seconds):
            self.kill_switch.check()

    def _type(self, gui: Any, text: str) -> str:
        if set(text) <= PLAIN_TEXT:
            gui.write(text, interval=self.type_interval)
            return "pyautogui"
        gui.failSafeCheck()
        ks = self.kill_switch
        self.x11.typer.type(text, self.type_interval, (lambda: ks.tripped) if ks is not None else None)
        if ks is not None:
            ks.check()
        return "xtest-keysym"

    def _keys(self, gui: Any, action: Key) -> str:
        if len(action.keys) == 1 and action.keys[0] not in PLAIN_TEXT and len(action.keys[0]) == 1:
            return self._type(gui, action.keys[0])  # a lone non-ASCII character
        names = [PYAUTOGUI_KEYS.get(k, k) for k in action.keys]
        mapping = gui.platformModule.keyboardMapping
        missing = [k for k, n in zip(action.keys, names, strict=True) if not mapping.get(n)]
        if missing:
            raise UnsupportedAction(f"key {'+'.join(missing)} does not exist on this X keyboard")
        gui.hotkey(*names)
        return "pyautogui"

    def _wheel_clicks(self, action: Scroll) -> int:
        w, h = self.screen.size
        span = h if action.direction in ("up", "down") else w
        clicks = max(1, round(action.amount * span / self.screen.scale / self.wheel_px))
        return clicks if action.direction in ("up", "right") else -clicks

    def execute(self, action: Action) -> Outcome:
        self.check_supported(action)
        if self.kill_switch is not None:
            self.kill_switch.check()
        with self._input_lock:
            gui = self._gui()
            try:
                via = self._run(gui, action)
            except gui.FailSafeException as exc:
                reason = "pyautogui fail-safe: the pointer is in a screen corner"
                if self.kill_switch is not None:
                    self.kill_switch.trip(reason)
                raise StopRequested(reason) from exc
        return Outcome(status="ok", via=via)

    def _run(self, gui: Any, action: Action) -> str:
        match action:
            case Click():
                gui.click(*self._point(gui, action.target))
            case DoubleClick():
                gui.doubleClick(*self._point(gui, action.target))
            case RightClick():
                gui.click(*self._point(gui, action.target), button="right")
            case LongPress():
                x, y = self._point(gui, action.target)
                gui.mouseDown(x, y)
                try:
                    self._sleep(action.duration)
                finally:
                    gui.mouseUp(x, y)
            case TypeText():
                if action.target is not None:
                    gui.click(*self._point(gui, action.target))
                self._guard_keyboard()
                if action.clear:
                    gui.hotkey("ctrl", "a")
                    gui.press("backspace")
                via = self._type(gui, action.text) if action.text else "pyautogui"
                if action.submit:
                    gui.press("enter")
                return via
            case Key():
                self._guard_keyboard()
                return self._keys(gui, action)
            case Scroll():
                if action.anchor is not None:
                    x, y = self._point(gui, action.anchor)
                else:
                    x, y = self.x11.pointer()
                    self._guard_point(x, y)
                clicks = self._wheel_clicks(action)
                if action.direction in ("up", "down"):
                    gui.scroll(clicks, x=x, y=y)
                else:
                    gui.hscroll(clicks, x=x, y=y)
            case Drag():
                (sx, sy), (ex, ey) = self._point(gui, action.start), self._point(gui, action.end)
                gui.moveTo(sx, sy)
                gui.mouseDown(sx, sy)
                try:
                    gui.moveTo(ex, ey, duration=action.duration)  # intermediate motion events
                finally:
                    gui.mouseUp(ex, ey)
            case OpenApp():
                return self._open_app(action.name)
            case Back():
                self._guard_keyboard()
                gui.hotkey("alt", "left")
            case Home():
                if self.home_key is None:
                    raise UnsupportedAction("home has no common meaning on a desktop; set home_key to enable it")
                self._guard_keyboard()
                return self._keys(gui, self.home_key)
            case Swipe():
                raise UnsupportedAction("swipe is a touch gesture; use drag or scroll on a desktop")
            case Wait():
                self._sleep(action.seconds)
                return "sleep"
            case Done():
                return "noop"
        return "pyautogui"

    def _open_app(self, name: str) -> str:
        """Launch an executable by name (PATH lookup), detached from us."""
        try:
            argv = shlex.split(name)
        except ValueError as exc:
            raise DeviceError(f"cannot parse the app command {name!r}: {exc}") from exc
        exe = shutil.which(argv[0]) if argv else None
        if exe is None:
            raise DeviceError(f"no executable named {argv[0] if argv else name!r} on PATH")
        self.launched = [p for p in self.launched if p.poll() is None]  # reap the ones that exited
        env = {**os.environ, "DISPLAY": self.display_name}
        proc = subprocess.Popen([exe, *argv[1:]], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True, env=env)
        self.launched.append(proc)
        log.info("launched %s (pid %d)", exe, proc.pid)
        return "exec"

    def close(self) -> None:
        if self._atspi is not None:
            self._atspi.close()
        try:
            self.x11.close()  # also gives back the keycodes borrowed for Unicode typing
        finally:
            self._mss.close()


def open_desktop(arg: str = "", **options: Any) -> DesktopDevice:
    """Registry factory: "desktop", "desktop:1", "desktop:primary". Options: see DesktopDevice."""
    monitor = options.pop("monitor", None)
    return DesktopDevice(arg or monitor, **options)
