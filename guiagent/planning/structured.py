"""The JSON schemas of the model planners' replies, generated from the pydantic action union.

`decision_schema` is what D-PoT's action call and ReAct answer: {"thought": ..., "action": {...}}
where the action is one of the types the device supports (each type's fields, bounds and enums
as the pydantic models declare them) and, when the screen's elements are known, every target is
{"element": <an id on this screen>} or {"point": {"x", "y"}}; without elements a target may also
be {"description": ...}. `PLAN_SCHEMA` is D-PoT's plan call. The schemas are self-contained (no
$ref: llama.cpp turns them into a grammar) and keep no free-text bound above `MAX_GRAMMAR_LENGTH`
(a grammar of 20 000 repetitions is huge); the parser enforces every bound anyway.

How they are sent (the dialects, `auto` probing) is grounding.models.response_format's part.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from grounding.models.response_format import (
    StructuredChatModel,
    StructuredMode,
    StructuredRequest,
    check_mode,
)
from guiagent.planning.prompting import MAX_PLAN_STEPS, MAX_STEP
from guiagent.schema import Observation
from guiagent.schema.actions import (
    ACTION_TYPES,
    ALL_ACTIONS,
    DESKTOP_ACTIONS,
    TOUCH_ACTIONS,
    ActionClass,
    Key,
    Target,
    action_type_of,
)
from guiagent.schema.errors import ConfigError
from guiagent.schema.keys import NAMED_KEYS

if TYPE_CHECKING:
    from grounding.models.base import ChatMessage, ChatModel, ChatReply

log = logging.getLogger(__name__)

MAX_GRAMMAR_LENGTH = 256  # longer maxLength bounds are left to the validator
_DROP = frozenset({"title", "description", "default"})
# What a planner's `platform` option says the device can run (the device's own set is finer).
_PLATFORM_ACTIONS: dict[str, frozenset[ActionClass]] = {
    "linux": DESKTOP_ACTIONS, "desktop": DESKTOP_ACTIONS, "windows": DESKTOP_ACTIONS,
    "android": TOUCH_ACTIONS, "phone": TOUCH_ACTIONS,  # no hover: a finger has no pointer to rest
}

PLAN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "thought": {"type": "string"},
        "next_step": {"type": "string", "minLength": 1, "maxLength": MAX_STEP},
        "remaining_plan": {"type": "array", "items": {"type": "string", "maxLength": MAX_STEP},
                           "maxItems": MAX_PLAN_STEPS},
    },
    "required": ["thought", "next_step", "remaining_plan"],
    "additionalProperties": False,
}


def platform_actions(platform: str) -> frozenset[ActionClass]:
    """The action types a platform's devices run (every type for an unknown platform)."""
    return _PLATFORM_ACTIONS.get(platform.lower(), ALL_ACTIONS)


def target_schema(element_ids: Sequence[str] | None) -> dict[str, Any]:
    """A target: an element of this screen (ids as an enum), a point, or (no elements) a description."""
    point = _inline(Target.model_json_schema())["properties"]["point"]
    choices: list[dict[str, Any]] = []
    if element_ids:
        ids = list(dict.fromkeys(element_ids))
        choices.append(_one_key("element", {"type": "string", "enum": ids}))
    choices.append(_one_key("point", point))
    if not element_ids:
        choices.append(_one_key("description", {"type": "string", "minLength": 1,
                                                "maxLength": MAX_GRAMMAR_LENGTH}))
    return {"anyOf": choices}


def action_schema(actions: Iterable[ActionClass] = ALL_ACTIONS,
                  element_ids: Sequence[str] | None = None) -> dict[str, Any]:
    """One action of the given types (in the union's order), targets as `target_schema`."""
    wanted = frozenset(actions)
    classes = [cls for cls in map(action_type_of, ACTION_TYPES) if cls in wanted]
    if not classes:
        raise ConfigError("no action type left to put in the reply schema")
    target = target_schema(element_ids)
    return {"anyOf": [_action_class_schema(cls, target) for cls in classes]}


def decision_schema(actions: Iterable[ActionClass] = ALL_ACTIONS,
                    element_ids: Sequence[str] | None = None) -> dict[str, Any]:
    """{"thought": ..., "action": <one action>}: D-PoT's action call and ReAct's turn."""
    return {
        "type": "object",
        "properties": {"thought": {"type": "string"}, "action": action_schema(actions, element_ids)},
        "required": ["thought", "action"],
        "additionalProperties": False,
    }


def screen_ids(observation: Observation, max_elements: int) -> list[str]:
    """The ids of the elements the prompt lists (the first `max_elements`)."""
    return [e.id for e in observation.elements[:max_elements]]


def _one_key(key: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {key: schema}, "required": [key], "additionalProperties": False}


def _action_class_schema(cls: ActionClass, target: dict[str, Any]) -> dict[str, Any]:
    raw = cls.model_json_schema()
    out = _inline(raw, target)
    props = out["properties"]
    # the discriminator first and required (pydantic marks it optional: it has a default)
    out["properties"] = {"type": props.pop("type"), **props}
    out["required"] = ["type", *[r for r in out.get("required", []) if r != "type"]]
    if cls is Key:  # key names are checked by a validator, not by the field's type: name them here
        out["properties"]["keys"]["items"] = {"anyOf": [
            {"type": "string", "enum": sorted(NAMED_KEYS)}, {"type": "string", "minLength": 1, "maxLength": 1}]}
    return out


def _inline(schema: dict[str, Any], target: dict[str, Any] | None = None) -> dict[str, Any]:
    """`schema` without $refs (Target replaced by `target` when given), optional-null unions
    collapsed, titles, descriptions and defaults dropped, long maxLength bounds removed."""
    defs = schema.get("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(n) for n in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            if name == "Target" and target is not None:
                return target
            return walk(defs[name])
        any_of = node.get("anyOf")
        if isinstance(any_of, list):  # X | None -> X (an optional field is simply left out)
            kept = [n for n in any_of if n != {"type": "null"}]
            if len(kept) == 1:
                return walk({**{k: v for k, v in node.items() if k != "anyOf"}, **kept[0]})
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _DROP or key == "$defs":
                continue
            if key == "maxLength" and isinstance(value, int) and value > MAX_GRAMMAR_LENGTH:
                continue
            out[key] = value if key in ("enum", "const", "required") else walk(value)
        return out

    result: dict[str, Any] = walk(schema)
    return result


class Structured:
    """A planner's or grounder's structured-output setting: the mode, and the call that uses it."""

    def __init__(self, mode: object, model: ChatModel) -> None:
        self.mode: StructuredMode = check_mode(mode)
        self.capable = isinstance(model, StructuredChatModel)
        if not self.capable and self.mode not in ("off", "auto"):
            raise ConfigError(f"structured={self.mode} needs an OpenAI-compatible endpoint; "
                              f"{getattr(model, 'name', 'this model')} takes no response format")
        if not self.capable and self.mode == "auto":
            log.info("structured outputs: %s takes no response format; replies are unconstrained",
                     getattr(model, "name", "the model"))

    @property
    def on(self) -> bool:
        return self.mode != "off" and self.capable

    def chat(self, model: ChatModel, messages: Sequence[ChatMessage], name: str, schema: dict[str, Any], *,
             max_tokens: int, temperature: float) -> ChatReply:
        if self.on and isinstance(model, StructuredChatModel):
            request = StructuredRequest(name=name, schema=schema, mode=self.mode)
            return model.chat_structured(messages, request, max_tokens=max_tokens, temperature=temperature)
        return model.chat(messages, max_tokens=max_tokens, temperature=temperature)
