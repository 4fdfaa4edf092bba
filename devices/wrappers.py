"""Behaviour layered around any Device, in the style of android_env's wrappers.

A wrapper is itself a Device that delegates everything to the device it wraps, so wrappers stack
and every user (the agent loop, the recorder, the app) sees one Device. Attributes a wrapper does
not define (`sim_phone`, `x11`, `serial` ...) are looked up on the wrapped device.
`guiagent.registry.build_device` applies them, so the CLI, the app and the daemon get the same.
"""

from __future__ import annotations

from typing import Any

from PIL import Image

from devices.base import Device, DeviceInfo, SettleResult
from devices.killswitch import KillSwitch
from guiagent.schema import Action, Element, Outcome
from guiagent.schema.errors import StopRequested


class DeviceWrapper(Device):
    """Delegates every call to `device`; subclasses override what they add behaviour to."""

    def __init__(self, device: Device) -> None:
        self.device = device

    @property
    def info(self) -> DeviceInfo:
        """The wrapped device's, live (Android re-reads it on rotation)."""
        return self.device.info

    @info.setter
    def info(self, value: DeviceInfo) -> None:
        self.device.info = value

    @property
    def unwrapped(self) -> Device:
        """The innermost device."""
        inner = self.device
        return inner.unwrapped if isinstance(inner, DeviceWrapper) else inner

    def __getattr__(self, name: str) -> Any:
        # only called for attributes this wrapper lacks; `device` itself must exist (no recursion
        # while unpickling or half-constructed)
        if name == "device":
            raise AttributeError(name)
        return getattr(self.device, name)

    def screenshot(self) -> Image.Image:
        return self.device.screenshot()

    def ui_tree(self) -> list[Element]:
        return self.device.ui_tree()

    def foreground(self) -> str | None:
        return self.device.foreground()

    def execute(self, action: Action) -> Outcome:
        return self.device.execute(action)

    def wait_until_stable(self, reference: Image.Image | None = None, timeout: float = 3.0, quiet: float = 0.1,
                          poll: float = 0.02, min_wait: float = 0.0, react: float = 0.5) -> SettleResult:
        return self.device.wait_until_stable(reference, timeout, quiet, poll, min_wait, react)

    def reset(self) -> None:
        self.device.reset()

    def close(self) -> None:
        self.device.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.device!r})"


class KillSwitchDevice(DeviceWrapper):
    """Checks the kill switch before every action and trips it on any stop the device raises
    (pyautogui's fail-safe corner), so the loop and every later action stop too.

    The switch is lent to the innermost device as well: its waits, long presses and long
    typing then end as soon as the switch trips, not when they finish."""

    kill_switch: KillSwitch  # always set here (Device's is optional)

    def __init__(self, device: Device, kill_switch: KillSwitch) -> None:
        super().__init__(device)
        self.kill_switch = kill_switch
        self.unwrapped.kill_switch = kill_switch

    def execute(self, action: Action) -> Outcome:
        self.kill_switch.check()
        try:
            return self.device.execute(action)
        except StopRequested as exc:
            self.kill_switch.trip(str(exc))  # the first reason stays when it tripped already
            raise


def wrap_device(device: Device, *, kill_switch: KillSwitch | None = None) -> Device:
    """`device` with the wrappers these options ask for (none: the device itself)."""
    if kill_switch is not None:
        device = KillSwitchDevice(device, kill_switch)
    return device
