"""Windows window management through UI Automation (list, find, wait for, bring to front)
and OpenApp (`AppLauncher`: an open window, an executable, or the Start menu search).

Top-level windows are the UIA root's children (topmost first). Both WindowControl and
PaneControl count: Chromium and Electron apps expose their top-level window as a pane. A
window is found by a case-insensitive part of its title, or by process id (after launching an
executable). Waiting polls the root's children, like `WindowControl(...).Exists(maxSearchSeconds)`
does, but sees panes too and sleeps through the caller's kill-switch-aware sleep.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from guiagent.schema.errors import DeviceError

log = logging.getLogger(__name__)

TOP_LEVEL_TYPES = frozenset({"WindowControl", "PaneControl"})


class WindowManager:
    def __init__(self, uia: Any, errors: tuple[type[BaseException], ...], exclude_pids: Iterable[int] = (),
                 sleep: Callable[[float], None] = time.sleep, poll: float = 0.1) -> None:
        self.uia = uia
        self.errors = errors
        self.exclude_pids = set(exclude_pids)
        self.sleep = sleep
        self.poll = poll

    def windows(self) -> list[Any]:
        """Top-level windows, topmost first, without the agent's own and without vanished ones."""
        try:
            children = list(self.uia.GetRootControl().GetChildren())
        except self.errors as exc:
            log.info("UIA: cannot list top-level windows: %s", exc)
            return []
        out = []
        for w in children:
            try:
                if w.ControlTypeName in TOP_LEVEL_TYPES and w.ProcessId not in self.exclude_pids:
                    out.append(w)
            except self.errors:
                continue
        return out

    def handles(self) -> set[int]:
        out = set()
        for w in self.windows():
            try:
                out.add(int(w.NativeWindowHandle))
            except self.errors:
                continue
        return out

    def find(self, title: str | None = None, pid: int | None = None, exclude_handles: set[int] | None = None) -> Any:
        """The topmost window whose title contains `title` (any case) or that belongs to `pid`."""
        needle = (title or "").casefold()
        for w in self.windows():
            try:
                if exclude_handles and int(w.NativeWindowHandle) in exclude_handles:
                    continue
                if (needle and needle in (w.Name or "").casefold()) or (pid is not None and w.ProcessId == pid):
                    return w
            except self.errors:
                continue
        return None

    def wait_for(self, title: str | None = None, pid: int | None = None, timeout: float = 10.0,
                 exclude_handles: set[int] | None = None) -> Any:
        """Poll until such a window exists; None at the timeout."""
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            found = self.find(title, pid, exclude_handles)
            if found is not None or time.monotonic() >= deadline:
                return found
            self.sleep(min(self.poll, max(0.0, deadline - time.monotonic())))

    def activate(self, window: Any) -> str:
        """Bring a window to the front: SetActive (restores a minimized window, then
        SetForegroundWindow), else SwitchToThisWindow, which Windows honours more often when
        our process is not the foreground one."""
        try:
            name = window.Name
            if window.SetActive(waitTime=0):
                log.info("activated window %r", name)
                return "uia:set-active"
            window.SwitchToThisWindow(waitTime=0)
            log.info("switched to window %r", name)
            return "uia:switch"
        except self.errors as exc:
            raise DeviceError(f"cannot bring the window to the front: {exc}") from exc

    def foreground_pid(self) -> int | None:
        try:
            fg = self.uia.GetForegroundControl()
            return int(fg.ProcessId) if fg is not None else None
        except self.errors:
            return None

    def foreground_handle(self) -> int | None:
        try:
            fg = self.uia.GetForegroundControl()
            return int(fg.NativeWindowHandle) if fg is not None else None
        except self.errors:
            return None


class AppLauncher:
    """OpenApp: bring the app's window to the front if it is open; else run it (an executable
    on PATH or a path, detached) or type its name into the Start menu search; then wait for its
    window (its title contains the name, or it belongs to the launched pid) and activate it."""

    def __init__(self, windows: WindowManager, input: Any, guard_keyboard: Callable[[], None],
                 app_timeout: float = 10.0, start_menu_timeout: float = 2.0) -> None:
        self.windows = windows
        self.input = input  # devices.windows.input.Input
        self.guard_keyboard = guard_keyboard
        self.app_timeout, self.start_menu_timeout = float(app_timeout), float(start_menu_timeout)
        self.launched: list[subprocess.Popen[bytes]] = []

    def open(self, name: str) -> str:
        existing = self.windows.find(title=name)
        if existing is not None:
            return self.windows.activate(existing)
        before = self.windows.handles()
        argv = split_command(name)
        exe = find_executable(argv)
        if exe is not None:
            self.launched = [p for p in self.launched if p.poll() is None]
            proc = launch(exe, argv[1:])
            self.launched.append(proc)
            via, title, pid = "exec", os.path.splitext(os.path.basename(exe))[0], proc.pid
        else:
            self.start_menu(name)
            via, title, pid = "start-menu", name, None
        win = self.windows.wait_for(title=title, pid=pid, timeout=self.app_timeout, exclude_handles=before)
        if win is None:
            log.warning("no window of %r appeared within %.1f s", name, self.app_timeout)
            return via
        self.windows.activate(win)
        return via + "+window"

    def start_menu(self, name: str) -> None:
        """Win key, wait for the Start/search UI to take the foreground, type, Enter."""
        self.guard_keyboard()
        gui = self.input.gui()
        fg = self.windows.foreground_handle()
        gui.press("win")
        deadline = time.monotonic() + self.start_menu_timeout
        while self.windows.foreground_handle() == fg and time.monotonic() < deadline:
            self.windows.sleep(0.05)
        self.input.type(name)
        gui.press("enter")


def split_command(name: str) -> list[str]:
    """An app command -> argv (Windows paths keep their backslashes; quotes are dropped)."""
    try:
        argv = shlex.split(name, posix=sys.platform != "win32")
    except ValueError as exc:
        raise DeviceError(f"cannot parse the app command {name!r}: {exc}") from exc
    return [a.strip('"') for a in argv]


def find_executable(argv: list[str]) -> str | None:
    if not argv:
        return None
    return shutil.which(argv[0]) or (argv[0] if os.path.isfile(argv[0]) else None)


def launch(exe: str, args: list[str]) -> subprocess.Popen[bytes]:
    """Start a program detached from us (its own process group / session)."""
    quiet = subprocess.DEVNULL
    if sys.platform == "win32":
        proc = subprocess.Popen([exe, *args], stdin=quiet, stdout=quiet, stderr=quiet,
                                creationflags=subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP)
    else:
        proc = subprocess.Popen([exe, *args], stdin=quiet, stdout=quiet, stderr=quiet, start_new_session=True)
    log.info("launched %s (pid %d)", exe, proc.pid)
    return proc
