"""`guiagent bench models`: how reliably a model endpoint answers the planners in a valid format.

Over N steps of scripted screens (the demo form, the virtual phone's Settings, a few MiniWoB
screens; each an element list drawn into a screenshot, so no display is needed), every planner
(dpot, react) decides one step per screen with each structured mode (off, json_object,
json_schema, ...). Measured per (planner, mode):

- valid: the step's replies parse into a valid action AS SENT: every reply's JSON parses without
  repair (a raw line break in a string, a truncated object: invalid) and the planner accepts it;
- not done: the step's action is not `done` (a schema that only admits `done` would score 0);
- on screen: the action's target is an element of the screen (by id, or a point inside one);
- tokens and seconds per step (medians; D-PoT makes two calls per step, ReAct one).

A mode the endpoint refuses (an HTTP error naming the format) is reported as refused.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from grounding.models.base import ChatMessage, ChatModel, ChatReply
from grounding.models.response_format import (
    EndpointError,
    StructuredChatModel,
    StructuredRequest,
    refuses_format,
)
from guiagent.formats.action_json import extract_json_object
from guiagent.schema import Element, Observation, Role, action_targets
from guiagent.schema.actions import Done
from guiagent.schema.errors import ConfigError, GuiAgentError, PlanParseError

PLANNERS = ("dpot", "react")
MODES = ("off", "json_object", "json_schema")


@dataclass(frozen=True)
class Screen:
    name: str
    platform: str
    size: tuple[int, int]
    elements: tuple[Element, ...]
    tasks: tuple[str, ...]


def _el(id_: str, role: Role, name: str, box: tuple[int, int, int, int], **kw: Any) -> Element:
    return Element(id=id_, role=role, name=name, bbox=box, **kw)


SCREENS: tuple[Screen, ...] = (
    Screen("demo form", "linux", (640, 480), (
        _el("1", Role.TEXT, "Name", (20, 40, 80, 60)),
        _el("2", Role.TEXT_FIELD, "Name", (100, 36, 400, 64), editable=True),
        _el("3", Role.CHECKBOX, "Subscribe", (100, 80, 220, 100), checked=False, clickable=True),
        _el("4", Role.TEXT, "Plan", (20, 120, 80, 140)),
        _el("5", Role.RADIO, "Free", (100, 120, 170, 140), checked=True, clickable=True),
        _el("6", Role.RADIO, "Pro", (180, 120, 250, 140), checked=False, clickable=True),
        _el("7", Role.BUTTON, "Submit", (100, 170, 200, 200), clickable=True),
    ), ("Type 'Ada Lovelace' into Name, tick Subscribe, then click Submit", "Choose the Pro plan")),
    Screen("phone settings", "android", (1080, 2400), (
        _el("u1", Role.TEXT, "Settings", (40, 120, 400, 200)),
        _el("u2", Role.SWITCH, "Wi-Fi", (40, 260, 1040, 380), checked=True, clickable=True),
        _el("u3", Role.SWITCH, "Bluetooth", (40, 400, 1040, 520), checked=False, clickable=True),
        _el("u4", Role.SWITCH, "Airplane mode", (40, 540, 1040, 660), checked=False, clickable=True),
        _el("u5", Role.TEXT, "About phone", (40, 720, 1040, 840), clickable=True),
    ), ("Turn on Bluetooth", "Open About phone")),
    Screen("miniwob click-button", "linux", (160, 210), (
        _el("b1", Role.TEXT, "Click on the \"ok\" button.", (0, 0, 160, 50)),
        _el("b2", Role.BUTTON, "cancel", (10, 80, 70, 100), clickable=True),
        _el("b3", Role.BUTTON, "ok", (90, 80, 150, 100), clickable=True),
    ), ("Click on the \"ok\" button.",)),
    Screen("miniwob enter-text", "linux", (160, 210), (
        _el("t1", Role.TEXT, "Enter \"Kiera\" into the text field and press Submit.", (0, 0, 160, 50)),
        _el("t2", Role.TEXT_FIELD, "", (10, 70, 150, 90), editable=True),
        _el("t3", Role.BUTTON, "Submit", (40, 110, 120, 130), clickable=True),
    ), ("Enter \"Kiera\" into the text field and press Submit.",)),
    Screen("miniwob click-checkboxes", "linux", (160, 210), (
        _el("c1", Role.TEXT, "Select nSbR and click Submit.", (0, 0, 160, 50)),
        _el("c2", Role.CHECKBOX, "nSbR", (10, 60, 90, 75), checked=False, clickable=True),
        _el("c3", Role.CHECKBOX, "qXo", (10, 80, 90, 95), checked=False, clickable=True),
        _el("c4", Role.BUTTON, "Submit", (40, 120, 120, 140), clickable=True),
    ), ("Select nSbR and click Submit.",)),
)


def observation(screen: Screen) -> Observation:
    """The screen as an observation: its elements drawn as labelled boxes on a white screenshot."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", screen.size, "white")
    draw = ImageDraw.Draw(image)
    for e in screen.elements:
        draw.rectangle(e.bbox, outline="black")
        draw.text((e.bbox[0] + 3, e.bbox[1] + 3), e.name, fill="black")
    return Observation(screenshot=image, elements=screen.elements, screen_size=screen.size, device_id=screen.name)


def cases(n: int) -> list[tuple[Screen, str]]:
    """N (screen, task) pairs, cycling over every task of every screen."""
    pairs = [(s, t) for s in SCREENS for t in s.tasks]
    return [pairs[i % len(pairs)] for i in range(n)]


class RecordingModel(ChatModel):
    """Passes calls on to `inner` and keeps every reply (the bench judges them as sent)."""

    def __init__(self, inner: ChatModel) -> None:
        self.inner, self.name = inner, inner.name
        self.replies: list[ChatReply] = []

    def chat(self, messages: Sequence[ChatMessage], *, max_tokens: int = 512, temperature: float = 0.0) -> ChatReply:
        return self._keep(self.inner.chat(messages, max_tokens=max_tokens, temperature=temperature))

    def chat_structured(self, messages: Sequence[ChatMessage], request: StructuredRequest, *,
                        max_tokens: int = 512, temperature: float = 0.0) -> ChatReply:
        if not isinstance(self.inner, StructuredChatModel):
            raise ConfigError(f"{self.name} takes no response format")
        return self._keep(self.inner.chat_structured(messages, request, max_tokens=max_tokens,
                                                     temperature=temperature))

    def _keep(self, reply: ChatReply) -> ChatReply:
        self.replies.append(reply)
        return reply

    def close(self) -> None:
        self.inner.close()


@dataclass
class StepResult:
    valid: bool
    not_done: bool
    on_screen: bool
    tokens: int
    seconds: float
    error: str = ""
    replies: list[str] = field(default_factory=list)


@dataclass
class Row:
    planner: str
    mode: str
    steps: list[StepResult] = field(default_factory=list)
    refused: str = ""  # the endpoint's refusal of the mode, when it refused it

    def share(self, what: Callable[[StepResult], bool]) -> float:
        return sum(1 for s in self.steps if what(s)) / len(self.steps) if self.steps else 0.0

    @property
    def valid(self) -> float:
        return self.share(lambda s: s.valid)

    @property
    def not_done(self) -> float:
        return self.share(lambda s: s.not_done)

    @property
    def on_screen(self) -> float:
        return self.share(lambda s: s.on_screen)

    @property
    def tokens(self) -> float:
        return statistics.median(s.tokens for s in self.steps) if self.steps else 0.0

    @property
    def seconds(self) -> float:
        return statistics.median(s.seconds for s in self.steps) if self.steps else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"planner": self.planner, "mode": self.mode, "steps": len(self.steps), "refused": self.refused,
                "valid": round(self.valid, 3), "not_done": round(self.not_done, 3),
                "on_screen": round(self.on_screen, 3), "median_tokens": self.tokens,
                "median_seconds": round(self.seconds, 3),
                "errors": [s.error for s in self.steps if s.error][:5],
                "sample_replies": [r for s in self.steps[:2] for r in s.replies]}


def parses_as_sent(text: str) -> bool:
    """The reply's JSON object parses as it is (no repair of raw control characters)."""
    try:
        extract_json_object(text)
    except PlanParseError:
        return False
    return True


def target_on_screen(action: Any, obs: Observation) -> bool:
    targets = action_targets(action)
    if not targets:
        return False
    for t in targets:
        if t.element and obs.element(t.element) is not None:
            continue
        if t.point is not None:
            px, py = t.point.to_pixels(obs.screen_size)
            if any(e.bbox[0] <= px <= e.bbox[2] and e.bbox[1] <= py <= e.bbox[3] for e in obs.elements):
                continue
        return False
    return True


def run_step(planner: Any, model: RecordingModel, screen: Screen, task: str) -> StepResult:
    obs = observation(screen)
    planner.platform = screen.platform
    planner.reset(task)
    before = len(model.replies)
    start = time.perf_counter()
    try:
        decision = planner.next(task, obs, [])
    except EndpointError:
        raise
    except GuiAgentError as exc:
        replies = model.replies[before:]
        return StepResult(False, False, False, sum(r.usage.total for r in replies), time.perf_counter() - start,
                          error=str(exc)[:300], replies=[r.text for r in replies])
    seconds = time.perf_counter() - start
    replies = model.replies[before:]
    action = decision.action
    return StepResult(
        valid=all(parses_as_sent(r.text) for r in replies),
        not_done=not isinstance(action, Done),
        on_screen=target_on_screen(action, obs),
        tokens=sum(r.usage.total for r in replies), seconds=seconds, replies=[r.text for r in replies])


def bench_models(chat_options: dict[str, Any], *, steps: int = 10, planners: Sequence[str] = PLANNERS,
                 modes: Sequence[str] = MODES, images: bool = False, max_tokens: int = 256,
                 on_row: Callable[[Row], None] | None = None) -> list[Row]:
    """One row per (planner, mode): `steps` steps through a fresh client to the endpoint."""
    from guiagent.planning.structured import platform_actions
    from guiagent.registry import build_chat_model, check_planner, resolve

    if steps < 1:
        raise ConfigError("steps must be at least 1")
    rows = []
    for name in planners:
        entry = check_planner(name, {})
        cls = resolve(entry.options_of[0]) if entry.options_of else None
        if cls is None or not entry.chat:
            raise ConfigError(f"the {name} planner asks no model: nothing to bench")
        for mode in modes:
            model = RecordingModel(build_chat_model(**chat_options))
            planner = cls(model, structured=mode, images=images, max_tokens=max_tokens, marks=images)
            row = Row(name, mode)
            try:
                for screen, task in cases(steps):
                    planner.supported = platform_actions(screen.platform)
                    row.steps.append(run_step(planner, model, screen, task))
            except EndpointError as exc:
                if not refuses_format(exc.status, exc.detail):
                    raise
                row.refused, row.steps = " ".join(f"HTTP {exc.status}: {exc.detail}".split())[:160], []
            finally:
                planner.close()
            rows.append(row)
            if on_row:
                on_row(row)
    return rows
