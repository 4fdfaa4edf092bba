"""Writing locations and actions in each model family's answer format, read back by the real decoders."""

from __future__ import annotations

import ast
import json

import pytest

from grounding.answer_format import grounding_answer
from grounding.coord_parse import parse_point
from grounding.vlm import FAMILIES, family_coord_format
from guiagent.formats.aitw import NotRepresentable, to_aitw
from guiagent.recorder.sft_actions import agentnet_code, qwen25vl_answer, showui_answers, uitars_answer
from guiagent.schema import (
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
    Point,
    RightClick,
    Scroll,
    Swipe,
    Target,
    TypeText,
    Wait,
)
from guiagent.schema.errors import ConfigError

P = Point(x=0.3125, y=0.7)
BOX = (0.25, 0.65, 0.375, 0.75)
SEEN = (448, 280)


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("model_type", ["qwen2_vl", "qwen2_5_vl"])
@pytest.mark.parametrize("box", [None, BOX])
def test_grounding_answers_parse_back_to_the_point(family: str, model_type: str, box: tuple | None) -> None:
    fmt = family_coord_format(family, model_type)
    text = grounding_answer(family, P, fmt, SEEN, box)
    back = parse_point(text, fmt, SEEN)
    tol = {"unit": 0.005, "norm1000": 0.0005, "pixels": 1 / 280}[fmt] + 1e-9  # half a unit of the scale
    assert abs(back.x - P.x) <= tol and abs(back.y - P.y) <= tol, text


def test_family_shapes() -> None:
    assert grounding_answer("showui", P, "unit") == "[0.31, 0.70]"
    assert grounding_answer("uitars", P, "norm1000") == "(312,700)"  # round half to even: 312.5 -> 312
    assert grounding_answer("osatlas", P, "norm1000", box=BOX) == "<|box_start|>(250,650),(375,750)<|box_end|>"
    assert grounding_answer("qwen2vl", P, "pixels", SEEN, BOX) == '{"bbox_2d": [112, 182, 168, 210]}'
    with pytest.raises(ConfigError, match="size of the image the model sees"):
        grounding_answer("qwen2vl", P, "pixels")
    with pytest.raises(ConfigError, match="unknown VLM family"):
        family_coord_format("nope")


T, T2 = Target.at(0.25, 0.5), Target.at(0.25, 0.1)
ALL = [Click(target=T), DoubleClick(target=T), RightClick(target=T), LongPress(target=T),
       TypeText(text="it's {{password}}", submit=True), Key(keys="ctrl+s"), Key(keys="enter"),
       Scroll(direction="down", amount=0.5), Swipe(start=T, end=T2), Drag(start=T, end=T2), OpenApp(name="Files"),
       Back(), Home(), Wait(seconds=2), Done(answer="42")]


def test_uitars_grammar_is_read_by_the_grounding_decoder() -> None:
    got = [uitars_answer(a) for a in ALL]
    assert got[0] == "Action: click(start_box='(250,500)')"
    assert parse_point(got[0], "norm1000") == Point(x=0.25, y=0.5)
    assert got[1:4] == ["Action: left_double(start_box='(250,500)')", "Action: right_single(start_box='(250,500)')",
                        "Action: long_press(start_box='(250,500)')"]
    assert got[4] == "Action: type(content='it\\'s {{password}}\\n')"  # the secret stays a placeholder
    assert got[5:8] == ["Action: hotkey(key='ctrl s')", "Action: hotkey(key='enter')",
                        "Action: scroll(start_box='(500,500)', direction='down')"]
    assert got[8] == got[9] == "Action: drag(start_box='(250,500)', end_box='(250,100)')"
    assert got[10:] == ["Action: open_app(app_name='Files')", "Action: press_back()", "Action: press_home()",
                        "Action: wait()", "Action: finished(content='42')"]
    assert uitars_answer(ALL[0], "the Save  button\nis here") == (
        "Thought: the Save button is here\nAction: click(start_box='(250,500)')")


def _qwen(action: object, mobile: bool) -> dict | None:
    try:
        text = qwen25vl_answer(action, SEEN, mobile)  # type: ignore[arg-type]
    except NotRepresentable:
        return None
    assert text.startswith("<tool_call>\n") and text.endswith("\n</tool_call>")
    call = json.loads(text[len("<tool_call>\n"):-len("\n</tool_call>")])
    assert call["name"] == ("mobile_use" if mobile else "computer_use")
    return call["arguments"]


def test_qwen25vl_function_calls_in_seen_pixels() -> None:
    desk = [_qwen(a, False) for a in ALL]
    assert desk[0] == {"action": "left_click", "coordinate": [112, 140]}
    assert desk[1] == {"action": "double_click", "coordinate": [112, 140]} and desk[3] is None
    assert desk[4] == {"action": "type", "text": "it's {{password}}\n"}
    assert desk[5] == {"action": "key", "keys": ["ctrl", "s"]}
    assert desk[7] == {"action": "scroll", "pixels": -140}
    assert desk[9] == {"action": "left_click_drag", "start_coordinate": [112, 140], "coordinate": [112, 28]}
    assert desk[10] is None and desk[11] is None and desk[14] == {"action": "terminate", "status": "success"}
    phone = [_qwen(a, True) for a in ALL]
    assert phone[0] == {"action": "click", "coordinate": [112, 140]} and phone[1] is None
    assert phone[3] == {"action": "long_press", "coordinate": [112, 140], "time": 0.8}
    assert phone[6] == {"action": "system_button", "button": "Enter"}
    assert phone[8] == {"action": "swipe", "coordinate": [112, 140], "coordinate2": [112, 28]}
    assert phone[7] == {"action": "swipe", "coordinate": [224, 196], "coordinate2": [224, 84]}  # finger moves up
    assert phone[11] == {"action": "system_button", "button": "Back"} and phone[10] == {"action": "open", "text": "Files"}


def test_showui_action_dicts() -> None:
    def answers(a: object, mobile: bool = False) -> list[dict] | None:
        try:
            return [ast.literal_eval(x) for x in showui_answers(a, mobile)]  # type: ignore[arg-type]
        except NotRepresentable:
            return None

    assert answers(ALL[0]) == [{"action": "CLICK", "value": None, "position": [0.25, 0.5]}]
    assert answers(ALL[0], True) == [{"action": "TAP", "value": None, "position": [0.25, 0.5]}]
    assert answers(ALL[4]) == [{"action": "INPUT", "value": "it's {{password}}", "position": None},
                               {"action": "ENTER", "value": None, "position": None}]
    assert answers(ALL[8], True) == [{"action": "SWIPE", "value": "up", "position": [0.25, 0.5]}]
    assert answers(ALL[7]) == [{"action": "SCROLL", "value": "down", "position": None}]
    assert answers(ALL[14]) == [{"action": "ANSWER", "value": "42", "position": None}]
    assert [answers(a) for a in (ALL[1], ALL[5], ALL[11], Done())] == [None] * 4
    # ShowUI's answer position is what the showui grounder decodes
    assert parse_point(showui_answers(ALL[0], False)[0], "unit") == Point(x=0.25, y=0.5)


def test_agentnet_pyautogui_normalized() -> None:
    got = {}
    for a in ALL:
        try:
            got[a] = agentnet_code(a)
        except NotRepresentable:
            got[a] = None
        if got[a]:
            for line in got[a].splitlines():
                ast.parse(line)  # each line is a Python call
    assert got[ALL[0]] == "pyautogui.click(x=0.2500, y=0.5000)"
    assert got[ALL[4]] == "pyautogui.write(message='it\\'s {{password}}')\npyautogui.press('enter')"
    assert got[ALL[5]] == "pyautogui.hotkey('ctrl', 's')" and got[ALL[6]] == "pyautogui.press('enter')"
    assert got[ALL[7]] == "pyautogui.scroll(-5)"
    assert got[ALL[9]] == "pyautogui.moveTo(x=0.2500, y=0.5000)\npyautogui.dragTo(x=0.2500, y=0.1000)"
    assert got[ALL[14]] == "computer.terminate(status='success', answer='42')"
    assert got[ALL[3]] is None and got[ALL[11]] is None


def test_a_hover_where_the_action_space_has_a_pointer_move_else_not_representable() -> None:
    hover = Hover(target=T)
    assert _qwen(hover, False) == {"action": "mouse_move", "coordinate": [112, 140]}
    assert ast.literal_eval(showui_answers(hover, False)[0]) == {"action": "HOVER", "value": None,
                                                                 "position": [0.25, 0.5]}
    assert agentnet_code(hover) == "pyautogui.moveTo(x=0.2500, y=0.5000)"
    assert _qwen(hover, True) is None  # phones: no pointer
    for unsayable in (lambda: uitars_answer(hover), lambda: showui_answers(hover, True), lambda: to_aitw(hover)):
        with pytest.raises(NotRepresentable, match="hover"):
            unsayable()


def test_unresolved_target_is_not_representable() -> None:
    with pytest.raises(NotRepresentable, match="no resolved point"):
        uitars_answer(Click(target=Target.described("Save")))
