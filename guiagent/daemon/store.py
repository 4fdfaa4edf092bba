"""The durable task queue, one logic over two engines (SQLite: db.py, PostgreSQL: store_pg.py).

A task is claimed by exactly one worker: one `UPDATE ... WHERE <seq> = (SELECT ... LIMIT 1
[FOR UPDATE SKIP LOCKED]) AND status = 'queued' RETURNING` in one write transaction (SQLite:
BEGIN IMMEDIATE; PostgreSQL: the row lock, so claimers on other rows never wait), which also
opens the attempt's row in the run log. The claimer owns the task through a lease that the daemon's heartbeat renews;
every later write about the attempt is conditional on (owner, run_id), so a worker that lost
its lease cannot overwrite anybody's result. After a crash `recover()` (called by the next
daemon once it holds the database's lock) closes the dead attempts as interrupted and re-queues
their tasks while retries are left: nothing is lost and no attempt overlaps another.

Several hosts share one PostgreSQL database: each store has a host id; devices are keyed by
(host, serial) because serials repeat across hosts' adb servers; a task may ask for a serial, a
host, both or neither. Times come from the engine's clock (`db.now()`): time.time() on SQLite,
the database server's clock on PostgreSQL, so leases do not depend on the hosts' clock skew.
JSON (results, secrets, event data) is stored as text on both engines: nothing queries into it.
"""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from guiagent.daemon.db import Database
from guiagent.daemon.models import (
    TERMINAL,
    Claim,
    RunEnd,
    RunRecord,
    TaskRecord,
    TaskResult,
    TaskStatus,
)
from guiagent.daemon.store_base import Connection, DbUrl, Engine, StoreEngine, parse_db_url
from guiagent.daemon.store_fleet import FleetStore
from guiagent.safety.secrets import check_secret_refs
from guiagent.schema.errors import ConfigError

_TASK_STATUS = {"succeeded": "succeeded", "failed": "failed", "cancelled": "cancelled"}


def open_engine(db: StoreEngine | DbUrl | Path | str) -> StoreEngine:
    if not isinstance(db, (DbUrl, Path, str)):
        return db
    url = db if isinstance(db, DbUrl) else parse_db_url(db)
    if url.path is not None:
        return Database(url.path)
    from guiagent.daemon.store_pg import PgDatabase

    return PgDatabase(url.url)


def open_store(db: StoreEngine | DbUrl | Path | str, *, host: str | None = None, listen: bool = True) -> TaskStore:
    """The queue at `db` (a path, sqlite:///path or postgresql://...) as host `host`."""
    return TaskStore(db, host=host, listen=listen)


class TaskStore(FleetStore):
    """The task queue (tasks, runs, leases) on top of the fleet and event tables (store_fleet.py)."""

    def __init__(self, db: StoreEngine | DbUrl | Path | str, *, host: str | None = None, listen: bool = True) -> None:
        """`listen=False`: a client that only reads and submits (no idle workers to wake)."""
        self.db: StoreEngine = open_engine(db)
        self.host = host or socket.gethostname()
        # Wakes idle workers: bumped by this process's writes and, on PostgreSQL, by a NOTIFY
        # from any host; SQLite's other processes are seen by polling.
        self.changed = threading.Condition()
        self.generation = 0
        if listen:
            self.db.listen(self._notify)

    @property
    def engine(self) -> Engine:
        return self.db.engine

    def now(self) -> float:
        return self.db.now()

    def lock_host(self) -> None:
        """PostgreSQL: hold this host id's lock while the store is open (ConfigError if another
        live daemon has it). SQLite: nothing (the daemon's file lock already serialises)."""
        self.db.lock(f"guiagent-host:{self.host}")

    def close(self) -> None:
        self.db.close()

    def _notify(self) -> None:
        with self.changed:
            self.generation += 1
            self.changed.notify_all()

    def wait_for_change(self, generation: int, timeout: float) -> None:
        """Sleep until a task is queued (or re-queued) after `generation` was read, or `timeout`."""
        with self.changed:
            if self.generation == generation:
                self.changed.wait(timeout)

    # -- tasks -------------------------------------------------------------------------------

    def add_task(self, task: str, *, planner: str, max_steps: int, timeout_s: float, max_attempts: int,
                 device: str | None = None, host: str | None = None,
                 secrets: Mapping[str, str] | None = None) -> TaskRecord:
        """`device`: a serial, `host`: a host id; None = any. `secrets`: NAME -> reference
        (env:VAR | file:PATH), resolved by the worker on its host: no value is ever in the queue."""
        if not task.strip():
            raise ConfigError("the task is empty")
        refs = check_secret_refs(secrets or {})
        if max_attempts < 1:
            raise ConfigError(f"max_attempts must be at least 1, got {max_attempts}")
        task_id = "t-" + uuid.uuid4().hex[:16]
        with self.db.write() as con:
            now = self.db.now(con)
            con.execute(
                "INSERT INTO tasks (id, task, device, host, planner, max_steps, timeout_s, status, max_attempts,"
                " created, queued_at, updated, secrets) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?)",
                (task_id, task, device, host, planner, max_steps, timeout_s, max_attempts, now, now, now,
                 json.dumps(refs) if refs else None))
            self._event(con, "task_queued", task_id, task=task, device=device, host=host)
            self.db.notify(con)
        self._notify()
        record = self.get_task(task_id)
        assert record is not None
        return record

    def get_task(self, task_id: str) -> TaskRecord | None:
        rows = self.db.query("SELECT * FROM tasks WHERE id = ?", (task_id,))
        return TaskRecord.from_row(rows[0]) if rows else None

    def list_tasks(self, status: TaskStatus | None = None, limit: int = 100, offset: int = 0) -> list[TaskRecord]:
        if status is None:
            rows = self.db.query(f"SELECT * FROM tasks ORDER BY {self.db.seq} LIMIT ? OFFSET ?", (limit, offset))
        else:
            rows = self.db.query(f"SELECT * FROM tasks WHERE status = ? ORDER BY {self.db.seq} LIMIT ? OFFSET ?",
                                 (status, limit, offset))
        return [TaskRecord.from_row(r) for r in rows]

    def counts(self) -> dict[str, int]:
        rows = self.db.query("SELECT status, COUNT(*) AS n FROM tasks GROUP BY status")
        return {r["status"]: r["n"] for r in rows}

    def claim(self, owner: str, device: str, *, lease_s: float, idle_since: float | None = None,
              host: str | None = None) -> Claim | None:
        """The oldest queued task device `device` of host `host` (default: this store's) may run,
        now owned by `owner`; None when there is none."""
        host = host or self.host
        seq = self.db.seq
        with self.db.write() as con:
            now = self.db.now(con)
            rows = con.execute(
                "UPDATE tasks SET status = 'running', attempts = attempts + 1, owner = :owner,"
                " lease_until = :lease, assigned = :device, assigned_host = :host,"
                " started = COALESCE(started, :now), updated = :now, steps = 0, approval = NULL"
                f" WHERE {seq} = (SELECT {seq} FROM tasks WHERE status = 'queued'"
                "                AND (device IS NULL OR device = :device) AND (host IS NULL OR host = :host)"
                f"               ORDER BY {seq} LIMIT 1 {self.db.skip_locked})"
                "   AND status = 'queued' RETURNING *",
                {"owner": owner, "lease": now + lease_s, "device": device, "host": host, "now": now}).fetchall()
            if not rows:
                return None
            row = rows[0]
            ready = max(row["queued_at"], idle_since or row["queued_at"])
            run_id = int(con.execute(
                "INSERT INTO runs (task_id, attempt, owner, device, host, ready_at, claimed, heartbeat)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (row["id"], row["attempts"], owner, device, host, ready, now, now)).fetchone()["id"])
            con.execute("UPDATE tasks SET run_id = ? WHERE id = ?", (run_id, row["id"]))
            self._event(con, "task_started", row["id"], device=device, attempt=row["attempts"], run=run_id)
        task = TaskRecord.from_row(row).model_copy(update={"status": "running"})
        return Claim(task=task, run_id=run_id, owner=owner)

    def mark_started(self, claim: Claim, episode: str | None) -> None:
        with self.db.write() as con:
            con.execute("UPDATE runs SET started = ?, episode = ? WHERE id = ? AND owner = ?",
                        (self.db.now(con), episode, claim.run_id, claim.owner))

    def progress(self, claim: Claim, steps: int, **step: Any) -> bool:
        """A step finished; False when this worker no longer owns the task."""
        with self.db.write() as con:
            n = con.execute("UPDATE tasks SET steps = ?, updated = ? WHERE id = ? AND run_id = ? AND owner = ?"
                            " AND status = 'running'",
                            (steps, self.db.now(con), claim.task.id, claim.run_id, claim.owner)).rowcount
            if n:
                self._event(con, "step", claim.task.id, run=claim.run_id, **step)
        return bool(n)

    def end_run(self, claim: Claim, outcome: RunEnd, *, reason: str = "", result: TaskResult | None = None,
                run_ended: float | None = None, refund: bool = False) -> TaskRecord | None:
        """Close the attempt and settle the task. Interrupted / device_lost attempts re-queue the
        task while attempts are left (`refund`: this attempt does not count, e.g. a clean
        shutdown). Returns the task as it is now, or None when the lease was lost meanwhile."""
        with self.db.write() as con:
            now = self.db.now(con)
            rows = con.execute("SELECT * FROM tasks WHERE id = ? AND run_id = ? AND owner = ? AND status = 'running'",
                               (claim.task.id, claim.run_id, claim.owner)).fetchall()
            if not rows:
                con.execute("UPDATE runs SET status = 'lease_lost', ended = ?, run_ended = COALESCE(run_ended, ?),"
                            " reason = ? WHERE id = ? AND ended IS NULL", (now, run_ended or now, reason, claim.run_id))
                return None
            status = self._settle(con, rows[0], outcome, reason, result, now, refund)
            if status == "queued":
                self.db.notify(con)
            con.execute("UPDATE runs SET status = ?, reason = ?, run_ended = ?, ended = ? WHERE id = ?",
                        (outcome, reason, run_ended or now, now, claim.run_id))
            con.execute("UPDATE approvals SET status = 'expired', decided = ? WHERE run_id = ? AND status = 'pending'",
                        (now, claim.run_id))
        if status == "queued":
            self._notify()
        return self.get_task(claim.task.id)

    def _settle(self, con: Connection, row: Any, outcome: RunEnd, reason: str, result: TaskResult | None,
                now: float, refund: bool = False) -> str:
        """Set the task's status after an attempt ended with `outcome`; returns it."""
        task_id, attempts, max_attempts = row["id"], row["attempts"], row["max_attempts"]
        if outcome in _TASK_STATUS:
            status, error = _TASK_STATUS[outcome], (None if outcome == "succeeded" else reason)
        elif row["cancel_requested"]:
            status, error = "cancelled", f"cancelled ({reason})"
        elif refund or attempts < max_attempts:
            status = "queued"
            attempts = attempts - 1 if refund else attempts
            error = f"{reason}; re-queued" + ("" if refund else f" (attempt {attempts} of {max_attempts} used)")
        else:
            status = "failed" if outcome == "device_lost" else "interrupted"
            error = f"{reason}; no attempts left ({attempts} of {max_attempts})"
        done = status in TERMINAL
        con.execute(
            "UPDATE tasks SET status = ?, attempts = ?, error = ?, result = COALESCE(?, result), updated = ?,"
            " finished = ?, owner = NULL, lease_until = NULL, approval = NULL,"
            " queued_at = CASE WHEN ? = 'queued' THEN ? ELSE queued_at END WHERE id = ?",
            (status, attempts, error, result.model_dump_json() if result else None, now, now if done else None,
             status, now, task_id))
        kind = "task_requeued" if status == "queued" else "task_finished"
        self._event(con, kind, task_id, status=status, outcome=outcome, reason=reason)
        return status

    def cancel(self, task_id: str) -> TaskRecord | None:
        """Queued -> cancelled at once; running -> flagged (the daemon stops it within a heartbeat).
        None when there is no such task; a terminal task is returned unchanged."""
        with self.db.write() as con:
            now = self.db.now(con)
            n = con.execute("UPDATE tasks SET status = 'cancelled', finished = ?, updated = ?, cancel_requested = 1,"
                            " error = 'cancelled before it ran' WHERE id = ? AND status = 'queued'",
                            (now, now, task_id)).rowcount
            if n:
                self._event(con, "task_finished", task_id, status="cancelled", outcome="cancelled",
                            reason="cancelled before it ran")
            elif con.execute("UPDATE tasks SET cancel_requested = 1, updated = ? WHERE id = ? AND status = 'running'",
                             (now, task_id)).rowcount:
                self._event(con, "task_cancel_requested", task_id)
        return self.get_task(task_id)

    # -- leases ------------------------------------------------------------------------------

    def heartbeat(self, owner_prefix: str, lease_s: float, run_ids: list[int]) -> dict[int, bool]:
        """Renew the leases of the attempts this daemon runs, and this host's `hosts.heartbeat`;
        returns run id -> cancel requested. A run missing from the answer lost its lease."""
        with self.db.write() as con:
            now = self.db.now(con)
            con.execute("UPDATE hosts SET heartbeat = ? WHERE host = ?", (now, self.host))
            if not run_ids:
                return {}
            marks = ",".join("?" * len(run_ids))
            con.execute(f"UPDATE tasks SET lease_until = ? WHERE status = 'running' AND run_id IN ({marks})"
                        " AND owner LIKE ? ESCAPE '\\'", (now + lease_s, *run_ids, _like_prefix(owner_prefix)))
            con.execute(f"UPDATE runs SET heartbeat = ? WHERE ended IS NULL AND id IN ({marks})", (now, *run_ids))
            rows = con.execute(f"SELECT run_id, cancel_requested FROM tasks WHERE status = 'running'"
                               f" AND run_id IN ({marks}) AND owner LIKE ? ESCAPE '\\'",
                               (*run_ids, _like_prefix(owner_prefix))).fetchall()
        return {r["run_id"]: bool(r["cancel_requested"]) for r in rows}

    def recover(self, *, keep_owner_prefix: str | None = None, expired_only: bool = False,
                host: str | None = None) -> list[tuple[str, str]]:
        """Close the attempts of dead owners as interrupted and re-queue or end their tasks.

        At startup the caller holds the database's lock (SQLite) or its host's lock (PostgreSQL,
        with `host=` its own id: only that host's attempts), so those running tasks belong to a
        dead daemon (`expired_only=False`). Later, `expired_only=True` reaps only leases that ran
        out (a host that died or froze). Returns (task id, new status)."""
        out: list[tuple[str, str]] = []
        with self.db.write() as con:
            now = self.db.now(con)
            # lock only the candidates (PostgreSQL: live hosts' rows stay free for their heartbeats)
            where = " AND assigned_host = :host" if host is not None else ""
            where += " AND COALESCE(lease_until, 0) < :now" if expired_only else ""
            rows = con.execute(f"SELECT * FROM tasks WHERE status = 'running'{where} ORDER BY {self.db.seq}"
                               f" {self.db.skip_locked}", {"host": host, "now": now}).fetchall()
            for row in rows:
                owner = row["owner"] or ""
                if keep_owner_prefix and owner.startswith(keep_owner_prefix):
                    continue
                if expired_only and (row["lease_until"] or 0) >= now:
                    continue
                why = f"interrupted: its daemon ({owner.split('/')[0] or 'unknown'}) died or lost the lease"
                con.execute("UPDATE runs SET status = 'interrupted', reason = ?, ended = ?,"
                            " run_ended = COALESCE(run_ended, heartbeat) WHERE task_id = ? AND ended IS NULL",
                            (why, now, row["id"]))
                con.execute("UPDATE approvals SET status = 'expired', decided = ? WHERE task_id = ?"
                            " AND status = 'pending'", (now, row["id"]))
                out.append((row["id"], self._settle(con, row, "interrupted", why, None, now)))
            if any(status == "queued" for _, status in out):
                self.db.notify(con)
        if any(status == "queued" for _, status in out):
            self._notify()
        return out

    def runs(self, task_id: str | None = None) -> list[RunRecord]:
        if task_id is None:
            rows = self.db.query("SELECT * FROM runs ORDER BY id")
        else:
            rows = self.db.query("SELECT * FROM runs WHERE task_id = ? ORDER BY id", (task_id,))
        return [RunRecord.from_row(r) for r in rows]

    def run(self, run_id: int) -> RunRecord | None:
        rows = self.db.query("SELECT * FROM runs WHERE id = ?", (run_id,))
        return RunRecord.from_row(rows[0]) if rows else None


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
