"""`guiagent sim-phone`: run a virtual Android phone in the foreground until Ctrl+C.

It listens on 127.0.0.1:PORT and speaks ADB, so `adb connect 127.0.0.1:PORT` (or --connect)
makes it a device for adb, adbutils and `guiagent run --device android:127.0.0.1:PORT`.
Faults at runtime: type `drop 5`, `stall 3`, `black on|off`, `rotate 1`, `state` on stdin, or
from anywhere: `adb -s 127.0.0.1:PORT shell simctl fault drop 5`.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time

from guiagent.schema.errors import ConfigError

CONSOLE_HELP = "commands: drop SECONDS | stall SECONDS | black on|off | clear | rotate 0-3 | state | quit"


def register(cli) -> None:
    p = cli.commands.add_parser("sim-phone", help="run a virtual Android phone behind a real ADB endpoint")
    p.add_argument("--port", type=int, default=5555, help="TCP port to listen on (0 = any free port)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--scenario", default="default", help="scenario name (see --list-scenarios) or path to a JSON file")
    p.add_argument("--size", help="screen size WxH, e.g. 1080x2400 (default: the scenario's)")
    p.add_argument("--density", type=int, help="screen density in dpi (default: the scenario's)")
    p.add_argument("--adb-keyboard", choices=["absent", "installed", "enabled", "active"],
                   help="ADB Keyboard IME availability (default: the scenario's)")
    p.add_argument("--connect", action="store_true", help="also `adb connect` it to the local adb server")
    p.add_argument("--list-scenarios", action="store_true", help="print the known scenarios and exit")
    p.set_defaults(func=cmd_sim_phone)


def _console(phone, stop: threading.Event) -> None:
    """Fault injection typed on stdin, one command per line."""
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        try:
            match words:
                case ["drop", seconds]:
                    phone.faults.drop(float(seconds))
                case ["stall", seconds]:
                    phone.faults.stall(float(seconds))
                case ["black", onoff]:
                    phone.faults.black(onoff != "off")
                case ["clear"]:
                    phone.faults.clear()
                case ["rotate", n]:
                    phone.rotate(int(n))
                case ["state"]:
                    s = phone.state
                    print(json.dumps({"screen": s.screen, "package": s.package, "rotation": s.rotation,
                                      "values": s.values, "faults": phone.faults.describe()}, default=str))
                case ["quit"] | ["exit"]:
                    stop.set()
                    return
                case _:
                    print(CONSOLE_HELP)
                    continue
            print(f"ok ({phone.faults.describe()})")
        except ValueError as exc:
            print(f"error: {exc}")


def cmd_sim_phone(args: argparse.Namespace) -> int:
    from devices.simphone import SimPhone, list_scenarios
    from devices.simphone.launch import _size, adb_connect, adb_disconnect

    if args.list_scenarios:
        for name in list_scenarios():
            print(name)
        return 0
    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port must be 0..65535, not {args.port}")
    phone = SimPhone(port=args.port, scenario=args.scenario, host=args.host, size=_size(args.size),
                     density=args.density, adb_keyboard=args.adb_keyboard).start()
    stop = threading.Event()
    try:
        w, h = phone.model.physical_size
        print(f"virtual phone {phone.serial}: scenario {phone.scenario.name!r}, {w}x{h} @ {phone.model.density} dpi")
        print(f"serial: {phone.serial}")
        print(f"connect with: ADB_LIBUSB=0 adb connect {phone.serial}")
        if args.connect:
            adb_connect(phone.serial)
            print(f"connected: adb -s {phone.serial} shell")
        if sys.stdin is not None and sys.stdin.isatty():
            print(CONSOLE_HELP)
            threading.Thread(target=_console, args=(phone, stop), daemon=True).start()
        print("Ctrl+C to stop", flush=True)
        while not stop.is_set() and phone.running:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        if args.connect:
            adb_disconnect(phone.serial)
        phone.stop()
        print("stopped")
    return 0
