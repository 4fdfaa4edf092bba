"""Structured outputs, without a server: the reply schemas generated from the action union, the
dialects' request fields, what counts as a refusal, the mode option, and the repair of raw
control characters in a reply (a constrained reply is validated like any other)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from grounding.models.response_format import (
    StructuredRequest,
    check_mode,
    next_dialect,
    refuses_format,
    request_fields,
)
from guiagent.eval.scripted_server import schema_instance
from guiagent.planning.prompting import escape_raw_controls, parse_json_reply, parse_reply_action
from guiagent.planning.structured import PLAN_SCHEMA, decision_schema, platform_actions
from guiagent.registry import check_planner, options_of
from guiagent.schema import (
    ACTION_ADAPTER,
    ACTION_TYPES,
    Back,
    Click,
    Done,
    DoubleClick,
    Drag,
    Home,
    Hover,
    Key,
    LongPress,
    OpenApp,
    RightClick,
    Scroll,
    Swipe,
    Target,
    TypeText,
    Wait,
)
from guiagent.schema.actions import ALL_ACTIONS, DESKTOP_ACTIONS
from guiagent.schema.errors import ConfigError, PlanParseError

IDS = ["1", "2", "u7"]
E, P = Target(element="2"), Target.at(0.25, 0.75)
SAMPLES = [
    Click(target=E), DoubleClick(target=E), RightClick(target=P), LongPress(target=E),
    TypeText(text="Ada", target=E, submit=True), Key(keys=("ctrl", "s")), Scroll(direction="down", anchor=E),
    Swipe(start=P, end=Target.at(0.25, 0.1)), Drag(start=E, end=Target(element="u7")), OpenApp(name="Settings"),
    Back(), Home(), Wait(seconds=1), Done(answer="42"), Hover(target=P),
]


def errors(value: Any, schema: dict[str, Any], at: str = "$") -> list[str]:
    """A small JSON Schema checker for exactly the keywords the generated schemas use (an
    unknown keyword fails the test: the checker must not silently ignore a constraint)."""
    known = {"type", "properties", "required", "additionalProperties", "anyOf", "enum", "const", "items",
             "minItems", "maxItems", "minimum", "maximum", "exclusiveMinimum", "minLength", "maxLength"}
    assert set(schema) <= known, f"unchecked keywords {set(schema) - known} at {at}"
    if "anyOf" in schema:
        return [] if any(not errors(value, s, at) for s in schema["anyOf"]) else [f"{at}: no alternative matches"]
    out: list[str] = []
    if "const" in schema and value != schema["const"]:
        out.append(f"{at}: {value!r} != {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{at}: {value!r} not in {schema['enum']}")
    kind = schema.get("type")
    types: dict[str, type | tuple[type, ...]] = {"object": dict, "array": list, "string": str, "boolean": bool,
                                                 "number": (int, float), "integer": int}
    if kind and (not isinstance(value, types[kind]) or (kind in ("number", "integer") and isinstance(value, bool))):
        return [*out, f"{at}: not a {kind}"]
    if kind == "object":
        props = schema.get("properties", {})
        out += [f"{at}: missing {k}" for k in schema.get("required", []) if k not in value]
        if schema.get("additionalProperties") is False:
            out += [f"{at}: extra {k}" for k in value if k not in props]
        for k, v in value.items():
            if k in props:
                out += errors(v, props[k], f"{at}.{k}")
    if kind == "array":
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", math.inf):
            out.append(f"{at}: {len(value)} items")
        out += [e for i, v in enumerate(value) for e in errors(v, schema.get("items", {}), f"{at}[{i}]")]
    if kind == "string" and not schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", math.inf):
        out.append(f"{at}: length {len(value)}")
    if kind in ("number", "integer"):
        if value < schema.get("minimum", -math.inf) or value > schema.get("maximum", math.inf):
            out.append(f"{at}: {value} out of range")
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            out.append(f"{at}: {value} <= {schema['exclusiveMinimum']}")
    return out


def wire(action: Any) -> dict[str, Any]:
    return {"thought": "t", "action": ACTION_ADAPTER.dump_python(action, mode="json", exclude_none=True)}


def test_schema_admits_every_action_type_the_screen_allows_and_each_round_trips() -> None:
    schema = decision_schema(ALL_ACTIONS, IDS)
    alternatives = schema["properties"]["action"]["anyOf"]
    assert [a["properties"]["type"]["const"] for a in alternatives] == list(ACTION_TYPES)  # not only `done`
    assert all(a["required"][0] == "type" for a in alternatives)
    assert "$ref" not in json.dumps(schema) and "$defs" not in json.dumps(schema)  # llama.cpp grammars
    for action in SAMPLES:
        reply = wire(action)
        assert errors(reply, schema) == [], action
        parsed = parse_reply_action(reply, json.dumps(reply), (800, 600))
        assert parsed == action


def test_targets_are_the_screens_element_ids_as_an_enum_or_points() -> None:
    schema = decision_schema(ALL_ACTIONS, IDS)
    click = {"type": "click", "target": {"element": "9"}}
    assert errors({"thought": "", "action": click}, schema)  # no element 9 on this screen
    assert not errors({"thought": "", "action": {"type": "click", "target": {"element": "u7"}}}, schema)
    assert errors({"thought": "", "action": {"type": "click", "target": {"description": "Save"}}}, schema)
    assert errors({"thought": "", "action": {"type": "click", "target": {"point": {"x": 2, "y": 0}}}}, schema)
    # with no element known, a description is the way to name a target
    free = decision_schema(ALL_ACTIONS, [])
    assert not errors({"thought": "", "action": {"type": "click", "target": {"description": "Save"}}}, free)
    assert errors({"thought": "", "action": {"type": "click", "target": {"description": ""}}}, free)


def test_schema_keeps_the_fields_bounds_and_enums_of_the_pydantic_models() -> None:
    schema = decision_schema(ALL_ACTIONS, IDS)
    for bad in ({"type": "scroll", "direction": "sideways"}, {"type": "done", "status": "maybe"},
                {"type": "wait", "seconds": 99}, {"type": "key", "keys": []}, {"type": "type"},
                {"type": "back", "extra": 1}, {"type": "teleport"}, {"target": {"element": "1"}}):
        assert errors({"thought": "", "action": bad}, schema), bad


def test_schema_is_restricted_to_the_platforms_action_types() -> None:
    desktop = decision_schema(platform_actions("linux"), IDS)
    kinds = {a["properties"]["type"]["const"] for a in desktop["properties"]["action"]["anyOf"]}
    assert kinds == {cls.model_fields["type"].default for cls in DESKTOP_ACTIONS}
    assert "swipe" not in kinds and "home" not in kinds and "click" in kinds and "done" in kinds
    assert "hover" in kinds and not errors(wire(Hover(target=Target(element=IDS[0]))), desktop)
    assert errors(wire(Swipe(start=P, end=P)), desktop)
    phone = decision_schema(platform_actions("android"), IDS)
    assert errors(wire(Hover(target=Target(element=IDS[0]))), phone)  # a phone has no pointer to rest
    assert platform_actions("android") == ALL_ACTIONS - {Hover} and platform_actions("device") == ALL_ACTIONS
    with pytest.raises(ConfigError):
        decision_schema(frozenset(), IDS)


def test_plan_schema_and_the_scripted_servers_minimal_instances() -> None:
    plan = schema_instance(PLAN_SCHEMA)
    assert errors(plan, PLAN_SCHEMA) == [] and plan["next_step"]
    schema = decision_schema(ALL_ACTIONS, IDS)
    for alternative in schema["properties"]["action"]["anyOf"]:
        instance = schema_instance(alternative)
        assert errors(instance, alternative) == []
        parse_reply_action({"action": instance}, json.dumps(instance), (800, 600))  # the validator agrees


def test_request_fields_per_dialect() -> None:
    req = StructuredRequest("dpot_action", {"type": "object"}, "json_schema", strict=False)
    assert request_fields("json_schema", req) == {"response_format": {"type": "json_schema", "json_schema": {
        "name": "dpot_action", "schema": {"type": "object"}, "strict": False}}}
    assert request_fields("json_object", req) == {"response_format": {"type": "json_object",
                                                                       "schema": {"type": "object"}}}
    assert request_fields("ollama", req) == {"format": {"type": "object"}}
    assert next_dialect("json_schema") == "json_object" and next_dialect("json_object") is None


@pytest.mark.parametrize(("status", "detail", "refused"), [
    (400, "response_format type 'json_schema' is not supported", True),
    (422, "body -> response_format -> type: unexpected value", True),
    (500, "failed to compile grammar from schema", True),
    (400, "context length exceeded", False),
    (401, "invalid response_format api key", False),
    (429, "rate limit on json_schema requests", False),
])
def test_what_counts_as_a_refused_format(status: int, detail: str, refused: bool) -> None:
    assert refuses_format(status, detail) is refused


def test_the_mode_option() -> None:
    assert [check_mode(v) for v in ("AUTO", " json_object", "off", None, "", True, False)] == [
        "auto", "json_object", "off", "off", "off", "auto", "off"]
    with pytest.raises(ConfigError, match="structured must be one of"):
        check_mode("grammar")
    for planner in ("dpot", "react"):  # the registry reads it from the constructors
        assert {"structured", "images"} <= options_of(check_planner(planner, {}))


def test_raw_newline_inside_a_string_is_repaired_and_still_validated() -> None:
    raw = '{"thought": "the form\nis open", "action": {"type": "click", "target": {"element": "2"}}}'
    assert escape_raw_controls(raw) == raw.replace("\n", "\\n")
    obj = parse_json_reply(raw)
    assert obj["thought"] == "the form\nis open"
    assert parse_reply_action(obj, raw, (800, 600)) == Click(target=E)
    # outside strings, line breaks are JSON whitespace and stay; other control characters stay (and fail)
    assert escape_raw_controls('{\n"a":\t"b\tc"}') == '{\n"a":\t"b\\tc"}'
    assert escape_raw_controls('{"a": "b\x01"}') == '{"a": "b\x01"}'
    # repaired JSON is still validated: a repaired reply with a bad action is a clear failure
    bad = '{"thought": "a\nb", "action": {"type": "click", "target": {"element": true}}}'
    with pytest.raises(PlanParseError, match="element id must be text"):
        parse_reply_action(parse_json_reply(bad), bad, (800, 600))
    with pytest.raises(PlanParseError, match="does not parse"):  # beyond repair: the first error is kept
        parse_json_reply('{"thought": "a\nb", "action": {"type": "click",, }}')
