"""The durable task queue.

A task is claimed by exactly one worker: one `UPDATE ... WHERE rowid = (SELECT ... LIMIT 1)
AND status = 'queued' RETURNING` inside BEGIN IMMEDIATE, which also opens the attempt's row in
the run log. The claimer owns the task through a lease that the daemon's heartbeat renews;
every later write about the attempt is conditional on (owner, run_id), so a worker that lost
its lease cannot overwrite anybody's result. After a crash `recover()` (called by the next
daemon once it holds the database's lock) closes the dead attempts as interrupted and re-queues
their tasks while retries are left: nothing is lost and no attempt overlaps another.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from guiagent.daemon.db import Database
from guiagent.daemon.models import (
    TERMINAL,
    Claim,
    DeviceRecord,
    EventRecord,
    RunEnd,
    RunRecord,
    TaskRecord,
    TaskResult,
    TaskStatus,
)
from guiagent.safety.secrets import check_secret_refs
from guiagent.schema.errors import ConfigError

_TASK_STATUS = {"succeeded": "succeeded", "failed": "failed", "cancelled": "cancelled"}


class TaskStore:
    def __init__(self, db: Database | Path | str) -> None:
        self.db = db if isinstance(db, Database) else Database(db)
        # In-process wake-up for idle workers; other processes' inserts are seen by polling.
        self.changed = threading.Condition()
        self.generation = 0

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

    @staticmethod
    def _event(con: Any, kind: str, task_id: str | None, **data: Any) -> None:
        con.execute("INSERT INTO events (ts, kind, task_id, data) VALUES (?, ?, ?, ?)",
                    (time.time(), kind, task_id, json.dumps(data, default=str)))

    def add_event(self, kind: str, task_id: str | None = None, **data: Any) -> None:
        with self.db.write() as con:
            self._event(con, kind, task_id, **data)

    # -- tasks -------------------------------------------------------------------------------

    def add_task(self, task: str, *, planner: str, max_steps: int, timeout_s: float, max_attempts: int,
                 device: str | None = None, secrets: Mapping[str, str] | None = None) -> TaskRecord:
        """`secrets`: NAME -> reference (env:VAR | file:PATH), stored as such; the worker that runs
        the task resolves them on its host, so no value is ever in the queue."""
        if not task.strip():
            raise ConfigError("the task is empty")
        refs = check_secret_refs(secrets or {})
        if max_attempts < 1:
            raise ConfigError(f"max_attempts must be at least 1, got {max_attempts}")
        task_id = "t-" + uuid.uuid4().hex[:16]
        with self.db.write() as con:
            now = time.time()  # read holding the write lock, so times follow commit order
            con.execute(
                "INSERT INTO tasks (id, task, device, planner, max_steps, timeout_s, status, max_attempts,"
                " created, queued_at, updated, secrets) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?)",
                (task_id, task, device, planner, max_steps, timeout_s, max_attempts, now, now, now,
                 json.dumps(refs) if refs else None))
            self._event(con, "task_queued", task_id, task=task, device=device)
        self._notify()
        record = self.get_task(task_id)
        assert record is not None
        return record

    def get_task(self, task_id: str) -> TaskRecord | None:
        rows = self.db.query("SELECT * FROM tasks WHERE id = ?", (task_id,))
        return TaskRecord.from_row(rows[0]) if rows else None

    def list_tasks(self, status: TaskStatus | None = None, limit: int = 100, offset: int = 0) -> list[TaskRecord]:
        if status is None:
            rows = self.db.query("SELECT * FROM tasks ORDER BY rowid LIMIT ? OFFSET ?", (limit, offset))
        else:
            rows = self.db.query("SELECT * FROM tasks WHERE status = ? ORDER BY rowid LIMIT ? OFFSET ?",
                                 (status, limit, offset))
        return [TaskRecord.from_row(r) for r in rows]

    def counts(self) -> dict[str, int]:
        rows = self.db.query("SELECT status, COUNT(*) AS n FROM tasks GROUP BY status")
        return {r["status"]: r["n"] for r in rows}

    def claim(self, owner: str, device: str, *, lease_s: float, idle_since: float | None = None) -> Claim | None:
        """The oldest queued task this device may run, now owned by `owner`; None when there is none."""
        with self.db.write() as con:
            now = time.time()
            rows = con.execute(
                "UPDATE tasks SET status = 'running', attempts = attempts + 1, owner = :owner,"
                " lease_until = :lease, assigned = :device, started = COALESCE(started, :now), updated = :now,"
                " steps = 0, approval = NULL"
                " WHERE rowid = (SELECT rowid FROM tasks WHERE status = 'queued'"
                "                AND (device IS NULL OR device = :device) ORDER BY rowid LIMIT 1)"
                "   AND status = 'queued' RETURNING *",
                {"owner": owner, "lease": now + lease_s, "device": device, "now": now}).fetchall()
            if not rows:
                return None
            row = rows[0]
            ready = max(row["queued_at"], idle_since or row["queued_at"])
            cur = con.execute(
                "INSERT INTO runs (task_id, attempt, owner, device, ready_at, claimed, heartbeat)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)", (row["id"], row["attempts"], owner, device, ready, now, now))
            assert cur.lastrowid is not None  # set by the INSERT just run
            run_id = cur.lastrowid
            con.execute("UPDATE tasks SET run_id = ? WHERE id = ?", (run_id, row["id"]))
            self._event(con, "task_started", row["id"], device=device, attempt=row["attempts"], run=run_id)
        task = TaskRecord.from_row(row).model_copy(update={"status": "running"})
        return Claim(task=task, run_id=run_id, owner=owner)

    def mark_started(self, claim: Claim, episode: str | None) -> None:
        with self.db.write() as con:
            con.execute("UPDATE runs SET started = ?, episode = ? WHERE id = ? AND owner = ?",
                        (time.time(), episode, claim.run_id, claim.owner))

    def progress(self, claim: Claim, steps: int, **step: Any) -> bool:
        """A step finished; False when this worker no longer owns the task."""
        with self.db.write() as con:
            n = con.execute("UPDATE tasks SET steps = ?, updated = ? WHERE id = ? AND run_id = ? AND owner = ?"
                            " AND status = 'running'",
                            (steps, time.time(), claim.task.id, claim.run_id, claim.owner)).rowcount
            if n:
                self._event(con, "step", claim.task.id, run=claim.run_id, **step)
        return bool(n)

    def end_run(self, claim: Claim, outcome: RunEnd, *, reason: str = "", result: TaskResult | None = None,
                run_ended: float | None = None, refund: bool = False) -> TaskRecord | None:
        """Close the attempt and settle the task. Interrupted / device_lost attempts re-queue the
        task while attempts are left (`refund`: this attempt does not count, e.g. a clean
        shutdown). Returns the task as it is now, or None when the lease was lost meanwhile."""
        with self.db.write() as con:
            now = time.time()
            rows = con.execute("SELECT * FROM tasks WHERE id = ? AND run_id = ? AND owner = ? AND status = 'running'",
                               (claim.task.id, claim.run_id, claim.owner)).fetchall()
            if not rows:
                con.execute("UPDATE runs SET status = 'lease_lost', ended = ?, run_ended = COALESCE(run_ended, ?),"
                            " reason = ? WHERE id = ? AND ended IS NULL", (now, run_ended or now, reason, claim.run_id))
                return None
            status = self._settle(con, rows[0], outcome, reason, result, now, refund)
            con.execute("UPDATE runs SET status = ?, reason = ?, run_ended = ?, ended = ? WHERE id = ?",
                        (outcome, reason, run_ended or now, now, claim.run_id))
            con.execute("UPDATE approvals SET status = 'expired', decided = ? WHERE run_id = ? AND status = 'pending'",
                        (now, claim.run_id))
        if status == "queued":
            self._notify()
        return self.get_task(claim.task.id)

    def _settle(self, con: Any, row: Any, outcome: RunEnd, reason: str, result: TaskResult | None,
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
            now = time.time()
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
        """Renew the leases of the attempts this daemon runs; returns run id -> cancel requested.
        A run missing from the answer lost its lease."""
        if not run_ids:
            return {}
        marks = ",".join("?" * len(run_ids))
        with self.db.write() as con:
            now = time.time()
            con.execute(f"UPDATE tasks SET lease_until = ? WHERE status = 'running' AND run_id IN ({marks})"
                        " AND owner LIKE ? ESCAPE '\\'", (now + lease_s, *run_ids, _like_prefix(owner_prefix)))
            con.execute(f"UPDATE runs SET heartbeat = ? WHERE ended IS NULL AND id IN ({marks})", (now, *run_ids))
            rows = con.execute(f"SELECT run_id, cancel_requested FROM tasks WHERE status = 'running'"
                               f" AND run_id IN ({marks}) AND owner LIKE ? ESCAPE '\\'",
                               (*run_ids, _like_prefix(owner_prefix))).fetchall()
        return {r["run_id"]: bool(r["cancel_requested"]) for r in rows}

    def recover(self, *, keep_owner_prefix: str | None = None, expired_only: bool = False) -> list[tuple[str, str]]:
        """Close the attempts of dead owners as interrupted and re-queue or end their tasks.

        At startup the caller holds the database's lock, so every running task belongs to a dead
        daemon (`expired_only=False`). Later, `expired_only=True` reaps only leases that ran out
        (a daemon that froze or shares the file without the lock). Returns (task id, new status)."""
        out: list[tuple[str, str]] = []
        with self.db.write() as con:
            now = time.time()
            rows = con.execute("SELECT * FROM tasks WHERE status = 'running'").fetchall()
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

    # -- devices -----------------------------------------------------------------------------

    def set_device(self, serial: str, state: str, *, adb_state: str | None = None, current_task: str | None = None,
                   error: str | None = None, ran_one: bool = False) -> None:
        with self.db.write() as con:
            now = time.time()
            old = con.execute("SELECT state FROM devices WHERE serial = ?", (serial,)).fetchone()
            con.execute(
                "INSERT INTO devices (serial, state, adb_state, current_task, since, error, tasks_run)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (serial) DO UPDATE SET state = excluded.state,"
                " adb_state = COALESCE(excluded.adb_state, adb_state), current_task = excluded.current_task,"
                " since = CASE WHEN state = excluded.state THEN since ELSE excluded.since END,"
                " error = excluded.error, tasks_run = tasks_run + excluded.tasks_run",
                (serial, state, adb_state, current_task, now, error, int(ran_one)))
            if old is None or old["state"] != state:
                self._event(con, "device", current_task, serial=serial, state=state, error=error)

    def set_adb_state(self, serial: str, adb_state: str) -> None:
        with self.db.write() as con:
            n = con.execute("UPDATE devices SET adb_state = ? WHERE serial = ?", (adb_state, serial)).rowcount
            if not n:
                state = "unauthorized" if adb_state == "unauthorized" else "offline"
                con.execute("INSERT INTO devices (serial, state, adb_state, since) VALUES (?, ?, ?, ?)",
                            (serial, state, adb_state, time.time()))

    def list_devices(self) -> list[DeviceRecord]:
        return [DeviceRecord.from_row(r) for r in self.db.query("SELECT * FROM devices ORDER BY serial")]

    def forget_devices(self) -> None:
        """At startup: what a previous daemon saw is stale."""
        with self.db.write() as con:
            con.execute("DELETE FROM devices")

    # -- events ------------------------------------------------------------------------------

    def events_after(self, after: int, task_id: str | None = None, limit: int = 200) -> list[EventRecord]:
        if task_id is None:
            rows = self.db.query("SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?", (after, limit))
        else:
            rows = self.db.query("SELECT * FROM events WHERE id > ? AND task_id = ? ORDER BY id LIMIT ?",
                                 (after, task_id, limit))
        return [EventRecord.from_row(r) for r in rows]

    def last_event_id(self) -> int:
        return int(self.db.query("SELECT COALESCE(MAX(id), 0) FROM events")[0][0])

    def prune_events(self, keep: int = 100_000) -> None:
        with self.db.write() as con:
            con.execute("DELETE FROM events WHERE id <= (SELECT COALESCE(MAX(id), 0) FROM events) - ?", (keep,))


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
