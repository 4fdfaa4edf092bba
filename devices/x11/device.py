"""The desktop device on Linux/X11: mss for pixels, pyautogui for input, AT-SPI for the tree.

    open_desktop("")          the whole virtual screen (every monitor; mss monitor 0)
    open_desktop("1")         one monitor (mss numbering, 1 = first); "primary" = the primary
    open_desktop("", region="100,100,800,600")   only that rectangle of the virtual screen

Input goes through pyautogui (devices.pointer, shared with Windows: FAILSAFE stays on, a pointer
in a screen corner raises `StopRequested`, and the `kill_switch` option wraps the device so that
this trips the switch); text that pyautogui cannot type (anything
beyond ASCII) goes through XTest with keysym remapping (`devices.x11.session`). Before every pointer
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

from devices.base import Device, DeviceInfo, SettleResult
from devices.coords import Monitor, ScreenMap
from devices.pointer import (
    Owner,
    PointerDevice,
    PointerInput,
    ScreenCapture,
    parse_home_key,
    parse_pids,
    wheel_notches,
)
from devices.wrappers import wrap_device
from devices.x11.atspi import AtspiReader, nodes_to_elements
from devices.x11.session import X11Session
from devices.x11.settle import MIN_PIXELS, settle_in_box, watch_box
from guiagent.schema import DESKTOP_ACTIONS, Element, Home, Scroll
from guiagent.schema.errors import ConfigError, DeviceDisconnected, DeviceError

log = logging.getLogger(__name__)

def parse_region(value: str | Iterable[int]) -> Monitor:
    """ "X,Y,W,H" (or four ints) -> the capture rectangle in global pixels."""
    parts = [p.strip() for p in value.split(",")] if isinstance(value, str) else list(value)
    try:
        left, top, width, height = (int(p) for p in parts)
    except ValueError:
        raise ConfigError(f"region must be four integers X,Y,W,H, got {value!r}") from None
    return Monitor(left, top, width, height)


class DesktopDevice(PointerDevice):
    """A Linux/X11 desktop (a real display or Xvfb).

    monitor: "" / "all" / 0 = the whole virtual screen, N = mss monitor N, "primary".
    region: "X,Y,W,H" capture rectangle instead of a monitor. display: X display name
    (default $DISPLAY). exclude_pids: processes whose windows are never acted on (default
    this one). pause: pyautogui.PAUSE after each input call (s; default none: X
    delivers input events in order, and settling waits for the screen, not a clock). a11y / a11y_python /
    a11y_timeout: the AT-SPI tree reader. home_key: chord to send for `home` (default:
    unsupported). wheel_px: pixels one wheel click scrolls (turns Scroll.amount into clicks).
    type_interval: seconds between typed characters. (`kill_switch`: see `open_desktop`.)
    """

    def __init__(
        self,
        monitor: int | str | None = None,
        *,
        region: str | Iterable[int] | None = None,
        display: str | None = None,
        exclude_pids: int | str | Iterable[int] | None = None,
        pause: float = 0.0,
        a11y: bool | str = True,
        a11y_python: str | None = None,
        a11y_timeout: float = 5.0,
        home_key: str | None = None,
        wheel_px: float = 60.0,
        type_interval: float = 0.0,
    ) -> None:
        self.display_name = display or os.environ.get("DISPLAY") or ""
        if not self.display_name:
            raise DeviceDisconnected("no X display: set DISPLAY, or start one (devices.x11.xvfb.VirtualDisplay)")
        self.exclude_pids = parse_pids(exclude_pids)
        self.home_key = parse_home_key(home_key)
        self.input = PointerInput(self.display_name, via="pyautogui", fallback=self._type_unicode, pause=pause,
                                  type_interval=type_interval, wheel_px=wheel_px)
        self.launched: list[subprocess.Popen[bytes]] = []
        self._input_lock = threading.RLock()

        self.x11 = X11Session(self.display_name)
        try:
            self.capture = ScreenCapture(self.display_name)
        except Exception:
            self.x11.close()
            raise
        try:
            # X11 has no logical pixels: input coordinates are root-window pixels, scale 1.
            mons = self.capture.monitors
            monitors = [Monitor.from_mss(m) for m in mons[1:]] or [Monitor.from_mss(mons[0])]
            capture = parse_region(region) if region is not None else self._pick_monitor(mons, monitor)
            whole = Monitor.from_mss(mons[0])
            if not (whole.contains(capture.left, capture.top) and whole.contains(capture.right - 1, capture.bottom - 1)):
                raise ConfigError(f"region {region!r} is not inside the screen {whole.width}x{whole.height}")
        except Exception:
            self.capture.close()
            self.x11.close()
            raise
        self.screen = ScreenMap(monitors, capture)
        self.capture_rect = capture
        use_a11y = a11y if isinstance(a11y, bool) else str(a11y).strip().lower() not in ("0", "false", "no", "off")
        self._atspi = AtspiReader(a11y_python, timeout=float(a11y_timeout)) if use_a11y else None
        self.info = DeviceInfo(
            id=f"desktop:{monitor or 'all'}@{self.display_name}",
            platform="linux", screen_size=self.screen.size, scale=self.screen.scale,
            model=f"X11 {self.display_name}",
            supported=DESKTOP_ACTIONS | ({Home} if self.home_key else frozenset()),
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

    # -- looking ------------------------------------------------------------------------

    def ui_tree(self) -> list[Element]:
        if self._atspi is None:
            return []
        return nodes_to_elements(self._atspi.nodes(skip_pids=self.exclude_pids), self.screen)

    def foreground(self) -> str | None:
        info = self.x11.active()
        return (info.title or None) if info is not None else None

    def wait_until_stable(self, reference: Image.Image | None = None, timeout: float = 3.0, quiet: float = 0.1,
                          poll: float = 0.02, min_wait: float = 0.0, react: float = 0.5) -> SettleResult:
        """Frame-difference settling; on a big screen the windows the action touched are
        watched first, with one full frame at the end (devices.x11.settle)."""
        t0 = time.monotonic()
        cap = self.capture_rect
        if (reference is not None and min_wait <= 0 and cap.width * cap.height >= MIN_PIXELS
                and reference.size == (cap.width, cap.height)):
            box = watch_box(self.x11.window_rects(), cap)
            if box is not None:
                found = settle_in_box(self._grab_box, self.screenshot, reference, box, timeout, quiet, poll)
                if found is not None:
                    return found
        spent = time.monotonic() - t0
        return super().wait_until_stable(reference, max(0.0, timeout - spent), quiet, poll, min_wait,
                                         max(0.0, react - spent))

    def _grab_box(self, box: tuple[int, int, int, int]) -> Image.Image:
        cap = self.capture_rect
        return self.capture.grab(Monitor(cap.left + box[0], cap.top + box[1], box[2] - box[0], box[3] - box[1]))

    # -- what PointerDevice asks of X11 --------------------------------------------------

    def owner_at(self, x: int, y: int) -> Owner | None:
        win = self.x11.window_at(x, y)
        return Owner(win.pid, win.title) if win is not None else None

    def focused_owner(self) -> Owner | None:
        win = self.x11.focused()
        return Owner(win.pid, win.title) if win is not None else None

    def pointer_position(self) -> tuple[int, int]:
        return self.x11.pointer()

    def _type_unicode(self, text: str) -> str:
        """Beyond ASCII: XTest with keysym remapping, stopping between characters on a trip."""
        ks = self.kill_switch
        self.x11.typer.type(text, self.input.type_interval, (lambda: ks.tripped) if ks is not None else None)
        if ks is not None:
            ks.check()
        return "xtest-keysym"

    def _wheel_clicks(self, action: Scroll) -> int:
        w, h = self.screen.size
        span = h if action.direction in ("up", "down") else w
        return wheel_notches(action.direction, action.amount, span, self.screen.scale, self.input.wheel_px)

    def open_app(self, name: str) -> str:
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
            self.capture.close()


def open_desktop(arg: str = "", **options: Any) -> Device:
    """Registry factory: "desktop", "desktop:1", "desktop:primary". Options: see DesktopDevice;
    `kill_switch` wraps it in devices.wrappers.KillSwitchDevice."""
    monitor = options.pop("monitor", None)
    kill_switch = options.pop("kill_switch", None)
    return wrap_device(DesktopDevice(arg or monitor, **options), kill_switch=kill_switch)
