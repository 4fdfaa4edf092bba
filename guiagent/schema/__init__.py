"""The shared vocabulary: actions, elements, observations, steps and trajectories.

Floor 1 of the design: imports nothing outside floor 1. Every layer speaks these types. The
action union itself lives in `guiagent.actions` and is re-exported here, so `guiagent.schema`
is the one place to import the vocabulary from.

Coordinates: actions carry points normalized to [0, 1] of the screen, `(x, y)` in that
order. Elements carry pixel boxes `(left, top, right, bottom)` in screenshot pixels. Only a
device converts normalized points to its own pixels.
"""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from guiagent.actions import (  # noqa: F401 - re-exported vocabulary
    ACTION_ADAPTER,
    ACTION_TYPES,
    ALL_ACTIONS,
    DESKTOP_ACTIONS,
    POINTER_ACTIONS,
    TOUCH_ONLY_ACTIONS,
    Action,
    ActionClass,
    Back,
    Click,
    Done,
    DoubleClick,
    Drag,
    Home,
    Key,
    LongPress,
    OpenApp,
    Point,
    RightClick,
    Scroll,
    ScrollDirection,
    Swipe,
    Target,
    TypeText,
    Wait,
    action_targets,
    action_type_of,
    describe_action,
    with_targets,
)
from guiagent.keys import KEY_ALIASES, MODIFIERS, NAMED_KEYS, normalize_key  # noqa: F401 - re-exported

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Role(StrEnum):
    BUTTON = "button"
    TEXT_FIELD = "text_field"
    CHECKBOX = "checkbox"
    RADIO = "radio"
    SWITCH = "switch"
    LINK = "link"
    TEXT = "text"
    ICON = "icon"
    IMAGE = "image"
    COMBOBOX = "combobox"
    LIST_ITEM = "list_item"
    MENU_ITEM = "menu_item"
    TAB = "tab"
    SLIDER = "slider"
    WINDOW = "window"
    CONTAINER = "container"
    OTHER = "other"


Box = tuple[int, int, int, int]


class Element(BaseModel):
    """One thing on the screen: from the a11y tree, OCR, or a pixel detector."""

    model_config = _FROZEN
    id: str
    role: Role = Role.OTHER
    name: str = ""
    value: str | None = None
    bbox: Box
    enabled: bool = True
    focused: bool = False
    checked: bool | None = None
    selected: bool | None = None
    editable: bool = False
    clickable: bool = False
    password: bool = False
    source: Literal["a11y", "ocr", "detector"] = "a11y"
    extras: dict[str, str | int | float | bool | None] = Field(default_factory=dict)

    @field_validator("bbox")
    @classmethod
    def _ordered(cls, b: Box) -> Box:
        left, top, right, bottom = b
        return (min(left, right), min(top, bottom), max(left, right), max(top, bottom))

    @property
    def center(self) -> tuple[float, float]:
        left, top, right, bottom = self.bbox
        return (left + right) / 2, (top + bottom) / 2

    @property
    def width(self) -> int:
        return self.bbox[2] - self.bbox[0]

    @property
    def height(self) -> int:
        return self.bbox[3] - self.bbox[1]

    @property
    def label(self) -> str:
        """Name, else value: what a person would call this element."""
        return self.name or (self.value or "")


class Observation(BaseModel):
    """A frozen snapshot of the screen at one moment. The screenshot is never serialized."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    screenshot: Any = Field(exclude=True, repr=False)  # PIL.Image.Image
    elements: tuple[Element, ...] = ()
    screen_size: tuple[int, int]
    foreground: str | None = None
    timestamp: float = Field(default_factory=time.time)
    device_id: str = ""

    def element(self, element_id: str) -> Element | None:
        return next((e for e in self.elements if e.id == element_id), None)

    def point_of(self, element: Element) -> Point:
        cx, cy = element.center
        return Point.from_pixels(cx, cy, self.screen_size)


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
