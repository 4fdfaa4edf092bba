"""The shared vocabulary (floor 1): actions, elements, observations, steps and trajectories.

Every layer speaks these types; this package imports nothing of ours outside it. Its modules:
`actions` (the typed action union, targets, capability sets), `screen` (Element, Observation),
`trace` (Decision, Step, usage, EpisodeMeta), `errors` (the one exception tree), `keys`
(canonical key names) and `assets` (the files shipped with the package). The names below are
re-exported so `from guiagent.schema import Click, Observation` is the usual import.

Coordinates: actions carry points normalized to [0, 1] of the screen, `(x, y)` in that order.
Elements carry pixel boxes `(left, top, right, bottom)` in screenshot pixels. Only a device
converts normalized points to its own pixels.
"""

from __future__ import annotations

from guiagent.schema.actions import (
    ACTION_ADAPTER,
    ACTION_TYPES,
    ALL_ACTIONS,
    DESKTOP_ACTIONS,
    MOUSE_ONLY_ACTIONS,
    POINTER_ACTIONS,
    TOUCH_ACTIONS,
    TOUCH_ONLY_ACTIONS,
    Action,
    ActionClass,
    Back,
    Click,
    Done,
    DoubleClick,
    Drag,
    Home,
    Hover,
    Key,
    LongPress,
    Modifier,
    OpenApp,
    Point,
    RightClick,
    Scroll,
    ScrollDirection,
    Swipe,
    Target,
    TypeText,
    Wait,
    action_targets,
    action_type_of,
    describe_action,
    mouse_only,
    with_targets,
)
from guiagent.schema.keys import KEY_ALIASES, MODIFIERS, NAMED_KEYS, normalize_key
from guiagent.schema.screen import Box, Element, Observation, Role
from guiagent.schema.trace import (
    Decision,
    EpisodeMeta,
    GuardDecision,
    Outcome,
    RunStatus,
    Step,
    TokenUsage,
    Trajectory,
)

__all__ = [
    "ACTION_ADAPTER",
    "ACTION_TYPES",
    "ALL_ACTIONS",
    "DESKTOP_ACTIONS",
    "MOUSE_ONLY_ACTIONS",
    "KEY_ALIASES",
    "MODIFIERS",
    "NAMED_KEYS",
    "POINTER_ACTIONS",
    "TOUCH_ACTIONS",
    "TOUCH_ONLY_ACTIONS",
    "Action",
    "action_targets",
    "action_type_of",
    "ActionClass",
    "Back",
    "Box",
    "Click",
    "Decision",
    "describe_action",
    "Done",
    "DoubleClick",
    "Drag",
    "Element",
    "EpisodeMeta",
    "GuardDecision",
    "Home",
    "Hover",
    "Key",
    "LongPress",
    "Modifier",
    "mouse_only",
    "normalize_key",
    "Observation",
    "OpenApp",
    "Outcome",
    "Point",
    "RightClick",
    "Role",
    "RunStatus",
    "Scroll",
    "ScrollDirection",
    "Step",
    "Swipe",
    "Target",
    "TokenUsage",
    "Trajectory",
    "TypeText",
    "Wait",
    "with_targets",
]
