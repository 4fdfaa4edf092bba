"""Snapshots of the simulated phone's state, for tests and tools (`phone.state`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PhoneState:
    """A consistent copy taken under the phone's lock; `state["wifi"]` reads a scenario value."""

    values: dict[str, Any]
    package: str  # foreground app
    activity: str  # its activity, e.g. ".Settings"
    screen: str  # scenario screen id on top
    stack: tuple[str, ...]  # screen ids of the foreground task, bottom first
    focused: str | None  # id of the focused edit_text (or "#<index>" when it has no id)
    rotation: int  # 0..3
    size: tuple[int, int]  # current screen size in pixels (rotated)
    density: int
    ime: str  # current input method id
    screen_on: bool = True
    touches: int = 0  # gestures received so far
    last_gesture: tuple[Any, ...] | None = None  # ("tap", x, y) / ("swipe", x1, y1, x2, y2) / ...
    scroll: dict[str, int] = field(default_factory=dict)  # list id -> offset in px (top screen)
    secure: bool = False

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)
