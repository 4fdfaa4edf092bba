"""Events the loop emits to its subscribers (CLI printer, Qt window, daemon store, recorder)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from guiagent.schema import Decision, GuardDecision, Observation, RunStatus, Step, TokenUsage

log = logging.getLogger(__name__)


class EventKind(StrEnum):
    STEP_STARTED = "step_started"
    OBSERVED = "observed"
    DECIDED = "decided"
    GUARDED = "guarded"
    ACTED = "acted"
    STEP_FINISHED = "step_finished"
    FINISHED = "finished"
    FAILED = "failed"


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


@dataclass(frozen=True)
class AgentEvent:
    kind: EventKind
    step_index: int = 0
    observation: Observation | None = None
    decision: Decision | None = None
    guard: GuardDecision | None = None
    step: Step | None = None
    result: RunResult | None = None
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)


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
                log.exception("event subscriber %r failed on %s", fn, event.kind)
