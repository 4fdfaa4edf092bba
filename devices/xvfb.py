"""A virtual X display (Xvfb) for headless machines, CI and demos."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from pathlib import Path

from guiagent.errors import DeviceError

log = logging.getLogger(__name__)


def _free_display(start: int = 90) -> int:
    for n in range(start, start + 200):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return n
    raise DeviceError(f"no free X display number between :{start} and :{start + 200}")


class VirtualDisplay:
    """Starts `Xvfb :N` and sets DISPLAY while in use; stops it on exit.

    `VirtualDisplay.ensure()` starts one only when there is no usable display already.
    """

    def __init__(self, width: int = 1280, height: int = 800, depth: int = 24, display: int | None = None) -> None:
        self.size = (width, height)
        self.depth = depth
        self.number = display
        self.proc: subprocess.Popen[bytes] | None = None
        self._old_display: str | None = None

    @property
    def name(self) -> str:
        return f":{self.number}"

    def start(self) -> VirtualDisplay:
        exe = shutil.which("Xvfb")
        if exe is None:
            raise DeviceError("Xvfb is not installed: run `make demo` (as root it installs xvfb) "
                              "or `apt-get install xvfb`")
        for _ in range(5):
            n = self.number if self.number is not None else _free_display()
            self.proc = subprocess.Popen(
                [exe, f":{n}", "-screen", "0", f"{self.size[0]}x{self.size[1]}x{self.depth}",
                 "-nolisten", "tcp", "-ac", "+extension", "RANDR"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            self.number = n
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if Path(f"/tmp/.X11-unix/X{n}").exists():
                    self._old_display = os.environ.get("DISPLAY")
                    os.environ["DISPLAY"] = f":{n}"
                    log.info("started Xvfb on :%d (%dx%d)", n, *self.size)
                    return self
                if self.proc.poll() is not None:
                    break
                time.sleep(0.02)
            self.stop(restore=False)
            self.number = None if self.number == n else self.number
        raise DeviceError("Xvfb did not start")

    def stop(self, restore: bool = True) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None
        if restore:
            if self._old_display is None:
                os.environ.pop("DISPLAY", None)
            else:
                os.environ["DISPLAY"] = self._old_display

    def __enter__(self) -> VirtualDisplay:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @staticmethod
    def display_usable() -> bool:
        display = os.environ.get("DISPLAY")
        if not display:
            return False
        if shutil.which("xdpyinfo"):
            return subprocess.run(["xdpyinfo"], capture_output=True).returncode == 0
        return True

    @classmethod
    def ensure(cls, width: int = 1280, height: int = 800) -> VirtualDisplay | None:
        """Start a virtual display when none is usable; None when one already is."""
        if cls.display_usable():
            return None
        return cls(width, height).start()
