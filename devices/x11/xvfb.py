"""A virtual X display (Xvfb) for headless machines, CI and demos."""

from __future__ import annotations

import logging
import os
import select
import shutil
import subprocess
import time

from guiagent.schema.errors import DeviceError

log = logging.getLogger(__name__)


def _read_display_number(fd: int, proc: subprocess.Popen[bytes], timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    buf = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            chunk = os.read(fd, 64)
            if not chunk:
                break
            buf += chunk
            if buf.endswith(b"\n"):
                return int(buf.strip())
        elif proc.poll() is not None:
            return None
    return None


class VirtualDisplay:
    """Starts Xvfb on a free display number and sets DISPLAY while in use; stops it on exit.

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
        screen = f"{self.size[0]}x{self.size[1]}x{self.depth}"
        fixed = [f":{self.number}"] if self.number is not None else []
        read_fd, write_fd = os.pipe()
        try:
            # -displayfd: Xvfb picks a free display number itself and writes it to the pipe once it
            # accepts connections, so parallel test sessions never race for the same number.
            cmd = [exe, *fixed, "-displayfd", str(write_fd), "-screen", "0", screen,
                   "-nolisten", "tcp", "-ac", "-noreset", "+extension", "RANDR"]
            self.proc = subprocess.Popen(cmd, pass_fds=(write_fd,), stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
            os.close(write_fd)
            write_fd = -1
            number = _read_display_number(read_fd, self.proc, timeout=20.0)
        finally:
            os.close(read_fd)
            if write_fd != -1:
                os.close(write_fd)
        if number is None:
            self.stop(restore=False)
            raise DeviceError("Xvfb did not start")
        self.number = number
        self._old_display = os.environ.get("DISPLAY")
        os.environ["DISPLAY"] = f":{number}"
        log.info("started Xvfb on :%d (%dx%d)", number, *self.size)
        return self

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
