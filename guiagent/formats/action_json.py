"""To and from the JSON that planners emit.

Model output is data: it is located, parsed with `json.loads` and validated into the typed
action union. Nothing is ever evaluated. Common near-misses of real models are accepted
(code fences, `"action"` for `"type"`, a bare `"element"`, `[x, y]` lists, pixel points when
the screen size is known); anything else raises `PlanParseError` naming what was wrong, so
the loop can feed the error back to the model.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from pydantic import ValidationError

from guiagent.schema import ACTION_ADAPTER, ACTION_TYPES, Action
from guiagent.schema.errors import PlanParseError

_TYPE_ALIASES = {
    "tap": "click", "press": "click", "left_click": "click", "doubleclick": "double_click",
    "double_tap": "double_click", "rightclick": "right_click", "longpress": "long_press",
    "long_click": "long_press", "input": "type", "input_text": "type", "type_text": "type",
    "write": "type", "hotkey": "key", "keypress": "key", "press_key": "key", "key_press": "key",
    "launch": "open_app", "open": "open_app", "launch_app": "open_app", "go_back": "back",
    "press_back": "back", "go_home": "home", "press_home": "home", "finish": "done",
    "complete": "done", "stop": "done", "answer": "done", "sleep": "wait",
    "mouse_move": "hover", "move_mouse": "hover", "move_to": "hover", "hover_over": "hover",
}
_TARGET_KEYS = ("target", "anchor", "start", "end")
# a fence's content; `[^`]` keeps the scan linear on long unclosed fences
_FENCE = re.compile(r"```(?:json|JSON)?[ \t]*\n?([^`]*)```")


def action_to_json(action: Action) -> str:
    return json.dumps(ACTION_ADAPTER.dump_python(action, mode="json", exclude_none=True), ensure_ascii=False)


def extract_json_object(text: str) -> dict[str, Any]:
    """The first JSON object in `text` (inside a ```json fence or bare).

    Never raises anything but PlanParseError, whatever the text: huge integers, deep nesting and
    lone surrogates are reported, not propagated."""
    if not isinstance(text, str):
        raise PlanParseError(f"the model output is not text but {type(text).__name__}", raw=str(text)[:200])
    fence = _FENCE.search(text)
    body = fence.group(1).strip() if fence else text.strip()
    if body.startswith("["):  # a list of actions (or of anything) where one object was asked for
        value = _loads(body)
        if isinstance(value, list):
            raise PlanParseError(f"expected ONE JSON object, got a JSON array of {len(value)} item(s)", raw=text)
    candidates = [body] if fence and body.startswith("{") else []
    start = text.find("{")
    while start != -1:
        end = _matching_brace(text, start)
        if end == -1:
            break
        candidates.append(text[start : end + 1])
        start = text.find("{", end + 1)
    first_error = ""
    for c in candidates:
        value = _loads(c)
        if isinstance(value, dict):
            return value
        if isinstance(value, str) and not first_error:
            first_error = value
    if "{" in text and not candidates:
        raise PlanParseError("the JSON object is not closed (truncated output?)", raw=text)
    if first_error:
        raise PlanParseError(f"the JSON object does not parse: {first_error}", raw=text)
    raise PlanParseError("no JSON object found in the model output", raw=text)


def _loads(text: str) -> Any:
    """json.loads, with every way it can fail turned into an error message (a `str` return)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        return f"{exc.msg} at character {exc.pos}"
    except RecursionError:
        return "it is nested too deeply"
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        return clip(str(exc), 120)


def clip(text: str, n: int = 80) -> str:
    """`text` cut to `n` characters for an error message (model output can be megabytes)."""
    return text if len(text) <= n else f"{text[: n - 3]}... ({len(text)} characters)"


def show(value: Any, n: int = 80) -> str:
    """A short, safe rendering of a decoded JSON value for an error message."""
    try:
        text = json.dumps(value, ensure_ascii=True, allow_nan=True)
    except (ValueError, TypeError, RecursionError):
        text = type(value).__name__
    return clip(text, n)


def _matching_brace(text: str, start: int) -> int:
    depth, in_str, esc = 0, False, False
    for i in range(start, len(text)):
        ch = text[i]
        if in_str:  # an escaped quote (\") does not end the string
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
            continue
        if ch == '"':
            in_str = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
    return -1


def parse_action(data: dict[str, Any] | str, screen_size: tuple[int, int] | None = None) -> Action:
    """Validate one action from planner JSON (a dict, or text containing one)."""
    raw = data if isinstance(data, str) else show(data, 100_000)
    obj = extract_json_object(data) if isinstance(data, str) else dict(data)
    if isinstance(obj.get("action"), dict):  # {"thought": ..., "action": {...}}
        obj = dict(obj["action"])
    kind = obj.pop("type", None) or obj.pop("action", None) or obj.pop("action_type", None)
    if not isinstance(kind, str):
        raise PlanParseError(f"the action has no 'type'; expected one of {', '.join(ACTION_TYPES)}", raw=raw)
    kind = kind.strip().lower().replace(" ", "_").replace("-", "_")
    kind = _TYPE_ALIASES.get(kind, kind)
    if kind not in ACTION_TYPES:
        raise PlanParseError(f"unknown action type {clip(kind)!r}; expected one of {', '.join(ACTION_TYPES)}",
                             raw=raw)
    obj["type"] = kind
    _normalize_fields(obj, screen_size, raw)
    try:
        return ACTION_ADAPTER.validate_python(obj)
    except ValidationError as exc:
        problems = "; ".join(  # a loc can hold a key the model made up: clipped like the rest
            f"{clip('.'.join(str(p) for p in e['loc'][1:]), 60) or 'action'}: {clip(e['msg'], 200)}"
            for e in exc.errors()[:5]
        )
        raise PlanParseError(f"invalid {kind} action: {problems}", raw=raw) from None


def _normalize_fields(obj: dict[str, Any], size: tuple[int, int] | None, raw: str) -> None:
    kind = obj["type"]
    # flat forms: {"type": "click", "element": "3"} / {"x": .5, "y": .2} / {"point": [x, y]}
    flat = {k: obj.pop(k) for k in ("element", "element_id", "id", "point", "x", "y", "description") if k in obj}
    if flat and kind in ("click", "double_click", "right_click", "long_press", "hover", "type", "scroll"):
        key = "anchor" if kind == "scroll" else "target"
        if key not in obj:
            obj[key] = flat
    for key in ("from", "to"):
        if key in obj:
            obj["start" if key == "from" else "end"] = obj.pop(key)
    for key in _TARGET_KEYS:
        if key in obj and obj[key] is not None:
            obj[key] = _target(obj[key], size, raw)
    if kind == "key" and "keys" not in obj:
        for alt in ("key", "hotkey", "chord"):
            if alt in obj:
                obj["keys"] = obj.pop(alt)
                break
    if kind == "type" and "text" not in obj:
        for alt in ("value", "content", "typed_text"):
            if alt in obj:
                obj["text"] = obj.pop(alt)
                break
    if kind == "open_app" and "name" not in obj:
        for alt in ("app", "package", "app_name"):
            if alt in obj:
                obj["name"] = obj.pop(alt)
                break
    if kind == "done" and isinstance(obj.get("status"), str) and obj["status"] not in ("success", "impossible"):
        obj["status"] = "impossible" if str(obj["status"]).lower() in ("fail", "failed", "infeasible") else "success"
    for noise in ("thought", "reason", "reasoning", "plan", "subgoal"):
        obj.pop(noise, None)


def _target(value: Any, size: tuple[int, int] | None, raw: str) -> dict[str, Any]:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return {"point": _point(value[0], value[1], size, raw)}
    if isinstance(value, str):
        # "#12", "12", "e7" and ids as the prompts print them ("#u2.1.5"); anything else is a description
        is_id = re.fullmatch(r"#[\w.:-]{1,64}", value) or re.fullmatch(r"\w{1,8}", value)
        return {"element": value} if is_id and any(c.isdigit() for c in value) else {"description": value}
    if isinstance(value, int) and not isinstance(value, bool):
        return {"element": str(value)}
    if not isinstance(value, dict):
        raise PlanParseError(f"a target must be an object, a [x, y] list or text, not {show(value)}", raw=raw)
    out: dict[str, Any] = {}
    for k in ("element", "element_id", "id"):
        v = value.get(k)
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (str, int)):
            raise PlanParseError(f"an element id must be text or a number, not {show(v)}", raw=raw)
        out["element"] = str(v).lstrip("#")
    d = value.get("description")
    if d is not None and not isinstance(d, str):
        raise PlanParseError(f"a target description must be text, not {show(d)}", raw=raw)
    if d:
        out["description"] = d
    p = value.get("point")
    if p is None and "x" in value and "y" in value:
        p = [value["x"], value["y"]]
    if isinstance(p, dict):
        p = [p.get("x"), p.get("y")]
    if p is not None:
        if not (isinstance(p, (list, tuple)) and len(p) == 2):
            raise PlanParseError(f"a point must be [x, y], not {show(p)}", raw=raw)
        out["point"] = _point(p[0], p[1], size, raw)
    return out


def _point(x: Any, y: Any, size: tuple[int, int] | None, raw: str) -> dict[str, float]:
    if isinstance(x, bool) or isinstance(y, bool):
        raise PlanParseError(f"point coordinates must be numbers, not {show(x)}, {show(y)}", raw=raw)
    try:
        fx, fy = float(x), float(y)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an integer like 10**400
        raise PlanParseError(f"point coordinates must be numbers in [0, 1], not {show(x)}, {show(y)}",
                             raw=raw) from None
    if not (math.isfinite(fx) and math.isfinite(fy)):
        raise PlanParseError(f"point ({show(x)}, {show(y)}) is not finite; use numbers in [0, 1]", raw=raw)
    if 0.0 <= fx <= 1.0 and 0.0 <= fy <= 1.0:
        return {"x": fx, "y": fy}
    if size and 0 <= fx <= size[0] and 0 <= fy <= size[1]:  # pixels of this screen
        return {"x": fx / size[0], "y": fy / size[1]}
    raise PlanParseError(f"point ({show(x)}, {show(y)}) is outside the screen; use numbers in [0, 1]", raw=raw)
