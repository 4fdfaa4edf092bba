"""The daemon's PostgreSQL engine: the queue of a fleet of hosts (psycopg 3 + psycopg_pool).

- Claims: the shared claim statement gets `FOR UPDATE SKIP LOCKED` on its sub-select, so each
  claimer locks the oldest queued row nobody else holds, in one transaction, without waiting.
- Wake-ups: a write that queues a task runs `NOTIFY guiagent_queue` (delivered on commit); each
  store keeps one connection LISTENing and bumps its generation, so idle workers on every host
  wake at once; the poll interval is only a fallback (a lost connection, a missed notice).
- Clock: the database server's (`clock_timestamp()`; each host measures its offset to it every
  10 s), so every host measures leases on one clock whatever its own clock's skew.
- Migrations: run by every store on start, inside `pg_advisory_xact_lock`, versioned in
  `schema_version`: hosts starting at once apply each migration exactly once.
- A dropped connection or unreachable server raises `StoreUnavailable` within seconds
  (connect_timeout, TCP keepalives, tcp_user_timeout) instead of hanging a worker.
- The SQL shared with SQLite is written with `?` / `:name`; it is rewritten to psycopg's style.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

from guiagent.daemon.store_base import Params, StoreUnavailable, iter_statements
from guiagent.schema.errors import ConfigError

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

log = logging.getLogger(__name__)

CHANNEL = "guiagent_queue"
_MIGRATION_LOCK = 0x6775_6961_6765_6E74  # pg_advisory_xact_lock key: "guiagent"

# Each entry is one migration; the schema's version is how many have run.
MIGRATIONS: tuple[str, ...] = ("""
CREATE TABLE tasks (
    seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,  -- arrival order (SQLite: rowid)
    id TEXT PRIMARY KEY,
    task TEXT NOT NULL,
    device TEXT,
    host TEXT,
    assigned_host TEXT,
    planner TEXT NOT NULL,
    max_steps INTEGER NOT NULL,
    timeout_s DOUBLE PRECISION NOT NULL,
    status TEXT NOT NULL CHECK (status IN
        ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted')),
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    queued_at DOUBLE PRECISION NOT NULL,
    started DOUBLE PRECISION,
    finished DOUBLE PRECISION,
    updated DOUBLE PRECISION NOT NULL,
    assigned TEXT,
    owner TEXT,
    lease_until DOUBLE PRECISION,
    run_id BIGINT,
    steps INTEGER NOT NULL DEFAULT 0,
    result TEXT,
    error TEXT,
    approval TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    secrets TEXT
);
CREATE INDEX tasks_queued ON tasks (seq) WHERE status = 'queued';
CREATE INDEX tasks_by_status ON tasks (status);
CREATE INDEX tasks_by_run ON tasks (run_id);
CREATE TABLE runs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    owner TEXT NOT NULL,
    device TEXT NOT NULL,
    host TEXT,
    ready_at DOUBLE PRECISION NOT NULL,
    claimed DOUBLE PRECISION NOT NULL,
    started DOUBLE PRECISION,
    run_ended DOUBLE PRECISION,
    ended DOUBLE PRECISION,
    heartbeat DOUBLE PRECISION NOT NULL,
    status TEXT NOT NULL DEFAULT 'running',
    reason TEXT,
    episode TEXT
);
CREATE INDEX runs_by_task ON runs (task_id);
CREATE TABLE events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ts DOUBLE PRECISION NOT NULL,
    kind TEXT NOT NULL,
    task_id TEXT,
    data TEXT NOT NULL
);
CREATE INDEX events_by_task ON events (task_id, id);
CREATE TABLE approvals (
    id TEXT PRIMARY KEY,
    task_id TEXT NOT NULL,
    run_id BIGINT NOT NULL,
    step INTEGER NOT NULL,
    action TEXT NOT NULL,
    reason TEXT NOT NULL,
    rule TEXT,
    status TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    decided DOUBLE PRECISION
);
CREATE INDEX approvals_by_status ON approvals (status, created);
CREATE TABLE devices (
    host TEXT NOT NULL,
    serial TEXT NOT NULL,
    state TEXT NOT NULL,
    adb_state TEXT,
    current_task TEXT,
    since DOUBLE PRECISION NOT NULL,
    error TEXT,
    tasks_run INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (host, serial)
);
CREATE TABLE hosts (
    host TEXT PRIMARY KEY,
    daemon TEXT NOT NULL,
    url TEXT,
    started DOUBLE PRECISION NOT NULL,
    heartbeat DOUBLE PRECISION NOT NULL
)
""",)
SCHEMA_VERSION = len(MIGRATIONS)
CLOCK_REFRESH_S = 10.0
_CLOCK = "SELECT EXTRACT(EPOCH FROM clock_timestamp())::float8 AS t"

# libpq settings so that a cut network fails a call in seconds instead of hanging it
CONNECT_OPTIONS: dict[str, Any] = {
    "connect_timeout": 5, "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
    "keepalives_count": 2, "tcp_user_timeout": 5000, "application_name": "guiagent-daemon",
}


@functools.lru_cache(maxsize=512)
def to_pg(sql: str) -> str:
    """SQLite-style placeholders (`?`, `:name`) to psycopg's (`%s`, `%(name)s`)."""
    sql = sql.replace("%", "%%")
    sql = re.sub(r"(?<![:\w]):([A-Za-z_]\w*)", r"%(\1)s", sql)
    return sql.replace("?", "%s")


class PgCon:
    """One transaction's connection, speaking the shared SQL."""

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Params = ()) -> Any:
        return self.raw.execute(to_pg(sql), params)


class PgDatabase:
    engine: Literal["postgres"] = "postgres"
    seq = "seq"
    skip_locked = "FOR UPDATE SKIP LOCKED"

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10, timeout_s: float = 5.0) -> None:
        """`max_size`: connections are held only for one short transaction, so 10 serve a host
        of a dozen phones plus its API; size the server's max_connections as hosts x (max_size + 2)."""
        try:
            import psycopg
            from psycopg_pool import ConnectionPool
        except ImportError as exc:
            raise ConfigError(f"--db postgresql:// needs psycopg 3 ({exc.name} is missing): "
                              "pip install 'psycopg[binary]' psycopg-pool") from exc
        from psycopg.rows import dict_row

        self.url = url
        self.timeout_s = timeout_s
        self._offset, self._offset_at = 0.0, -float("inf")  # see now()
        self._stop = threading.Event()
        self._wake = f"guiagent_close_{uuid.uuid4().hex}"  # this store's own channel
        self._listening = threading.Event()
        self._listener: threading.Thread | None = None
        self._locks: list[psycopg.Connection[Any]] = []
        self.pool: ConnectionPool[Any] = ConnectionPool(
            url, min_size=min_size, max_size=max_size, timeout=timeout_s, open=False, name="guiagent",
            # checked on checkout (one tiny round trip): after a server restart the dead pooled
            # connections are replaced instead of failing one call each
            kwargs={"autocommit": True, "row_factory": dict_row, **CONNECT_OPTIONS},
            check=ConnectionPool.check_connection)
        try:
            # one plain connection first: a refused connection or a bad password fails at once
            # (the pool would retry until its timeout), and it runs the migrations
            with psycopg.connect(url, autocommit=True, row_factory=dict_row, **CONNECT_OPTIONS) as con:
                self.migrated = self.migrate(con)  # how many migrations this start applied
            self.pool.open(wait=True, timeout=timeout_s)
        except BaseException as exc:
            self.pool.close()
            if isinstance(exc, ConfigError):
                raise
            if isinstance(exc, Exception):
                raise ConfigError(f"cannot open the daemon database {_safe(url)}: {exc}") from exc
            raise

    def migrate(self, con: psycopg.Connection[Any]) -> int:
        """Bring the schema to SCHEMA_VERSION; returns how many migrations this call ran."""
        with con.transaction():
            con.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL,"
                        " applied TIMESTAMPTZ NOT NULL DEFAULT now())")
            row = con.execute("SELECT COALESCE(MAX(version), 0) AS v FROM schema_version").fetchone()
            version = int(row["v"]) if row else 0
            if version > SCHEMA_VERSION:
                raise ConfigError(f"{_safe(self.url)} has daemon schema {version}, this version reads {SCHEMA_VERSION}")
            for number in range(version + 1, SCHEMA_VERSION + 1):
                for stmt in iter_statements(MIGRATIONS[number - 1]):
                    con.execute(stmt)
                con.execute("INSERT INTO schema_version (version) VALUES (%s)", (number,))
            return SCHEMA_VERSION - version

    @contextmanager
    def write(self) -> Iterator[PgCon]:
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            with self.pool.connection() as raw, raw.transaction():
                yield PgCon(raw)
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise StoreUnavailable(f"the database {_safe(self.url)} is unreachable: {exc}") from exc

    def query(self, sql: str, params: Params = ()) -> list[Any]:
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            with self.pool.connection() as raw:
                return raw.execute(to_pg(sql), params).fetchall()
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise StoreUnavailable(f"the database {_safe(self.url)} is unreachable: {exc}") from exc

    def now(self, con: Any = None) -> float:
        """The database server's clock, as time.time() plus this host's measured offset to it
        (re-measured every CLOCK_REFRESH_S, within half a round trip): one clock for every
        host without a round trip per write."""
        if time.monotonic() - self._offset_at > CLOCK_REFRESH_S:
            before = time.time()
            if isinstance(con, PgCon):
                server = float(con.raw.execute(_CLOCK).fetchall()[0]["t"])
            else:
                server = float(self.query(_CLOCK)[0]["t"])
            after = time.time()
            self._offset, self._offset_at = server - (before + after) / 2, time.monotonic()
        return time.time() + self._offset

    def notify(self, con: Any) -> None:
        con.execute(f"NOTIFY {CHANNEL}")

    def listen(self, on_change: Callable[[], None]) -> None:
        """Call `on_change` on every NOTIFY (and after each (re)connection, as notices may have
        been missed). Returns once the first LISTEN is in place, so no later insert goes unseen."""
        self._listener = threading.Thread(target=self._listen_loop, args=(on_change,), name="pg-listen", daemon=True)
        self._listener.start()
        if not self._listening.wait(self.timeout_s):
            log.warning("not listening for new tasks yet (%s); idle workers poll", _safe(self.url))

    def _listen_loop(self, on_change: Callable[[], None]) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, **CONNECT_OPTIONS) as con:
                    con.execute(f"LISTEN {CHANNEL}")
                    on_change()  # before the store is handed out, so a reader's generation is after it
                    self._listening.set()
                    con.execute(f"LISTEN {self._wake}")
                    while not self._stop.is_set():
                        for notice in con.notifies(timeout=2.0):
                            if notice.channel == self._wake:  # close() wakes this loop
                                break
                            on_change()
            except psycopg.Error as exc:
                if not self._stop.is_set():
                    log.warning("lost the LISTEN connection to %s (%s); reconnecting", _safe(self.url), exc)
            finally:
                self._listening.clear()
            self._stop.wait(1.0)

    def lock(self, name: str) -> None:
        """Hold a session advisory lock named `name` until close(); ConfigError when another
        live process holds it (e.g. two daemons started with the same host id)."""
        import psycopg

        con = psycopg.connect(self.url, autocommit=True, **CONNECT_OPTIONS)
        got = con.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (name,)).fetchone()
        if got is None or not got[0]:
            con.close()
            raise ConfigError(f"another daemon holds {name!r} on {_safe(self.url)}")
        self._locks.append(con)

    def close(self) -> None:
        self._stop.set()
        if self._listener is not None:
            with contextlib.suppress(Exception):  # unreachable: the loop sees _stop within 2 s
                self.query(f"NOTIFY {self._wake}")
            self._listener.join(5)
            self._listener = None
        for con in self._locks:
            con.close()
        self._locks = []
        self.pool.close()


def _safe(url: str) -> str:
    from guiagent.daemon.store_base import DbUrl

    return str(DbUrl("postgres", url))
