"""`guiagent devices`: what the agent can drive from here."""

from __future__ import annotations

import argparse
import os


def register(cli) -> None:
    p = cli.commands.add_parser("devices", help="list the devices the agent can drive")
    p.set_defaults(func=cmd_devices)


def cmd_devices(args: argparse.Namespace) -> int:
    from guiagent.cli._common import console

    display = os.environ.get("DISPLAY")
    console.print(f"desktop   {'DISPLAY=' + display if display else 'no display (guiagent demo starts a virtual one)'}")
    try:
        import adbutils

        for d in adbutils.AdbClient().device_list():
            console.print(f"android:{d.serial}   {d.prop.model if hasattr(d, 'prop') else ''}")
    except Exception as exc:  # adb server missing or unreachable: say so, do not fail
        console.print(f"android   (adb unavailable: {exc})")
    console.print("sim       a virtual phone started on demand (sim[:SCENARIO])")
    return 0
