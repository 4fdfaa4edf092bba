"""Auto-UI (Zhan & Zhang, "You Only Look at Screens"): chain-of-action planning.

Input: `Previous Actions: <the last 8 actions in AITW form> Goal: <goal>` + the screenshot.
Output: `Action Plan: [<types of this and the next 3 actions>] ; Action Decision: "action_type": ...,
"touch_point": "[y, x]", "lift_point": "[y, x]", "typed_text": ...`, converted to our actions by
`guiagent.formats.aitw.from_aitw` (taps become clicks at points, swipes stay swipes).

Backends: a local Auto-UI checkpoint (`model_path` holding `autoui_config.json`, see
`guiagent.models.autoui_model`), or any ChatModel that answers in the Auto-UI format (e.g. an
Auto-UI model served behind an OpenAI-compatible endpoint): the text is sent with the screenshot.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import ValidationError

from guiagent.formats.action_json import clip
from guiagent.formats.aitw import AitwAction, AitwType, NotRepresentable, from_aitw, to_aitw
from guiagent.models.autoui_text import format_source, parse_target
from guiagent.planning.base import Planner
from guiagent.planning.prompting import check_reply_size, executed_action, keep_raw, split_options
from guiagent.schema import Decision, Observation, Step, TokenUsage
from guiagent.schema.errors import PlanParseError

if TYPE_CHECKING:
    from PIL.Image import Image

    from grounding.models.base import ChatModel
    from guiagent.models.autoui_model import AutoUIModel

log = logging.getLogger(__name__)


class ActionGenerator(Protocol):
    def __call__(self, text: str, image: Image, max_tokens: int) -> tuple[str, TokenUsage]: ...


class LocalAutoUI:
    """A loaded Auto-UI network as a generator."""

    def __init__(self, model: AutoUIModel) -> None:
        self.model = model

    def __call__(self, text: str, image: Image, max_tokens: int) -> tuple[str, TokenUsage]:
        g = self.model.generate(text, image, max_new_tokens=max_tokens)
        return g.text, TokenUsage(prompt_tokens=g.prompt_tokens, completion_tokens=g.completion_tokens, calls=1)


class ChatAutoUI:
    """A chat model that answers in the Auto-UI format."""

    def __init__(self, model: ChatModel) -> None:
        self.model = model

    def __call__(self, text: str, image: Image, max_tokens: int) -> tuple[str, TokenUsage]:
        from grounding.models.base import ChatMessage

        reply = self.model.chat([ChatMessage("user", text, (image,))], max_tokens=max_tokens, temperature=0.0)
        usage = reply.usage if reply.usage.calls else reply.usage.model_copy(update={"calls": 1})
        return reply.text, usage

    def close(self) -> None:
        self.model.close()


def previous_aitw_actions(history: Sequence[Step]) -> list[AitwAction]:
    """The executed actions in AITW form; actions AITW cannot express are left out."""
    out: list[AitwAction] = []
    for step in history:
        action = executed_action(step)
        if action is None or step.outcome.status in ("blocked", "skipped"):
            continue
        try:
            out.append(to_aitw(action))
        except NotRepresentable as exc:
            log.debug("history step %d left out of the Auto-UI input: %s", step.index, exc)
    return out


class AutoUIPlanner(Planner):
    name = "autoui"
    keeps_plan = True

    def __init__(self, generate: ActionGenerator, *, max_tokens: int = 128) -> None:
        self.generate, self.max_tokens = generate, max_tokens

    @classmethod
    def from_options(cls, build_model: Callable[..., ChatModel], /, **options: Any) -> AutoUIPlanner:
        """`model_path=DIR` with an Auto-UI checkpoint loads it locally; otherwise the options
        build a chat model through `build_model` (the registry's build_chat_model), expected to
        answer in Auto-UI form."""
        from guiagent.models.autoui_model import is_autoui_checkpoint

        mine, rest = split_options(options, cls)
        path = rest.get("model_path")
        if path and is_autoui_checkpoint(path):
            from guiagent.models.autoui_model import AutoUIModel

            return cls(LocalAutoUI(AutoUIModel.from_pretrained(path)), **mine)
        return cls(ChatAutoUI(build_model(**rest)), **mine)

    def next(self, task: str, observation: Observation, history: Sequence[Step],
             feedback: str | None = None) -> Decision:
        text = format_source(task, previous_aitw_actions(history))
        if feedback:  # the network has no slot for it; a chat backend can still read it
            text = f"{text} Note: your previous answer was rejected: {feedback}"
        raw, usage = self.generate(text, observation.screenshot, self.max_tokens)
        try:
            check_reply_size(raw)
            plan, aitw_action = parse_target(raw)
            action = from_aitw(aitw_action)
        except PlanParseError as exc:
            exc.with_usage(usage)
            raise
        except ValueError as exc:  # a pydantic ValidationError (a 30 000-character TYPE), int("²") in a type
            raise PlanParseError(f"invalid Auto-UI action: {_problems(exc)}", raw=keep_raw(raw), usage=usage) from None
        rest = plan[1:] if plan and plan[0] == aitw_action.action_type else plan
        current = ("tap" if aitw_action.is_tap else "swipe") if aitw_action.action_type == AitwType.DUAL_POINT \
            else _type_words(aitw_action.action_type)
        return Decision(subgoal=current, plan=tuple(_type_words(t) for t in rest),
                        action=action, raw=keep_raw(raw), usage=usage)

    def close(self) -> None:
        close = getattr(self.generate, "close", None)
        if close is not None:
            close()


def _problems(exc: ValueError) -> str:
    """What was wrong, in one short line (a pydantic error's text spans lines and links)."""
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'action'}: {e['msg']}" for e in exc.errors()[:3])
    return clip(str(exc), 200)


def _type_words(kind: AitwType) -> str:
    return kind.name.lower().replace("_", " ")
