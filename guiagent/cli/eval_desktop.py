"""`guiagent eval desktop`: the agent on third-party Debian apps (GTK, Qt, Tk, Xaw, Chromium
pages), each task judged by the app's own output, each sabotaged twin required to end non-success."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from guiagent.schema.errors import ConfigError


def register(cli: Any) -> None:
    p = cli.eval.add_parser("desktop", help="third-party desktop apps judged by their own output, with sabotaged twins",
                            description="Run the desktop task list (guiagent/eval/desktop/tasks.py) on a virtual "
                                        "display: each task's result is read from the app (what it prints, saves, "
                                        "copies or shows), never from the agent; each task's twin (target hidden, "
                                        "disabled or renamed) must end non-success. Exit status 1 when a task "
                                        "fails or a twin succeeds.")
    p.add_argument("--tasks", help="only these task ids (comma-separated); default all")
    p.add_argument("--no-twins", action="store_true", help="skip the sabotaged twins")
    p.add_argument("--planner", default="rule", help="planner (default rule; e.g. rule+dpot with --base-url)")
    p.add_argument("--planner-opt", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--json", type=Path, metavar="PATH", help="write every attempt as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    from rich.table import Table

    from guiagent.cli._common import _kv, console, display_for_run
    from guiagent.eval.desktop.suite import Attempt, run_suite, summary
    from guiagent.eval.desktop.tasks import BY_ID, TASKS

    tasks = list(TASKS)
    if args.tasks:
        names = [n.strip() for n in args.tasks.split(",") if n.strip()]
        bad = [n for n in names if n not in BY_ID]
        if bad or not names:
            raise ConfigError(f"unknown task {', '.join(bad) or '(none)'}; choose from {', '.join(BY_ID)}")
        tasks = [BY_ID[n] for n in names]
    total = len(tasks) * (1 if args.no_twins else 2)
    with display_for_run(True), Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                         TimeRemainingColumn(), console=console) as bar:
        job = bar.add_task("eval desktop", total=total)

        def progress(a: Attempt) -> None:
            bar.console.print(f"  {a.task + (' (twin)' if a.twin else ''):<34} {a.verdict:<14} "
                              f"{'PASS' if a.passed else 'FAIL'}  saw {a.seen[:40]!r}")
            bar.advance(job)

        attempts = run_suite(tasks, twins=not args.no_twins, planner=args.planner,
                             planner_options=_kv(args.planner_opt, "--planner-opt"), on_attempt=progress)
    table = Table(title="eval desktop: the app's own output decides")
    for col in ("task", "toolkit", "variant", "agent said", "app shows", "expected", "verdict", "steps", "s"):
        table.add_column(col)
    for a in attempts:
        table.add_row(a.task, a.toolkit, "twin" if a.twin else "task", a.status, a.seen[:30], a.expected[:30],
                      ("[green]" if a.passed else "[red]") + a.verdict, str(a.steps), f"{a.seconds:.0f}")
    console.print(table)
    s = summary(attempts)
    console.print(f"tasks passed {s['task_pass_rate']:.0%} of {s['tasks']} ({s['false_successes']} false successes); "
                  f"twins non-success {s['twins_non_success']}/{s['twins']}; harness errors {s['errors']}; "
                  f"toolkits {', '.join(s['toolkits'])}")
    if args.json:
        args.json.write_text(json.dumps(s, indent=2))
    return 0 if all(a.passed for a in attempts) else 1
