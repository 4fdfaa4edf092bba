"""The kill switch: one thread-safe stop flag that the agent loop (and every device wrapped in
devices.wrappers.KillSwitchDevice) check before every action.

Tripped by `trip(reason)` from anywhere, by SIGINT/SIGTERM once `install_signal_handlers()`
ran (main thread only; a second signal falls through to the previous handler, so a second
Ctrl+C still kills a stuck process), by a global hotkey (pynput, default
Ctrl+Alt+Shift+Q: three modifiers, so no application shortcut and no typed text hits it by
accident), and by pyautogui's fail-safe corner, which the desktop devices raise as `StopRequested` and
KillSwitchDevice turns into a trip.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from guiagent.schema.errors import StopRequested

log = logging.getLogger(__name__)

DEFAULT_HOTKEY = "<ctrl>+<alt>+<shift>+q"


class KillSwitch:
    """A stop flag with optional triggers. `start()` arms the hotkey, `stop()` disarms it."""

    def __init__(self, hotkey: str | None = DEFAULT_HOTKEY) -> None:
        self.hotkey = hotkey  # pynput GlobalHotKeys syntax; None = no hotkey
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._reason: str | None = None
        self._listener: Any = None
        self._old_handlers: dict[int, Any] = {}
        self._callbacks: list[Callable[[str], None]] = []

    # -- the flag -----------------------------------------------------------------------

    def trip(self, reason: str = "stop requested") -> None:
        """Ask everything to stop. The first reason is kept."""
        with self._lock:
            if self._event.is_set():
                return
            self._reason = reason
            self._event.set()
            callbacks = list(self._callbacks)
        log.warning("kill switch tripped: %s", reason)
        for cb in callbacks:
            try:
                cb(reason)
            except Exception:  # a subscriber must not break the stop
                log.exception("kill switch callback failed")

    @property
    def tripped(self) -> bool:
        return self._event.is_set()

    @property
    def reason(self) -> str | None:
        return self._reason

    def reset(self) -> None:
        with self._lock:
            self._event.clear()
            self._reason = None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until tripped or `timeout`; True when tripped. Also an interruptible sleep."""
        return self._event.wait(timeout)

    def check(self) -> None:
        """Raise StopRequested when tripped: call this before each action."""
        if self._event.is_set():
            raise StopRequested(f"stopped by the kill switch: {self._reason}")

    def on_trip(self, callback: Callable[[str], None]) -> None:
        """Call `callback(reason)` when tripped (from the tripping thread)."""
        with self._lock:
            self._callbacks.append(callback)

    # -- the hotkey ---------------------------------------------------------------------

    @property
    def listening(self) -> bool:
        return self._listener is not None

    def start(self) -> bool:
        """Arm the global hotkey. False (and one log line) when it cannot run: no hotkey
        configured, no display, or pynput missing. Never raises for those."""
        if self._listener is not None or not self.hotkey:
            return self._listener is not None
        try:
            from pynput import keyboard  # needs a display on X11: import only here

            listener = keyboard.GlobalHotKeys({self.hotkey: lambda: self.trip(f"hotkey {self.hotkey}")})
            listener.start()
            listener.wait()  # until the X RECORD context is live, so no chord is missed
        except ValueError as exc:  # pynput's message for a malformed hotkey
            raise ValueError(f"bad kill-switch hotkey {self.hotkey!r}: {exc}") from exc
        except Exception as exc:  # ImportError, no X display, no RECORD extension ...
            log.info("kill-switch hotkey %s disabled: %s", self.hotkey, exc)
            return False
        self._listener = listener
        log.debug("kill-switch hotkey %s armed", self.hotkey)
        return True

    def stop(self) -> None:
        """Disarm the hotkey (the flag keeps its state)."""
        listener, self._listener = self._listener, None
        if listener is None:
            return
        listener.stop()
        listener.join(0.1)
        if listener.is_alive():
            # pynput (1.8, X11) sends the RECORD disable on the connection that is blocked in
            # the recording, so after the first event stop() never lands. The X RECORD spec
            # wants it from another connection: pynput's own control one.
            try:
                listener._display_stop.record_disable_context(listener._context)
                listener._display_stop.flush()
            except Exception as exc:  # already closed: the thread is on its way out
                log.debug("hotkey listener: extra disable failed: %s", exc)
            listener.join(2.0)
        if listener.is_alive():
            log.warning("kill-switch hotkey listener did not stop")

    # -- signals ------------------------------------------------------------------------

    def install_signal_handlers(self, signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)) -> bool:
        """Trip on these signals. Only from the main thread (Python's rule); False elsewhere."""
        if threading.current_thread() is not threading.main_thread():
            log.debug("signal handlers not installed: not the main thread")
            return False
        for sig in signals:
            if sig not in self._old_handlers:
                self._old_handlers[sig] = signal.signal(sig, self._on_signal)
        return True

    def restore_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig, old in self._old_handlers.items():
            signal.signal(sig, old)
        self._old_handlers.clear()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if not self.tripped:
            self.trip(f"signal {name}")
            return
        # Second signal: the user insists, hand it to whoever handled it before us.
        old = self._old_handlers.get(signum)
        if callable(old):
            old(signum, frame)
        elif old == signal.SIG_DFL:
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)

    def __enter__(self) -> KillSwitch:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
