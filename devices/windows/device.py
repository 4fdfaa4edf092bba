"""The Windows desktop: mss for pixels, pyautogui for input, UI Automation for the tree and actions.

    open_windows("")          the whole virtual screen (every monitor)
    open_windows("1")         one monitor (mss numbering); "primary" = the primary monitor
    open_windows("", scope="all", patterns=False, region="0,0,1920,1080")

Options: `scope` "foreground" (default) or "all" top-level windows; walk budgets `max_depth`,
`max_elements`, `time_budget` (s); `cache_ttl` (s); `patterns` (use UIA patterns for actions,
default on); `exclude_pids` (default: this process; its windows are neither walked nor acted
on); `kill_switch` (see open_windows); `pause` (pyautogui.PAUSE); `home_key`; `app_timeout` (s to wait for a
launched app's window); `monitors` "L,T,W,H@SCALE;..." and `awareness` 0/1/2 (only for hosts
that made the process DPI-unaware before us, see devices.windows.dpi); `uia` (a module with the
`uiautomation` API: the tests pass their fake, since uiautomation cannot run off Windows) and
`display` (an X display for those tests).

Coordinates: the device makes the process per-monitor DPI aware (`SetProcessDpiAwareness(2)`)
before importing mss, pyautogui or uiautomation, so all three speak physical pixels; every
conversion goes through devices.coords.ScreenMap (see devices.windows.dpi).

Actions use UIA patterns where they are reliable (devices.windows.actions) and fall back to input
at the element's point; `Outcome.via` says which ("uia:invoke", "uia:toggle", "uia:select",
"uia:expand", "uia:collapse", "uia:value", "uia:scroll", "input"). `open_app` brings an
existing window to the front, runs an executable (PATH or a path), or types the name into the
Start menu search, then waits for the window and activates it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Any

from devices.base import Device, DeviceInfo, Spot
from devices.coords import Monitor, ScreenMap
from devices.pointer import Owner, PointerDevice, PointerInput, ScreenCapture, parse_home_key, parse_pids
from devices.windows import actions as uia_actions
from devices.windows.apps import AppLauncher, WindowManager
from devices.windows.dpi import (
    PER_MONITOR,
    describe,
    input_layout,
    make_per_monitor_aware,
    monitor_scale,
    parse_monitors,
    pick_capture,
)
from devices.windows.input import SendKeysTyper
from devices.windows.tree import (
    TreeCache,
    TreeSnapshot,
    UiaNode,
    UiaWalker,
    WalkLimits,
    com_errors,
    load_uiautomation,
)
from devices.wrappers import wrap_device
from guiagent.schema import DESKTOP_ACTIONS, Action, Done, Element, Home, ScrollDirection, Target, Wait
from guiagent.schema.errors import ConfigError, DeviceError

log = logging.getLogger(__name__)


class WindowsDevice(PointerDevice):
    """A Windows desktop. See the module docstring for the options."""

    def __init__(
        self, monitor: int | str | None = None, *, uia: Any = None, display: str | None = None,
        region: str | None = None, scope: str = "foreground", max_depth: int = 40, max_elements: int = 3000,
        time_budget: float = 2.0, cache_ttl: float = 1.0, patterns: bool = True,
        monitors: str | list[Monitor] | None = None, awareness: int | None = None,
        exclude_pids: int | str | list[int] | None = None,
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
        self.home_key = parse_home_key(home_key)
        self.app_timeout, self.start_menu_timeout = float(app_timeout), float(start_menu_timeout)
        self.input = PointerInput(display, via="input", fallback=SendKeysTyper(self.uia, float(type_interval)),
                                  pause=pause, type_interval=type_interval, wheel_px=wheel_px)
        self._input_lock = threading.RLock()
        self._owner = threading.get_ident()
        self._com = threading.local()

        self.capture = ScreenCapture(display)
        try:
            self._setup(mons=self.capture.monitors, monitor=monitor, region=region, monitors=monitors,
                        limits=WalkLimits(int(max_depth), int(max_elements), float(time_budget)),
                        cache_ttl=float(cache_ttl))
        except Exception:
            self.capture.close()
            raise
        self.info = DeviceInfo(
            id=f"windows:{monitor or 'all'}", platform="windows", screen_size=self.screen.size,
            scale=self.screen.scale, model=f"UIAutomation {getattr(self.uia, 'VERSION', '')}".strip(),
            supported=DESKTOP_ACTIONS | ({Home} if self.home_key else frozenset()),
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
        self.capture_rect = capture
        self.walker = UiaWalker(self.uia, self.screen, limits, self.exclude_pids)
        self.cache = TreeCache(self.walker, cache_ttl)
        self.windows = WindowManager(self.uia, self.errors, self.exclude_pids, sleep=self.sleep)
        self.apps = AppLauncher(self.windows, self.input, self.guard_keyboard, self.app_timeout,
                                self.start_menu_timeout)

    def _enter_com(self) -> None:
        """UIA is COM: a thread other than the creator's must initialize it before any call."""
        if threading.get_ident() != self._owner and getattr(self._com, "init", None) is None:
            self._com.init = self.uia.UIAutomationInitializerInThread()

    # -- looking ------------------------------------------------------------------------

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
        return self.node_at(self.spot(target))

    def node_at(self, at: Spot) -> UiaNode | None:
        """The tree node a spot means: its element id when that element (of the walk the
        observation came from) still covers the point, else a hit test at the point."""
        last = self.cache.peek()
        if at.element and last is not None and last.thread == threading.get_ident():
            node = last.node(at.element)
            if node is not None:
                left, top, right, bottom = node.element.bbox
                if left <= at.x < right and top <= at.y < bottom:
                    return node
        return self.snapshot().at(at.x, at.y)

    # -- what PointerDevice asks of UIA ---------------------------------------------------

    def owner_at(self, x: int, y: int) -> Owner | None:
        try:
            hit = self.uia.ControlFromPoint(x, y)
            return Owner(hit.ProcessId) if hit is not None else None
        except self.errors:
            return None

    def focused_owner(self) -> Owner | None:
        return Owner(self.windows.foreground_pid())

    def wheel_scale(self, x: int, y: int) -> float:
        """The DPI scale of the physical monitor under the point (wheel notches are logical)."""
        gx, gy = self.screen.input_to_global(x, y)
        return next((m.scale for m in self.physical if m.contains(gx, gy)), 1.0)

    # -- acting: UIA patterns first where they are reliable, else input --------------------

    @contextlib.contextmanager
    def acting(self, action: Action) -> Iterator[None]:
        self._enter_com()
        try:
            with super().acting(action):
                yield
        finally:
            if not isinstance(action, Wait | Done):
                self.cache.invalidate()

    def _pattern_node(self, at: Spot | None) -> UiaNode | None:
        return self.node_at(at) if self.use_patterns and at is not None else None

    def tap(self, at: Spot) -> str:
        node = self._pattern_node(at)
        via = uia_actions.click(self.uia, node, self.errors) if node is not None else None
        return via or super().tap(at)

    def type_text(self, text: str, *, into: Spot | None, clear: bool, submit: bool) -> str:
        node = self._pattern_node(into)
        via = uia_actions.set_value(self.uia, node, text, clear, self.errors) if node is not None else None
        if node is None or via is None:
            return super().type_text(text, into=into, clear=clear, submit=submit)
        if submit:  # Enter goes to the focused element: focus the one we filled
            node.control.SetFocus()
            self.guard_keyboard()
            self.input.gui().press("enter")
        return via

    def scroll(self, direction: ScrollDirection, amount: float, at: Spot | None) -> str:
        node = self._pattern_node(at)
        last = self.cache.peek()
        scroller = uia_actions.scrollable_ancestor(last, node) if node is not None and last is not None else None
        if scroller is not None:
            via = uia_actions.scroll(self.uia, scroller, direction, amount, self.screen.size, self.errors)
            if via is not None:
                return via
        return super().scroll(direction, amount, at)

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
        self.capture.close()
        init = getattr(self._com, "init", None)
        if init is not None:
            init.Uninitialize()
            self._com.init = None


def open_windows(arg: str = "", **options: Any) -> Device:
    """Registry factory: "windows", "windows:1", "windows:primary". Options: see WindowsDevice;
    `kill_switch` wraps it in devices.wrappers.KillSwitchDevice."""
    monitor = options.pop("monitor", None)
    kill_switch = options.pop("kill_switch", None)
    return wrap_device(WindowsDevice(arg or monitor, **options), kill_switch=kill_switch)
