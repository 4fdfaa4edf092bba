"""Shell access to one Android device through adbutils, with our errors and reconnects.

Every call carries a timeout (the adb client socket and the shell read). adbutils errors map to
ours: a stall -> DeviceTimeout; EOF, a closed or refused connection, "device offline" or
"not found" -> DeviceDisconnected. After a disconnect the next call first runs `adb connect`
again (host:port serials; USB serials just wait to be listed) with a bounded backoff, so the
device recovers by itself when the phone comes back.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import Any

from guiagent.schema.errors import DeviceDisconnected, DeviceError, DeviceTimeout

log = logging.getLogger(__name__)

HOST_PORT = re.compile(r"^[\w.\-]+:\d{1,5}$")


def make_client(adb_host: str = "127.0.0.1", adb_port: int = 5037, timeout: float = 10.0) -> Any:
    import adbutils

    return adbutils.AdbClient(host=adb_host, port=int(adb_port), socket_timeout=timeout)


def device_state(client: Any, serial: str) -> str | None:
    """The adb server's state for `serial` ("device", "offline", ...), None when not listed."""
    return next((d.state for d in client.list() if d.serial == serial), None)


def resolve_serial(client: Any, arg: str, timeout: float = 10.0) -> str:
    """The serial for a device spec argument: "HOST:PORT" (adb connect first), a USB serial,
    or "" for the only connected device. Clear errors for none or several."""
    import adbutils

    serial = arg.strip()
    try:
        if serial and HOST_PORT.match(serial):
            msg = client.connect(serial, timeout=timeout)
            if "connected" not in msg or any(w in msg for w in ("unable", "failed", "cannot")):
                raise DeviceDisconnected(f"adb connect {serial} failed: {msg}")
            deadline = time.monotonic() + timeout
            while (state := device_state(client, serial)) != "device":
                if time.monotonic() > deadline:
                    raise DeviceDisconnected(f"{serial} is connected but {state or 'not listed'}, not ready")
                time.sleep(0.1)
            return serial
        ready = [d.serial for d in client.list() if d.state == "device"]
    except adbutils.AdbError as exc:
        raise DeviceDisconnected(f"cannot reach the adb server for {serial or 'a device'}: {exc}") from exc
    if serial:
        if serial not in ready:
            raise DeviceDisconnected(f"Android device {serial!r} is not connected; adb lists {ready or 'none'}")
        return serial
    if not ready:
        raise DeviceError("no Android device is connected (adb devices lists none ready); plug a phone "
                          "in with USB debugging on, or use android:HOST:PORT")
    if len(ready) > 1:
        raise DeviceError(f"{len(ready)} Android devices are connected ({', '.join(ready)}); "
                          "pick one with android:SERIAL")
    return ready[0]


def _read_to_end(sock: Any) -> bytes:
    """Everything until the device closes the stream. adbutils' read_until_close appends
    4 KiB chunks to a bytes object, quadratic for a raw frame (3.7 MB at 720x1280)."""
    buf = bytearray()
    while True:
        chunk = sock.recv(1 << 20)
        if not chunk:
            return bytes(buf)
        buf += chunk


class AdbTransport:
    """`shell` on one device by serial; thread-safe reconnect."""

    def __init__(self, serial: str, client: Any, *, timeout: float = 10.0, reconnect_timeout: float = 5.0) -> None:
        self.serial = serial
        self.client = client
        self.timeout = float(timeout)
        self.reconnect_timeout = float(reconnect_timeout)
        self.lost = False
        self.reconnects = 0
        self._dev = client.device(serial)
        self._lock = threading.Lock()

    def shell(self, cmd: str, *, timeout: float | None = None) -> str:
        return self.shell_bytes(cmd, timeout=timeout).decode("utf-8", errors="replace")

    def shell_bytes(self, cmd: str, *, timeout: float | None = None) -> bytes:
        self.ensure_connected()
        t = timeout or self.timeout
        try:
            # Not AdbDevice.shell: its timeout covers only the reading, while opening the
            # stream waits on the client's default. Here `t` bounds every wait of the exchange.
            conn = self._dev.open_transport(timeout=t)
            try:
                conn.send_command("shell:" + cmd)
                conn.check_okay()
                return _read_to_end(conn.conn)
            finally:
                conn.close()
        except Exception as exc:
            raise self._translate(exc, cmd, t) from exc

    def _translate(self, exc: Exception, cmd: str, timeout: float) -> Exception:
        import adbutils

        what = f"{self.serial}: `{cmd[:50]}`"
        if isinstance(exc, adbutils.AdbTimeout | TimeoutError):
            return DeviceTimeout(f"{what} got no answer within {timeout:g}s ({exc})")
        if isinstance(exc, adbutils.AdbError) and "unauthorized" in str(exc):
            return DeviceError(f"{what}: device unauthorized; accept the USB debugging prompt on the phone")
        if isinstance(exc, adbutils.AdbError | EOFError | OSError):
            self.lost = True
            return DeviceDisconnected(f"{what}: connection lost ({exc or type(exc).__name__})")
        return exc

    def ensure_connected(self) -> None:
        """After a disconnect: reconnect with backoff (0.2 s doubling to 1 s) for at most
        `reconnect_timeout`, else DeviceDisconnected. Each later call tries again."""
        if not self.lost:
            return
        with self._lock:
            if not self.lost:
                return
            deadline, delay, last, attempt = time.monotonic() + self.reconnect_timeout, 0.2, "", 0
            while True:
                attempt += 1
                try:
                    if HOST_PORT.match(self.serial):
                        if attempt > 2 and last == "offline":
                            self.client.disconnect(self.serial)  # drop a transport stuck offline
                        last = self.client.connect(self.serial, timeout=2.0)
                    last = self._dev.get_state()
                    if last == "device":
                        self.lost = False
                        self.reconnects += 1
                        log.info("%s is back after %d attempt(s)", self.serial, attempt)
                        return
                except Exception as exc:  # the adb server says "not found", refused, ...
                    last = str(exc)
                if time.monotonic() + delay > deadline:
                    raise DeviceDisconnected(
                        f"{self.serial} is unreachable (retried for {self.reconnect_timeout:g}s): {last}")
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
