"""Text for the Windows device that pyautogui cannot type: uiautomation's SendKeys.

pyautogui presses virtual keys of the current layout; SendKeys sends Unicode characters. The
rest of the input (pointer, keys, wheel, the fail-safe) is devices.pointer, shared with X11.
"""

from __future__ import annotations

from typing import Any


def send_keys_text(text: str) -> str:
    """Literal text for uiautomation.SendKeys, which reads {Name} as a key: braces escaped."""
    return "".join("{{}" if c == "{" else "{}}" if c == "}" else c for c in text)


class SendKeysTyper:
    """The PointerInput fallback on Windows: `typer(text) -> via`."""

    def __init__(self, uia: Any, interval: float = 0.0) -> None:
        self.uia, self.interval = uia, interval

    def __call__(self, text: str) -> str:
        self.uia.SendKeys(send_keys_text(text), interval=self.interval, waitTime=0, charMode=True)
        return "uia:sendkeys"
