"""The Windows desktop: mss for pixels, pyautogui for input, UI Automation for the tree and actions.

    open_windows("")          the whole virtual screen (every monitor)
    open_windows("1")         one monitor (mss numbering); "primary" = the primary monitor
    open_windows("", scope="all", patterns=False, region="0,0,1920,1080")

Options: `scope` "foreground" (default) or "all" top-level windows; walk budgets `max_depth`,
`max_elements`, `time_budget` (s); `cache_ttl` (s); `patterns` (use UIA patterns for actions,
default on); `exclude_pids` (default: this process; its windows are neither walked nor acted
on); `kill_switch`; `pause` (pyautogui.PAUSE); `home_key`; `app_timeout` (s to wait for a
launched app's window); `monitors` "L,T,W,H@SCALE;..." and `awareness` 0/1/2 (only for hosts
that made the process DPI-unaware before us, see devices.uia_dpi); `uia` (a module with the
`uiautomation` API: the tests pass their fake, since uiautomation cannot run off Windows) and
`display` (an X display for those tests).

Coordinates: the device makes the process per-monitor DPI aware (`SetProcessDpiAwareness(2)`)
before importing mss, pyautogui or uiautomation, so all three speak physical pixels; every
conversion goes through devices.coords.ScreenMap (see devices.uia_dpi).

Actions use UIA patterns where they are reliable (devices.uia_actions) and fall back to input
at the element's point; `Outcome.via` says which ("uia:invoke", "uia:toggle", "uia:select",
"uia:expand", "uia:collapse", "uia:value", "uia:scroll", "input"). `open_app` brings an
existing window to the front, runs an executable (PATH or a path), or types the name into the
Start menu search, then waits for the window and activates it.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from PIL import Image

from devices import uia_actions
from devices.base import Device, DeviceInfo
from devices.coords import Monitor, ScreenMap
from devices.killswitch import KillSwitch
from devices.uia_apps import AppLauncher, WindowManager, parse_pids
from devices.uia_dpi import (
    PER_MONITOR,
    describe,
    input_layout,
    make_per_monitor_aware,
    monitor_scale,
    parse_monitors,
    pick_capture,
)
from devices.uia_input import Input
from devices.uia_tree import (
    TreeCache,
    TreeSnapshot,
    UiaNode,
    UiaWalker,
    WalkLimits,
    com_errors,
    load_uiautomation,
)
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


class WindowsDevice(Device):
    """A Windows desktop. See the module docstring for the options."""

    def __init__(
        self, monitor: int | str | None = None, *, uia: Any = None, display: str | None = None,
        region: str | None = None, scope: str = "foreground", max_depth: int = 40, max_elements: int = 3000,
        time_budget: float = 2.0, cache_ttl: float = 1.0, patterns: bool = True,
        monitors: str | list[Monitor] | None = None, awareness: int | None = None,
        exclude_pids: int | str | list[int] | None = None, kill_switch: KillSwitch | None = None,
        pause: float = 0.02, home_key: str | None = None, wheel_px: float = 60.0, type_interval: float = 0.0,
        app_timeout: float = 10.0, start_menu_timeout: float = 2.0, search_timeout: float = 2.0,
    ) -> None:
        if scope not in ("foreground", "all"):
            raise ConfigError(f"scope must be 'foreground' or 'all', got {scope!r}")
        # First, before mss / pyautogui / uiautomation can set it: the first call in a process wins.
        self.awareness = make_per_monitor_aware() if awareness is None else int(awareness)
        self.uia = uia if uia is not None else load_uiautomation()
        self.errors = com_errors(self.uia)
        self.uia.SetGlobalSearchTimeout(float(search_timeout))
        self.scope = scope
        self.use_patterns = bool(patterns)
        self.exclude_pids = parse_pids(exclude_pids)
        self.kill_switch = kill_switch
        self.home_key = Key(keys=home_key) if home_key else None
        self.app_timeout, self.start_menu_timeout = float(app_timeout), float(start_menu_timeout)
        self.input = Input(self.uia, display, pause, type_interval, wheel_px)
        self._lock = threading.RLock()
        self._owner = threading.get_ident()
        self._com = threading.local()

        self._mss = _open_capture(display)
        try:
            self._setup(mons=self._mss.monitors, monitor=monitor, region=region, monitors=monitors, limits=WalkLimits(
                int(max_depth), int(max_elements), float(time_budget)), cache_ttl=float(cache_ttl))
        except Exception:
            self._mss.close()
            raise
        self.info = DeviceInfo(
            id=f"windows:{monitor or 'all'}", platform="windows", screen_size=self.screen.size,
            scale=self.screen.scale, model=f"UIAutomation {getattr(self.uia, 'VERSION', '')}".strip(),
            supported=SUPPORTED | ({"home"} if self.home_key else frozenset()),
        )
        log.info("windows device %s: %s", self.info.id, describe(self.awareness, self.physical))

    def _setup(self, mons: list[dict[str, Any]], monitor: int | str | None, region: str | None,
               monitors: str | list[Monitor] | None, limits: WalkLimits, cache_ttl: float) -> None:
        if monitors is not None:  # the physical layout, given: map input by the process's awareness
            self.physical, awareness = parse_monitors(monitors), self.awareness
        else:  # what mss reports is already in this process's own coordinate space
            self.physical = [Monitor.from_mss(m, monitor_scale(m["left"] + m["width"] / 2, m["top"] + m["height"] / 2))
                             for m in (mons[1:] or mons[:1])]
            awareness = PER_MONITOR
        capture = parse_monitors(region)[0] if region else pick_capture(mons, monitor)
        self.screen = ScreenMap(input_layout(self.physical, awareness), capture)
        self._grab = {"left": capture.left, "top": capture.top, "width": capture.width, "height": capture.height}
        self.walker = UiaWalker(self.uia, self.screen, limits, self.exclude_pids)
        self.cache = TreeCache(self.walker, cache_ttl)
        self.windows = WindowManager(self.uia, self.errors, self.exclude_pids, sleep=self._sleep)
        self.apps = AppLauncher(self.windows, self.input, self._guard_keyboard, self.app_timeout,
                                self.start_menu_timeout)

    def _enter_com(self) -> None:
        """UIA is COM: a thread other than the creator's must initialize it before any call."""
        if threading.get_ident() != self._owner and getattr(self._com, "init", None) is None:
            self._com.init = self.uia.UIAutomationInitializerInThread()

    # -- looking ------------------------------------------------------------------------

    def screenshot(self) -> Image.Image:
        with self._lock:
            try:
                shot = self._mss.grab(self._grab)
            except Exception as exc:
                raise DeviceDisconnected(f"screen capture failed: {exc}") from exc
        return Image.frombuffer("RGB", shot.size, shot.bgra, "raw", "BGRX", 0, 1)

    def snapshot(self, force: bool = False) -> TreeSnapshot:
        """The (cached) walk with its live controls."""
        self._enter_com()
        return self.cache.get(self.scope, force)

    def ui_tree(self) -> list[Element]:
        return self.snapshot().elements

    def hit_test(self, x: float, y: float) -> Element | None:
        """The element under screenshot pixel (x, y) in the (cached) tree, for the recorder."""
        node = self.snapshot().at(x, y)
        return node.element if node is not None else None

    def foreground(self) -> str | None:
        self._enter_com()
        try:
            fg = self.uia.GetForegroundControl()
            return (fg.Name or None) if fg is not None else None
        except self.errors:
            return None

    def node_for(self, target: Target) -> UiaNode | None:
        """The tree node a grounded target means: its element id when that element (of the
        walk the observation came from) still covers the point, else a hit test at the point."""
        px, py = self.to_pixels(target)
        last = self.cache.peek()
        if target.element and last is not None and last.thread == threading.get_ident():
            node = last.node(target.element)
            if node is not None:
                left, top, right, bottom = node.element.bbox
                if left <= px < right and top <= py < bottom:
                    return node
        return self.snapshot().at(px, py)

    # -- guards -------------------------------------------------------------------------

    def _point(self, target: Target) -> tuple[int, int]:
        """Input coordinates of a grounded target, after the own-window check."""
        gui = self.input.gui()
        x, y = self.screen.to_input(*self.to_pixels(target))
        if (x, y) in gui.FAILSAFE_POINTS:  # parking there would stop us at the next action
            w, h = gui.size()
            x, y = min(max(x, 1), w - 2), min(max(y, 1), h - 2)
        self._guard_point(x, y)
        return x, y

    def _guard_point(self, x: int, y: int) -> None:
        try:
            hit = self.uia.ControlFromPoint(x, y)
            pid = hit.ProcessId if hit is not None else None
        except self.errors:
            return
        if pid in self.exclude_pids:
            raise DeviceError(f"refusing to act on the agent's own window (pid {pid}) at ({x}, {y})")

    def _guard_keyboard(self) -> None:
        pid = self.windows.foreground_pid()
        if pid in self.exclude_pids:
            raise DeviceError(f"refusing to send keys: the foreground window is the agent's own (pid {pid})")

    def _sleep(self, seconds: float) -> None:
        if self.kill_switch is None:
            time.sleep(seconds)
        elif self.kill_switch.wait(seconds):
            self.kill_switch.check()

    # -- acting -------------------------------------------------------------------------

    def execute(self, action: Action) -> Outcome:
        self.check_supported(action)
        if self.kill_switch is not None:
            self.kill_switch.check()
        self._enter_com()
        with self._lock:
            try:
                via = self._run(action)
            except Exception as exc:
                if self.input.is_failsafe(exc):
                    reason = "pyautogui fail-safe: the pointer is in a screen corner"
                    if self.kill_switch is not None:
                        self.kill_switch.trip(reason)
                    raise StopRequested(reason) from exc
                raise
            finally:
                if not isinstance(action, Wait | Done):
                    self.cache.invalidate()
        return Outcome(status="ok", via=via)

    def _pattern_node(self, target: Target | None) -> UiaNode | None:
        return self.node_for(target) if self.use_patterns and target is not None else None

    def _run(self, action: Action) -> str:
        match action:
            case Click():
                node = self._pattern_node(action.target)
                via = uia_actions.click(self.uia, node, self.errors) if node is not None else None
                if via is None:
                    self.input.gui().click(*self._point(action.target))
                return via or "input"
            case DoubleClick():
                self.input.gui().doubleClick(*self._point(action.target))
            case RightClick():
                self.input.gui().click(*self._point(action.target), button="right")
            case LongPress():
                x, y = self._point(action.target)
                self.input.gui().mouseDown(x, y)
                try:
                    self._sleep(action.duration)
                finally:
                    self.input.gui().mouseUp(x, y)
            case TypeText():
                return self._type_text(action)
            case Key():
                self._guard_keyboard()
                return self.input.keys(action.keys)
            case Scroll():
                return self._scroll(action)
            case Drag():
                (sx, sy), (ex, ey) = self._point(action.start), self._point(action.end)
                gui = self.input.gui()
                gui.moveTo(sx, sy)
                gui.mouseDown(sx, sy)
                try:
                    gui.moveTo(ex, ey, duration=action.duration)
                finally:
                    gui.mouseUp(ex, ey)
            case OpenApp():
                return self.open_app(action.name)
            case Back():
                self._guard_keyboard()
                self.input.gui().hotkey("alt", "left")
            case Home():
                if self.home_key is None:
                    raise UnsupportedAction("home has no common meaning on a desktop; set home_key to enable it")
                self._guard_keyboard()
                return self.input.keys(self.home_key.keys)
            case Swipe():
                raise UnsupportedAction("swipe is a touch gesture; use drag or scroll on a desktop")
            case Wait():
                self._sleep(action.seconds)
                return "sleep"
            case Done():
                return "noop"
        return "input"

    def _type_text(self, action: TypeText) -> str:
        node = self._pattern_node(action.target)
        via = uia_actions.set_value(self.uia, node, action, self.errors) if node is not None else None
        if node is not None and via is not None:
            if action.submit:  # Enter goes to the focused element: focus the one we filled
                node.control.SetFocus()
                self._guard_keyboard()
                self.input.gui().press("enter")
            return via
        gui = self.input.gui()
        if action.target is not None:
            gui.click(*self._point(action.target))
        self._guard_keyboard()
        if action.clear:
            gui.hotkey("ctrl", "a")
            gui.press("backspace")
        via = self.input.type(action.text) if action.text else "input"
        if action.submit:
            gui.press("enter")
        return via

    def _scroll(self, action: Scroll) -> str:
        node = self._pattern_node(action.anchor)
        last = self.cache.peek()
        scroller = uia_actions.scrollable_ancestor(last, node) if node is not None and last is not None else None
        if scroller is not None:
            via = uia_actions.scroll(self.uia, scroller, action, self.screen.size, self.errors)
            if via is not None:
                return via
        if action.anchor is not None:
            x, y = self._point(action.anchor)
        else:
            x, y = self.input.gui().position()
            self._guard_point(x, y)
        gx, gy = self.screen.input_to_global(x, y)
        dpi = next((m.scale for m in self.physical if m.contains(gx, gy)), 1.0)
        w, h = self.screen.size
        self.input.wheel(action.direction, action.amount, x, y, h if action.direction in ("up", "down") else w, dpi)
        return "input"

    # -- apps and windows ---------------------------------------------------------------

    def activate_window(self, title: str, timeout: float = 0.0) -> str:
        """Bring the window whose title contains `title` to the front (waiting up to `timeout`)."""
        self._enter_com()
        win = self.windows.wait_for(title=title, timeout=timeout)
        if win is None:
            raise DeviceError(f"no window titled like {title!r}")
        via = self.windows.activate(win)
        self.cache.invalidate()
        return via

    def open_app(self, name: str) -> str:
        """Bring `name`'s window to the front if open, else launch it and wait for its window."""
        self._enter_com()
        return self.apps.open(name)

    @property
    def launched(self) -> list[Any]:
        return self.apps.launched

    def close(self) -> None:
        self._mss.close()
        init = getattr(self._com, "init", None)
        if init is not None:
            init.Uninitialize()
            self._com.init = None


def _open_capture(display: str | None, attempts: int = 4) -> Any:
    """mss, retried: an X server (Xvfb here) drops a connection opened right after another
    client closed one, then accepts again (measured: 64 of 100 back-to-back reconnects needed a
    retry). On Windows mss opens no connection and the first attempt stands."""
    import mss

    for attempt in range(attempts):
        try:
            return mss.MSS(**({"display": display} if display else {}))
        except Exception as exc:
            if attempt == attempts - 1:
                raise DeviceDisconnected(f"cannot capture the screen{' on ' + display if display else ''}: {exc}") from exc
            time.sleep(0.05 * 2**attempt)
    raise AssertionError("unreachable")


def open_windows(arg: str = "", **options: Any) -> WindowsDevice:
    """Registry factory: "windows", "windows:1", "windows:primary". Options: see WindowsDevice."""
    monitor = options.pop("monitor", None)
    return WindowsDevice(arg or monitor, **options)
