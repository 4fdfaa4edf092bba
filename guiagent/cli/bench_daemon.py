"""`guiagent bench daemon`: throughput vs phones, hosts and queue engine, the queue's overhead per
task, claim latency under contention and a fault run (virtual phones; see guiagent/daemon/bench.py)."""

from __future__ import annotations

import argparse
from typing import Any

from guiagent.cli._common import console
from guiagent.schema.errors import ConfigError

GOAL_MS = 10.0  # the queue's overhead per task (claim + bookkeeping) should stay under this


def register(cli) -> None:
    b = cli.bench.add_parser("daemon", help="daemon throughput vs phones and hosts, queue overhead, claim "
                                            "contention, fault run (virtual phones)")
    b.add_argument("--engine", choices=("sqlite", "postgres"), default="sqlite",
                   help="postgres: also one host and --hosts hosts on PostgreSQL, against one SQLite host")
    b.add_argument("--db", default=None, metavar="URL",
                   help="with --engine postgres: a server to use (its databases are created and kept); "
                        "default: a throwaway cluster started here (Debian's postgresql)")
    b.add_argument("--hosts", type=int, default=1, help="daemon processes sharing the PostgreSQL queue")
    b.add_argument("--phones", type=int, default=8, help="virtual phones in all (split over the hosts)")
    b.add_argument("--tasks", type=int, default=200, help="tasks of the rows at --phones")
    b.add_argument("--scale", default="auto", help="smaller phone counts to measure too, e.g. 1,2,4,8 ('none': only "
                                                   "--phones; 'auto': 1,2,4,8 on sqlite, --hosts on postgres)")
    b.add_argument("--scale-tasks", type=int, default=40, help="tasks per smaller row")
    b.add_argument("--fault-tasks", type=int, default=None,
                   help="tasks of the fault run (0 = skip it; default: --tasks with postgres, 80 with sqlite)")
    b.add_argument("--queue-tasks", type=int, default=200, help="tasks of the in-process queue measurements")
    b.add_argument("--adb-port", type=int, default=None, help="adb server of the SQLite rows (default: a private one)")
    b.add_argument("--workdir", type=str, default=None, help="keep databases and trajectories here (default: temp)")
    b.set_defaults(func=cmd_bench_daemon)


def cmd_bench_daemon(args: argparse.Namespace) -> int:
    from pathlib import Path

    from guiagent.daemon.bench import run_bench

    if args.phones < 1 or args.tasks < 1 or args.hosts < 1:
        raise ConfigError("--phones, --tasks and --hosts must be at least 1")
    if args.db and args.engine != "postgres":
        raise ConfigError("--db takes a PostgreSQL URL, with --engine postgres")
    if args.scale.strip().lower() == "auto":
        args.scale = "1,2,4,8" if args.engine == "sqlite" else str(args.hosts)
    try:
        scale = [] if args.scale.strip().lower() == "none" else sorted(
            {int(n) for n in args.scale.split(",") if n.strip()})
    except ValueError as exc:
        raise ConfigError(f"--scale takes phone counts like 1,2,4,8 (or none), not {args.scale!r}") from exc
    if scale and min(scale) < 1:
        raise ConfigError("--scale needs phone counts of at least 1")
    fault = args.fault_tasks if args.fault_tasks is not None else (args.tasks if args.engine == "postgres" else 80)
    report = _with_progress(lambda say: run_bench(
        engine=args.engine, db=args.db, hosts=args.hosts, phones=args.phones, tasks=args.tasks, scale=scale,
        scale_tasks=args.scale_tasks, fault_tasks=fault, queue_tasks=args.queue_tasks, adb_port=args.adb_port,
        workdir=Path(args.workdir) if args.workdir else None, progress=say))
    print_report(report)
    return 0


def _with_progress(work: Any) -> Any:
    """Run `work(say)` under a rich status line; every message is also printed (a log of the run)."""
    with console.status("starting ...") as status:
        def say(msg: str) -> None:
            if not msg.endswith("done"):
                console.print(f"[dim]{msg}[/]")
            status.update(msg)
        return work(say)


def _ms(v: float) -> str:
    return "-" if v != v else f"{v:.1f}"  # NaN: no sample


def print_report(report: Any) -> None:  # report: guiagent.daemon.bench.BenchReport
    from rich.table import Table

    from guiagent.daemon.bench_queue import med, pct

    base = {b.phones: b.throughput for b in report.rows if b.engine == "sqlite" and b.hosts == 1}
    t = Table(title=f"Throughput (verified tasks/s: the note is on the phone) — {report.cores} CPU cores "
                    "shared by every host, phone and database: ratios show overhead, not scaling")
    for col in ("engine", "hosts", "phones", "tasks", "wall s", "tasks/s", "x sqlite 1 host", "median run s",
                "median overhead ms", "verified", "statuses"):
        t.add_column(col, justify="left" if col in ("engine", "statuses") else "right")
    for b in report.rows:
        over, ref = b.med(b.overhead_ms), base.get(b.phones)
        bad = (f"; [red]{b.unverified} succeeded without their note[/]" if b.unverified else "") + \
              (f"; [red]{b.twice} ran twice[/]" if b.twice else "")
        t.add_row(b.engine, str(b.hosts), str(b.phones), str(b.tasks), f"{b.wall_s:.1f}", f"{b.throughput:.2f}",
                  f"{b.throughput / ref:.2f}" if ref else "-", f"{b.med(b.run_ms) / 1000:.2f}", _ms(over),
                  f"{b.verified}/{b.tasks}", ", ".join(f"{k} {v}" for k, v in sorted(b.statuses.items())) + bad)
    console.print(t)

    c = Table(title=f"Queue overhead per task, in process, one worker (medians; goal < {GOAL_MS:g} ms)")
    for col in ("engine", "tasks", "claim ms", "bookkeeping ms", "claim + bookkeeping ms", "p95 ms", "per step ms",
                "goal"):
        c.add_column(col, justify="left" if col == "engine" else "right")
    for q in report.cost:
        total = med(q.total_ms)
        c.add_row(q.engine, str(q.tasks), _ms(med(q.claim_ms)), _ms(med(q.bookkeeping_ms)), _ms(total),
                  _ms(pct(q.total_ms, 95)), _ms(med(q.step_ms)),
                  "[green]met[/]" if total < GOAL_MS else f"[red]missed ({total:.1f} ms)[/]")
    console.print(c)
    main = [b for b in report.rows if b.phones == report.phones]
    if main:
        d = Table(title="Queue overhead per task in the daemons (run log, rows at --phones; medians)")
        for col in ("engine", "hosts", "wait: ready -> claimed", "setup: claimed -> agent", "finalize: agent -> settled",
                    "sum", "the task's own run"):
            d.add_column(col, justify="left" if col == "engine" else "right")
        for b in main:
            d.add_row(b.engine, str(b.hosts), _ms(b.med(b.wait_ms)), _ms(b.med(b.setup_ms)), _ms(b.med(b.finalize_ms)),
                      _ms(b.med(b.overhead_ms)), _ms(b.med(b.run_ms)))
        console.print(d)

    k = Table(title="Claim latency under contention (claim, then settle at once; in process)")
    for col in ("engine", "hosts", "workers", "tasks", "median ms", "p95 ms", "max ms", "claims/s", "claimed twice",
                "never claimed", "errors"):
        k.add_column(col, justify="left" if col == "engine" else "right")
    for x in report.contention:
        k.add_row(x.engine, str(x.hosts), str(x.workers), str(x.tasks), _ms(med(x.claim_ms)), _ms(pct(x.claim_ms, 95)),
                  _ms(max(x.claim_ms)) if x.claim_ms else "-", f"{x.claims_per_s:.0f}", str(len(x.claimed_twice)),
                  str(x.never_claimed), str(len(x.errors)) + (f" ({x.errors[0]})" if x.errors else ""))
    console.print(k)

    if report.fault is not None:
        _print_sqlite_fault(report.fault)
    if report.fleet_fault is not None:
        _print_fleet_fault(report.fleet_fault)
    for note in report.notes:
        console.print(f"note: {note}")


def _print_sqlite_fault(f: Any) -> None:
    from rich.table import Table

    ft = Table(title=f"Fault run: {f.tasks} tasks on {f.phones} phones, daemon SIGKILLed + restarted, "
                     "a phone dropped for 3 s")
    ft.add_column("check")
    ft.add_column("result")
    ft.add_row("task end states", ", ".join(f"{k} {v}" for k, v in sorted(f.statuses.items())))
    ft.add_row("attempts by outcome", ", ".join(f"{k} {v}" for k, v in sorted(f.run_outcomes.items())))
    ft.add_row("tasks lost (not in a terminal state)", str(f.lost))
    ft.add_row("tasks with overlapping attempts", str(f.overlaps))
    ft.add_row("succeeded with their note on a phone", f"{f.verified} ({f.unverified} without; {f.twice} ran twice)")
    ft.add_row("wall time", f"{f.wall_s:.1f} s ({f.throughput:.2f} verified tasks/s)")
    for note in f.notes:
        ft.add_row("note", note)
    console.print(ft)


def _print_fleet_fault(r: Any) -> None:  # r: guiagent.daemon.fault_run.FaultResult
    from rich.table import Table

    v, p = r.verdict, r.plan
    ft = Table(title=f"Fault run on {p.hosts} hosts x {p.phones} phones, {p.tasks} tasks: one host SIGKILLed, one "
                     f"cut off from the database, one's phones dropped {p.drop_s:g} s (lease {p.lease_s:g} s)")
    ft.add_column("check")
    ft.add_column("result")
    ft.add_row("verdict", "[green]pass[/]" if r.ok else "[red]FAIL[/]: " + "; ".join(v.violations))
    ft.add_row("task end states", ", ".join(f"{k} {n}" for k, n in sorted(v.statuses.items())))
    ft.add_row("tasks lost / finished twice", f"{len(v.lost)} / {len(v.finished_twice)}")
    ft.add_row("overlapping attempts: run log / phones' input", f"{len(v.log_overlaps)} / {len(v.phone_overlaps)}")
    ft.add_row("marks missing / stray / extra", f"{len(v.missing_marks)} / {len(v.stray_marks)} / {len(v.extra_marks)}")
    ft.add_row("re-queued tasks (extra attempts)", f"{len(v.requeued)} ({r.requeues})")
    fenced = [f for f in v.fence]
    if fenced:
        slack = [f.slack_s for f in fenced if f.slack_s is not None]
        ft.add_row("cut host: attempts fenced before their lease ended",
                   f"{sum(f.ok for f in fenced)}/{len(fenced)}" + (f" (min slack {min(slack):.1f} s)" if slack else ""))
    ft.add_row("wall time", f"{r.wall_s:.1f} s ({len(r.ids) / r.wall_s:.2f} tasks/s)" if r.wall_s else "-")
    for line in r.events:
        ft.add_row("event", line)
    for task_id, lines in list(r.histories().items())[:8]:
        ft.add_row(f"history {task_id}", "\n".join(lines))
    console.print(ft)
