"""Faults injected at runtime: dropped connections, a stalled phone, black frames.

`drop(for_s)` closes every ADB connection and refuses new ones for `for_s` seconds (the
listening socket is closed, so the adb server sees ECONNREFUSED like an unplugged phone);
`stall(for_s)` keeps the sockets open but answers nothing; `black(on)` makes every frame
black (screencap, framebuffer) while the UI tree keeps working.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stalled_until = 0.0
        self._refuse_until = 0.0
        self.black_frames = False
        # Set by the phone: called (from any thread) to drop every connection now.
        self._on_drop: Callable[[float], None] | None = None

    def drop(self, for_s: float = 2.0) -> None:
        """Close all connections now and refuse new ones for `for_s` seconds."""
        if for_s < 0:
            raise ValueError(f"drop duration must be >= 0 seconds, got {for_s}")
        with self._lock:
            self._refuse_until = max(self._refuse_until, time.monotonic() + for_s)
        log.info("fault: dropping all connections, refusing new ones for %.1f s", for_s)
        if self._on_drop is not None:
            self._on_drop(for_s)

    def stall(self, for_s: float = 2.0) -> None:
        """Stop answering (reads and writes held) for `for_s` seconds."""
        if for_s < 0:
            raise ValueError(f"stall duration must be >= 0 seconds, got {for_s}")
        with self._lock:
            self._stalled_until = max(self._stalled_until, time.monotonic() + for_s)
        log.info("fault: stalled for %.1f s", for_s)

    def black(self, on: bool = True) -> None:
        """Every frame black (True) or normal again (False)."""
        self.black_frames = bool(on)
        log.info("fault: black frames %s", "on" if on else "off")

    def clear(self) -> None:
        with self._lock:
            self._stalled_until = 0.0
            self._refuse_until = 0.0
        self.black_frames = False

    @property
    def refusing(self) -> bool:
        return time.monotonic() < self._refuse_until

    @property
    def refuse_remaining(self) -> float:
        return max(0.0, self._refuse_until - time.monotonic())

    @property
    def stalled(self) -> bool:
        return time.monotonic() < self._stalled_until

    async def wait_unstalled(self) -> None:
        """Return once no stall is active (polled: a stall may be extended from another thread)."""
        while True:
            remaining = self._stalled_until - time.monotonic()
            if remaining <= 0:
                return
            await asyncio.sleep(min(remaining, 0.05))

    def describe(self) -> str:
        parts = []
        if self.refusing:
            parts.append(f"refusing connections for {self.refuse_remaining:.1f} s")
        if self.stalled:
            parts.append(f"stalled for {self._stalled_until - time.monotonic():.1f} s")
        if self.black_frames:
            parts.append("black frames")
        return ", ".join(parts) or "no faults"
