"""The action union: one frozen pydantic model per action type, validated at creation.

Targets carry points normalized to [0, 1] of the screen, `(x, y)` in that order, an element id
of the current observation, or a text description still to be grounded. Part of floor 1: it
imports nothing outside floor 1. `guiagent.schema` re-exports everything here.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, assert_never, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    TypeAdapter,
    field_validator,
    model_serializer,
    model_validator,
)

from guiagent.schema.keys import MODIFIERS, normalize_key

_FROZEN = ConfigDict(frozen=True, extra="forbid")

# Bounds on what a model may put in an action: a reply of megabytes is malformed, not a plan.
MAX_TEXT = 20_000  # characters typed by one action
MAX_DESCRIPTION = 1_000
MAX_ELEMENT_ID = 64
MAX_NAME = 256


def _typeable(value: str) -> str:
    """No NUL and no lone surrogate: neither can be encoded, typed or written to a file."""
    if "\x00" in value:
        raise ValueError("text must not contain a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text holds a lone surrogate (not valid Unicode)") from None
    return value


# length first (a plain "at most N characters"), then the Unicode check
TypedText = Annotated[str, StringConstraints(max_length=MAX_TEXT), AfterValidator(_typeable)]
ElementId = Annotated[str, StringConstraints(max_length=MAX_ELEMENT_ID), AfterValidator(_typeable)]
Description = Annotated[str, StringConstraints(max_length=MAX_DESCRIPTION), AfterValidator(_typeable)]
AppName = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME), AfterValidator(_typeable)]


class Point(BaseModel):
    """A point normalized to [0, 1] of the screen, x then y."""

    model_config = _FROZEN
    x: float = Field(ge=0.0, le=1.0)
    y: float = Field(ge=0.0, le=1.0)

    @classmethod
    def from_pixels(cls, px: float, py: float, size: tuple[int, int]) -> Point:
        w, h = size
        return cls(x=min(max(px / max(w, 1), 0.0), 1.0), y=min(max(py / max(h, 1), 0.0), 1.0))

    def to_pixels(self, size: tuple[int, int]) -> tuple[int, int]:
        """Pixel of this point on a screenshot of `size` (clamped inside it)."""
        w, h = size
        return min(int(self.x * w), w - 1), min(int(self.y * h), h - 1)


class Target(BaseModel):
    """Where an action applies: a point, an element id of the current observation, or a
    description still to be grounded. Grounding fills `point` (and `element`) in."""

    model_config = _FROZEN
    point: Point | None = None
    element: ElementId | None = None
    description: Description | None = None

    @model_validator(mode="after")
    def _one_at_least(self) -> Target:
        if self.point is None and not self.element and not self.description:
            raise ValueError("a target needs a point, an element id or a description")
        return self

    @classmethod
    def at(cls, x: float, y: float) -> Target:
        return cls(point=Point(x=x, y=y))

    @classmethod
    def described(cls, description: str) -> Target:
        return cls(description=description)

    @property
    def resolved(self) -> bool:
        return self.point is not None


class _Action(BaseModel):
    model_config = _FROZEN


Modifier = Literal["ctrl", "shift", "alt", "meta"]
_MODIFIER_ORDER: tuple[Modifier, ...] = ("ctrl", "shift", "alt", "meta")


class Click(_Action):
    """A left click; `modifiers` are held down around it (ctrl+click adds an option to a
    multi-select list's selection where a plain click replaces it). Modifiers need a keyboard
    and a pointer: phones refuse such a click."""

    type: Literal["click"] = "click"
    target: Target
    modifiers: tuple[Modifier, ...] = Field(default=(), max_length=4)

    @field_validator("modifiers", mode="before")
    @classmethod
    def _canonical(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [p for p in v.replace("-", "+").split("+") if p]
        if not isinstance(v, list | tuple):
            return v
        names = {normalize_key(k) if isinstance(k, str) else k for k in v}
        bad = sorted(str(k) for k in names if k not in _MODIFIER_ORDER)
        if bad:
            raise ValueError(f"not a modifier key: {', '.join(bad)} (use {', '.join(_MODIFIER_ORDER)})")
        return tuple(m for m in _MODIFIER_ORDER if m in names)  # one canonical order, no repeats

    @model_serializer(mode="wrap")
    def _plain(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # a plain click serializes as before: records, exports and prompts stay unchanged
        data = handler(self)
        if isinstance(data, dict) and not self.modifiers:
            data.pop("modifiers", None)
        return data


class DoubleClick(_Action):
    type: Literal["double_click"] = "double_click"
    target: Target


class RightClick(_Action):
    type: Literal["right_click"] = "right_click"
    target: Target


class Hover(_Action):
    """Move the pointer onto `target` without pressing (opens hover menus, shows tooltips).
    Mouse only: a touch screen has no pointer to rest anywhere."""

    type: Literal["hover"] = "hover"
    target: Target


class LongPress(_Action):
    type: Literal["long_press"] = "long_press"
    target: Target
    duration: float = Field(default=0.8, gt=0.0, le=10.0)


class TypeText(_Action):
    """Type `text`; focus `target` first when given; press Enter afterwards when `submit`."""

    type: Literal["type"] = "type"
    text: TypedText
    target: Target | None = None
    submit: bool = False
    clear: bool = False


class Key(_Action):
    """One key or a chord, modifiers first: ["ctrl", "s"]. Accepts "ctrl+s" too."""

    type: Literal["key"] = "key"
    keys: tuple[str, ...] = Field(min_length=1, max_length=8)

    @field_validator("keys", mode="before")
    @classmethod
    def _split(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [p for p in v.replace("-", "+").split("+") if p] if len(v) > 1 else [v]
        return v

    @field_validator("keys")
    @classmethod
    def _normalize(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        keys = tuple(normalize_key(k) for k in v)
        if any(k not in MODIFIERS for k in keys[:-1]):
            raise ValueError(f"in a chord only the last key may be a non-modifier: {'+'.join(keys)}")
        return keys

    @property
    def chord(self) -> str:
        return "+".join(self.keys)


ScrollDirection = Literal["up", "down", "left", "right"]


class Scroll(_Action):
    """Scroll the content so that more of it in `direction` shows ("down" = like the wheel
    turned towards you). `amount` is a fraction of the screen (0.5 = half a screen)."""

    type: Literal["scroll"] = "scroll"
    direction: ScrollDirection
    amount: float = Field(default=0.5, gt=0.0, le=5.0)
    anchor: Target | None = None


class Swipe(_Action):
    """A touch swipe (Android) from `start` to `end`."""

    type: Literal["swipe"] = "swipe"
    start: Target
    end: Target
    duration: float = Field(default=0.3, gt=0.0, le=10.0)


class Drag(_Action):
    """Press at `start`, move to `end`, release (mouse drag, or touch drag-and-drop)."""

    type: Literal["drag"] = "drag"
    start: Target
    end: Target
    duration: float = Field(default=0.5, gt=0.0, le=10.0)


class OpenApp(_Action):
    """Open an app by name, package (Android) or executable (desktop)."""

    type: Literal["open_app"] = "open_app"
    name: AppName


class Back(_Action):
    type: Literal["back"] = "back"


class Home(_Action):
    type: Literal["home"] = "home"


class Wait(_Action):
    type: Literal["wait"] = "wait"
    seconds: float = Field(default=1.0, ge=0.0, le=60.0)


class Done(_Action):
    type: Literal["done"] = "done"
    status: Literal["success", "impossible"] = "success"
    answer: TypedText | None = None


Action = Annotated[
    Click | DoubleClick | RightClick | LongPress | TypeText | Key | Scroll | Swipe | Drag
    | OpenApp | Back | Home | Wait | Done | Hover,
    Field(discriminator="type"),
]
ACTION_ADAPTER: TypeAdapter[Action] = TypeAdapter(Action)
ActionClass = type[_Action]
_UNION: tuple[ActionClass, ...] = get_args(get_args(Action)[0])  # the classes, in the union's order

# Capability sets: what a device can run, as action classes (`type(action) in supported`).
ALL_ACTIONS: frozenset[ActionClass] = frozenset(_UNION)
POINTER_ACTIONS: frozenset[ActionClass] = frozenset({Click, DoubleClick, RightClick, LongPress})
TOUCH_ONLY_ACTIONS: frozenset[ActionClass] = frozenset({Swipe})  # a desktop drags or scrolls instead
MOUSE_ONLY_ACTIONS: frozenset[ActionClass] = frozenset({Hover})  # a finger cannot rest without touching
TOUCH_ACTIONS: frozenset[ActionClass] = ALL_ACTIONS - MOUSE_ONLY_ACTIONS  # phones (Android, the virtual one)


def mouse_only(action: Action) -> bool:
    """Whether the action needs a mouse (and keyboard): a hover, or a click with modifiers held."""
    return type(action) in MOUSE_ONLY_ACTIONS or (isinstance(action, Click) and bool(action.modifiers))


# `home` has no meaning every desktop agrees on: a desktop adds it only when told which chord it is.
DESKTOP_ACTIONS: frozenset[ActionClass] = ALL_ACTIONS - TOUCH_ONLY_ACTIONS - {Home}
# the wire names, in the union's order
ACTION_TYPES: tuple[str, ...] = tuple(cls.model_fields["type"].default for cls in _UNION)


def action_type_of(name: str) -> ActionClass:
    """The action class whose wire `type` is `name` (KeyError when there is none)."""
    return _BY_NAME[name]


_BY_NAME: dict[str, ActionClass] = {cls.model_fields["type"].default: cls for cls in _UNION}


def action_targets(action: Action) -> list[Target]:
    """Every target an action carries, in order (empty for targetless actions)."""
    match action:
        case Click() | DoubleClick() | RightClick() | LongPress() | Hover():
            return [action.target]
        case TypeText():
            return [action.target] if action.target else []
        case Scroll():
            return [action.anchor] if action.anchor else []
        case Swipe() | Drag():
            return [action.start, action.end]
        case Key() | OpenApp() | Back() | Home() | Wait() | Done():
            return []
        case _:
            assert_never(action)


def with_targets(action: Action, targets: list[Target]) -> Action:
    """The same action with its targets replaced (same order as `action_targets`)."""
    match action:
        case Click() | DoubleClick() | RightClick() | LongPress() | Hover():
            return action.model_copy(update={"target": targets[0]})
        case TypeText():
            return action.model_copy(update={"target": targets[0]}) if targets else action
        case Scroll():
            return action.model_copy(update={"anchor": targets[0]}) if targets else action
        case Swipe() | Drag():
            return action.model_copy(update={"start": targets[0], "end": targets[1]})
        case Key() | OpenApp() | Back() | Home() | Wait() | Done():
            return action
        case _:
            assert_never(action)


def describe_action(action: Action) -> str:
    """A short human-readable line for logs, reports and the app's timeline."""

    def t(target: Target | None) -> str:
        if target is None:
            return ""
        if target.description:
            return f"'{target.description}'"
        if target.element:
            return f"#{target.element}"
        assert target.point is not None
        return f"({target.point.x:.3f}, {target.point.y:.3f})"

    match action:
        case Click() if action.modifiers:
            return f"{'+'.join(action.modifiers)}+click {t(action.target)}"
        case Click() | DoubleClick() | RightClick() | LongPress() | Hover():
            return f"{action.type} {t(action.target)}"
        case TypeText():
            into = f" into {t(action.target)}" if action.target else ""
            return f"type {action.text!r}{into}" + (" + enter" if action.submit else "")
        case Key():
            return f"key {action.chord}"
        case Scroll():
            return f"scroll {action.direction} {action.amount:g}" + (f" at {t(action.anchor)}" if action.anchor else "")
        case Swipe() | Drag():
            return f"{action.type} {t(action.start)} -> {t(action.end)}"
        case OpenApp():
            return f"open app {action.name!r}"
        case Back() | Home():
            return action.type
        case Wait():
            return f"wait {action.seconds:g}s"
        case Done():
            return f"done ({action.status})" + (f": {action.answer}" if action.answer else "")
        case _:
            assert_never(action)
