"""A planner that replays a script: a real `Planner` implementation used to drive the loop
into each of its branches (malformed output, budgets, stops) deterministically."""

from __future__ import annotations

from collections.abc import Sequence

from guiagent.planning.base import Planner
from guiagent.schema import Action, Decision, Observation, Step


class ScriptedPlanner(Planner):
    name = "scripted"

    def __init__(self, script: Sequence[Action | Exception], repeat_last: bool = False) -> None:
        self.script = list(script)
        self.repeat_last = repeat_last
        self.calls = 0
        self.feedbacks: list[str | None] = []
        self.tasks: list[str] = []

    def reset(self, task: str) -> None:
        self.tasks.append(task)

    def next(self, task: str, observation: Observation, history: Sequence[Step],
             feedback: str | None = None) -> Decision:
        self.feedbacks.append(feedback)
        idx = min(self.calls, len(self.script) - 1) if self.repeat_last else self.calls
        self.calls += 1
        item = self.script[idx]
        if isinstance(item, Exception):
            raise item
        return Decision(thought=f"scripted #{idx}", action=item)
