"""`guiagent run "TASK"`: one task on one device."""

from __future__ import annotations

import argparse
import signal

from guiagent.cli._common import StepPrinter, add_run_flags, console, run_options, terminal_approver
from guiagent.runner import Run


def register(cli) -> None:
    p = cli.commands.add_parser("run", help="run one task on a device",
                                description="Run one task on a device and print each step as it happens.")
    p.add_argument("task", help="what to do, e.g. \"Type 'Ada' into Name, then click Submit\"")
    add_run_flags(p)
    p.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    options = run_options(args)
    run = Run(args.task, options, approver=terminal_approver(args), subscribers=[StepPrinter()])
    previous = signal.getsignal(signal.SIGTERM)
    # SIGTERM / Ctrl+C stop the loop before its next action instead of killing it mid-step.
    signal.signal(signal.SIGTERM, lambda *_: run.agent.request_stop("terminated"))
    try:
        result = run.execute()
    except KeyboardInterrupt:
        run.agent.request_stop("interrupted")
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    if result.folder:
        console.print(f"episode written to {result.folder} (report.html inside)")
    return 0 if result.ok else 1
