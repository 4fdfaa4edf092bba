"""What the queue needs from a database engine, and where the database is (`--db`).

One `TaskStore` (store.py) holds the queue's logic and SQL; an engine gives it transactions
and the few things that differ between SQLite (db.py) and PostgreSQL (store_pg.py): the column
that orders tasks, the row lock of a claim, the clock, and how other processes are woken.

Why no queue library (procrastinate, PgQueuer): both model a job as a function call with
arguments that a worker pool executes and retries by its own policy. The daemon's queue is
not that: a task may only run on a device that holds a lease (pinned to a serial and/or host),
every attempt has its own row in a run log that the fault tests audit, a running task can wait
for a human approval, a cancel is delivered through the heartbeat, a clean shutdown refunds the
attempt, and every write about an attempt is fenced by (owner, run_id). Fitting that into a
library's job table would mean a second table for all of it and two sources of truth; the
hand-written SQL is a handful of statements, the same on both engines, and is covered by one
conformance test that runs over both.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit, urlunsplit

from guiagent.schema.errors import ConfigError, GuiAgentError

Engine = Literal["sqlite", "postgres"]
Params = Sequence[Any] | dict[str, Any]


class StoreUnavailable(GuiAgentError):
    """The database cannot be reached (network cut, server down). The call wrote nothing,
    unless the link broke during its COMMIT (then it is unknown): every later write about an
    attempt is fenced by (owner, run_id), so a retry or a lost lease stays consistent."""


class Connection(Protocol):
    """A connection inside one transaction; SQL is written SQLite-style (`?`, `:name`)."""

    def execute(self, sql: str, params: Params = ()) -> Any: ...


class StoreEngine(Protocol):
    @property
    def engine(self) -> Engine: ...
    @property
    def seq(self) -> str: ...  # the column that orders tasks by arrival
    @property
    def skip_locked(self) -> str: ...  # suffix of the claim's sub-select that locks the picked row

    def write(self) -> AbstractContextManager[Connection]: ...
    def query(self, sql: str, params: Params = ()) -> list[Any]: ...
    def now(self, con: Connection | None = None) -> float: ...
    def notify(self, con: Connection) -> None: ...
    def listen(self, on_change: Any) -> None: ...
    def lock(self, name: str) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class DbUrl:
    engine: Engine
    url: str  # what the engine connects to (a PostgreSQL URL may carry a password)
    path: Path | None = None  # the SQLite file

    def __str__(self) -> str:
        if self.path is not None:
            return f"sqlite://{self.path}"
        parts = urlsplit(self.url)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
            return urlunsplit(parts._replace(netloc=netloc))
        return self.url


def parse_db_url(value: str | Path) -> DbUrl:
    """`sqlite:///abs/path`, `postgresql://user@host/db` (or `postgres://`), or a bare path (SQLite)."""
    if isinstance(value, Path):
        return DbUrl("sqlite", str(value), value)
    text = value.strip()
    if not text:
        raise ConfigError("--db is empty")
    scheme, sep, rest = text.partition("://")
    if not sep:
        return DbUrl("sqlite", text, Path(text))
    match scheme.lower():
        case "sqlite":
            if not rest.startswith("/") or rest == "/":
                raise ConfigError(f"--db {text!r}: write sqlite:///absolute/path (three slashes) or a bare path")
            path = Path(rest)
            return DbUrl("sqlite", str(path), path)
        case "postgresql" | "postgres":
            if not urlsplit(text).path.strip("/"):
                raise ConfigError(f"--db {DbUrl('postgres', text)}: name the database, e.g. postgresql://user@host/guiagent")
            return DbUrl("postgres", "postgresql://" + rest)
        case _:
            raise ConfigError(f"--db: unknown database scheme {scheme!r}; use sqlite:///path or postgresql://...")


def iter_statements(script: str) -> Iterator[str]:
    """The statements of a schema script: `--` comments dropped, split at `;`."""
    text = "\n".join(line.split("--", 1)[0] for line in script.splitlines())
    for stmt in text.split(";"):
        if stmt.strip():
            yield stmt.strip()
