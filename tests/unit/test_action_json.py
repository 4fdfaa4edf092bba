"""Planner JSON -> typed actions: near-misses accepted, garbage refused with clear errors."""

from __future__ import annotations

import pytest

from guiagent.formats.action_json import action_to_json, extract_json_object, parse_action
from guiagent.schema import Click, Done, Hover, Key, Point, Target, TypeText
from guiagent.schema.errors import PlanParseError


def test_fenced_and_wrapped_forms() -> None:
    text = 'Thought: go.\n```json\n{"thought": "x", "action": {"type": "click", "target": {"element": "12"}}}\n```'
    assert parse_action(text) == Click(target=Target(element="12"))
    assert parse_action('{"action": "tap", "element": "#4"}') == Click(target=Target(element="4"))
    assert parse_action({"type": "type", "value": "hi", "target": "Name field", "submit": True}) == TypeText(
        text="hi", target=Target.described("Name field"), submit=True)
    assert parse_action({"type": "hotkey", "key": "ctrl+s"}) == Key(keys=("ctrl", "s"))
    assert parse_action({"type": "finish", "status": "failed"}) == Done(status="impossible")


def test_hover_and_its_pointer_move_spellings() -> None:
    assert parse_action({"type": "hover", "target": {"element": "7"}}) == Hover(target=Target(element="7"))
    assert parse_action({"action": "mouse_move", "element": "#7"}) == Hover(target=Target(element="7"))
    assert parse_action({"type": "move_to", "x": 640, "y": 200}, screen_size=(1280, 800)) == Hover(
        target=Target(point=Point(x=0.5, y=0.25)))
    with pytest.raises(PlanParseError, match="hover"):
        parse_action({"type": "hover"})  # nowhere to move to


def test_points_lists_and_pixels() -> None:
    assert parse_action({"type": "click", "point": [0.5, 0.25]}).target.point == Point(x=0.5, y=0.25)
    a = parse_action({"type": "click", "x": 640, "y": 200}, screen_size=(1280, 800))
    assert a.target.point == Point(x=0.5, y=0.25)
    with pytest.raises(PlanParseError, match="outside the screen"):
        parse_action({"type": "click", "x": 4000, "y": 10}, screen_size=(1280, 800))


def test_errors_are_clear_and_keep_the_raw_text() -> None:
    with pytest.raises(PlanParseError, match="no JSON object") as e:
        parse_action("I would click the button")
    assert e.value.raw == "I would click the button"
    with pytest.raises(PlanParseError, match="not closed"):
        parse_action('{"type": "click", "target": {"element": "1"')
    with pytest.raises(PlanParseError, match="unknown action type 'fly'"):
        parse_action('{"type": "fly"}')
    with pytest.raises(PlanParseError, match="no 'type'"):
        parse_action('{"target": "OK"}')
    with pytest.raises(PlanParseError, match="invalid key"):
        parse_action('{"type": "key", "keys": "hyper+z"}')
    with pytest.raises(PlanParseError, match="invalid click"):
        parse_action('{"type": "click"}')


def test_braces_inside_strings_and_second_object() -> None:
    assert extract_json_object('noise {"a": "}{"} tail') == {"a": "}{"}
    assert parse_action('[not json} {"type": "back"}').type == "back"


def test_round_trip_through_action_to_json() -> None:
    a = TypeText(text="ünï", target=Target.at(0.1, 0.2))
    assert parse_action(action_to_json(a)) == a


def test_what_the_fuzz_run_found_is_refused_by_name() -> None:
    # an escaped quote ended the string in the brace matcher: the object was "not closed"
    a = parse_action('{"type": "type", "text": "say \\"}\\" ok", "target": "#3"}')
    assert isinstance(a, TypeText) and a.text == 'say "}" ok'
    # 10**400 as a JSON integer: float() overflowed (OverflowError escaped the loop)
    with pytest.raises(PlanParseError, match="must be numbers"):
        parse_action('{"type": "click", "target": [' + "1" + "0" * 400 + ", 5]}")
    # an integer of more than 4300 digits, deep nesting: ValueError / RecursionError escaped
    with pytest.raises(PlanParseError, match="does not parse: Exceeds the limit"):
        extract_json_object('{"id": ' + "9" * 5000 + "}")
    with pytest.raises(PlanParseError, match="nested too deeply"):
        extract_json_object('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")
    # NaN / Infinity points and booleans as coordinates were not refused by name
    with pytest.raises(PlanParseError, match="not finite"):
        parse_action('{"type": "click", "target": [NaN, 0.5]}')
    with pytest.raises(PlanParseError, match="must be numbers"):
        parse_action({"type": "click", "target": {"point": [True, False]}})
    # a list of actions was silently cut to its first one
    with pytest.raises(PlanParseError, match="JSON array of 2"):
        extract_json_object('[{"type": "back"}, {"type": "home"}]')
    # a 10 MB value in an error message: messages stay short
    with pytest.raises(PlanParseError) as exc:
        parse_action({"type": "x" * 10_000_000})
    assert len(str(exc.value)) < 400
    # a NUL or a lone surrogate cannot be typed or written: refused at validation
    with pytest.raises(PlanParseError, match="NUL"):
        parse_action('{"type": "type", "text": "a\\u0000b"}')
    # element ids as the prompts print them ("#u2.1.5") are ids, not descriptions
    click = parse_action('{"type": "click", "target": "#u2.1.5"}')
    assert isinstance(click, Click) and click.target.element == "#u2.1.5"
