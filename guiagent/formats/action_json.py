"""To and from the JSON that planners emit.

Model output is data: it is located, parsed with `json.loads` and validated into the typed
action union. Nothing is ever evaluated. Common near-misses of real models are accepted
(code fences, `"action"` for `"type"`, a bare `"element"`, `[x, y]` lists, pixel points when
the screen size is known); anything else raises `PlanParseError` naming what was wrong, so
the loop can feed the error back to the model.
"""

from __future__ import annotations

import json
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
}
_TARGET_KEYS = ("target", "anchor", "start", "end")


def action_to_json(action: Action) -> str:
    return json.dumps(ACTION_ADAPTER.dump_python(action, mode="json", exclude_none=True), ensure_ascii=False)


def extract_json_object(text: str) -> dict[str, Any]:
    """The first JSON object in `text` (inside a ```json fence or bare)."""
    fence = re.search(r"```(?:json)?\s*(\{.*?\})\s*```", text, re.S)
    candidates = [fence.group(1)] if fence else []
    start = text.find("{")
    while start != -1:
        end = _matching_brace(text, start)
        if end == -1:
            break
        candidates.append(text[start : end + 1])
        start = text.find("{", end + 1)
    for c in candidates:
        try:
            value = json.loads(c)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    if "{" in text and not candidates:
        raise PlanParseError("the JSON object is not closed (truncated output?)", raw=text)
    raise PlanParseError("no JSON object found in the model output", raw=text)


def _matching_brace(text: str, start: int) -> int:
    depth, in_str, esc = 0, False, False
    for i in range(start, len(text)):
        ch = text[i]
        if in_str:
            esc = (not esc) and ch == "\\"
            if ch == '"' and not esc:
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
    raw = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    obj = extract_json_object(data) if isinstance(data, str) else dict(data)
    if isinstance(obj.get("action"), dict):  # {"thought": ..., "action": {...}}
        obj = dict(obj["action"])
    kind = obj.pop("type", None) or obj.pop("action", None) or obj.pop("action_type", None)
    if not isinstance(kind, str):
        raise PlanParseError(f"the action has no 'type'; expected one of {', '.join(ACTION_TYPES)}", raw=raw)
    kind = kind.strip().lower().replace(" ", "_").replace("-", "_")
    kind = _TYPE_ALIASES.get(kind, kind)
    if kind not in ACTION_TYPES:
        raise PlanParseError(f"unknown action type {kind!r}; expected one of {', '.join(ACTION_TYPES)}", raw=raw)
    obj["type"] = kind
    _normalize_fields(obj, screen_size, raw)
    try:
        return ACTION_ADAPTER.validate_python(obj)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or 'action'}: {e['msg']}" for e in exc.errors()
        )
        raise PlanParseError(f"invalid {kind} action: {problems}", raw=raw) from None


def _normalize_fields(obj: dict[str, Any], size: tuple[int, int] | None, raw: str) -> None:
    kind = obj["type"]
    # flat forms: {"type": "click", "element": "3"} / {"x": .5, "y": .2} / {"point": [x, y]}
    flat = {k: obj.pop(k) for k in ("element", "element_id", "id", "point", "x", "y", "description") if k in obj}
    if flat and kind in ("click", "double_click", "right_click", "long_press", "type", "scroll"):
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
    if kind == "done" and obj.get("status") not in (None, "success", "impossible"):
        obj["status"] = "impossible" if str(obj["status"]).lower() in ("fail", "failed", "infeasible") else "success"
    for noise in ("thought", "reason", "reasoning", "plan", "subgoal"):
        obj.pop(noise, None)


def _target(value: Any, size: tuple[int, int] | None, raw: str) -> dict[str, Any]:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return {"point": _point(value[0], value[1], size, raw)}
    if isinstance(value, str):
        return {"element": value} if re.fullmatch(r"#?\w{1,8}", value) and any(c.isdigit() for c in value) \
            else {"description": value}
    if isinstance(value, int):
        return {"element": str(value)}
    if not isinstance(value, dict):
        raise PlanParseError(f"a target must be an object, a [x, y] list or text, not {value!r}", raw=raw)
    out: dict[str, Any] = {}
    for k in ("element", "element_id", "id"):
        if value.get(k) is not None:
            out["element"] = str(value[k]).lstrip("#")
    if value.get("description"):
        out["description"] = str(value["description"])
    p = value.get("point")
    if p is None and "x" in value and "y" in value:
        p = [value["x"], value["y"]]
    if isinstance(p, dict):
        p = [p.get("x"), p.get("y")]
    if p is not None:
        if not (isinstance(p, (list, tuple)) and len(p) == 2):
            raise PlanParseError(f"a point must be [x, y], not {p!r}", raw=raw)
        out["point"] = _point(p[0], p[1], size, raw)
    return out


def _point(x: Any, y: Any, size: tuple[int, int] | None, raw: str) -> dict[str, float]:
    try:
        fx, fy = float(x), float(y)
    except (TypeError, ValueError):
        raise PlanParseError(f"point coordinates must be numbers, not {x!r}, {y!r}", raw=raw) from None
    if 0.0 <= fx <= 1.0 and 0.0 <= fy <= 1.0:
        return {"x": fx, "y": fy}
    if size and 0 <= fx <= size[0] and 0 <= fy <= size[1]:  # pixels of this screen
        return {"x": fx / size[0], "y": fy / size[1]}
    raise PlanParseError(f"point ({x}, {y}) is outside the screen; use numbers in [0, 1]", raw=raw)
