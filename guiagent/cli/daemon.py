"""`guiagent daemon`: serve a task queue to a pool of Android devices over HTTP.
`guiagent bench daemon`: queue overhead, throughput vs phones and a fault run on virtual phones."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from guiagent.cli._common import _kv, console
from guiagent.schema.errors import ConfigError

DEFAULT_DB = Path.home() / ".local" / "share" / "guiagent" / "daemon.db"


def register(cli) -> None:
    p = cli.commands.add_parser("daemon", help="serve a task queue to Android devices over an HTTP API",
                                description="Headless daemon: a durable task queue (SQLite) served to a pool "
                                            "of Android devices over HTTP (docs at /docs).")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on; requests must name it (or a loopback name, or an --allow-host) "
                        "in their Host header")
    p.add_argument("--port", type=int, default=8765, help="TCP port (0 = any free port)")
    p.add_argument("--db", type=Path, default=DEFAULT_DB,
                   help=f"the queue's SQLite file; trajectories go beside it (default {DEFAULT_DB})")
    token = p.add_mutually_exclusive_group()
    token.add_argument("--token-file", type=Path, default=None, metavar="PATH",
                       help="file holding the token every request must carry (mode 0600; the hosts of a fleet can "
                            "share one). Default: $GUIAGENT_TOKEN, else the file beside --db (queue.db -> "
                            "queue.token), generated on the first start (mode 0600) and printed that once")
    token.add_argument("--token", default=None,
                       help="the token itself. Avoid: a command line is visible to every user in `ps` and lands "
                            "in shell history; use --token-file")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="a host name clients may use in the Host header besides loopback and --host "
                        "(repeatable), e.g. the name of this machine on the network")
    p.add_argument("--max-body", type=int, default=1 << 20, metavar="BYTES",
                   help="largest request body accepted (default 1 MiB; larger: 413)")
    p.add_argument("--devices", default="auto",
                   help="'auto' (every device adb reports, as they come and go) or SERIAL,SERIAL,... "
                        "(HOST:PORT serials are adb-connected)")
    p.add_argument("--adb-host", default="127.0.0.1")
    p.add_argument("--adb-port", type=int, default=5037)
    p.add_argument("--planner", default="rule", help="default planner of a task: rule | dpot | react | autoui")
    p.add_argument("--grounder", default="text", help="text | vlm | openai")
    p.add_argument("--base-url", help="OpenAI-compatible endpoint for model planners/grounders")
    p.add_argument("--model", help="model name at that endpoint")
    p.add_argument("--planner-opt", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--grounder-opt", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--device-opt", action="append", default=[], metavar="KEY=VALUE",
                   help="AndroidDevice options, e.g. timeout=10, screenshot_mode=raw")
    p.add_argument("--max-steps", type=int, default=30, help="step budget per task (default and ceiling)")
    p.add_argument("--max-seconds", type=float, default=300.0, help="time budget per task (default and ceiling)")
    p.add_argument("--retries", type=int, default=1,
                   help="re-runs of a task whose attempt was interrupted (daemon killed, device dropped)")
    p.add_argument("--allow-app", action="append", default=None, metavar="NAME",
                   help="an app the agent may open (repeatable); any other is refused or held")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--unattended", dest="approvals", action="store_false",
                      help="refuse sensitive actions (the task fails, saying why) [default]")
    mode.add_argument("--approvals", dest="approvals", action="store_true",
                      help="hold sensitive actions until approved through POST /approvals/{id}")
    p.add_argument("--approval-timeout", type=float, default=600.0, help="seconds before a held action is refused")
    p.add_argument("--no-ocr", action="store_true", help="perceive through the UI tree alone (automatic "
                                                         "when OCR is not installed)")
    p.add_argument("--lease", type=float, default=15.0, help="seconds a task stays owned without a heartbeat")
    p.set_defaults(func=cmd_daemon, approvals=False)

    b = cli.bench.add_parser("daemon", help="daemon queue overhead, throughput vs phones, fault run "
                                            "(virtual phones)")
    b.add_argument("--phones", type=int, default=8, help="virtual phones of the main and the fault run")
    b.add_argument("--tasks", type=int, default=200, help="tasks of the main run")
    b.add_argument("--scale", default="1,2,4,8", help="phone counts of the throughput series ('none': skip it)")
    b.add_argument("--scale-tasks", type=int, default=40, help="tasks per throughput row")
    b.add_argument("--fault-tasks", type=int, default=80, help="tasks of the fault run (0 = skip it)")
    b.add_argument("--task", action="append", default=None,
                   help="task text (repeatable, cycled); default: Wi-Fi on / off in Settings")
    b.add_argument("--adb-port", type=int, default=5037)
    b.add_argument("--workdir", type=Path, help="keep databases and trajectories here (default: a temp dir)")
    b.set_defaults(func=cmd_bench_daemon)


def config_from_args(args: argparse.Namespace):  # -> DaemonConfig
    from guiagent.daemon.config import DaemonConfig

    token = None if args.token_file else args.token or os.environ.get("GUIAGENT_TOKEN") or None
    devices = None if args.devices.strip().lower() == "auto" else tuple(
        s.strip() for s in args.devices.split(",") if s.strip())
    model = {k: v for k, v in (("base_url", args.base_url), ("model", args.model)) if v}
    return DaemonConfig(
        db=args.db.expanduser().resolve(), host=args.host, port=args.port, token=token,
        token_file=args.token_file.expanduser() if args.token_file else None, allow_hosts=tuple(args.allow_host),
        max_body=args.max_body, devices=devices,
        adb_host=args.adb_host, adb_port=args.adb_port, planner=args.planner, grounder=args.grounder,
        planner_options={**model, **_kv(args.planner_opt, "--planner-opt")},
        grounder_options={**(model if args.grounder != "text" else {}), **_kv(args.grounder_opt, "--grounder-opt")},
        device_options=_kv(args.device_opt, "--device-opt"), max_steps=args.max_steps,
        max_seconds=args.max_seconds, retries=args.retries, ocr=not args.no_ocr,
        allow_apps=frozenset(args.allow_app) if args.allow_app else None, approvals=args.approvals,
        approval_timeout_s=args.approval_timeout, lease_s=args.lease,
    )


def cmd_daemon(args: argparse.Namespace) -> int:
    from guiagent.daemon.config import is_loopback
    from guiagent.daemon.server import Daemon

    config = config_from_args(args)
    daemon = Daemon(config).start()
    console.print(f"guiagent daemon {daemon.daemon_id} listening on {daemon.url} (API docs: {daemon.url}/docs)")
    console.print(f"queue: {config.db}; trajectories: {config.trajectories}")
    devices = "auto (every device adb reports)" if config.devices is None else ", ".join(config.devices)
    mode = "approvals through the API" if config.approvals else "unattended (sensitive actions refused)"
    apps = ", ".join(sorted(config.allow_apps)) if config.allow_apps else "any"
    console.print(f"devices: {devices}; {mode}; apps allowed: {apps}")
    _print_token(daemon)
    if not is_loopback(config.host):
        console.print("[yellow]listening beyond loopback over plain HTTP: the token crosses the network in the "
                      "clear (prefer an SSH tunnel or a TLS proxy)[/]")
        console.print(f"[yellow]Host names served: {', '.join(sorted(config.allowed_hosts))} "
                      "(add the names clients use with --allow-host)[/]")
    if daemon.recovered:
        queued = sum(1 for _, s in daemon.recovered if s == "queued")
        console.print(f"recovered {len(daemon.recovered)} interrupted task(s): {queued} re-queued, "
                      f"{len(daemon.recovered) - queued} out of attempts")
    console.print("ready", style="bold green")
    daemon.serve()
    console.print("stopped")
    return 0


def _print_token(daemon) -> None:  # daemon: guiagent.daemon.server.Daemon
    if daemon.token_generated:
        # Like a notebook server: shown once, on the terminal that started the daemon, never logged.
        console.print(f"token: generated into {daemon.token_file} (mode 0600, reused later); shown this once:",
                      soft_wrap=True)
        print(f"    {daemon.token}", flush=True)
    else:
        console.print(f"token: from {daemon.token_file or '--token / GUIAGENT_TOKEN'}", soft_wrap=True)
    console.print(f"clients send `Authorization: Bearer TOKEN`; a browser logs in at {daemon.url}/login",
                  soft_wrap=True)


def cmd_bench_daemon(args: argparse.Namespace) -> int:
    from guiagent.daemon.bench import run_bench

    if args.phones < 1 or args.tasks < 1:
        raise ConfigError("--phones and --tasks must be at least 1")
    try:
        scale = [] if args.scale.strip().lower() == "none" else sorted(
            {int(n) for n in args.scale.split(",") if n.strip()})
    except ValueError as exc:
        raise ConfigError(f"--scale takes phone counts like 1,2,4,8 (or none), not {args.scale!r}") from exc
    if scale and min(scale) < 1:
        raise ConfigError("--scale needs phone counts of at least 1")
    report = run_bench(phones=args.phones, tasks=args.tasks, scale=scale, scale_tasks=args.scale_tasks,
                       fault_tasks=args.fault_tasks, task_texts=args.task, adb_port=args.adb_port,
                       workdir=args.workdir, progress=lambda msg: console.print(f"[dim]{msg}[/]"))
    print_report(report)
    return 0


def _ms(v: float) -> str:
    return "-" if v != v else f"{v:.1f}"  # NaN: no sample


def print_report(report) -> None:  # report: guiagent.daemon.bench.BenchReport
    from rich.table import Table

    rows = [*report.scale, *([report.main] if report.main else [])]
    base = rows[0].throughput if rows else 0.0
    t = Table(title=f"Throughput vs phones (virtual phones, {report.cores} CPU cores)")
    for col in ("phones", "tasks", "wall s", "tasks/s", "x first row", "median run s", "median overhead ms",
                "overhead / run", "statuses"):
        t.add_column(col, justify="left" if col == "statuses" else "right")
    for b in rows:
        run, over = b.med(b.run_ms), b.med(b.overhead_ms)
        t.add_row(f"{b.phones}" + (" (main)" if b.name == "main" else ""), str(b.tasks), f"{b.wall_s:.1f}",
                  f"{b.throughput:.2f}", f"{b.throughput / base:.2f}" if base else "-", f"{run / 1000:.2f}",
                  _ms(over), f"{over / run:.1%}" if run == run and run > 0 else "-",
                  ", ".join(f"{k} {v}" for k, v in sorted(b.statuses.items())))
    console.print(t)
    if report.main is not None:
        m = report.main
        run = m.med(m.run_ms)
        o = Table(title=f"Queue overhead per task, main run ({m.tasks} tasks on {m.phones} phones; medians)")
        for col in ("part", "median ms", "max ms", "vs median run"):
            o.add_column(col, justify="left" if col == "part" else "right")
        for name, values in (("wait: ready -> claimed", m.wait_ms), ("setup: claimed -> agent starts", m.setup_ms),
                             ("finalize: agent returns -> settled", m.finalize_ms),
                             ("queue overhead (sum)", m.overhead_ms), ("the task's own run", m.run_ms)):
            med = m.med(values)
            o.add_row(name, _ms(med), _ms(max(values)) if values else "-", f"{med / run:.1%}" if run > 0 else "-")
        console.print(o)
    if report.fault is not None:
        f = report.fault
        ft = Table(title=f"Fault run: {f.tasks} tasks on {f.phones} phones, daemon SIGKILLed + restarted, "
                         "a phone dropped for 3 s")
        ft.add_column("check")
        ft.add_column("result")
        ft.add_row("task end states", ", ".join(f"{k} {v}" for k, v in sorted(f.statuses.items())))
        ft.add_row("attempts by outcome", ", ".join(f"{k} {v}" for k, v in sorted(f.run_outcomes.items())))
        ft.add_row("tasks lost (not in a terminal state)", str(f.lost))
        ft.add_row("tasks with overlapping attempts", str(f.overlaps))
        ft.add_row("wall time", f"{f.wall_s:.1f} s ({f.throughput:.2f} tasks/s)")
        for note in f.notes:
            ft.add_row("note", note)
        console.print(ft)
