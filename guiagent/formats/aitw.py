"""Converters between our actions and the AITW / Auto-UI action format.

AITW stores points as normalized **(y, x)**; ours are (x, y). The swap happens here and
nowhere else. Action type ids and the 0.04 tap rule follow the AITW release.
"""

from __future__ import annotations

import math
from enum import IntEnum
from typing import Any, assert_never

from pydantic import BaseModel, Field

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

TAP_DISTANCE_THRESHOLD = 0.04  # a DUAL_POINT whose ends are this close is a tap


class AitwType(IntEnum):
    TYPE = 3
    DUAL_POINT = 4
    PRESS_BACK = 5
    PRESS_HOME = 6
    PRESS_ENTER = 7
    STATUS_TASK_COMPLETE = 10
    STATUS_TASK_IMPOSSIBLE = 11


NO_POINT = (-1.0, -1.0)


class AitwAction(BaseModel):
    action_type: AitwType
    touch_point: tuple[float, float] = NO_POINT  # (y, x)
    lift_point: tuple[float, float] = NO_POINT  # (y, x)
    typed_text: str = ""

    @property
    def is_tap(self) -> bool:
        return self.action_type == AitwType.DUAL_POINT and is_tap(self.touch_point, self.lift_point)


class NotRepresentable(ValueError):
    """The action has no AITW equivalent (e.g. a desktop hotkey)."""


def is_tap(touch_yx: tuple[float, float], lift_yx: tuple[float, float]) -> bool:
    return math.dist(touch_yx, lift_yx) <= TAP_DISTANCE_THRESHOLD


def _yx(target: Target, what: str) -> tuple[float, float]:
    if target.point is None:
        raise NotRepresentable(f"{what} has no resolved point; ground it before converting to AITW")
    return (target.point.y, target.point.x)


# Finger travel of a scroll: "down" (see content below) = finger moves up the screen.
_SCROLL_SWIPES: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "down": ((0.7, 0.5), (0.3, 0.5)),
    "up": ((0.3, 0.5), (0.7, 0.5)),
    "right": ((0.5, 0.7), (0.5, 0.3)),
    "left": ((0.5, 0.3), (0.5, 0.7)),
}


def to_aitw(action: Action) -> AitwAction:
    """Our action as an AITW action. Raises NotRepresentable when AITW has no equivalent."""
    match action:
        case Click() if action.modifiers:
            raise NotRepresentable(f"AITW has no modifier keys ({'+'.join(action.modifiers)}+click)")
        case Click() | DoubleClick() | LongPress():
            yx = _yx(action.target, action.type)
            return AitwAction(action_type=AitwType.DUAL_POINT, touch_point=yx, lift_point=yx)
        case Swipe() | Drag():
            return AitwAction(
                action_type=AitwType.DUAL_POINT,
                touch_point=_yx(action.start, "swipe start"),
                lift_point=_yx(action.end, "swipe end"),
            )
        case Scroll():
            touch, lift = _SCROLL_SWIPES[action.direction]
            return AitwAction(action_type=AitwType.DUAL_POINT, touch_point=touch, lift_point=lift)
        case TypeText():
            return AitwAction(action_type=AitwType.TYPE, typed_text=action.text)
        case Back():
            return AitwAction(action_type=AitwType.PRESS_BACK)
        case Home():
            return AitwAction(action_type=AitwType.PRESS_HOME)
        case Key() if action.keys == ("enter",):
            return AitwAction(action_type=AitwType.PRESS_ENTER)
        case Done():
            kind = AitwType.STATUS_TASK_COMPLETE if action.status == "success" else AitwType.STATUS_TASK_IMPOSSIBLE
            return AitwAction(action_type=kind)
        case RightClick() | Hover() | Key() | OpenApp() | Wait():
            raise NotRepresentable(f"AITW has no equivalent of a {action.type} action")
        case _:
            assert_never(action)


def from_aitw(data: AitwAction | dict[str, Any]) -> Action:
    """An AITW action (object or dict as in the Auto-UI data) as our action."""
    a = data if isinstance(data, AitwAction) else AitwAction.model_validate(_coerce(data))
    match a.action_type:
        case AitwType.DUAL_POINT:
            (ty, tx), (ly, lx) = a.touch_point, a.lift_point
            if a.is_tap:
                return Click(target=Target(point=_clamped(tx, ty)))
            return Swipe(start=Target(point=_clamped(tx, ty)), end=Target(point=_clamped(lx, ly)))
        case AitwType.TYPE:
            return TypeText(text=a.typed_text)
        case AitwType.PRESS_BACK:
            return Back()
        case AitwType.PRESS_HOME:
            return Home()
        case AitwType.PRESS_ENTER:
            return Key(keys=("enter",))
        case AitwType.STATUS_TASK_COMPLETE:
            return Done(status="success")
        case AitwType.STATUS_TASK_IMPOSSIBLE:
            return Done(status="impossible")
        case _:
            assert_never(a.action_type)


def _clamped(x: float, y: float) -> Point:
    return Point(x=min(max(x, 0.0), 1.0), y=min(max(y, 0.0), 1.0))


def _coerce(d: dict[str, Any]) -> dict[str, Any]:
    """Accept the string forms found in AITW/Auto-UI files ("[0.5, 0.2]", "4")."""
    out = dict(d)
    for key in ("touch_point", "lift_point"):
        v = out.get(key)
        if isinstance(v, str):
            parts = [p for p in v.strip("[]() ").replace(",", " ").split() if p]
            out[key] = tuple(float(p) for p in parts) if parts else NO_POINT
    if isinstance(out.get("action_type"), str):
        name = out["action_type"].strip().upper()
        out["action_type"] = AitwType[name] if name in AitwType.__members__ else int(name)
    out.setdefault("typed_text", "")
    return {k: out[k] for k in ("action_type", "touch_point", "lift_point", "typed_text") if k in out}


class AitwEpisodeStep(BaseModel):
    """One training example in the Auto-UI layout."""

    goal: str
    image: str  # path of the screenshot
    action: AitwAction
    previous_actions: list[AitwAction] = Field(default_factory=list)
    future_plan: list[AitwType] = Field(default_factory=list)  # types of this and the next 3 actions
