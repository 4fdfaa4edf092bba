"""A private accessibility bus for headless X sessions (Xvfb): a session D-Bus daemon, the
AT-SPI bus launcher, and the `IsEnabled` switch turned on, so applications started AFTER it
(Qt with QT_ACCESSIBILITY=1, Chromium with --force-renderer-accessibility) expose their tree.

Used by `guiagent bench record` and the recorder's tests; a desktop session that already has
an a11y bus (GNOME, KDE) needs none of this.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from pathlib import Path

from guiagent.schema.errors import DeviceError

log = logging.getLogger(__name__)
LAUNCHER = Path("/usr/libexec/at-spi-bus-launcher")


# display -> the bus serving it in this process. at-spi-bus-launcher keeps one socket per display
# (~/.cache/at-spi/bus_N) and publishes it on the display (root property AT_SPI_BUS): a second
# launcher on the same display replaces the first one's socket, and stopping it leaves every app
# of the first bus unable to register. So a nested A11yBus on a display shares the running one.
_ACTIVE: dict[str, A11yBus] = {}


class A11yBus:
    """Starts the buses on enter and sets DBUS_SESSION_BUS_ADDRESS; undoes both on exit. Nested
    use on one display shares the outer bus (stopped by the outermost user)."""

    def __init__(self) -> None:
        self.address: str | None = None
        self._dbus_pid: int | None = None
        self._launcher: subprocess.Popen[bytes] | None = None
        self._old: str | None = None
        self._shared: A11yBus | None = None
        self._users = 0
        self._display = ""

    @staticmethod
    def available() -> bool:
        return bool(shutil.which("dbus-daemon") and shutil.which("dbus-send") and LAUNCHER.exists())

    def start(self) -> A11yBus:
        if not self.available():
            raise DeviceError("AT-SPI is not installed: apt-get install at-spi2-core dbus-x11 python3-pyatspi")
        display = os.environ.get("DISPLAY", "")
        running = _ACTIVE.get(display)
        if running is not None and running.address is not None:
            running._users += 1
            self._shared, self.address = running, running.address
            self._old = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
            os.environ["DBUS_SESSION_BUS_ADDRESS"] = running.address
            return self
        if self._serving_already():  # a parent process's bus (this process inherited its address)
            self.address = os.environ["DBUS_SESSION_BUS_ADDRESS"]
            self._shared = self  # nothing of ours to stop
            return self
        self._start_own()
        _ACTIVE[display] = self
        self._display = display
        return self

    @staticmethod
    def _serving_already() -> bool:
        """The inherited session bus already runs an a11y bus launcher (a CLI started by a test or a
        desktop session): starting a second launcher on the same display would break the first."""
        if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
            return False  # never probe without an address: dbus-send would autolaunch a bus
        r = subprocess.run(["dbus-send", "--session", "--print-reply=literal", "--reply-timeout=2000",
                            "--dest=org.a11y.Bus", "/org/a11y/bus", "org.a11y.Bus.GetAddress"],
                           capture_output=True, text=True, timeout=10)
        return r.returncode == 0 and bool(r.stdout.strip())

    def _start_own(self) -> None:
        out = subprocess.run(["dbus-daemon", "--session", "--fork", "--print-address=1", "--print-pid=1"],
                             capture_output=True, text=True, timeout=10)
        lines = out.stdout.split()
        if out.returncode != 0 or len(lines) < 2:
            raise DeviceError(f"dbus-daemon did not start: {out.stderr.strip()}")
        self.address, self._dbus_pid = lines[0], int(lines[1])
        self._old = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
        os.environ["DBUS_SESSION_BUS_ADDRESS"] = self.address
        self._launcher = subprocess.Popen([str(LAUNCHER), "--launch-immediately"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cmd = ["dbus-send", "--session", "--print-reply", "--dest=org.a11y.Bus", "/org/a11y/bus",
               "org.freedesktop.DBus.Properties.Set", "string:org.a11y.Status", "string:IsEnabled",
               "variant:boolean:true"]
        deadline = time.monotonic() + 10
        while True:  # the launcher takes a moment to own org.a11y.Bus
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            if r.returncode == 0:
                break
            if time.monotonic() > deadline:
                self.stop()
                raise DeviceError(f"could not enable the a11y bus: {r.stderr.strip()}")
            time.sleep(0.05)
        self._wait_registry(deadline)
        log.info("a11y bus up at %s", self.address)

    def _wait_registry(self, deadline: float) -> None:
        """Wait until the AT-SPI registry answers on the a11y bus. An app started before it does
        (Qt checks once at start) never registers: its tree stays empty for its whole life."""
        get = ["dbus-send", "--session", "--print-reply=literal", "--dest=org.a11y.Bus", "/org/a11y/bus",
               "org.a11y.Bus.GetAddress"]
        while True:
            r = subprocess.run(get, capture_output=True, text=True, timeout=10)
            address = r.stdout.strip()
            if r.returncode == 0 and address:
                ping = subprocess.run(  # activates the registry daemon and returns once it owns its name
                    ["dbus-send", f"--bus={address}", "--print-reply", "--dest=org.a11y.atspi.Registry",
                     "/org/a11y/atspi/registry", "org.freedesktop.DBus.Peer.Ping"],
                    capture_output=True, text=True, timeout=10)
                if ping.returncode == 0:
                    return
            if time.monotonic() > deadline + 10:
                self.stop()
                raise DeviceError(f"the AT-SPI registry did not answer: {(r.stderr or '').strip()}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self._shared is self:  # the inherited bus of a parent process: not ours to stop
            self._shared, self.address = None, None
            return
        if self._shared is not None:  # a nested user: the outer bus stays up
            self._shared._users -= 1
            self._shared = None
            self._restore_env()
            return
        if self._users > 0:  # nested users still hold it: they stop nothing, the outermost stops it
            log.debug("a11y bus stopped while %d nested users hold it", self._users)
        if _ACTIVE.get(self._display) is self:
            del _ACTIVE[self._display]
        if self._launcher is not None:
            self._launcher.terminate()
            try:
                self._launcher.wait(5)
            except subprocess.TimeoutExpired:
                self._launcher.kill()
            self._launcher = None
        if self._dbus_pid is not None:
            try:
                os.kill(self._dbus_pid, 15)
            except ProcessLookupError:
                pass
            self._dbus_pid = None
        self._restore_env()

    def _restore_env(self) -> None:
        if self.address is not None:
            if self._old is None:
                os.environ.pop("DBUS_SESSION_BUS_ADDRESS", None)
            else:
                os.environ["DBUS_SESSION_BUS_ADDRESS"] = self._old
            self.address = None

    def __enter__(self) -> A11yBus:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
