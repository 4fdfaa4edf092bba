"""Events the loop emits to its subscribers (CLI printer, Qt window, daemon store, recorder)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from guiagent.schema import Decision, GuardDecision, Observation, RunStatus, Step, TokenUsage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunResult:
    status: RunStatus
    reason: str = ""
    answer: str | None = None
    steps: int = 0
    usage: TokenUsage = field(default_factory=TokenUsage)
    seconds: float = 0.0
    folder: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "success"


# One frozen class per event, in the order a step emits them; subscribers `match` on the class.
@dataclass(frozen=True)
class StepStarted:
    index: int


@dataclass(frozen=True)
class Observed:
    index: int
    observation: Observation


@dataclass(frozen=True)
class Decided:
    index: int
    observation: Observation
    decision: Decision


@dataclass(frozen=True)
class Guarded:
    index: int
    decision: Decision
    guard: GuardDecision


@dataclass(frozen=True)
class Acted:
    index: int
    step: Step  # outcome filled in, not yet recorded


@dataclass(frozen=True)
class StepFinished:
    index: int
    observation: Observation
    step: Step  # as recorded (frame path set when a sink stored it)


@dataclass(frozen=True)
class RunFinished:
    result: RunResult  # success, failure or stop: `result.status` says which


AgentEvent = StepStarted | Observed | Decided | Guarded | Acted | StepFinished | RunFinished
Subscriber = Callable[[AgentEvent], None]


class EventBus:
    """Calls subscribers in order. A failing subscriber is logged, never allowed to stop the run."""

    def __init__(self) -> None:
        self._subs: list[Subscriber] = []
        self._lock = threading.Lock()

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        with self._lock:
            self._subs.append(fn)

        def unsubscribe() -> None:
            with self._lock:
                if fn in self._subs:
                    self._subs.remove(fn)

        return unsubscribe

    def emit(self, event: AgentEvent) -> None:
        with self._lock:
            subs = list(self._subs)
        for fn in subs:
            try:
                fn(event)
            except Exception:  # a broken UI must not break the agent
                log.exception("event subscriber %r failed on %s", fn, type(event).__name__)
