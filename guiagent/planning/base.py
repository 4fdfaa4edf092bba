"""The planner protocol: task + observation + history -> one Decision.

Planners return typed actions only. Model output is parsed and validated
(`guiagent.formats.action_json`), never evaluated. A planner that cannot parse its model's reply
raises `PlanParseError`; the loop feeds the error back through `feedback` and retries.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

from guiagent.schema import Decision, Observation, Step


class Planner(abc.ABC):
    name: str = "planner"
    keeps_plan: bool = False  # True when decisions carry a meaningful plan (the app shows it)

    def reset(self, task: str) -> None:  # noqa: B027 - optional hook
        """Forget everything about a previous task."""

    @abc.abstractmethod
    def next(
        self,
        task: str,
        observation: Observation,
        history: Sequence[Step],
        feedback: str | None = None,
    ) -> Decision:
        """Decide the next action. `feedback` carries the error of a rejected previous try
        (unparsable output, an element that could not be grounded)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release models and connections."""
