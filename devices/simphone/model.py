"""The simulated Android: tasks and back stacks, widget state, what taps, swipes, keys and text
do. Coordinates here are display pixels of the current orientation (what `input tap` takes).
The state without input (reset, geometry, views, navigation) is model_core.py's PhoneModelCore.

Thread-safe through one re-entrant lock: the ADB loop thread and test threads both call in.
`version` increases on every visible change, so frames and dumps are cached per version.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from devices.simphone.keycodes import KEY_CHARS
from devices.simphone.layout import Entry, Node, list_items, list_max_scroll
from devices.simphone.model_core import ADB_IME, LATIN_IME, PhoneModelCore
from devices.simphone.scenario import Op, Widget

__all__ = ["ADB_IME", "LATIN_IME", "TOAST_S", "PhoneModel"]

log = logging.getLogger(__name__)

TOAST_S = 2.0


class PhoneModel(PhoneModelCore):
    """The phone with its input: taps, swipes, keys, text and the scenario's ops."""

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
