"""The simulated phone's state without its input: reset, geometry, laid-out views, snapshot and
navigation between tasks and back stacks. PhoneModel (model.py) adds what taps, keys, text and ops do.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import deque
from typing import Any

from devices.simphone.layout import Entry, LayoutInput, Node, layout
from devices.simphone.scenario import App, Scenario
from devices.simphone.state import PhoneState

LATIN_IME = "com.android.inputmethod.latin/.LatinIME"
ADB_IME = "com.android.adbkeyboard/.AdbIME"


class PhoneModelCore:
    """Thread-safe through `lock` (re-entrant); `version` increases on every visible change."""

    def __init__(self, scenario: Scenario) -> None:
        self.lock = threading.RLock()
        self.scenario = scenario
        self.version = 0
        # The phone's own record of the input it received: (wall time, what), oldest first. Kept
        # across reset(); tests check from it when a host last drove the phone.
        self.inputs: deque[tuple[float, str]] = deque(maxlen=100_000)
        self.reset()

    def log_input(self, what: str) -> None:
        self.inputs.append((time.time(), what))

    def reset(self) -> None:
        """Back to the scenario's initial state (what a fresh boot shows)."""
        with self.lock:
            sc = self.scenario
            self.values: dict[str, Any] = copy.deepcopy(sc.state)
            self.launcher = sc.launcher
            self.tasks: dict[str, list[Entry]] = {self.launcher.package: [Entry(self.launcher.launch)]}
            self.foreground = self.launcher.package
            self.rotation = 0
            self.size_override: tuple[int, int] | None = None
            self.density_override: int | None = None
            self.screen_on = True
            self.settings: dict[str, str] = {"system/user_rotation": "0", "system/accelerometer_rotation": "0",
                                             "system/screen_brightness": "128", "system/screen_brightness_mode": "0"}
            adb_kb = sc.ime.adb_keyboard
            self.imes_installed = [LATIN_IME] + ([ADB_IME] if adb_kb != "absent" else [])
            self.imes_enabled = [LATIN_IME] + ([ADB_IME] if adb_kb in ("enabled", "active") else [])
            self.ime = ADB_IME if adb_kb == "active" else LATIN_IME
            self.touches = 0
            self.last_gesture: tuple[Any, ...] | None = None
            self._toast: tuple[str, float] | None = None
            self._cache: tuple[int, list[Node]] | None = None
            self.changed()

    # --- geometry -----------------------------------------------------------------------------

    @property
    def physical_size(self) -> tuple[int, int]:
        return self.scenario.display.width, self.scenario.display.height

    @property
    def natural_size(self) -> tuple[int, int]:
        return self.size_override or self.physical_size

    @property
    def size(self) -> tuple[int, int]:
        w, h = self.natural_size
        return (h, w) if self.rotation % 2 else (w, h)

    @property
    def density(self) -> int:
        return self.density_override or self.scenario.display.density

    def changed(self) -> None:
        with self.lock:
            self.version += 1

    def set_rotation(self, rotation: int) -> None:
        with self.lock:
            self.rotation = rotation % 4
            self.settings["system/user_rotation"] = str(self.rotation)
            self.changed()

    # --- views --------------------------------------------------------------------------------

    @property
    def entry(self) -> Entry:
        return self.tasks[self.foreground][-1]

    @property
    def app(self) -> App:
        app = self.scenario.app(self.foreground)
        assert app is not None
        return app

    def activity_of(self, entry: Entry) -> str:
        return self.scenario.screen(entry.screen).activity or self.app.activity

    def toast_text(self) -> str | None:
        if self._toast and time.monotonic() < self._toast[1]:
            return self._toast[0]
        return None

    def windows(self) -> list[Node]:
        """The laid-out screen (cached per version; a toast adds time to the key)."""
        with self.lock:
            toast = self.toast_text()
            key = self.version * 2 + (1 if toast else 0)
            if self._cache is None or self._cache[0] != key:
                entry = self.entry
                li = LayoutInput(self.scenario, self.app, entry.screen, self.scenario.screen(entry.screen),
                                 entry, self.values, self.size, self.density, toast)
                self._cache = (key, layout(li))
            return self._cache[1]

    def frame_key(self) -> int:
        with self.lock:
            return self.version * 2 + (1 if self.toast_text() else 0)

    @property
    def secure(self) -> bool:
        return self.scenario.screen(self.entry.screen).secure

    def snapshot(self) -> PhoneState:
        with self.lock:
            entry = self.entry
            screen = self.scenario.screen(entry.screen)
            focused = None
            if entry.focus is not None:
                w = screen.widgets[entry.focus]
                focused = w.id or f"#{entry.focus}"
            scroll = {(screen.widgets[i].id or f"#{i}"): v for i, v in entry.scroll.items()}
            return PhoneState(
                values=copy.deepcopy(self.values), package=self.foreground, activity=self.activity_of(entry),
                screen=entry.screen, stack=tuple(e.screen for e in self.tasks[self.foreground]),
                focused=focused, rotation=self.rotation, size=self.size, density=self.density, ime=self.ime,
                screen_on=self.screen_on, touches=self.touches, last_gesture=self.last_gesture, scroll=scroll,
                secure=screen.secure,
            )

    # --- navigation ---------------------------------------------------------------------------

    def launch(self, package: str) -> bool:
        """Bring the app's task to the front (a new one when it has none). False: unknown."""
        with self.lock:
            self.log_input(f"launch {package}")
            app = self.scenario.app(package)
            if app is None:
                return False
            if app.role == "launcher":
                return self.home() or True
            if package not in self.tasks:
                self.tasks[package] = [Entry(app.launch)]
            self.foreground = package
            self.changed()
            return True

    def start_activity(self, package: str, activity: str) -> bool:
        """`am start -n pkg/activity`: push the screen with that activity onto the app's task."""
        with self.lock:
            self.log_input(f"start {package}/{activity}")
            app = self.scenario.app(package)
            if app is None:
                return False
            full = activity if not activity.startswith(".") else package + activity
            target = None
            for sid, screen in app.screens.items():
                act = screen.activity or app.activity
                if full in (act, package + act if act.startswith(".") else act):
                    target = sid
                    if sid == app.launch:
                        break
            if target is None:
                return False
            if target == app.launch and app.role == "launcher":
                self.home()
                return True
            task = self.tasks.setdefault(package, [])
            if not task or task[-1].screen != target:
                task.append(Entry(target))
            self.foreground = package
            self.changed()
            return True

    def home(self) -> bool:
        with self.lock:
            self.foreground = self.launcher.package
            self.tasks[self.launcher.package] = [Entry(self.launcher.launch)]
            self.changed()
            return True

    def back(self) -> None:
        with self.lock:
            task = self.tasks[self.foreground]
            if self.foreground == self.launcher.package:
                return
            # No soft keyboard is drawn, so BACK never stops at "hide the keyboard"
            if len(task) > 1:
                task.pop()
            else:
                del self.tasks[self.foreground]
                self.foreground = self.launcher.package
            self.changed()

    def force_stop(self, package: str) -> None:
        with self.lock:
            self.log_input(f"force-stop {package}")
            if package == self.launcher.package or package not in self.tasks:
                return
            del self.tasks[package]
            if self.foreground == package:
                self.foreground = self.launcher.package
            self.changed()
