"""`guiagent daemon`: serve a task queue to a pool of Android devices over HTTP.
(`guiagent bench daemon` is in bench_daemon.py.)"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from guiagent.cli._common import _kv, console

DEFAULT_DB = Path.home() / ".local" / "share" / "guiagent" / "daemon.db"


def register(cli) -> None:
    p = cli.commands.add_parser("daemon", help="serve a task queue to Android devices over an HTTP API",
                                description="Headless daemon: a durable task queue (SQLite on one host, "
                                            "PostgreSQL for a fleet of hosts) served to a pool of Android devices "
                                            "over HTTP (docs at /docs).")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on; requests must name it (or a loopback name, or an --allow-host) "
                        "in their Host header")
    p.add_argument("--port", type=int, default=8765, help="TCP port (0 = any free port)")
    p.add_argument("--db", default=str(DEFAULT_DB), metavar="URL|PATH",
                   help="the queue: sqlite:///PATH or a bare PATH (one host; trajectories go beside it), or "
                        f"postgresql://USER@HOST/DB (several hosts share it) (default {DEFAULT_DB})")
    p.add_argument("--host-id", default="",
                   help="this host's id in a fleet sharing one PostgreSQL queue (default: the machine's name)")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="with postgresql://: where this host keeps its token file and trajectories "
                        "(default ~/.local/share/guiagent/fleet)")
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
    p.add_argument("--poll", type=float, default=1.0, metavar="SECONDS",
                   help="how often idle workers look for tasks queued by other processes (with postgresql:// "
                        "LISTEN/NOTIFY wakes them at once; this is the fallback)")
    p.set_defaults(func=cmd_daemon, approvals=False)

    # `guiagent bench daemon`: guiagent/cli/bench_daemon.py


def config_from_args(args: argparse.Namespace):  # -> DaemonConfig
    from guiagent.daemon.config import DaemonConfig

    token = None if args.token_file else args.token or os.environ.get("GUIAGENT_TOKEN") or None
    devices = None if args.devices.strip().lower() == "auto" else tuple(
        s.strip() for s in args.devices.split(",") if s.strip())
    model = {k: v for k, v in (("base_url", args.base_url), ("model", args.model)) if v}
    return DaemonConfig(
        db=_db_arg(args.db), host_id=args.host_id, data_dir=args.data_dir.expanduser() if args.data_dir else None,
        host=args.host, port=args.port, token=token,
        token_file=args.token_file.expanduser() if args.token_file else None, allow_hosts=tuple(args.allow_host),
        max_body=args.max_body, devices=devices,
        adb_host=args.adb_host, adb_port=args.adb_port, planner=args.planner, grounder=args.grounder,
        planner_options={**model, **_kv(args.planner_opt, "--planner-opt")},
        grounder_options={**(model if args.grounder != "text" else {}), **_kv(args.grounder_opt, "--grounder-opt")},
        device_options=_kv(args.device_opt, "--device-opt"), max_steps=args.max_steps,
        max_seconds=args.max_seconds, retries=args.retries, ocr=not args.no_ocr,
        allow_apps=frozenset(args.allow_app) if args.allow_app else None, approvals=args.approvals,
        approval_timeout_s=args.approval_timeout, lease_s=args.lease, poll_s=args.poll,
    )


def _db_arg(value: str) -> Path | str:
    """--db: a PostgreSQL URL as given, a SQLite path (bare or sqlite:///) made absolute."""
    from guiagent.daemon.store_base import parse_db_url

    url = parse_db_url(value)
    return url.url if url.path is None else url.path.expanduser().resolve()


def cmd_daemon(args: argparse.Namespace) -> int:
    from guiagent.daemon.config import is_loopback
    from guiagent.daemon.server import Daemon

    config = config_from_args(args)
    daemon = Daemon(config).start()
    console.print(f"guiagent daemon {daemon.daemon_id} listening on {daemon.url} (API docs: {daemon.url}/docs)")
    console.print(f"queue: {config.db_url} (host {config.host_name}); trajectories: {config.trajectories}")
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
