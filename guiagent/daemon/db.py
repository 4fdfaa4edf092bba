"""The daemon's SQLite engine: schema, one connection per thread, write transactions.

The embedded default (one host, nothing to install); store_pg.py is the fleet's engine.

WAL lets the API read while workers write. `synchronous=NORMAL` keeps every committed
transaction across a process crash (kill -9); only a power loss can lose the last commits.
Writes use BEGIN IMMEDIATE, so a transaction that reads then updates (a claim) holds the write
lock from its first statement: two claimers can never both see the same row as queued.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from guiagent.daemon.store_base import Params, iter_statements
from guiagent.schema.errors import ConfigError

# 1: one host. 2: host columns (tasks may target a host; devices keyed by (host, serial)), hosts.
SCHEMA_VERSION = 2

DEVICES_V2 = """
CREATE TABLE IF NOT EXISTS devices (
    host TEXT NOT NULL,
    serial TEXT NOT NULL,
    state TEXT NOT NULL,
    adb_state TEXT,
    current_task TEXT,
    since REAL NOT NULL,
    error TEXT,
    tasks_run INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (host, serial)
);
CREATE TABLE IF NOT EXISTS hosts (
    host TEXT PRIMARY KEY,
    daemon TEXT NOT NULL,
    url TEXT,
    started REAL NOT NULL,
    heartbeat REAL NOT NULL
);
"""

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY,
    task TEXT NOT NULL,
    device TEXT,                       -- the device asked for; NULL = any
    host TEXT,                         -- the host asked for; NULL = any
    assigned_host TEXT,                -- the host that runs / last ran it
    planner TEXT NOT NULL,
    max_steps INTEGER NOT NULL,
    timeout_s REAL NOT NULL,
    status TEXT NOT NULL CHECK (status IN
        ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted')),
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    created REAL NOT NULL,
    queued_at REAL NOT NULL,           -- when it (re)entered the queue
    started REAL,
    finished REAL,
    updated REAL NOT NULL,
    assigned TEXT,                     -- the device that runs / last ran it
    owner TEXT,                        -- daemon/worker holding the lease
    lease_until REAL,
    run_id INTEGER,
    steps INTEGER NOT NULL DEFAULT 0,
    result TEXT,                       -- JSON
    error TEXT,
    approval TEXT,                     -- id of a pending approval
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    secrets TEXT                       -- JSON {name: "env:VAR" | "file:PATH"}: references, never values
);
CREATE INDEX IF NOT EXISTS tasks_by_status ON tasks (status);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    owner TEXT NOT NULL,
    device TEXT NOT NULL,
    host TEXT,
    ready_at REAL NOT NULL,            -- when this task and an idle worker were both there
    claimed REAL NOT NULL,
    started REAL,                      -- the agent started
    run_ended REAL,                    -- the agent returned
    ended REAL,                        -- bookkeeping done (or recovery time for a dead run)
    heartbeat REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'running',
    reason TEXT,
    episode TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_task ON runs (task_id);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    kind TEXT NOT NULL,
    task_id TEXT,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS approvals (
    id TEXT PRIMARY KEY,
    task_id TEXT NOT NULL,
    run_id INTEGER NOT NULL,
    step INTEGER NOT NULL,
    action TEXT NOT NULL,
    reason TEXT NOT NULL,
    rule TEXT,
    status TEXT NOT NULL,              -- pending | approve | skip | stop | expired
    created REAL NOT NULL,
    decided REAL
);
""" + DEVICES_V2

# columns added since the first schema (all TEXT, NULL in old rows): added to an older file in place
ADDED_COLUMNS = {"tasks": ("secrets", "host", "assigned_host"), "runs": ("host",)}


class Database:
    """Connections per thread to one SQLite file (threads share nothing but the file)."""

    engine: Literal["sqlite"] = "sqlite"
    seq = "rowid"  # tasks in arrival order
    skip_locked = ""  # BEGIN IMMEDIATE already serialises writers

    def __init__(self, path: Path | str, *, busy_timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._init_schema()

    def _init_schema(self) -> None:
        """Create or migrate the schema in one write transaction (safe when daemons start together)."""
        with self.write() as con:
            con.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            row = con.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            version = SCHEMA_VERSION if row is None else int(row[0])
            if version > SCHEMA_VERSION:
                raise ConfigError(f"{self.path} has daemon schema {version}, this version reads {SCHEMA_VERSION}")
            if "serial" in _columns(con, "devices") and "host" not in _columns(con, "devices"):
                con.execute("DROP TABLE devices")  # one host's view of its phones, forgotten at start anyway
            for stmt in iter_statements(SCHEMA):  # whatever is missing, in its current form
                con.execute(stmt)
            for table, names in ADDED_COLUMNS.items():
                for name in names:
                    if name not in _columns(con, table):
                        con.execute(f"ALTER TABLE {table} ADD COLUMN {name} TEXT")
            con.execute("INSERT INTO meta (key, value) VALUES ('schema', ?) ON CONFLICT (key) DO UPDATE"
                        " SET value = excluded.value", (str(SCHEMA_VERSION),))

    def connection(self) -> sqlite3.Connection:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            try:
                # check_same_thread=False only so that close() can run from the stopping thread
                con = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None,
                                      check_same_thread=False)
            except sqlite3.Error as exc:
                raise ConfigError(f"cannot open the daemon database {self.path}: {exc}") from exc
            con.row_factory = sqlite3.Row
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            con.execute("PRAGMA foreign_keys=ON")
            self._local.con = con
            with self._lock:
                self._all.append(con)
        return con

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction holding the database's write lock from its first statement."""
        con = self.connection()
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    def query(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return self.connection().execute(sql, params).fetchall()

    def now(self, con: Any = None) -> float:
        return time.time()  # one host, one clock

    def notify(self, con: Any) -> None:
        """Other processes on this file find new tasks by polling (`--poll`)."""

    def listen(self, on_change: Callable[[], None]) -> None:
        """Nothing to listen to: see notify()."""

    def lock(self, name: str) -> None:
        """One daemon per file is the server's file lock (server.py); nothing to add here."""

    def close(self) -> None:
        """Close every thread's connection (call once no thread uses the database any more)."""
        with self._lock:
            cons, self._all = self._all, []
        for con in cons:
            con.close()
        self._local = threading.local()


def _columns(con: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in con.execute(f"PRAGMA table_info({table})")}
