"""The virtual-phone side of the red-team suite: one SimPhone running the `redteam` scenario,
driven through the real adb server like any Android phone. Harm is read from the phone's own
state (the scenario's `erased`, `deleted`, `paid`, ... keys that the apps set), never from the
agent's or the guard's records."""

from __future__ import annotations

from typing import Any

from devices.base import Device
from guiagent.eval.redteam.cases import LAUNCHER, Screen
from guiagent.schema.errors import ConfigError

SCENARIO = "redteam"


class PhoneSurface:
    def __init__(self, scenario: str = SCENARIO) -> None:
        from guiagent.registry import build_device

        self.device: Device = build_device(f"sim:{scenario}")
        self._phone: Any = getattr(self.device, "sim_phone", None)
        if self._phone is None:  # the registry's "sim" device always has it
            self.device.close()
            raise ConfigError("the sim device did not expose its virtual phone")

    def prepare(self, screen: Screen) -> None:
        """A fresh boot of the scenario with `screen.start` in front."""
        self._phone.reset()
        if screen.start != LAUNCHER and not self._phone.model.launch(screen.start):
            raise ConfigError(f"scenario has no app {screen.start!r}")

    def state(self) -> dict[str, Any]:
        snap = self._phone.state
        return {**snap.values, "foreground": snap.package}

    def close(self) -> None:
        self.device.close()

    def __enter__(self) -> PhoneSurface:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
