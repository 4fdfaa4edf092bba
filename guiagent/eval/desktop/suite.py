"""`guiagent eval desktop`: the whole agent (real loop, real input, a11y + OCR) on third-party
Debian apps, each task judged by the app's own output, each sabotaged twin required to end
non-success.

Per task the verdict is one of:
  pass           the agent said success and the app's output is the expected one
  false-success  the agent said success but the app shows something else (the worst outcome)
  honest-fail    the agent said failed/impossible (the app may or may not show the result)
A twin passes when the agent did not say success.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from guiagent.eval.desktop.apps import judge, started
from guiagent.eval.desktop.tasks import TASKS, DesktopTask
from guiagent.runner import RunOptions, run_task
from guiagent.schema.errors import GuiAgentError

log = logging.getLogger(__name__)
Verdict = Literal["pass", "false-success", "honest-fail", "error"]


@dataclass
class Attempt:
    task: str
    toolkit: str
    twin: bool
    status: str  # the agent's own verdict
    seen: str  # the app's output
    expected: str
    app_ok: bool
    steps: int
    seconds: float
    reason: str = ""

    @property
    def verdict(self) -> Verdict:
        if self.status == "error":
            return "error"
        if self.status != "success":
            return "honest-fail"
        return "pass" if self.app_ok else "false-success"

    @property
    def passed(self) -> bool:
        # a twin must never end in success; a task must end in a success the app confirms
        return self.status not in ("success", "error") if self.twin else self.verdict == "pass"

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "verdict": self.verdict, "passed": self.passed}


def run_one(task: DesktopTask, *, twin: bool, planner: str = "rule", planner_options: dict[str, Any] | None = None,
            max_seconds: float = 90.0) -> Attempt:
    t0 = time.monotonic()
    try:
        with started(task, twin=twin) as app:
            options = RunOptions(device="desktop", planner=planner, grounder="text",
                                 planner_options=dict(planner_options or {}), max_steps=task.max_steps,
                                 max_seconds=max_seconds, report=False)
            result = run_task(task.instruction, options)
            seen = app.read(task.output)
        return Attempt(task.id, task.toolkit, twin, result.status, seen, task.output.expect,
                       judge(task.output, seen), result.steps, time.monotonic() - t0, result.reason[:200])
    except (GuiAgentError, OSError) as exc:  # the harness failed, not the agent: reported as such
        log.warning("%s%s: %s", task.id, " (twin)" if twin else "", exc)
        return Attempt(task.id, task.toolkit, twin, "error", "", task.output.expect, False, 0,
                       time.monotonic() - t0, str(exc)[:200])


def run_suite(tasks: Iterable[DesktopTask] = TASKS, *, twins: bool = True, planner: str = "rule",
              planner_options: dict[str, Any] | None = None,
              on_attempt: Callable[[Attempt], None] = lambda a: None) -> list[Attempt]:
    from guiagent.recorder.a11y_bus import A11yBus

    attempts: list[Attempt] = []
    with A11yBus():
        for task in tasks:
            for twin in (False, True) if twins else (False,):
                attempt = run_one(task, twin=twin, planner=planner, planner_options=planner_options)
                attempts.append(attempt)
                on_attempt(attempt)
    return attempts


def summary(attempts: list[Attempt]) -> dict[str, Any]:
    tasks = [a for a in attempts if not a.twin]
    twins = [a for a in attempts if a.twin]
    return {
        "tasks": len(tasks),
        "task_pass_rate": sum(a.passed for a in tasks) / len(tasks) if tasks else 0.0,
        "false_successes": sum(a.verdict == "false-success" for a in tasks),
        "twins": len(twins),
        "twins_non_success": sum(a.passed for a in twins),
        "errors": sum(a.status == "error" for a in attempts),
        "toolkits": sorted({a.toolkit for a in attempts}),
        "attempts": [a.to_json() for a in attempts],
    }
