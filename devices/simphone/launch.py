"""Start a virtual phone and hand it out as an AndroidDevice, through the real adb server.

`open_sim_phone("default")` is the registry's "sim" device: a SimPhone on a free port, `adb
connect`ed, waited for until the adb server lists it as `device`, wrapped by
`devices.android.device.AndroidDevice`. Closing the device disconnects it and stops the phone.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from devices.simphone.phone import SimPhone
from guiagent.schema.errors import ConfigError, DeviceDisconnected

log = logging.getLogger(__name__)

# open_sim_phone options that configure the phone; the rest go to open_android
SIM_OPTIONS = {"port", "host", "size", "density", "adb_keyboard", "connect_timeout"}


def _client(adb_host: str = "127.0.0.1", adb_port: int = 5037, timeout: float = 10.0) -> Any:
    import adbutils

    # The adb server starts in ~7 ms without libusb instead of ~3 s; only matters if we start it.
    os.environ.setdefault("ADB_LIBUSB", "0")
    return adbutils.AdbClient(host=adb_host, port=adb_port, socket_timeout=timeout)


def adb_connect(serial: str, timeout: float = 10.0, client: Any = None) -> None:
    """`adb connect SERIAL` and wait until the adb server lists it as `device`."""
    import adbutils

    client = client or _client(timeout=timeout)
    deadline = time.monotonic() + timeout
    state: str | None = None
    while True:
        try:
            msg = client.connect(serial, timeout=max(1.0, deadline - time.monotonic()))
            if "connected" in msg and not any(w in msg for w in ("unable", "failed", "cannot")):
                state = next((d.state for d in client.list() if d.serial == serial), None)
                if state == "device":
                    return
        except adbutils.AdbError as exc:
            msg = str(exc)
        if time.monotonic() > deadline:
            raise DeviceDisconnected(f"virtual phone {serial} did not become ready through adb "
                                     f"(last answer: {msg.strip()!r}, state {state})")
        time.sleep(0.1)


def adb_disconnect(serial: str, client: Any = None) -> None:
    import adbutils

    try:
        (client or _client()).disconnect(serial)
    except adbutils.AdbError as exc:
        log.debug("adb disconnect %s: %s", serial, exc)


def _size(value: Any) -> tuple[int, int] | None:
    if value is None or isinstance(value, tuple):
        return value
    try:
        w, h = (int(v) for v in str(value).lower().split("x"))
    except ValueError as exc:
        raise ConfigError(f"size must look like 720x1280, not {value!r}") from exc
    return w, h


def open_sim_phone(arg: str = "", **options: Any) -> Any:
    """A virtual phone running scenario `arg` (default "default"), as an AndroidDevice.

    Options: port (0 = free), host, size ("WxH"), density, adb_keyboard
    (absent|installed|enabled|active), connect_timeout; anything else goes to open_android.
    The device's `sim_phone` attribute is the SimPhone (state, faults)."""
    sim = {k: options.pop(k) for k in list(options) if k in SIM_OPTIONS}
    phone = SimPhone(port=int(sim.get("port", 0)), scenario=arg or "default", host=sim.get("host", "127.0.0.1"),
                     size=_size(sim.get("size")), density=sim.get("density"),
                     adb_keyboard=sim.get("adb_keyboard")).start()
    client = None
    try:
        client = _client(options.get("adb_host", "127.0.0.1"), int(options.get("adb_port", 5037)))
        adb_connect(phone.serial, float(sim.get("connect_timeout", 10.0)), client)
        from devices.android.device import open_android

        device = open_android(phone.serial, **options)
    except BaseException:
        if client is not None:
            adb_disconnect(phone.serial, client)
        phone.stop()
        raise

    def close_phone() -> None:
        try:
            adb_disconnect(phone.serial, client)
        finally:
            phone.stop()

    device.on_close.append(close_phone)
    device.sim_phone = phone
    return device
