"""ReAct (Yao et al.): the baseline planner. Thought / Action / Observation are appended to ONE
growing dialogue that is sent in full at every step, screenshots included (so the prompt grows
with every step; D-PoT's paper shows this is what hurts on long GUI tasks). `max_images` can
keep only the newest screenshots in the dialogue (older observations keep their text).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from grounding.models.base import ChatMessage
from guiagent.planning.base import Planner
from guiagent.planning.prompting import (
    ACTION_SPACE,
    MAX_THOUGHT,
    UsageMeter,
    check_reply_size,
    describe_screen,
    executed_action,
    fill,
    keep_raw,
    load_sections,
    marks_note,
    parse_json_reply,
    parse_reply_action,
    safe_text,
    screen_image,
    split_options,
    step_result,
)
from guiagent.planning.structured import Structured, decision_schema, platform_actions, screen_ids
from guiagent.schema import Decision, Observation, Step, describe_action
from guiagent.schema.errors import PlanParseError

if TYPE_CHECKING:
    from grounding.models.base import ChatModel

log = logging.getLogger(__name__)

_THOUGHT = re.compile(r"Thought\s*:\s*(.*?)(?=\n\s*Action\s*:|\Z)", re.S | re.I)
_ACTION = re.compile(r"Action\s*:\s*(.*)", re.S | re.I)
JSON_TURN = ('Your answers are constrained to one JSON object instead: '
             '{"thought": "<your reasoning>", "action": {<ONE action object>}}')


class ReActPlanner(Planner):
    name = "react"
    keeps_plan = False

    def __init__(self, model: ChatModel, *, marks: bool = True, max_tokens: int = 512, temperature: float = 0.0,
                 platform: str = "device", max_elements: int = 60, max_images: int | None = None,
                 structured: str = "off", images: bool = True) -> None:
        self.model = model
        self.marks, self.max_tokens, self.temperature = marks, max_tokens, temperature
        self.platform, self.max_elements, self.max_images = platform, max_elements, max_images
        self.images = images  # False: text only (the element list), for models that take no image
        self.structured = Structured(structured, model)  # see guiagent.planning.structured
        self.supported = platform_actions(platform)
        self.dialogue: list[ChatMessage] = []
        self._task: str | None = None
        self._steps_seen = 0

    @classmethod
    def from_options(cls, build_model: Callable[..., ChatModel], /, **options: Any) -> ReActPlanner:
        """Planner options (marks, max_tokens, temperature, platform, max_elements, max_images); the
        rest build the chat model through `build_model` (the registry's build_chat_model)."""
        mine, rest = split_options(options, cls)
        return cls(build_model(**rest), **mine)

    def reset(self, task: str) -> None:
        self.dialogue, self._task, self._steps_seen = [], task, 0

    def next(self, task: str, observation: Observation, history: Sequence[Step],
             feedback: str | None = None) -> Decision:
        if task != self._task or len(history) < self._steps_seen or not self.dialogue:
            self.reset(task)
        sections = load_sections("react")
        image, marked = screen_image(observation, self.marks and self.images)
        images = (image,) if self.images and image is not None else ()
        marked = marked and bool(images)
        screen = {"elements": describe_screen(observation, self.max_elements), "marks_note": marks_note(marked)}
        if not self.dialogue:
            system = fill(sections["system"], platform=self.platform, actions=ACTION_SPACE)
            if self.structured.on:  # the endpoint constrains the turn to the JSON form
                system += f"\n\n{JSON_TURN}"
            self.dialogue.append(ChatMessage("system", system))
            self.dialogue.append(ChatMessage("user", fill(sections["task"], goal=task, **screen), images))
        elif len(history) > self._steps_seen:  # a new step: observe what the last action did
            last = history[-1]
            action = executed_action(last)
            text = fill(sections["observation"], last_action=describe_action(action) if action else "none",
                        result=_result_words(last), **screen)
            self.dialogue.append(ChatMessage("user", text, images))
        elif feedback:  # a retry of the same step
            self.dialogue.append(ChatMessage("user", fill(sections["feedback"], feedback=feedback)))
        self._steps_seen = len(history)

        meter = UsageMeter()
        schema = decision_schema(self.supported, screen_ids(observation, self.max_elements))
        raw = meter.chat(self.model, self._messages(), max_tokens=self.max_tokens, temperature=self.temperature,
                         structured=self.structured, schema=("react_turn", schema))
        self.dialogue.append(ChatMessage("assistant", keep_raw(raw)))  # kept even when it does not parse
        try:
            thought, action = _parse(raw, observation.screen_size)
        except PlanParseError as exc:
            raise meter.fail(PlanParseError(str(exc), raw=raw)) from None
        return Decision(thought=thought, action=action, raw=keep_raw(raw), usage=meter.usage)

    def _messages(self) -> list[ChatMessage]:
        """The dialogue to send; with `max_images`, older screenshots are dropped (text kept)."""
        if self.max_images is None:
            return list(self.dialogue)
        keep = self.max_images
        out: list[ChatMessage] = []
        for m in reversed(self.dialogue):
            if m.images and keep <= 0:
                m = ChatMessage(m.role, m.text + "\n(screenshot omitted)")
            elif m.images:
                keep -= 1
            out.append(m)
        return out[::-1]

    def close(self) -> None:
        self.model.close()


def _result_words(step: Step) -> str:
    r = step_result(step)
    return f"ran: {r}" if step.outcome.status == "ok" else f"did not run as intended ({r})"


def _parse(raw: str, screen_size: tuple[int, int]) -> tuple[str, Any]:
    check_reply_size(raw)
    thought_m = _THOUGHT.search(raw)
    thought = safe_text(thought_m.group(1), MAX_THOUGHT) if thought_m else ""
    action_m = _ACTION.search(raw)
    body = action_m.group(1) if action_m else raw
    obj = parse_json_reply(body)
    if not thought_m:  # the JSON form (structured outputs): {"thought": ..., "action": {...}}
        thought = safe_text(obj.get("thought"), MAX_THOUGHT)
    return thought, parse_reply_action(obj, raw, screen_size)
