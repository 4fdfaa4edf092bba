"""D-PoT: Dynamic Planning of Thoughts (Zhang et al., "Dynamic Planning for LLM-based GUI
Automation").

Two model calls per step, both with the current screenshot:
1. plan: goal + screen elements + executed steps and actions (+ the previous plan to revise)
   -> a FRESH plan of the remaining steps and the immediate step;
2. act: the same context + that immediate step -> one action.
What is carried from step to step is the list of executed steps and actions (read from the
loop's `history`), never the dialogue, so the prompt stays about the same size at every step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from grounding.models.base import ChatMessage
from guiagent.planning.base import Planner
from guiagent.planning.prompting import (
    ACTION_SPACE,
    MAX_THOUGHT,
    UsageMeter,
    as_plan,
    describe_screen,
    fill,
    history_lines,
    keep_raw,
    load_sections,
    marks_note,
    parse_json_reply,
    parse_reply_action,
    plan_step,
    safe_text,
    screen_image,
    split_options,
)
from guiagent.planning.structured import (
    PLAN_SCHEMA,
    Structured,
    decision_schema,
    platform_actions,
    screen_ids,
)
from guiagent.schema import Decision, Observation, Step
from guiagent.schema.errors import PlanParseError

if TYPE_CHECKING:
    from grounding.models.base import ChatModel

log = logging.getLogger(__name__)


class DPoTPlanner(Planner):
    name = "dpot"
    keeps_plan = True

    def __init__(self, model: ChatModel, *, marks: bool = True, max_tokens: int = 512, temperature: float = 0.0,
                 platform: str = "device", max_elements: int = 60, structured: str = "off",
                 images: bool = True) -> None:
        self.model = model
        self.marks, self.max_tokens, self.temperature = marks, max_tokens, temperature
        self.platform, self.max_elements = platform, max_elements
        self.images = images  # False: text only (the element list), for models that take no image
        # structured outputs (see guiagent.planning.structured); `supported` narrows the action
        # types of the schema to a device's own set when the caller knows it
        self.structured = Structured(structured, model)
        self.supported = platform_actions(platform)

    @classmethod
    def from_options(cls, build_model: Callable[..., ChatModel], /, **options: Any) -> DPoTPlanner:
        """Planner options (marks, max_tokens, temperature, platform, max_elements); the rest build
        the chat model through `build_model` (the registry's build_chat_model)."""
        mine, rest = split_options(options, cls)
        return cls(build_model(**rest), **mine)

    def next(self, task: str, observation: Observation, history: Sequence[Step],
             feedback: str | None = None) -> Decision:
        meter = UsageMeter()
        image, marked = screen_image(observation, self.marks and self.images)
        images = (image,) if self.images and image is not None else ()
        marked = marked and bool(images)
        context = {
            "platform": self.platform,
            "goal": task,
            "history": history_lines(history),
            "elements": describe_screen(observation, self.max_elements),
            "marks_note": marks_note(marked),
            "feedback": f"\nYour previous answer for this step was rejected: {feedback}\n" if feedback else "",
        }
        previous_plan = _previous_plan(history)

        # call 1: a fresh plan of what remains + the immediate step
        plan_prompt = fill(load_sections("dpot_plan")["main"], previous_plan=previous_plan, **context)
        raw_plan = meter.chat(self.model, [ChatMessage("user", plan_prompt, images)],
                              max_tokens=self.max_tokens, temperature=self.temperature,
                              structured=self.structured, schema=("dpot_plan", PLAN_SCHEMA))
        try:
            plan_thought, step, remaining = parse_plan_reply(raw_plan)
        except PlanParseError as exc:
            raise meter.fail(PlanParseError(f"plan call: {exc}", raw=exc.raw or raw_plan)) from None

        # call 2: one action for that step, from the same context
        act_prompt = fill(load_sections("dpot_act")["main"], step=step,
                          remaining="; ".join(remaining) or "(nothing after this step)",
                          actions=ACTION_SPACE, **context)
        act_schema = decision_schema(self.supported, screen_ids(observation, self.max_elements))
        raw_act = meter.chat(self.model, [ChatMessage("user", act_prompt, images)],
                             max_tokens=self.max_tokens, temperature=self.temperature,
                             structured=self.structured, schema=("dpot_action", act_schema))
        try:
            act_obj = parse_json_reply(raw_act)
            action = parse_reply_action(act_obj, raw_act, observation.screen_size)
        except PlanParseError as exc:
            raise meter.fail(PlanParseError(f"action call: {exc}", raw=exc.raw or raw_act)) from None
        thought = " ".join(t for t in (plan_thought, safe_text(act_obj.get("thought"), MAX_THOUGHT)) if t)
        log.debug("dpot step %r -> %s (plan: %s)", step, action.type, remaining)
        return Decision(thought=thought, subgoal=step, plan=remaining, action=action,
                        raw=f"{keep_raw(raw_plan)}\n---\n{keep_raw(raw_act)}", usage=meter.usage)

    def close(self) -> None:
        self.model.close()


def parse_plan_reply(raw: str) -> tuple[str, str, tuple[str, ...]]:
    """(thought, the step to do now, the steps after it) from the plan call's reply."""
    obj = parse_json_reply(raw)
    step = plan_step(obj.get("next_step") or obj.get("step") or "", '"next_step"', raw)
    if not step:
        raise PlanParseError('the plan reply has no "next_step"', raw=raw)
    remaining = as_plan(obj.get("remaining_plan", obj.get("plan")), raw)
    if remaining and remaining[0].strip().lower() == step.lower():  # the model repeated the step
        remaining = remaining[1:]
    return safe_text(obj.get("thought"), MAX_THOUGHT), step, remaining


def _previous_plan(history: Sequence[Step]) -> str:
    """The plan the last decision left (what remained after it), for the model to revise."""
    for step in reversed(history):
        if step.decision is not None:
            return "\n".join(f"- {s}" for s in step.decision.plan) or "(nothing remained)"
    return "(no plan yet)"
