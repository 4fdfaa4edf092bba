"""The simulated Android: tasks and back stacks, widget state, what taps, swipes, keys and text
do. Coordinates here are display pixels of the current orientation (what `input tap` takes).

Thread-safe through one re-entrant lock: the ADB loop thread and test threads both call in.
`version` increases on every visible change, so frames and dumps are cached per version.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections import deque
from typing import Any

from devices.simphone.keycodes import KEY_CHARS
from devices.simphone.layout import Entry, LayoutInput, Node, layout, list_items, list_max_scroll
from devices.simphone.scenario import App, Op, Scenario, Widget
from devices.simphone.state import PhoneState

log = logging.getLogger(__name__)

LATIN_IME = "com.android.inputmethod.latin/.LatinIME"
ADB_IME = "com.android.adbkeyboard/.AdbIME"
TOAST_S = 2.0


class PhoneModel:
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

    # --- gestures -----------------------------------------------------------------------------

    def _hit(self, x: float, y: float) -> Node | None:
        for win in reversed(self.windows()):
            left, top, right, bottom = win.bounds
            if not (left <= x < right and top <= y < bottom):
                continue
            best = None
            for n in win.walk():
                nl, nt, nr, nb = n.bounds
                if n.target is not None and n.enabled and nl <= x < nr and nt <= y < nb:
                    best = n  # walk is pre-order: later hits are deeper or on top
            return best
        return None

    def tap(self, x: float, y: float, long: bool = False) -> str:
        """A tap (or long press) at display pixel (x, y); returns what it hit, for logs."""
        with self.lock:
            self.touches += 1
            self.last_gesture = ("long_press" if long else "tap", round(x), round(y))
            self.log_input(f"{self.last_gesture[0]} {round(x)} {round(y)}")
            node = self._hit(x, y)
            if node is None or node.target is None:
                return "nothing"
            self._activate(node.target, long)
            self.changed()
            return f"{node.cls} {node.text or node.desc or node.rid}".strip()

    def _activate(self, target: tuple[Any, ...], long: bool) -> None:
        kind = target[0]
        entry = self.entry
        screen = self.scenario.screen(entry.screen)
        if kind == "nav":
            if target[1] == "back":
                self.back()
            elif target[1] == "home":
                self.home()
            return
        if kind == "up":
            self.back()
            return
        if kind == "app":
            self.launch(target[1])
            return
        if kind == "notif":  # the heads-up notification card
            self.run_ops(screen.notification.on_tap if screen.notification else [], {})
            return
        w = screen.widgets[target[1]]
        if kind == "item":
            title = list_items(w, self.values)[target[2]][0]
            ops = w.on_long_press if long and w.on_long_press else w.on_item_tap
            self.run_ops(ops, {"$item": title, "$index": str(target[2])})
            return
        if long and w.on_long_press:
            self.run_ops(w.on_long_press, {})
            return
        # no long-click listener: Android still performs the click on release
        match w.type:
            case "switch" | "checkbox":
                assert w.bind is not None
                self.values[w.bind] = not bool(self.values[w.bind])
                self.run_ops(w.on_change, {})
            case "edit_text":
                entry.focus = target[1]
            case _:
                self.run_ops(w.on_tap, {})

    def swipe(self, x1: float, y1: float, x2: float, y2: float) -> str:
        """A drag: scrolls the list under the start point by the vertical distance."""
        with self.lock:
            self.touches += 1
            self.last_gesture = ("swipe", round(x1), round(y1), round(x2), round(y2))
            self.log_input("swipe")
            dy = y1 - y2
            if abs(dy) < abs(x2 - x1):
                return "horizontal swipe ignored"
            dp = self.density / 160.0
            entry = self.entry
            screen = self.scenario.screen(entry.screen)
            for n in self.windows()[0].walk():
                if n.kind != "list" or not n.scrollable:
                    continue
                left, top, right, bottom = n.bounds
                if left <= x1 < right and top <= y1 < bottom:
                    i = n.style["index"]
                    most = list_max_scroll(screen.widgets[i], self.values, bottom - top, dp)
                    old = min(entry.scroll.get(i, 0), most)  # a rotation may have shrunk the range
                    entry.scroll[i] = int(min(max(old + dy, 0), most))
                    self.changed()
                    return f"scrolled list {i} from {old} to {entry.scroll[i]}"
            return "nothing to scroll"

    # --- keys and text ------------------------------------------------------------------------

    def _focused(self) -> Widget | None:
        entry = self.entry
        if entry.focus is None:
            return None
        return self.scenario.screen(entry.screen).widgets[entry.focus]

    def type_text(self, text: str) -> bool:
        """Insert at the end of the focused field. False when nothing has focus."""
        with self.lock:
            self.log_input(f"text {text}")
            w = self._focused()
            if w is None or w.bind is None:
                return False
            self.values[w.bind] = str(self.values[w.bind]) + text
            self.changed()
            return True

    def clear_text(self) -> None:
        with self.lock:
            self.log_input("clear")
            w = self._focused()
            if w is not None and w.bind is not None:
                self.values[w.bind] = ""
                self.changed()

    def key(self, code: int) -> None:
        with self.lock:
            self.log_input(f"key {code}")
            match code:
                case 3:
                    self.home()
                case 4 | 111:  # BACK; ESCAPE falls back to BACK like Android's fallback key handling
                    self.back()
                case 66 | 160:  # ENTER, NUMPAD_ENTER
                    w = self._focused()
                    if w is not None and w.on_submit:
                        self.run_ops(w.on_submit, {})
                case 67:  # DEL: backspace
                    w = self._focused()
                    if w is not None and w.bind and self.values[w.bind]:
                        self.values[w.bind] = str(self.values[w.bind])[:-1]
                case 61:  # TAB: next field
                    self._focus_next()
                case 26 | 223:
                    self.screen_on = code == 26 and not self.screen_on
                case 224:
                    self.screen_on = True
                case _ if code in KEY_CHARS:
                    self.type_text(KEY_CHARS[code])
                case _:
                    log.debug("key %d ignored", code)
            self.changed()

    def _focus_next(self) -> None:
        entry = self.entry
        fields = [i for i, w in enumerate(self.scenario.screen(entry.screen).widgets) if w.type == "edit_text"]
        if fields:
            after = [i for i in fields if entry.focus is None or i > entry.focus]
            entry.focus = (after or fields)[0]

    # --- ops ----------------------------------------------------------------------------------

    def run_ops(self, ops: list[Op], item_vars: dict[str, str]) -> None:
        def sub(v: Any) -> Any:
            if isinstance(v, str):
                for k, val in item_vars.items():
                    v = v.replace(k, val)
            return v

        for op in ops:
            if op.when and any(self.values.get(k) != v for k, v in op.when.items()):
                continue
            if op.navigate is not None:
                vars_ = {k: sub(v) for k, v in (op.with_ or {}).items()}
                owner = self.scenario.screen_owner(op.navigate)
                task = self.tasks.setdefault(owner.package, [])
                task.append(Entry(op.navigate, vars=vars_))
                self.foreground = owner.package
            elif op.back:
                self.back()
            elif op.home:
                self.home()
            elif op.launch is not None:
                self.launch(op.launch)
            elif op.toggle is not None:
                self.values[op.toggle] = not bool(self.values[op.toggle])
            elif op.set is not None:
                self.values.update({k: sub(v) for k, v in op.set.items()})
            elif op.append is not None:
                a = op.append
                value = sub(a.value) if a.value is not None else str(self.values.get(a.from_ or "", ""))
                if value or not a.skip_empty:
                    self.values[a.to] = [*self.values[a.to], value]
            elif op.toast is not None:
                self._toast = (sub(op.toast), time.monotonic() + TOAST_S)
        self.changed()
