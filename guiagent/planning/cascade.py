"""The cascade: the rule planner does what it can parse, a model planner does the rest.

The task is cut into segments at clause boundaries: runs of clauses the rule planner parses go to
it, a clause it cannot parse goes to the model planner (D-PoT or ReAct) as its own sub-task. A rule
segment that ends `impossible` (a target it could not find, a postcondition that stayed false)
is handed to the model planner too, once, with the rule planner's account of what it saw. Each
hand-off is recorded on the first decision the new planner makes (`Decision.handoff`), so a trace
shows who decided what and why; the model's token usage counts only on the segments it served.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from guiagent.planning.base import Planner
from guiagent.planning.instructions import parse_instructions
from guiagent.planning.instructions.phrases import PLACEHOLDER, Masked
from guiagent.planning.rule import RulePlanner
from guiagent.schema import Decision, Done, Observation, Step
from guiagent.schema.errors import InstructionNotUnderstood

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Segment:
    kind: Literal["rule", "model"]
    text: str
    why: str = ""  # for a model segment: what the rule planner could not parse


def _goals(text: str) -> int | str:
    """How many sub-goals the rule planner reads in `text`, or why it reads none."""
    try:
        return len(parse_instructions(text))
    except InstructionNotUnderstood as exc:
        return str(exc)


def _unmask(masked: Masked, piece: str) -> str:
    """`piece` with its quoted spans back, quotes included (the rule planner reads them as names)."""
    def quoted(m: re.Match[str]) -> str:
        text = masked.quotes[int(m.group(1))]
        return f'"{text}"' if "'" in text else f"'{text}'"

    return PLACEHOLDER.sub(quoted, piece)


# Clause boundaries: sentence ends, commas, "and", "then" (quoted text is masked first).
_BOUNDARY = re.compile(r"[.!?;]+\s+|\s*,\s*(?:and\s+then\s+|and\s+|then\s+)?|\s+(?:and\s+then|then|and)\s+", re.I)


def segment(task: str) -> list[Segment]:
    """The task as rule / model segments, cut at clause boundaries. A piece joins the rule
    segment before it when the joined text gives the rule planner more sub-goals ("select
    Open, Check" -> two selections); a piece the joined parse merely swallows into a target's
    name ("type 'x' into Name, frobnicate the widget") is not understood and goes to the model."""
    masked = Masked(task.strip())
    pieces = [_unmask(masked, p).strip(" .") for p in _BOUNDARY.split(masked.masked)]
    out: list[Segment] = []
    for piece in filter(None, pieces):
        alone = _goals(piece)
        if out and out[-1].kind == "rule":
            before, joined = _goals(out[-1].text), f"{out[-1].text}, {piece}"
            after = _goals(joined)
            if isinstance(after, int) and (isinstance(alone, int) or (isinstance(before, int) and after > before)):
                out[-1] = Segment("rule", joined)
                continue
        if isinstance(alone, int):
            out.append(Segment("rule", piece))
        elif out and out[-1].kind == "model":
            out[-1] = Segment("model", f"{out[-1].text}, {piece}", out[-1].why)
        else:
            out.append(Segment("model", piece, alone))
    if len(out) == 1 and out[0].kind == "rule":
        return [Segment("rule", task)]  # the rule planner reads it all: keep the task's own wording
    return out or [Segment("model", task, "the task is empty")]


class CascadePlanner(Planner):
    """`rule+dpot` / `rule+react`: see the module docstring. `model` is the model planner."""

    keeps_plan = True

    def __init__(self, model: Planner, rule: Planner | None = None) -> None:
        self.rule = rule or RulePlanner()
        self.model = model
        self.name = f"rule+{model.name}"
        self._task: str | None = None
        self._segments: list[Segment] = []
        self._index = 0
        self._active: Planner = self.rule
        self._handoff: str | None = None
        self._handed: set[int] = set()
        self.handoffs: list[str] = []

    def reset(self, task: str) -> None:
        self._task = task
        self._segments = segment(task)
        self._index = 0
        self._handed = set()
        self.handoffs = []
        log.debug("cascade segments for %r: %s", task, self._segments)
        self._start_segment()

    def _start_segment(self) -> None:
        seg = self._segments[self._index]
        if seg.kind == "rule":
            self._active, self._handoff = self.rule, None
            self.rule.reset(seg.text)
        else:
            self._to_model(f"the rule planner cannot parse it: {seg.why}")

    def _to_model(self, why: str) -> None:
        self._active = self.model
        self._handed.add(self._index)
        self._handoff = f"rule -> {self.model.name}: {why}"
        self.handoffs.append(self._handoff)
        self.model.reset(self._model_task())

    def _model_task(self) -> str:
        seg = self._segments[self._index]
        if len(self._segments) == 1:
            return seg.text
        return f"{seg.text}\n(This is one part of the task \"{self._task}\"; the other parts are handled separately: " \
               f"do only this part, then answer done.)"

    def _segment_task(self) -> str:
        return self._segments[self._index].text if self._active is self.rule else self._model_task()

    def next(self, task: str, observation: Observation, history: Sequence[Step],
             feedback: str | None = None) -> Decision:
        if task != self._task:
            self.reset(task)
        for _ in range(2 * len(self._segments) + 2):  # each pass starts a segment or hands one over
            decision = self._active.next(self._segment_task(), observation, history, feedback)
            action = decision.action
            if not isinstance(action, Done):
                return self._stamp(decision)
            if action.status == "success" and self._index + 1 < len(self._segments):
                self._index += 1
                feedback = None
                self._start_segment()
                continue
            if action.status == "impossible" and self._active is self.rule and self._index not in self._handed:
                self._to_model(f"the rule planner gave up: {action.answer or decision.thought}")
                feedback = None
                continue
            return self._stamp(decision)
        raise AssertionError("the cascade did not settle on a decision")  # each pass advances or returns

    def _stamp(self, decision: Decision) -> Decision:
        update: dict[str, Any] = {"planner": self._active.name}
        if self._handoff is not None:
            update["handoff"], self._handoff = self._handoff, None
        return decision.model_copy(update=update)

    def close(self) -> None:
        self.rule.close()
        self.model.close()


# The registry's factories (`--planner rule+dpot`, `rule+react`): the model planner's options pass through.
def rule_then_dpot(chat: Callable[..., Any], **options: Any) -> CascadePlanner:
    from guiagent.planning.dpot import DPoTPlanner

    return CascadePlanner(DPoTPlanner.from_options(chat, **options))


def rule_then_react(chat: Callable[..., Any], **options: Any) -> CascadePlanner:
    from guiagent.planning.react import ReActPlanner

    return CascadePlanner(ReActPlanner.from_options(chat, **options))
