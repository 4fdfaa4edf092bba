"""A simulated Android phone behind a real ADB endpoint.

It speaks the device side of the ADB protocol over TCP, so the real adb server and adbutils
talk to it as to a phone (`adb connect 127.0.0.1:PORT`). Behind it runs a small data-driven
Android: scenarios in `assets/scenarios/*.json` describe apps, screens and widgets, rendered
with PIL and dumped as uiautomator XML with the same bounds.

    with SimPhone(scenario="default") as phone:
        print(phone.serial)          # "127.0.0.1:PORT"
        phone.state["wifi"]          # observable state for tests
        phone.faults.drop(for_s=2)   # fault injection

`launch.open_sim_phone()` additionally connects the adb server and returns an AndroidDevice.
"""

from __future__ import annotations

from devices.simphone.faults import Faults
from devices.simphone.phone import SimPhone
from devices.simphone.scenario import Scenario, list_scenarios, load_scenario
from devices.simphone.state import PhoneState

__all__ = ["Faults", "PhoneState", "Scenario", "SimPhone", "list_scenarios", "load_scenario"]
