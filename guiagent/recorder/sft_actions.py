"""Our typed actions written the way a GUI model family answers them (training targets of SFT exports).

- UI-TARS (`uitars`): its action grammar, `click(start_box='(x,y)')`, `type(content='...')`,
  `hotkey(key='ctrl s')`, `scroll(start_box='(x,y)', direction='down')`, `drag(...)`,
  `press_back()`, `finished(content='...')`; coordinates 0..1000 of the image (UI-TARS v1 on
  Qwen2-VL, the `uitars` grounder family's scale). Submitting typed text ends `content` with `\\n`,
  as UI-TARS' prompt asks.
- Qwen2.5-VL (`qwen25vl`): its function-calling agent format, `<tool_call>{"name": "computer_use"
  | "mobile_use", "arguments": {...}}</tool_call>`, with absolute pixel coordinates of the image
  the model sees (the processor's smart_resize of the frame: pass the same max_pixels as training).
  `start_coordinate` of a desktop drag is our addition (computer_use drags from the pointer).
- ShowUI (`showui`): its action dict as its README prints it, `{'action': 'CLICK', 'value': None,
  'position': [0.49, 0.42]}` (Python literal, positions 0..1 with two decimals); TAP/SWIPE on phones.
  A submitted input becomes INPUT then ENTER (two samples on the same frame).
- AgentNet / OpenCUA (`agentnet`): pyautogui code with coordinates NORMALIZED to 0..1 of the
  screenshot (4 decimals), e.g. `pyautogui.click(x=0.5, y=0.3)`; `computer.wait()` and
  `computer.terminate(status='success')` for the non-pointer steps, as OpenCUA's action space.

Actions a family cannot express raise NotRepresentable (the exporter counts them as skipped).
"""

from __future__ import annotations

import json
from typing import Literal, TypeGuard, assert_never

from grounding.answer_format import point_text, scaled_point
from grounding.coord_parse import Size
from guiagent.formats.aitw import NotRepresentable, to_aitw
from guiagent.schema import (
    Action,
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

SftFamily = Literal["uitars", "qwen25vl", "showui"]
SFT_FAMILIES: tuple[str, ...] = ("uitars", "qwen25vl", "showui")


def is_sft_family(value: object) -> TypeGuard[SftFamily]:
    return value in SFT_FAMILIES
CENTER = Point(x=0.5, y=0.5)


def _pt(target: Target | None, what: str) -> Point:
    if target is None or target.point is None:
        raise NotRepresentable(f"the {what} has no resolved point")
    return target.point


def _modified(click: Click, family: str) -> str:
    return f"{family} has no modifier keys ({'+'.join(click.modifiers)}+click)"


def _quoted(text: str) -> str:
    """A single-quoted string literal (backslash escapes), as UI-TARS and pyautogui code write them."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


def _swipe_direction(start: Point, end: Point) -> str:
    dx, dy = end.x - start.x, end.y - start.y
    if abs(dx) > abs(dy):
        return "left" if dx < 0 else "right"
    return "up" if dy < 0 else "down"


# -- UI-TARS ---------------------------------------------------------------------------------------

def uitars_action(action: Action) -> str:
    def box(t: Target | None, what: str = "target") -> str:
        return point_text(_pt(t, what), "norm1000")

    match action:
        case Click() if action.modifiers:
            raise NotRepresentable(_modified(action, "UI-TARS' action space"))
        case Click():
            return f"click(start_box='{box(action.target)}')"
        case DoubleClick():
            return f"left_double(start_box='{box(action.target)}')"
        case RightClick():
            return f"right_single(start_box='{box(action.target)}')"
        case LongPress():
            return f"long_press(start_box='{box(action.target)}')"
        case TypeText():  # the target, if any, was focused by the previous step
            content = action.text + ("\n" if action.submit else "")
            return f"type(content={_quoted(content)})"
        case Key():
            return f"hotkey(key='{' '.join(action.keys)}')"
        case Scroll():
            where = box(action.anchor, "scroll anchor") if action.anchor else point_text(CENTER, "norm1000")
            return f"scroll(start_box='{where}', direction='{action.direction}')"
        case Swipe() | Drag():
            return f"drag(start_box='{box(action.start, 'start')}', end_box='{box(action.end, 'end')}')"
        case OpenApp():
            return f"open_app(app_name={_quoted(action.name)})"
        case Back():
            return "press_back()"
        case Home():
            return "press_home()"
        case Wait():
            return "wait()"
        case Done():
            return f"finished(content={_quoted(action.answer or '')})" if action.status == "success" else "call_user()"
        case Hover():
            raise NotRepresentable("UI-TARS' action space has no hover")
        case _:
            assert_never(action)


def uitars_answer(action: Action, thought: str = "") -> str:
    line = f"Action: {uitars_action(action)}"
    return f"Thought: {' '.join(thought.split())}\n{line}" if thought.strip() else line


# -- Qwen2.5-VL ------------------------------------------------------------------------------------

def qwen25vl_arguments(action: Action, seen: Size, mobile: bool) -> dict[str, object]:
    def xy(t: Target | None, what: str = "target") -> list[float | int]:
        return list(scaled_point(_pt(t, what), "pixels", seen))

    match action:
        case Click() if action.modifiers:
            raise NotRepresentable(_modified(action, "computer_use / mobile_use"))
        case Click():
            return {"action": "click" if mobile else "left_click", "coordinate": xy(action.target)}
        case DoubleClick() | RightClick() if not mobile:
            return {"action": action.type, "coordinate": xy(action.target)}
        case LongPress() if mobile:
            return {"action": "long_press", "coordinate": xy(action.target), "time": action.duration}
        case Hover() if not mobile:
            return {"action": "mouse_move", "coordinate": xy(action.target)}
        case DoubleClick() | RightClick() | LongPress() | Hover():
            raise NotRepresentable(f"{'mobile_use' if mobile else 'computer_use'} has no {action.type}")
        case TypeText():
            return {"action": "type", "text": action.text + ("\n" if action.submit else "")}
        case Key() if mobile and action.keys == ("enter",):
            return {"action": "system_button", "button": "Enter"}
        case Key():
            return {"action": "key", "text": action.chord} if mobile else {"action": "key", "keys": list(action.keys)}
        case Scroll() if mobile:
            swipe = to_aitw(action)  # the finger travel of a scroll, as AITW defines it ((y, x) points)
            (ty, tx), (ly, lx) = swipe.touch_point, swipe.lift_point
            return {"action": "swipe", "coordinate": xy(Target.at(tx, ty)), "coordinate2": xy(Target.at(lx, ly))}
        case Scroll():
            if action.direction in ("left", "right"):
                raise NotRepresentable("computer_use scrolls vertically only")
            pixels = int(round(action.amount * seen[1])) * (1 if action.direction == "up" else -1)
            out: dict[str, object] = {"action": "scroll", "pixels": pixels}
            if action.anchor:
                out["coordinate"] = xy(action.anchor, "scroll anchor")
            return out
        case Swipe() | Drag() if mobile:
            return {"action": "swipe", "coordinate": xy(action.start, "start"), "coordinate2": xy(action.end, "end")}
        case Swipe() | Drag():
            return {"action": "left_click_drag", "start_coordinate": xy(action.start, "start"),
                    "coordinate": xy(action.end, "end")}
        case OpenApp() if mobile:
            return {"action": "open", "text": action.name}
        case Back() | Home() if mobile:
            return {"action": "system_button", "button": "Back" if isinstance(action, Back) else "Home"}
        case OpenApp() | Back() | Home():
            raise NotRepresentable(f"computer_use has no {action.type}")
        case Wait():
            return {"action": "wait", "time": action.seconds}
        case Done():
            return {"action": "terminate", "status": "success" if action.status == "success" else "failure"}
        case _:
            assert_never(action)


def qwen25vl_answer(action: Action, seen: Size, mobile: bool) -> str:
    call = {"name": "mobile_use" if mobile else "computer_use", "arguments": qwen25vl_arguments(action, seen, mobile)}
    return f"<tool_call>\n{json.dumps(call, ensure_ascii=False)}\n</tool_call>"


# -- ShowUI ----------------------------------------------------------------------------------------

def showui_answers(action: Action, mobile: bool) -> list[str]:
    def pos(t: Target | None, what: str = "target") -> list[float | int]:
        return list(scaled_point(_pt(t, what), "unit"))

    def act(name: str, value: str | None = None, position: list[float | int] | None = None) -> str:
        return repr({"action": name, "value": value, "position": position})

    match action:
        case Click() if action.modifiers:
            raise NotRepresentable(_modified(action, "ShowUI's action space"))
        case Click():
            return [act("TAP" if mobile else "CLICK", None, pos(action.target))]
        case TypeText():
            where = pos(action.target) if action.target and action.target.point else None
            return [act("INPUT", action.text, where)] + ([act("ENTER")] if action.submit else [])
        case Key() if action.keys == ("enter",):
            return [act("ENTER")]
        case Scroll():
            return [act("SCROLL", action.direction)]
        case Swipe():
            start, end = _pt(action.start, "start"), _pt(action.end, "end")
            return [act("SWIPE", _swipe_direction(start, end), pos(action.start))]
        case Done() if action.answer:
            return [act("ANSWER", action.answer)]
        case Hover() if not mobile:  # its web action space hovers; the phone one does not
            return [act("HOVER", None, pos(action.target))]
        case (DoubleClick() | RightClick() | LongPress() | Hover() | Key() | Drag() | OpenApp() | Back() | Home()
              | Wait() | Done()):
            raise NotRepresentable(f"ShowUI's action space has no {action.type}")
        case _:
            assert_never(action)


# -- AgentNet / OpenCUA ----------------------------------------------------------------------------

def agentnet_code(action: Action) -> str:
    def xy(t: Target | None, what: str = "target") -> str:
        p = _pt(t, what)
        return f"x={p.x:.4f}, y={p.y:.4f}"

    match action:
        case Click() if action.modifiers:
            raise NotRepresentable(_modified(action, "this pyautogui code"))
        case Click():
            return f"pyautogui.click({xy(action.target)})"
        case DoubleClick():
            return f"pyautogui.doubleClick({xy(action.target)})"
        case RightClick():
            return f"pyautogui.rightClick({xy(action.target)})"
        case TypeText():
            lines = [f"pyautogui.click({xy(action.target)})"] if action.target and action.target.point else []
            lines.append(f"pyautogui.write(message={_quoted(action.text)})")
            return "\n".join(lines + (["pyautogui.press('enter')"] if action.submit else []))
        case Key() if len(action.keys) == 1:
            return f"pyautogui.press({_quoted(action.keys[0])})"
        case Key():
            return f"pyautogui.hotkey({', '.join(_quoted(k) for k in action.keys)})"
        case Scroll():
            clicks = max(1, int(round(action.amount * 10)))
            at = f", {xy(action.anchor, 'scroll anchor')}" if action.anchor else ""
            if action.direction in ("up", "down"):
                return f"pyautogui.scroll({clicks if action.direction == 'up' else -clicks}{at})"
            return f"pyautogui.hscroll({clicks if action.direction == 'right' else -clicks}{at})"
        case Hover():
            return f"pyautogui.moveTo({xy(action.target)})"
        case Swipe() | Drag():
            return f"pyautogui.moveTo({xy(action.start, 'start')})\npyautogui.dragTo({xy(action.end, 'end')})"
        case Wait():
            return "computer.wait()"
        case Done():
            status = "success" if action.status == "success" else "failure"
            return f"computer.terminate(status='{status}'" + (f", answer={_quoted(action.answer)})"
                                                              if action.answer else ")")
        case LongPress() | OpenApp() | Back() | Home():
            raise NotRepresentable(f"pyautogui has no {action.type}")
        case _:
            assert_never(action)
