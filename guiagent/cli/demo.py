"""`guiagent demo`: the main job on the embedded default (no model, no API key, no display)."""

from __future__ import annotations

import argparse
from pathlib import Path
from statistics import median

from rich.table import Table

from guiagent.cli._common import STAGES, StepPrinter, console


def register(cli) -> None:
    p = cli.commands.add_parser("demo", help="run the demo task on the demo form app (no model needed)")
    p.add_argument("--task", default=None, help="override the demo task")
    p.add_argument("--out", type=Path, default=Path("runs/demo"), help="episode folder (default runs/demo)")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    import shutil

    from guiagent.demo import DEMO_TASK, run_demo

    task = args.task or DEMO_TASK
    if args.out.exists():
        shutil.rmtree(args.out)  # the demo folder is ours; running twice must work
    console.print(f"[bold]task:[/] {task}")
    printer = StepPrinter()
    report = run_demo(task, out=args.out, subscribers=[printer])
    table = Table(title="per-step timing (ms)")
    table.add_column("step")
    table.add_column("action")
    for stage in STAGES:
        table.add_column(stage, justify="right")
    table.add_column("total", justify="right")
    for s in printer.steps:
        t = s.timings_ms
        table.add_row(str(s.index + 1), s.action.type if s.action else "-",
                      *[f"{t.get(k, 0):.0f}" for k in STAGES], f"{t.get('total', 0):.0f}")
    if printer.steps:
        table.add_row("median", "", *[f"{median(s.timings_ms.get(k, 0) for s in printer.steps):.0f}" for k in STAGES],
                      f"{median(s.timings_ms.get('total', 0) for s in printer.steps):.0f}")
    console.print(table)
    console.print(f"the app received: {report.submitted}")
    if report.result.ok and report.received:
        console.print(f"[bold green]demo passed[/]: the form app received the input; report: {args.out}/report.html")
        return 0
    console.print(f"[bold red]demo failed[/]: status {report.result.status} ({report.result.reason}); "
                  f"app received {report.submitted}")
    return 1
