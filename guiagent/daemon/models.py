"""What the store holds and the API speaks: tasks, runs, approvals, devices, events."""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from guiagent.safety.secrets import check_secret_refs
from guiagent.schema.errors import ConfigError

TaskStatus = Literal["queued", "running", "succeeded", "failed", "cancelled", "interrupted"]
TERMINAL: frozenset[str] = frozenset({"succeeded", "failed", "cancelled", "interrupted"})
# how a run (one attempt) ended; "interrupted" = the daemon died or shut down under it
RunEnd = Literal["running", "succeeded", "failed", "cancelled", "interrupted", "device_lost", "lease_lost"]
Decision = Literal["approve", "skip", "stop"]
ApprovalStatus = Literal["pending", "approve", "skip", "stop", "expired"]
DeviceState = Literal["connecting", "idle", "busy", "offline", "unauthorized"]


class TaskIn(BaseModel):
    """POST /tasks."""

    task: str = Field(min_length=1, max_length=4000, description="the instruction, e.g. 'Open Settings'")
    device: str | None = Field(None, max_length=200, description="adb serial to run on; default: any device")
    host: str | None = Field(None, max_length=200, description="host id to run on (with `device`: that host's "
                             "phone); default: any host of the fleet")
    planner: str | None = Field(None, max_length=40, description="planner name; default: the daemon's")
    max_steps: int | None = Field(None, ge=1, description="step budget; at most the daemon's --max-steps")
    timeout_s: float | None = Field(None, gt=0, description="time budget in seconds; at most --max-seconds")
    secrets: dict[str, str] = Field(
        default_factory=dict, max_length=32,
        description="secrets the task names as {{NAME}}: NAME -> 'env:VAR' or 'file:PATH', resolved on the "
                    "host that runs the task; references only, never a value")

    @field_validator("secrets")
    @classmethod
    def _references_only(cls, refs: dict[str, str]) -> dict[str, str]:
        try:
            return check_secret_refs(refs)
        except ConfigError as exc:  # the message never repeats what was sent (it may be a value)
            raise ValueError(str(exc)) from None


class TaskResult(BaseModel):
    status: str
    reason: str = ""
    answer: str | None = None
    steps: int = 0
    seconds: float = 0.0


class TaskRecord(BaseModel):
    id: str
    task: str
    status: TaskStatus
    device: str | None = Field(None, description="the device running it / that ran it last, else the one asked for")
    requested_device: str | None = None
    host: str | None = Field(None, description="the host running it / that ran it last, else the one asked for")
    requested_host: str | None = None
    planner: str
    max_steps: int
    timeout_s: float
    steps: int = Field(0, description="steps of the current (or last) attempt so far")
    attempts: int
    max_attempts: int
    created: float
    started: float | None = None
    finished: float | None = None
    result: TaskResult | None = None
    error: str | None = None
    approval: str | None = Field(None, description="id of the approval this task waits for")
    cancel_requested: bool = False
    secrets: dict[str, str] = Field(default_factory=dict, description="NAME -> reference (env:VAR | file:PATH)")

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> TaskRecord:
        return cls(
            id=row["id"], task=row["task"], status=row["status"], device=row["assigned"] or row["device"],
            requested_device=row["device"], host=row["assigned_host"] or row["host"], requested_host=row["host"],
            planner=row["planner"], max_steps=row["max_steps"],
            timeout_s=row["timeout_s"], steps=row["steps"], attempts=row["attempts"],
            max_attempts=row["max_attempts"], created=row["created"], started=row["started"],
            finished=row["finished"], result=TaskResult(**json.loads(row["result"])) if row["result"] else None,
            error=row["error"], approval=row["approval"], cancel_requested=bool(row["cancel_requested"]),
            secrets=json.loads(row["secrets"]) if "secrets" in row.keys() and row["secrets"] else {},  # noqa: SIM118
        )

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL


class RunRecord(BaseModel):
    """One attempt of one task: the store's run log."""

    id: int
    task_id: str
    attempt: int
    owner: str
    device: str
    ready_at: float
    claimed: float
    started: float | None = None
    run_ended: float | None = None
    ended: float | None = None
    heartbeat: float
    status: RunEnd
    reason: str | None = None
    episode: str | None = None
    host: str | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> RunRecord:
        return cls(**{k: row[k] for k in row.keys()})  # noqa: SIM118 - sqlite3.Row has no iteration of keys


class Claim(BaseModel):
    """A task claimed by one worker, with the run that records the attempt."""

    task: TaskRecord
    run_id: int
    owner: str


class ApprovalRecord(BaseModel):
    id: str
    task_id: str
    run_id: int
    step: int
    action: str
    reason: str
    rule: str | None = None
    status: ApprovalStatus
    created: float
    decided: float | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> ApprovalRecord:
        return cls(**{k: row[k] for k in row.keys()})  # noqa: SIM118


class ApprovalIn(BaseModel):
    decision: Decision


class DeviceRecord(BaseModel):
    host: str = ""  # devices are keyed by (host, serial): serials repeat across hosts' adb servers
    serial: str
    state: DeviceState
    adb_state: str | None = None
    current_task: str | None = None
    since: float
    error: str | None = None
    tasks_run: int = 0

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> DeviceRecord:
        return cls(**{k: row[k] for k in row.keys()})  # noqa: SIM118


class HostRecord(BaseModel):
    """One daemon process of the fleet (`hosts` table): its id, its API, when it last renewed."""

    host: str
    daemon: str
    url: str | None = None
    started: float
    heartbeat: float

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> HostRecord:
        return cls(**{k: row[k] for k in row.keys()})  # noqa: SIM118


class EventRecord(BaseModel):
    id: int
    ts: float
    kind: str
    task_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> EventRecord:
        return cls(id=row["id"], ts=row["ts"], kind=row["kind"], task_id=row["task_id"], data=json.loads(row["data"]))
