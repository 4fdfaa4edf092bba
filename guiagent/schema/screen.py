"""What is on the screen: elements (from the a11y tree, OCR or a pixel detector) and the frozen
observation the loop decides on. Elements carry pixel boxes `(left, top, right, bottom)` in
screenshot pixels."""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from guiagent.schema.actions import Point

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Role(StrEnum):
    BUTTON = "button"
    TEXT_FIELD = "text_field"
    CHECKBOX = "checkbox"
    RADIO = "radio"
    SWITCH = "switch"
    LINK = "link"
    TEXT = "text"
    ICON = "icon"
    IMAGE = "image"
    COMBOBOX = "combobox"
    LIST_ITEM = "list_item"
    MENU_ITEM = "menu_item"
    TAB = "tab"
    SLIDER = "slider"
    WINDOW = "window"
    CONTAINER = "container"
    OTHER = "other"


Box = tuple[int, int, int, int]


class Element(BaseModel):
    """One thing on the screen: from the a11y tree, OCR, or a pixel detector."""

    model_config = _FROZEN
    id: str
    role: Role = Role.OTHER
    name: str = ""
    value: str | None = None
    bbox: Box
    enabled: bool = True
    focused: bool = False
    checked: bool | None = None
    selected: bool | None = None
    editable: bool = False
    clickable: bool = False
    password: bool = False
    source: Literal["a11y", "ocr", "detector"] = "a11y"
    extras: dict[str, str | int | float | bool | None] = Field(default_factory=dict)

    @field_validator("bbox")
    @classmethod
    def _ordered(cls, b: Box) -> Box:
        left, top, right, bottom = b
        return (min(left, right), min(top, bottom), max(left, right), max(top, bottom))

    @property
    def center(self) -> tuple[float, float]:
        left, top, right, bottom = self.bbox
        return (left + right) / 2, (top + bottom) / 2

    @property
    def width(self) -> int:
        return self.bbox[2] - self.bbox[0]

    @property
    def height(self) -> int:
        return self.bbox[3] - self.bbox[1]

    @property
    def label(self) -> str:
        """Name, else value: what a person would call this element."""
        return self.name or (self.value or "")


class Observation(BaseModel):
    """A frozen snapshot of the screen at one moment. The screenshot is never serialized."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    screenshot: Any = Field(exclude=True, repr=False)  # PIL.Image.Image
    elements: tuple[Element, ...] = ()
    screen_size: tuple[int, int]
    foreground: str | None = None
    timestamp: float = Field(default_factory=time.time)
    device_id: str = ""

    def element(self, element_id: str) -> Element | None:
        return next((e for e in self.elements if e.id == element_id), None)

    def point_of(self, element: Element) -> Point:
        cx, cy = element.center
        return Point.from_pixels(cx, cy, self.screen_size)
