"""What the app can drive from here: this desktop, connected Android devices (adb), and
virtual phones it starts itself (one per scenario in assets/scenarios).

Device specs are the registry's ("desktop", "android:SERIAL", "sim:SCENARIO"); opening
goes through `guiagent.registry.build_device` like the CLI and the daemon do.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from typing import Any, Literal

from guiagent.schema import assets

log = logging.getLogger(__name__)
Kind = Literal["desktop", "android", "sim", "windows"]


@dataclass(frozen=True)
class DeviceChoice:
    spec: str
    label: str
    kind: Kind
    detail: str = ""


def local_choices() -> list[DeviceChoice]:
    """Choices known without asking adb (instant)."""
    out: list[DeviceChoice] = []
    if sys.platform == "win32":
        out.append(DeviceChoice("windows", "This Windows desktop", "windows"))
    else:
        display = os.environ.get("DISPLAY", "")
        if display:
            out.append(DeviceChoice("desktop", f"This desktop ({display})", "desktop", "the agent moves your mouse"))
    names = assets.scenario_names()
    for name in names or ["default"]:
        spec = "sim" if name == "default" else f"sim:{name}"
        label = "Virtual phone" if name == "default" else f"Virtual phone · {name}"
        out.append(DeviceChoice(spec, label, "sim", "started by the app, stopped when you disconnect"))
    return out


def android_choices(timeout: float = 3.0) -> list[DeviceChoice]:
    """Devices the adb server lists as ready. Empty when adb is missing or unreachable."""
    try:
        import adbutils

        os.environ.setdefault("ADB_LIBUSB", "0")
        client = adbutils.AdbClient(socket_timeout=timeout)
        listed: list[Any] = list(client.list())
    except Exception as exc:  # adb missing / server down: the picker just shows no phones
        log.info("no adb devices: %s", exc)
        return []
    out = []
    for d in listed:
        if getattr(d, "state", "device") != "device":
            continue
        out.append(DeviceChoice(f"android:{d.serial}", f"Android {d.serial}", "android", "connected through adb"))
    return out


def device_options(choice_kind: str, own_pid: int | None = None, kill_switch: Any = None) -> dict[str, Any]:
    """Options the app passes when it opens a device of this kind."""
    if choice_kind == "desktop":
        # the desktop device refuses to act on windows of these processes: never on the app itself
        opts: dict[str, Any] = {"exclude_pids": {own_pid or os.getpid()}}
        if kill_switch is not None:
            opts["kill_switch"] = kill_switch
        return opts
    return {}


def kind_of(spec: str) -> str:
    return spec.partition(":")[0]
