"""`guiagent run "TASK"`: one task on one device."""

from __future__ import annotations

import argparse

from guiagent.cli._common import StepPrinter, add_run_flags, get_console, run_options, terminal_approver
from guiagent.runner import Run


def register(cli) -> None:
    p = cli.commands.add_parser("run", help="run one task on a device",
                                description="Run one task on a device and print each step as it happens. "
                                            "Ctrl+C, SIGTERM or the desktop hotkey (Ctrl+Alt+Shift+Q) stop "
                                            "the loop before its next action.")
    p.add_argument("task", help="what to do, e.g. \"Type 'Ada' into Name, then click Submit\"")
    add_run_flags(p)
    p.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    from devices.killswitch import KillSwitch

    options = run_options(args)
    kill = KillSwitch()
    # The registry wraps any device with it: checked before every action, tripped by the
    # device's own stops (pyautogui's fail-safe corner on desktops), and by SIGINT/SIGTERM.
    options = options.with_(device_options={**options.device_options, "kill_switch": kill})
    run = Run(args.task, options, approver=terminal_approver(args), subscribers=[StepPrinter()])
    kill.on_trip(run.agent.request_stop)
    kill.install_signal_handlers()
    if options.device.startswith("desktop"):
        kill.start()  # the global hotkey; a no-op without a display
    try:
        result = run.execute()
    finally:
        kill.stop()
        kill.restore_signal_handlers()
    if result.folder:
        get_console().print(f"episode written to {result.folder} (report.html inside)")
    return 0 if result.ok else 1
