"""The daemon's settings (from `guiagent daemon` flags) and the run options they give a task."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guiagent.daemon.gate import LOOPBACK_NAMES, host_name, is_wildcard
from guiagent.daemon.models import TaskRecord
from guiagent.daemon.store_base import DbUrl, Engine, parse_db_url
from guiagent.registry import GROUNDERS, PLANNERS
from guiagent.runner import RunOptions
from guiagent.schema.errors import ConfigError

DEFAULT_FLEET_DIR = Path.home() / ".local" / "share" / "guiagent" / "fleet"


@dataclass(frozen=True)
class DaemonConfig:
    db: Path | str  # a path / sqlite:///path (SQLite, one host) or postgresql://... (a fleet); see db_url
    host_id: str = ""  # this host's id in the fleet; "" = the machine's name (see host_name)
    data_dir: Path | None = None  # PostgreSQL: this host's token file and trajectories (SQLite: beside the file)
    host: str = "127.0.0.1"
    port: int = 8765
    token: str | None = None  # --token / $GUIAGENT_TOKEN; None: token_file, else the generated file
    token_file: Path | None = None  # --token-file: one file (mode 0600) shared by the hosts of a fleet
    allow_hosts: tuple[str, ...] = ()  # Host names served besides loopback and the listening address
    max_body: int = 1 << 20  # bytes per request body
    devices: tuple[str, ...] | None = None  # adb serials; None = every device adb reports
    adb_host: str = "127.0.0.1"
    adb_port: int = 5037
    planner: str = "rule"
    grounder: str = "text"
    planner_options: dict[str, Any] = field(default_factory=dict)  # for model planners (not "rule")
    grounder_options: dict[str, Any] = field(default_factory=dict)
    device_options: dict[str, Any] = field(default_factory=dict)  # AndroidDevice options (timeout, ...)
    max_steps: int = 30  # default and ceiling per task
    max_seconds: float = 300.0  # default and ceiling per task
    retries: int = 1  # re-runs of a task whose attempt was interrupted (daemon died, device dropped)
    ocr: bool = True  # off, or OCR not installed: perception from the UI tree alone
    allow_apps: frozenset[str] | None = None  # apps the agent may open; None = any
    approvals: bool = False  # False = unattended: sensitive actions are refused
    approval_timeout_s: float = 600.0
    lease_s: float = 15.0
    heartbeat_s: float = 1.0
    poll_s: float = 1.0  # idle workers look for tasks from other processes this often
    timeout_grace_s: float = 15.0  # a run past its time budget + this is stopped

    def __post_init__(self) -> None:
        url = parse_db_url(self.db)
        if url.path is not None:  # keep db a Path for SQLite, as callers always had it
            object.__setattr__(self, "db", url.path)
        if self.max_steps < 1 or self.max_seconds <= 0:
            raise ConfigError("--max-steps must be >= 1 and --max-seconds > 0")
        if self.retries < 0:
            raise ConfigError(f"--retries must be >= 0, got {self.retries}")
        if self.planner not in PLANNERS:
            raise ConfigError(f"unknown planner {self.planner!r}; choose one of: {', '.join(sorted(PLANNERS))}")
        if self.grounder not in GROUNDERS:
            raise ConfigError(f"unknown grounder {self.grounder!r}; choose one of: {', '.join(sorted(GROUNDERS))}")
        if self.poll_s <= 0:
            raise ConfigError(f"--poll must be > 0 seconds, got {self.poll_s:g}")
        if self.lease_s <= 2 * self.heartbeat_s:
            raise ConfigError(f"the lease ({self.lease_s:g} s) must outlast two heartbeats ({self.heartbeat_s:g} s)")
        if self.devices is not None and not self.devices:
            raise ConfigError("--devices lists no serial; use 'auto' for every device adb reports")
        if self.token is not None and self.token_file is not None:
            raise ConfigError("give the token one way: --token-file or --token / GUIAGENT_TOKEN, not both")
        if self.max_body < 1024:
            raise ConfigError(f"--max-body must be at least 1024 bytes, got {self.max_body}")
        _ = self.allowed_hosts  # refuse a malformed --allow-host now

    @property
    def db_url(self) -> DbUrl:
        return parse_db_url(self.db)

    @property
    def engine(self) -> Engine:
        return self.db_url.engine

    @property
    def host_name(self) -> str:
        return self.host_id or socket.gethostname()

    def _beside_db(self, suffix: str, pg_name: str) -> Path:
        """SQLite: queue.db -> queue<suffix>; PostgreSQL: <data_dir>/<pg_name>."""
        url = self.db_url
        if url.path is not None:
            return url.path.parent / f"{url.path.stem}{suffix}"
        return (self.data_dir or DEFAULT_FLEET_DIR) / pg_name

    @property
    def default_token_file(self) -> Path:
        """Where the token is generated when none is given: queue.db -> queue.token."""
        return self._beside_db(".token", "fleet.token")

    @property
    def allowed_hosts(self) -> frozenset[str]:
        """Host header names the daemon answers to: loopback, the address it listens on (unless
        it is a wildcard like 0.0.0.0) and --allow-host."""
        own = () if is_wildcard(self.host) else (host_name(self.host),)
        return LOOPBACK_NAMES | {*own, *(host_name(h) for h in self.allow_hosts)}

    @property
    def trajectories(self) -> Path:
        """Episode folders live beside the database: queue.db -> queue.trajectories/ (PostgreSQL:
        <data_dir>/trajectories/)."""
        return self._beside_db(".trajectories", "trajectories")

    @property
    def max_attempts(self) -> int:
        return 1 + self.retries

    def task_budget(self, max_steps: int | None, timeout_s: float | None) -> tuple[int, float]:
        steps = self.max_steps if max_steps is None else max_steps
        seconds = self.max_seconds if timeout_s is None else timeout_s
        if steps > self.max_steps:
            raise ConfigError(f"max_steps {steps} exceeds this daemon's limit of {self.max_steps}")
        if seconds > self.max_seconds:
            raise ConfigError(f"timeout_s {seconds:g} exceeds this daemon's limit of {self.max_seconds:g}")
        return steps, seconds

    def run_options(self, task: TaskRecord, serial: str, out: Path | None) -> RunOptions:
        return RunOptions(
            device=f"android:{serial}", planner=task.planner, grounder=self.grounder,
            planner_options=dict(self.planner_options) if task.planner != "rule" else {},
            grounder_options=dict(self.grounder_options), device_options=dict(self.device_options),
            max_steps=task.max_steps, max_seconds=task.timeout_s, ocr=self.ocr, out=out, report=False,
            app_allowlist=self.allow_apps,
            # Unattended, "ask" meets the refusing approver: the run ends failed, saying why.
            sensitive_action="ask",
        )


def is_loopback(host: str) -> bool:
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:  # a host name: local only if every address it resolves to is
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)
