"""One worker thread per device: open it, claim a task, run it, record it, survive drops.

Every blocking call (adb, the planner, the grounder, the recorder) happens on this thread,
never on the API's event loop. A device that drops mid-task ends the attempt as `device_lost`
(the store re-queues the task while attempts are left) and the worker waits for the device to
come back before it claims again; the other workers never notice.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from devices.android.transport import HOST_PORT
from guiagent.daemon.approvals import StoreApprover
from guiagent.daemon.fence import FencedDevice, LeaseExpired, LeaseFence
from guiagent.daemon.models import Claim, RunEnd, TaskResult
from guiagent.daemon.store_base import StoreUnavailable
from guiagent.events import AgentEvent, RunResult, StepFinished
from guiagent.registry import build_device
from guiagent.safety import refuse_all
from guiagent.safety.secrets import NO_SECRETS, Secrets, resolve_secrets, scrubbing_logs
from guiagent.schema import describe_action
from guiagent.schema.errors import DeviceDisconnected, DeviceError, GuiAgentError

if TYPE_CHECKING:
    from guiagent.daemon.config import DaemonConfig
    from guiagent.daemon.store import TaskStore
    from guiagent.runner import Run

log = logging.getLogger(__name__)

# What made the worker stop a run, in the order the first one wins.
STOP_REASONS = {
    "shutdown": "the daemon shut down",
    "cancel": "cancelled through the API",
    "timeout": "the run overran its time budget",
    "lease_lost": "the task's lease was lost",
    "fenced": "the lease could not be renewed in time (database unreachable); input stopped",
}
# An action that starts before the fence's deadline ends well within this much (see fence.py).
FENCE_MARGIN_S = 1.0


def fence_margin(lease_s: float) -> float:
    return min(FENCE_MARGIN_S, lease_s / 4)


class WorkerHost(Protocol):
    """What a worker needs of the pool that runs it (`pool.DevicePool` is one): the shared store
    and config, the shutdown flag and what adb says about each device."""

    store: TaskStore
    config: DaemonConfig
    daemon_id: str
    stopping: threading.Event
    tracking: bool  # True once adb's track-devices answered: adb states are known

    def adb_state(self, serial: str) -> tuple[str | None, int]: ...

    def wait_adb_change(self, generation: int, timeout: float) -> None: ...

    def set_adb_state(self, serial: str, state: str | None) -> None: ...


@dataclass
class ActiveRun:
    claim: Claim
    started: float  # monotonic
    fence: LeaseFence  # no input once the lease may have run out
    run: Run | None = None
    cause: str | None = None
    secrets: Secrets = NO_SECRETS  # the task's, resolved on this host


class DeviceWorker:
    def __init__(self, serial: str, pool: WorkerHost) -> None:
        self.serial, self.pool = serial, pool
        self.store, self.config = pool.store, pool.config
        self.owner = f"{pool.daemon_id}/{serial}"
        self.device: Any = None
        self.active: ActiveRun | None = None
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._main, name=f"worker-{serial}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop_run(self, cause: str, run_id: int | None = None) -> None:
        """Ask the run in flight (if any; only if it is `run_id` when given) to stop before its
        next action. Thread-safe."""
        with self._lock:
            active = self.active
            if active is None or active.cause is not None or run_id not in (None, active.claim.run_id):
                return
            active.cause = cause
            run = active.run
        log.info("%s: stopping task %s (%s)", self.serial, active.claim.task.id, STOP_REASONS[cause])
        if run is not None:
            run.agent.request_stop(STOP_REASONS[cause])

    # -- the loop ------------------------------------------------------------------------------

    def _main(self) -> None:
        idle_since = time.time()
        backoff = 0.5
        while not self.pool.stopping.is_set():
            try:
                if self.device is None:
                    opened = self._open_device()
                    if opened == "ready":
                        backoff = 0.5
                        idle_since = time.time()
                    elif opened == "failed":
                        self.pool.stopping.wait(backoff)
                        backoff = min(backoff * 2, 5.0)
                    continue
                adb_state, _ = self.pool.adb_state(self.serial)
                if self.pool.tracking and adb_state != "device":  # unplugged or offline while idle
                    log.info("%s: adb lists it as %s; closing it", self.serial, adb_state or "absent")
                    self._close_device()
                    continue
                generation = self.store.generation
                taken = time.monotonic()  # before the request: the lease cannot start earlier
                claim = self.store.claim(self.owner, self.serial, lease_s=self.config.lease_s, idle_since=idle_since)
                if claim is None:
                    self.store.wait_for_change(generation, self.config.poll_s)
                    continue
                self._execute(claim, taken)
                idle_since = time.time()
            except StoreUnavailable as exc:  # cut off from the database: nothing to claim until it is back
                log.warning("%s: %s", self.serial, exc)
                self.pool.stopping.wait(1.0)
            except Exception:  # a bug here must not kill the device's worker for good
                log.exception("%s: worker error", self.serial)
                self.pool.stopping.wait(1.0)
        self._close_device()

    def _open_device(self) -> Literal["ready", "waited", "failed"]:
        """"ready": the device is open; "waited": adb said it is not ready and we waited for a
        change; "failed": opening failed, back off before the next try."""
        adb_state, generation = self.pool.adb_state(self.serial)
        if adb_state == "unauthorized":
            self.store.set_device(self.serial, "unauthorized", adb_state=adb_state,
                                  error="accept the USB debugging prompt on the phone")
            self.pool.wait_adb_change(generation, 5.0)
            return "waited"
        # Known but not ready (offline): adb reconnects by itself; wait for it. A listed
        # (--devices) host:port device that adb forgot is `adb connect`ed again by opening it.
        reconnectable = adb_state is None and self.config.devices is not None and HOST_PORT.match(self.serial)
        if self.pool.tracking and adb_state != "device" and not reconnectable:
            self.store.set_device(self.serial, "offline", error=f"adb lists it as {adb_state or 'absent'}")
            self.pool.wait_adb_change(generation, 2.0)
            return "waited"
        self.store.set_device(self.serial, "connecting")
        try:
            self.device = build_device(f"android:{self.serial}", adb_host=self.config.adb_host,
                                       adb_port=self.config.adb_port, **self.config.device_options)
        except GuiAgentError as exc:
            log.info("%s: cannot open the device: %s", self.serial, exc)
            self.store.set_device(self.serial, "offline", error=str(exc))
            return "failed"
        self.pool.set_adb_state(self.serial, "device")  # opening waited for adb to say so
        self.store.set_device(self.serial, "idle")
        log.info("%s: device ready (%s)", self.serial, getattr(self.device.info, "model", ""))
        return "ready"

    def _close_device(self) -> None:
        device, self.device = self.device, None
        if device is not None:
            try:
                device.close()
            except Exception:
                log.exception("%s: closing the device failed", self.serial)

    def _probe(self) -> bool:
        """Is the device still answering? (after a failed run: was it the device's fault?)"""
        try:
            self.device.shell("echo ok", timeout=3.0)
            return True
        except DeviceError as exc:
            log.info("%s: the device does not answer: %s", self.serial, exc)
            return False

    # -- one task ------------------------------------------------------------------------------

    def _execute(self, claim: Claim, taken: float) -> None:
        task = claim.task
        fence = LeaseFence(self.config.lease_s, fence_margin(self.config.lease_s), taken_at=self._confirm(claim, taken))
        active = ActiveRun(claim, time.monotonic(), fence)
        with self._lock:
            self.active = active
            if self.pool.stopping.is_set():  # shutdown began between the claim and now
                active.cause = "shutdown"
        result: RunResult | None = None
        error: BaseException | None = None
        started = False
        try:
            self.store.set_device(self.serial, "busy", current_task=task.id)
            result, error, started = self._run(claim, active)
        except Exception as exc:  # the store failed around the run; the attempt still gets settled
            log.exception("%s: task %s: bookkeeping failed", self.serial, task.id)
            error = exc
        finally:
            run_ended = time.time()
            with self._lock:
                self.active = None
        outcome, reason = self._judge(result, error, active.cause, started)
        reason = active.secrets.scrub(reason)  # an error message may quote what was typed
        result = active.secrets.scrub_obj(result)
        task_result = None if result is None else TaskResult(
            status=result.status, reason=result.reason, answer=result.answer, steps=result.steps,
            seconds=round(result.seconds, 3))
        if outcome == "device_lost":
            self._close_device()
        try:
            settled = self.store.end_run(claim, outcome, reason=reason, result=task_result, run_ended=run_ended,
                                         refund=active.cause == "shutdown")
            if settled is None:
                log.warning("%s: task %s was taken over (lease lost); its result is dropped", self.serial, task.id)
            else:
                log.info("%s: task %s -> %s (%s)", self.serial, task.id, settled.status, reason)
            if outcome == "device_lost":
                self.store.set_device(self.serial, "offline", error=reason, ran_one=True)
            else:
                self.store.set_device(self.serial, "idle", ran_one=True)
        except StoreUnavailable as exc:
            # Its lease runs out unrenewed; a live host's sweep re-queues (or ends) the task.
            log.warning("%s: task %s (%s) cannot be settled, the database is unreachable: %s",
                        self.serial, task.id, outcome, exc)
            self.pool.stopping.wait(1.0)

    def _confirm(self, claim: Claim, taken: float) -> float:
        """When the claim's answer came late (the database stalled, then answered), the fence would
        start almost spent: renew once and count from that request instead."""
        if time.monotonic() - taken <= fence_margin(self.config.lease_s):
            return taken
        sent = time.monotonic()
        try:
            if claim.run_id in self.store.heartbeat(self.pool.daemon_id + "/", self.config.lease_s, [claim.run_id]):
                return sent
        except StoreUnavailable as exc:
            log.info("%s: cannot renew the lease of task %s just claimed: %s", self.serial, claim.task.id, exc)
        return taken

    def _run(self, claim: Claim, active: ActiveRun) -> tuple[RunResult | None, BaseException | None, bool]:
        """Build and execute the run: (result, an error that escaped, whether the agent started)."""
        from guiagent.runner import Run

        task = claim.task
        rel = f"{task.id}/run-{claim.run_id}"
        steps = [0]

        def progress(event: AgentEvent) -> None:
            if isinstance(event, StepFinished):
                s = event.step
                steps[0] = s.index + 1
                self.store.progress(claim, s.index + 1, index=s.index,
                                    action=describe_action(s.action) if s.action else None,
                                    outcome=s.outcome.status, error=s.outcome.error)

        if self.config.approvals:
            approver: Any = StoreApprover(self.store, claim, step=lambda: steps[0],
                                          should_stop=lambda: active.cause is not None,
                                          timeout_s=self.config.approval_timeout_s)
        else:
            approver = refuse_all
        try:
            # The task holds references only; the values are read here, on the host that runs it
            # (a missing one fails the task, saying which).
            secrets = active.secrets = resolve_secrets(task.secrets)
            options = self.config.run_options(task, self.serial, self.config.trajectories / rel)
            # Every action passes the fence: none leaves once the lease may have expired.
            device = FencedDevice(self.device, active.fence)
            run = Run(task.task, options.with_(secrets=secrets), device=device, approver=approver,
                      subscribers=[progress])
        except Exception as exc:  # a planner that cannot be built, an unwritable trajectory folder
            return None, exc, False
        with self._lock:
            active.run = run
            early = active.cause
        if early is not None:  # cancelled (or shutting down) while the run was being built
            run.agent.request_stop(STOP_REASONS[early])
        self.store.mark_started(claim, rel)
        with scrubbing_logs(secrets):
            try:
                return run.execute(), None, True
            except Exception as exc:  # the loop handles its own errors; this is a bug or a broken device
                log.exception("%s: task %s crashed", self.serial, task.id)
                return None, active.secrets.scrub_error(exc) or exc, True

    def _judge(self, result: RunResult | None, error: BaseException | None, cause: str | None,
               started: bool) -> tuple[RunEnd, str]:
        """How the attempt ended, from the run's result, an escaped error and why we stopped it."""
        if cause == "shutdown":
            return "interrupted", STOP_REASONS["shutdown"]
        if cause == "cancel":
            return "cancelled", STOP_REASONS["cancel"]
        if cause == "timeout":
            return "failed", f"time budget exceeded ({STOP_REASONS['timeout']})"
        if cause in ("lease_lost", "fenced"):
            return "interrupted", STOP_REASONS[cause]
        if isinstance(error, LeaseExpired) or (result is not None and result.status == "stopped"
                                                and result.reason.startswith("fenced")):
            return "interrupted", STOP_REASONS["fenced"]
        if isinstance(error, StoreUnavailable):  # the run stopped on the store, not on the phone
            return "interrupted", f"the database became unreachable: {error}"
        if isinstance(error, DeviceDisconnected):
            return "device_lost", f"device {self.serial} disconnected: {error}"
        if error is not None:
            if started and not self._probe():
                return "device_lost", f"device {self.serial} stopped answering: {error}"
            return "failed", f"{type(error).__name__}: {error}" if started else f"could not start: {error}"
        assert result is not None
        match result.status:
            case "success":
                return "succeeded", result.reason
            case "stopped":  # the only other stopper is an approval answered "stop"
                return "cancelled", result.reason
            case "failed" | "running":
                if result.reason.startswith("device disconnected"):
                    return "device_lost", result.reason
                if not self._probe():
                    return "device_lost", f"device {self.serial} stopped answering ({result.reason})"
                return "failed", result.reason
