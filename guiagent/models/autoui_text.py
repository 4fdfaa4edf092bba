"""The Auto-UI chain-of-action text format (input and target), shared by the model, its
training and the `autoui` planner. No torch here.

Input:  `Previous Actions: <last 8 actions, oldest first> Goal: <goal>`
Target: `Action Plan: [DUAL_POINT, TYPE, ...] ; Action Decision: "action_type": "DUAL_POINT",
         "touch_point": "[y, x]", "lift_point": "[y, x]", "typed_text": ""`
The plan lists the types of the next 4 actions including the current one. Points are (y, x).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from pydantic import ValidationError

from guiagent.formats.action_json import clip
from guiagent.formats.aitw import NO_POINT, AitwAction, AitwType
from guiagent.schema.errors import PlanParseError

HISTORY_LENGTH = 8
PLAN_LENGTH = 4


def _pt(yx: tuple[float, float]) -> str:
    return f"[{yx[0]:.4f}, {yx[1]:.4f}]" if yx != NO_POINT else "[-1.0, -1.0]"


def format_action(action: AitwAction) -> str:
    return (f'"action_type": "{action.action_type.name}", "touch_point": "{_pt(action.touch_point)}", '
            f'"lift_point": "{_pt(action.lift_point)}", "typed_text": {json.dumps(action.typed_text, ensure_ascii=False)}')


def format_source(goal: str, previous: Sequence[AitwAction]) -> str:
    recent = list(previous)[-HISTORY_LENGTH:]
    prev = " ; ".join(format_action(a) for a in recent) if recent else "None"
    return f"Previous Actions: {prev} Goal: {goal.strip()}"


def format_target(action: AitwAction, plan: Sequence[AitwType] = ()) -> str:
    types = list(plan)[:PLAN_LENGTH] or [action.action_type]
    return f"Action Plan: [{', '.join(t.name for t in types)}] ; Action Decision: {format_action(action)}"


_PLAN = re.compile(r"Action Plan:\s*\[([^\]]*)\]", re.I)
_FIELD = re.compile(r'"(action_type|touch_point|lift_point|typed_text)"\s*:\s*("(?:[^"\\]|\\.)*"|[^,;]+)')


def _aitw_type(token: str) -> AitwType | None:
    t = token.strip().strip("\"'").upper()
    if t in AitwType.__members__:
        return AitwType[t]
    # isdigit() is also true for '²' and other digits int() refuses; the codes are 1-2 ASCII digits
    if t.isascii() and t.isdigit() and len(t) <= 2 and int(t) in {m.value for m in AitwType}:
        return AitwType(int(t))
    return None


def parse_target(text: str) -> tuple[list[AitwType], AitwAction]:
    """(plan types, decided action) from Auto-UI output. Raises PlanParseError naming what is missing."""
    plan_m = _PLAN.search(text)
    plan = [t for t in (_aitw_type(p) for p in plan_m.group(1).split(",")) if t is not None] if plan_m else []
    decision = text.split("Action Decision:", 1)[1] if "Action Decision:" in text else text
    fields: dict[str, str] = {}
    for key, value in _FIELD.findall(decision):
        if key not in fields:
            try:
                fields[key] = json.loads(value) if value.startswith('"') else value.strip()
            except ValueError:  # an opening quote the model never closed: '"[0.2500, ...'
                raise PlanParseError(f"{key} is an unterminated string: {value.strip()!r}", raw=text) from None
    if "action_type" not in fields:
        raise PlanParseError('no "action_type" in the Auto-UI output (expected \'Action Decision: '
                             '"action_type": ...\')', raw=text)
    kind = _aitw_type(fields["action_type"])
    if kind is None:
        raise PlanParseError(f"unknown AITW action type {clip(fields['action_type'])!r}", raw=text)
    data: dict[str, object] = {"action_type": kind, "typed_text": fields.get("typed_text", "")}
    try:
        for key in ("touch_point", "lift_point"):
            if key in fields:
                parts = [p for p in fields[key].strip("[]() ").replace(",", " ").split() if p]
                if len(parts) != 2:
                    raise PlanParseError(f"{key} must be \"[y, x]\", not {fields[key]!r}", raw=text)
                data[key] = (float(parts[0]), float(parts[1]))
        action = AitwAction.model_validate(data)
    except (ValueError, ValidationError) as exc:
        raise PlanParseError(f"invalid Auto-UI action: {exc}", raw=text) from None
    if kind == AitwType.DUAL_POINT:
        for key in ("touch_point", "lift_point"):
            yx = getattr(action, key)
            if yx == NO_POINT or not all(0.0 <= v <= 1.0 for v in yx):
                raise PlanParseError(f"DUAL_POINT needs {key} in [0, 1] as \"[y, x]\", got {yx}", raw=text)
    return plan, action
