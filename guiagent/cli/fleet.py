"""`guiagent fleet status`: the whole fleet (devices per host, the queue by status) read from any
host's API; the hosts share one queue, so any of them answers for all."""

from __future__ import annotations

import argparse
import os
from collections import Counter
from pathlib import Path
from typing import Any

from guiagent.cli._common import console
from guiagent.schema.errors import ConfigError, GuiAgentError

DEFAULT_URL = "http://127.0.0.1:8765"
TASK_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled", "interrupted")
STATE_STYLE = {"idle": "green", "busy": "yellow", "connecting": "cyan", "offline": "red", "unauthorized": "red"}


def register(cli) -> None:
    p = cli.commands.add_parser("fleet", help="the fleet of daemons sharing one queue")
    sub = p.add_subparsers(dest="fleet", metavar="ACTION", required=True)
    s = sub.add_parser("status", help="devices per host with their state, and the queue by status",
                       description="Print the fleet from any host's API: every host shares the queue.")
    s.add_argument("--url", default=os.environ.get("GUIAGENT_URL", DEFAULT_URL),
                   help=f"any host's API (default $GUIAGENT_URL, else {DEFAULT_URL})")
    s.add_argument("--token-file", type=Path, default=None, metavar="PATH",
                   help="the fleet's token file (mode 0600); default: $GUIAGENT_TOKEN, else the daemon's "
                        "default token file")
    s.add_argument("--json", action="store_true", help="print the raw JSON instead of tables")
    s.set_defaults(func=cmd_fleet_status)


def _token(token_file: Path | None) -> str:
    from guiagent.cli.daemon import DEFAULT_DB
    from guiagent.daemon.auth import check_token, read_token_file

    if token_file is not None:
        return read_token_file(token_file.expanduser())
    if env := os.environ.get("GUIAGENT_TOKEN"):
        return check_token(env, "$GUIAGENT_TOKEN")
    default = DEFAULT_DB.parent / f"{DEFAULT_DB.stem}.token"
    if not default.exists():
        raise ConfigError(f"no token: pass --token-file PATH (the fleet's token file) or set GUIAGENT_TOKEN "
                          f"({default} does not exist)")
    return read_token_file(default)


def fetch_status(url: str, token: str, timeout: float = 10.0) -> dict[str, Any]:
    """{"health": ..., "devices": [...]} from the host at `url`."""
    import httpx

    try:
        with httpx.Client(base_url=url.rstrip("/"), timeout=timeout,
                          headers={"Authorization": f"Bearer {token}"}) as http:
            health, devices = http.get("/health"), http.get("/devices")
    except httpx.HTTPError as exc:
        raise GuiAgentError(f"cannot reach the daemon at {url}: {exc}") from exc
    for r in (health, devices):
        if r.status_code == 401:
            raise ConfigError(f"the daemon at {url} refused the token (401): is it the fleet's token file?")
        if r.status_code != 200:
            raise GuiAgentError(f"the daemon at {url} answered {r.status_code} to {r.request.url.path}: {r.text[:200]}")
    return {"health": health.json(), "devices": devices.json()}


def cmd_fleet_status(args: argparse.Namespace) -> int:
    import json

    from rich.table import Table

    status = fetch_status(args.url, _token(args.token_file))
    if args.json:
        print(json.dumps(status, indent=2))
        return 0
    health, devices = status["health"], status["devices"]
    here = health.get("daemon") or "?"
    by_host: dict[str, list[dict[str, Any]]] = {}
    for d in devices:
        by_host.setdefault(d.get("host") or here, []).append(d)

    hosts = Table(title=f"Fleet seen from {args.url} (host {here}, {health.get('mode', '?')})")
    for col in ("host", "devices", *STATE_STYLE):
        hosts.add_column(col, justify="left" if col == "host" else "right")
    for host in sorted(by_host):
        states = Counter(d["state"] for d in by_host[host])
        hosts.add_row(host + (" (this one)" if host == here else ""), str(len(by_host[host])),
                      *(str(states.get(s, 0)) for s in STATE_STYLE))
    console.print(hosts)

    table = Table(title="Devices")
    for col in ("host", "serial", "state", "current task", "tasks run", "error"):
        table.add_column(col, justify="right" if col == "tasks run" else "left")
    for host in sorted(by_host):
        for d in sorted(by_host[host], key=lambda d: d["serial"]):
            style = STATE_STYLE.get(d["state"], "")
            table.add_row(host, d["serial"], f"[{style}]{d['state']}[/]" if style else d["state"],
                          d.get("current_task") or "", str(d.get("tasks_run", 0)), d.get("error") or "")
    console.print(table)

    queue = health.get("queue", {})
    q = Table(title="Queue")
    for s in (*TASK_STATUSES, "total"):
        q.add_column(s, justify="right")
    q.add_row(*(str(queue.get(s, 0)) for s in TASK_STATUSES), str(sum(queue.values())))
    console.print(q)
    return 0
