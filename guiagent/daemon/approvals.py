"""Sensitive actions held for approval through the API (`guiagent daemon --approvals`).

The worker's approver writes a pending approval, marks the task as waiting and polls the
store for the decision; the API only writes the decision. Nothing else is shared, so a decision
survives neither more nor less than the database does: after a crash the pending approvals of
interrupted attempts are expired by recovery.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable

from guiagent.daemon.models import ApprovalRecord, ApprovalStatus, Claim, Decision
from guiagent.daemon.store import TaskStore
from guiagent.safety import Approval
from guiagent.schema import Action, GuardDecision, Observation, describe_action

log = logging.getLogger(__name__)


class ApprovalConflict(Exception):
    """The approval was decided or expired already."""

    def __init__(self, record: ApprovalRecord) -> None:
        super().__init__(f"approval {record.id} is already {record.status}")
        self.record = record


def get_approval(store: TaskStore, approval_id: str) -> ApprovalRecord | None:
    rows = store.db.query("SELECT * FROM approvals WHERE id = ?", (approval_id,))
    return ApprovalRecord.from_row(rows[0]) if rows else None


def list_approvals(store: TaskStore, status: ApprovalStatus | None = "pending", task_id: str | None = None,
                   limit: int = 100) -> list[ApprovalRecord]:
    sql = "SELECT * FROM approvals WHERE 1 = 1"
    params: list[str] = []
    if status is not None:
        sql, params = sql + " AND status = ?", [*params, status]
    if task_id is not None:
        sql, params = sql + " AND task_id = ?", [*params, task_id]
    rows = store.db.query(sql + " ORDER BY created LIMIT ?", (*params, limit))
    return [ApprovalRecord.from_row(r) for r in rows]


def decide(store: TaskStore, approval_id: str, decision: Decision) -> ApprovalRecord | None:
    """Record a decision for a pending approval. None: no such approval; ApprovalConflict: not pending."""
    with store.db.write() as con:
        row = con.execute("SELECT * FROM approvals WHERE id = ?", (approval_id,)).fetchone()
        if row is None:
            return None
        if row["status"] != "pending":
            raise ApprovalConflict(ApprovalRecord.from_row(row))
        con.execute("UPDATE approvals SET status = ?, decided = ? WHERE id = ?", (decision, time.time(), approval_id))
        store._event(con, "approval_decided", row["task_id"], approval=approval_id, decision=decision)
    return get_approval(store, approval_id)


def _expire(store: TaskStore, approval_id: str) -> ApprovalStatus:
    """Expire it unless a decision came in first; returns the final status."""
    with store.db.write() as con:
        con.execute("UPDATE approvals SET status = 'expired', decided = ? WHERE id = ? AND status = 'pending'",
                    (time.time(), approval_id))
        row = con.execute("SELECT status FROM approvals WHERE id = ?", (approval_id,)).fetchone()
        con.execute("UPDATE tasks SET approval = NULL WHERE approval = ?", (approval_id,))
    return row["status"]


class StoreApprover:
    """An `Approver` that holds the task until someone decides through the API.

    `should_stop()` is polled while waiting (cancel, shutdown): the answer is then "stop".
    No decision within `timeout_s`: "refuse" (the run ends failed, as when unattended)."""

    def __init__(self, store: TaskStore, claim: Claim, *, step: Callable[[], int],
                 should_stop: Callable[[], bool], timeout_s: float = 600.0, poll_s: float = 0.2) -> None:
        self.store, self.claim = store, claim
        self.step, self.should_stop = step, should_stop
        self.timeout_s, self.poll_s = timeout_s, poll_s

    def __call__(self, action: Action, decision: GuardDecision, observation: Observation) -> Approval:
        approval_id = "a-" + uuid.uuid4().hex[:16]
        task_id = self.claim.task.id
        what = describe_action(action)
        with self.store.db.write() as con:
            con.execute("INSERT INTO approvals (id, task_id, run_id, step, action, reason, rule, status, created)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
                        (approval_id, task_id, self.claim.run_id, self.step(), what, decision.reason or "",
                         decision.rule, time.time()))
            con.execute("UPDATE tasks SET approval = ? WHERE id = ? AND run_id = ?",
                        (approval_id, task_id, self.claim.run_id))
            self.store._event(con, "approval_requested", task_id, approval=approval_id, action=what,
                              reason=decision.reason)
        log.info("task %s waits for approval %s: %s (%s)", task_id, approval_id, what, decision.reason)
        deadline = time.monotonic() + self.timeout_s
        while True:
            record = get_approval(self.store, approval_id)
            status = record.status if record else "expired"
            if status == "pending" and (self.should_stop() or time.monotonic() > deadline):
                status = _expire(self.store, approval_id)
                if status == "expired":
                    return "stop" if self.should_stop() else "refuse"
            if status != "pending":
                with self.store.db.write() as con:
                    con.execute("UPDATE tasks SET approval = NULL WHERE approval = ?", (approval_id,))
                match status:
                    case "approve":
                        return "approve"
                    case "skip":
                        return "skip"
                    case "stop":
                        return "stop"
                    case _:
                        return "stop" if self.should_stop() else "refuse"
            time.sleep(self.poll_s)
