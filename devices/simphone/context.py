"""`PhoneContext`: the virtual phone as its shell commands and ADB services see it.

`SimPhone` (phone.py) is assembled from the command tables (commands_*.py, dumpsys.py) and the
services (services.py); those need only this much of it, so they depend on this protocol and
never on phone.py (no import cycle between the phone and its parts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from devices.simphone.faults import Faults
    from devices.simphone.fs import VirtualFs
    from devices.simphone.model import PhoneModel
    from devices.simphone.scenario import Scenario
    from devices.simphone.shell import Shell
    from devices.simphone.state import PhoneState
    from devices.simphone.touch import TouchPanel


class PhoneContext(Protocol):
    @property
    def scenario(self) -> Scenario: ...

    @property
    def model(self) -> PhoneModel: ...

    @property
    def fs(self) -> VirtualFs: ...

    @property
    def panel(self) -> TouchPanel: ...

    @property
    def faults(self) -> Faults: ...

    @property
    def port(self) -> int: ...

    @property
    def state(self) -> PhoneState: ...

    def set_value(self, key: str, value: Any) -> None: ...

    def new_shell(self) -> Shell: ...

    def dump_xml(self) -> str: ...

    async def capture(self, fmt: str) -> bytes: ...
