"""Synthetic input for the Windows device: pyautogui for pointer and keys, uiautomation's
SendKeys for text pyautogui cannot type, and the wheel in Windows' own units.

pyautogui is imported on first use, after the device made the process per-monitor DPI aware
(pyautogui's import would otherwise make it only system aware). On the tests' X server the
same calls drive Xvfb.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from guiagent.errors import DeviceError, UnsupportedAction

PYAUTOGUI_KEYS = {"escape": "esc", "meta": "win", "menu": "apps"}  # canonical name -> pyautogui
PLAIN_TEXT = frozenset(chr(c) for c in range(0x20, 0x7F)) | {"\n", "\t"}
WHEEL_DELTA = 120  # wheel units per notch; pyautogui on Windows passes its "clicks" through raw
MOUSEEVENTF_HWHEEL = 0x01000


def send_keys_text(text: str) -> str:
    """Literal text for uiautomation.SendKeys, which reads {Name} as a key: braces escaped."""
    return "".join("{{}" if c == "{" else "{}}" if c == "}" else c for c in text)


class Input:
    def __init__(self, uia: Any, display: str | None = None, pause: float = 0.02,
                 type_interval: float = 0.0, wheel_px: float = 60.0) -> None:
        self.uia = uia
        self.display = display
        self.pause, self.type_interval, self.wheel_px = float(pause), float(type_interval), float(wheel_px)
        self.mod: Any = None

    def gui(self) -> Any:
        if self.mod is None:
            if self.display:
                os.environ.setdefault("DISPLAY", self.display)
            try:
                import pyautogui
            except Exception as exc:
                raise DeviceError(f"pyautogui cannot start: {exc}") from exc
            self.mod = pyautogui
        self.mod.FAILSAFE = True  # deliberately on: the user's corner escape
        self.mod.PAUSE = self.pause
        return self.mod

    def is_failsafe(self, exc: BaseException) -> bool:
        return self.mod is not None and isinstance(exc, self.mod.FailSafeException)

    def type(self, text: str) -> str:
        if set(text) <= PLAIN_TEXT:
            self.gui().write(text, interval=self.type_interval)
            return "input"
        # pyautogui presses virtual keys of the current layout; SendKeys sends Unicode characters
        self.gui().failSafeCheck()
        self.uia.SendKeys(send_keys_text(text), interval=self.type_interval, waitTime=0, charMode=True)
        return "uia:sendkeys"

    def keys(self, keys: tuple[str, ...]) -> str:
        gui = self.gui()
        if len(keys) == 1 and len(keys[0]) == 1 and keys[0] not in PLAIN_TEXT:
            return self.type(keys[0])
        names = [PYAUTOGUI_KEYS.get(k, k) for k in keys]
        missing = [k for k, n in zip(keys, names, strict=True) if not gui.platformModule.keyboardMapping.get(n)]
        if missing:
            raise UnsupportedAction(f"key {'+'.join(missing)} does not exist on this keyboard")
        gui.hotkey(*names)
        return "input"

    def wheel(self, direction: str, amount: float, x: int, y: int, span_px: int, dpi_scale: float) -> int:
        """Scroll `amount` of a `span_px` screen at input point (x, y); returns signed notches."""
        gui = self.gui()
        notches = max(1, round(amount * span_px / dpi_scale / self.wheel_px))
        notches = notches if direction in ("up", "right") else -notches
        vertical = direction in ("up", "down")
        if sys.platform != "win32":  # the tests' X server: pyautogui clicks are notches
            (gui.scroll if vertical else gui.hscroll)(notches, x=x, y=y)
        elif vertical:
            gui.scroll(notches * WHEEL_DELTA, x=x, y=y)
        else:  # pyautogui's hscroll scrolls vertically on Windows: send the horizontal wheel
            import ctypes

            gui.moveTo(x, y)
            ctypes.windll.user32.mouse_event(MOUSEEVENTF_HWHEEL, 0, 0, notches * WHEEL_DELTA, 0)
        return notches
