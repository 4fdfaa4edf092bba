"""The loop: observe -> decide -> ground -> guard -> act -> settle -> record.

The loop never crashes on model output or on a device hiccup: every failure becomes a
recorded step with a clear message, and the run ends with a status and a reason.

Grounding keeps, for every target, the element it touches (guiagent.safety.hittest), so the guard
judges a point like an element id. After every action the foreground app is checked against the
allowlist before the next one (`_left_allowlist`). Observing and deciding (with its retries)
are guiagent.turn's.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from PIL import Image

from devices.base import Device, SettleResult
from grounding.base import Grounder, ScreenParser
from guiagent.events import (
    Acted,
    Decided,
    EventBus,
    Guarded,
    Observed,
    RunFinished,
    RunResult,
    StepFinished,
    StepStarted,
    Subscriber,
)
from guiagent.planning.base import Planner
from guiagent.safety import Approver, Guard, refuse_all
from guiagent.safety.foreground import app_of
from guiagent.schema import (
    Action,
    Back,
    Done,
    GuardDecision,
    Observation,
    Outcome,
    RunStatus,
    Step,
    TokenUsage,
    Wait,
)
from guiagent.schema.errors import (
    DeviceDisconnected,
    DeviceError,
    GroundingError,
    GuiAgentError,
    InstructionNotUnderstood,
    ModelError,
    PlannerError,
    StopRequested,
)
from guiagent.turn import decide_and_ground, ms_since, observe

log = logging.getLogger(__name__)


@runtime_checkable
class StepSink(Protocol):
    """Where steps go (an episode folder, the daemon's store)."""

    def add_step(self, step: Step, frame: Image.Image | None) -> Step: ...


@dataclass(frozen=True)
class AgentConfig:
    max_steps: int = 30
    max_seconds: float = 300.0
    stuck_after: int = 4  # actions in a row that leave the screen unchanged
    decide_retries: int = 2  # re-asks of the planner after unparsable or ungroundable output
    max_failed_steps: int = 3  # consecutive failed steps before giving up
    settle_timeout: float = 3.0
    # settled = two quiet frames (poll 20 ms) after a change; an unchanged screen gets
    # `settle_react` s to start reacting (the per-app reaction timeout) before counting as unchanged
    settle_quiet: float = 0.04
    settle_react: float = 0.5
    dry_run: bool = False


class Agent:
    def __init__(
        self,
        device: Device,
        planner: Planner,
        grounder: Grounder,
        *,
        parser: ScreenParser | None = None,
        guard: Guard | None = None,
        approver: Approver = refuse_all,
        config: AgentConfig | None = None,
        sink: StepSink | None = None,
        stop_event: threading.Event | None = None,
    ) -> None:
        self.device, self.planner, self.grounder = device, planner, grounder
        self.parser = parser
        self.guard = guard or Guard()
        self.approver = approver
        self.config = config or AgentConfig()
        self.sink = sink
        self.events = EventBus()
        self.stop_event = stop_event or threading.Event()
        self.stop_reason = ""
        self.resume_event = threading.Event()
        self.resume_event.set()
        self._pause_after_step = False
        self.history: list[Step] = []
        self._approved_apps: set[str] = set()  # foreground apps outside the allowlist the user let the run use
        self._a11y_pool: ThreadPoolExecutor | None = None  # reads the a11y tree while OCR runs

    # -- control (thread-safe) ---------------------------------------------------------

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        return self.events.subscribe(fn)

    def request_stop(self, reason: str = "stopped by the user") -> None:
        self.stop_reason = reason
        self.stop_event.set()
        self.resume_event.set()

    def pause(self) -> None:
        self.resume_event.clear()

    def resume(self) -> None:
        self._pause_after_step = False
        self.resume_event.set()

    def step_once(self) -> None:
        """Let exactly one more step run, then pause again (the app's Step button)."""
        self._pause_after_step = True
        self.resume_event.set()

    def _check_stop(self) -> None:
        self.resume_event.wait()
        if self.stop_event.is_set():
            raise StopRequested(self.stop_reason or "stop requested")

    # -- the run -----------------------------------------------------------------------

    def run(self, task: str) -> RunResult:
        t0 = time.monotonic()
        self.history = []
        self._approved_apps = set()
        status: RunStatus
        try:
            self.planner.reset(task)
        except InstructionNotUnderstood as exc:  # said plainly, recorded as a failed run
            status, reason, answer = "failed", str(exc), None
        else:
            try:
                status, reason, answer = self._loop(task, t0)
            finally:
                pool, self._a11y_pool = self._a11y_pool, None
                if pool is not None:
                    pool.shutdown(wait=False)
        usage = sum((s.usage for s in self.history), TokenUsage())
        result = RunResult(status, reason, answer, len(self.history), usage, time.monotonic() - t0)
        self.events.emit(RunFinished(result))
        return result

    def _loop(self, task: str, t0: float) -> tuple[RunStatus, str, str | None]:
        failed_in_row, unchanged_in_row = 0, 0
        while True:
            if len(self.history) >= self.config.max_steps:
                return "failed", f"step budget of {self.config.max_steps} used up", None
            if time.monotonic() - t0 > self.config.max_seconds:
                return "failed", f"time budget of {self.config.max_seconds:g} s used up", None
            try:
                self._check_stop()
                step = self.step(task)
            except StopRequested as exc:
                return "stopped", str(exc), None
            except InstructionNotUnderstood as exc:
                return "failed", str(exc), None
            except DeviceDisconnected as exc:
                return "failed", f"device disconnected: {exc}", None
            action = step.action
            if isinstance(action, Done):
                ok = action.status == "success"
                return ("success" if ok else "failed"), ("done" if ok else action.answer or "impossible"), action.answer
            if step.outcome.status == "failed":
                failed_in_row += 1
                if failed_in_row >= self.config.max_failed_steps:
                    return "failed", f"{failed_in_row} steps failed in a row; last: {step.outcome.error}", None
            else:
                failed_in_row = 0
            if step.guard is not None and step.guard.rule == "allowlist" and step.outcome.status in ("failed", "blocked"):
                return "failed", step.outcome.error or step.guard.reason, None
            if step.guard is not None and step.guard.resolution in ("refused", "declined"):
                how = "refused (nobody to approve)" if step.guard.resolution == "refused" else "declined"
                return ("stopped" if step.guard.resolution == "declined" else "failed"), \
                    f"sensitive action {how}: {step.guard.reason}", None
            if step.outcome.status == "ok" and not isinstance(action, Wait) and step.outcome.screen_changed is False:
                unchanged_in_row += 1
                if unchanged_in_row >= self.config.stuck_after:
                    return "failed", f"stuck: the screen did not change after {unchanged_in_row} actions", None
            elif step.outcome.screen_changed:
                unchanged_in_row = 0

    def step(self, task: str) -> Step:
        """One turn of the loop. Raises only StopRequested, InstructionNotUnderstood and
        DeviceDisconnected; everything else becomes a failed step."""
        index = len(self.history)
        timings: dict[str, float] = {}
        self.events.emit(StepStarted(index))
        obs = self.observe(timings)
        self.events.emit(Observed(index, obs))
        step = Step(index=index, screen_size=obs.screen_size, foreground=obs.foreground,
                    elements=list(obs.elements))
        if self.history and not self.config.dry_run and (left := self._left_allowlist(step, obs, timings)) is not None:
            return left
        try:
            decision, action, target_el, grounding = decide_and_ground(
                self.planner, self.grounder, task, obs, self.history, self.config.decide_retries, timings)
        except (PlannerError, GroundingError, ModelError) as exc:
            if isinstance(exc, InstructionNotUnderstood):
                raise
            step.outcome = Outcome(status="failed", error=str(exc))
            step.usage = exc.usage  # what the failed attempts spent still counts
            return self._finish(step, obs, timings)
        step.decision, step.action, step.target_element = decision, action, target_el
        step.usage = decision.usage + grounding
        self.events.emit(Decided(index, obs, decision))

        t = time.perf_counter()
        verdict = self.guard.check(action, obs, target_el)
        verdict = self._settle_verdict(verdict, action, obs)
        timings["guard"] = ms_since(t)
        step.guard = verdict
        self.events.emit(Guarded(index, decision, verdict))
        if verdict.verdict == "block" or verdict.resolution in ("skipped", "refused", "declined"):
            step.outcome = Outcome(status="blocked" if verdict.verdict == "block" else "skipped",
                                   error=f"not run: {verdict.reason}")
            return self._finish(step, obs, timings)
        if isinstance(action, Done):
            return self._finish(step, obs, timings)

        self._check_stop()  # the kill switch is honoured right before acting
        if self.config.dry_run:
            step.outcome = Outcome(status="skipped", error="dry run")
            return self._finish(step, obs, timings)
        t = time.perf_counter()
        try:
            outcome = self.device.execute(action)
        except DeviceDisconnected:
            raise
        except StopRequested:
            raise
        except DeviceError as exc:
            timings["act"] = ms_since(t)
            step.outcome = Outcome(status="failed", error=f"device: {exc}")
            return self._finish(step, obs, timings)
        timings["act"] = ms_since(t)
        t = time.perf_counter()
        settle = self._settle(obs)
        timings["settle"] = ms_since(t)
        step.outcome = outcome.model_copy(update={"screen_changed": settle.changed})
        self.events.emit(Acted(index, step))
        return self._finish(step, obs, timings)

    def _settle(self, obs: Observation) -> SettleResult:
        cfg = self.config
        return self.device.wait_until_stable(reference=obs.screenshot, timeout=cfg.settle_timeout,
                                             quiet=cfg.settle_quiet, react=cfg.settle_react)

    def observe(self, timings: dict[str, float] | None = None) -> Observation:
        """The screen now (guiagent.turn.observe); the a11y tree is read in a worker thread
        while a parser that can `prepare` reads the pixels."""
        if getattr(self.parser, "prepare", None) is not None and self._a11y_pool is None:
            self._a11y_pool = ThreadPoolExecutor(1, thread_name_prefix="a11y")
        return observe(self.device, self.parser, self._a11y_pool, timings if timings is not None else {})

    def _left_allowlist(self, step: Step, obs: Observation, timings: dict[str, float]) -> Step | None:
        """After an action, before the next: a foreground app outside the allowlist is asked
        about (refused unattended). Approved, the run goes on in it; otherwise the run goes back
        (Back on a phone) and is recorded as a step with the "allowlist" guard decision; where it
        cannot go back (a desktop), or going back did not help, the run ends failed."""
        verdict = self.guard.check_foreground(obs.foreground, self._approved_apps)
        if verdict is None:
            return None
        came = self.history[-1]
        if came.guard is not None and came.guard.rule == "allowlist" and came.guard.resolution == "approved":
            self._approved_apps.add(app_of(obs.foreground))  # where the approved open_app led: asked already
            return None
        if came.guard is not None and came.guard.rule == "allowlist" and isinstance(came.action, Back):
            step.guard = verdict
            step.outcome = Outcome(status="failed", error=f"went back but still outside the allowlist: {verdict.reason}")
            return self._finish(step, obs, timings)
        t = time.perf_counter()
        verdict = self._settle_verdict(verdict, came.action or Back(), obs)
        timings["guard"] = ms_since(t)
        step.guard = verdict
        if verdict.resolution == "approved":
            self._approved_apps.add(app_of(obs.foreground))
            return self._finish(step, obs, timings)
        if self.device.info.platform != "android" or not self.device.info.can(Back()):
            step.outcome = Outcome(status="failed", error=f"{verdict.reason}; cannot go back to it on this device")
            return self._finish(step, obs, timings)
        step.action = Back()
        self._check_stop()
        t = time.perf_counter()
        try:
            outcome = self.device.execute(Back())
        except DeviceError as exc:
            if isinstance(exc, DeviceDisconnected):
                raise
            outcome = Outcome(status="failed", error=f"{verdict.reason}; going back failed: {exc}")
        timings["act"] = ms_since(t)
        settle = self._settle(obs)
        status = "blocked" if verdict.verdict == "block" else outcome.status
        step.outcome = outcome.model_copy(update={"status": status, "screen_changed": settle.changed,
                                                  "error": outcome.error or f"went back: {verdict.reason}"})
        return self._finish(step, obs, timings)

    def _settle_verdict(self, verdict: GuardDecision, action: Action, obs: Observation) -> GuardDecision:
        if verdict.verdict != "ask":
            return verdict
        answer = self.approver(action, verdict, obs)
        match answer:
            case "approve":
                return verdict.model_copy(update={"resolution": "approved"})
            case "skip":
                return verdict.model_copy(update={"resolution": "skipped"})
            case "refuse":
                return verdict.model_copy(update={"resolution": "refused"})
            case "stop":
                return verdict.model_copy(update={"resolution": "declined"})

    def _finish(self, step: Step, obs: Observation, timings: dict[str, float]) -> Step:
        if self._pause_after_step:
            self.resume_event.clear()
        step.timings_ms = {**timings, "total": round(sum(timings.values()), 2)}
        if self.sink is not None:
            try:
                step = self.sink.add_step(step, obs.screenshot)
            except (OSError, GuiAgentError):
                log.exception("could not record step %d", step.index)
        self.history.append(step)
        self.events.emit(StepFinished(step.index, obs, step))
        return step

