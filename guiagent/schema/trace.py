"""What happened: decisions, guard verdicts, outcomes, token usage, steps and episodes, as
they are recorded (episode folders, daemon trajectories) and exported for training."""

from __future__ import annotations

import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from guiagent.schema.actions import Action
from guiagent.schema.screen import Element


class TokenUsage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            calls=self.calls + other.calls,
        )


class Decision(BaseModel):
    """What a planner decided: its reasoning, its plan, and one action."""

    model_config = ConfigDict(frozen=True)
    thought: str = ""
    subgoal: str = ""  # the plan step this action serves
    plan: tuple[str, ...] = ()  # remaining steps after this one
    action: Action
    raw: str | None = None  # model output, kept for debugging and training
    usage: TokenUsage = Field(default_factory=TokenUsage)
    planner: str = ""  # which planner decided (set by a cascade: "rule" or the model planner's name)
    handoff: str | None = None  # a cascade's hand-off to this planner, and why


class GuardDecision(BaseModel):
    verdict: Literal["allow", "ask", "block"]
    reason: str = ""
    rule: str = ""
    # how an "ask" was settled: approved / declined / skipped by the user, or refused unattended
    resolution: Literal["approved", "declined", "skipped", "refused"] | None = None


class Outcome(BaseModel):
    status: Literal["ok", "failed", "blocked", "skipped"] = "ok"
    error: str | None = None
    screen_changed: bool | None = None
    via: str | None = None  # how the device carried it out, e.g. "input" or "uia:invoke"


class Step(BaseModel):
    """One turn of the loop (or one recorded human action)."""

    index: int
    timestamp: float = Field(default_factory=time.time)
    source: Literal["agent", "human"] = "agent"
    frame: str | None = None  # path of the pre-action frame, relative to the episode folder
    screen_size: tuple[int, int] = (0, 0)
    foreground: str | None = None
    elements: list[Element] = Field(default_factory=list)
    decision: Decision | None = None
    action: Action | None = None  # the grounded action that ran (or would have)
    target_element: Element | None = None
    guard: GuardDecision | None = None
    outcome: Outcome = Field(default_factory=Outcome)
    timings_ms: dict[str, float] = Field(default_factory=dict)
    usage: TokenUsage = Field(default_factory=TokenUsage)


RunStatus = Literal["running", "success", "failed", "stopped"]


class EpisodeMeta(BaseModel):
    id: str
    task: str
    source: Literal["agent", "human"] = "agent"
    device: str = ""
    platform: str = ""
    screen_size: tuple[int, int] = (0, 0)
    planner: str | None = None
    grounder: str | None = None
    started_at: float = Field(default_factory=time.time)
    ended_at: float | None = None
    status: RunStatus = "running"
    reason: str | None = None
    answer: str | None = None
    steps: int = 0
    usage: TokenUsage = Field(default_factory=TokenUsage)
    schema_version: int = 1


class Trajectory(BaseModel):
    meta: EpisodeMeta
    steps: list[Step] = Field(default_factory=list)
