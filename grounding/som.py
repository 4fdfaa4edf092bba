"""Set-of-marks: numbered boxes drawn on a copy of the screenshot, and the same elements as
compact text, so that a model can answer "click 7" instead of guessing coordinates."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from guiagent.schema import Element, Role

Box = tuple[int, int, int, int]

# Colour-blind-friendly-ish palette, one colour per family of roles.
ROLE_COLORS: dict[Role, tuple[int, int, int]] = {
    Role.BUTTON: (230, 25, 75),
    Role.LINK: (0, 130, 200),
    Role.TEXT_FIELD: (60, 180, 75),
    Role.COMBOBOX: (60, 180, 75),
    Role.CHECKBOX: (245, 130, 48),
    Role.RADIO: (245, 130, 48),
    Role.SWITCH: (245, 130, 48),
    Role.TAB: (145, 30, 180),
    Role.MENU_ITEM: (145, 30, 180),
    Role.LIST_ITEM: (70, 153, 144),
    Role.ICON: (240, 50, 230),
    Role.IMAGE: (128, 128, 0),
    Role.TEXT: (100, 100, 100),
}
_DEFAULT_COLOR = (0, 0, 128)
_FONT_PATHS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", "DejaVuSans-Bold.ttf", "Arial Bold.ttf")


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in _FONT_PATHS:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            continue
    return ImageFont.load_default()


def role_color(role: Role) -> tuple[int, int, int]:
    return ROLE_COLORS.get(role, _DEFAULT_COLOR)


def _text_color(bg: tuple[int, int, int]) -> tuple[int, int, int]:
    luma = 0.299 * bg[0] + 0.587 * bg[1] + 0.114 * bg[2]
    return (0, 0, 0) if luma > 150 else (255, 255, 255)


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _font_size(size: tuple[int, int], font_size: int | None) -> int:
    return font_size or max(10, min(18, round(min(size) / 50)))


def tag_boxes(elements: Sequence[Element], size: tuple[int, int], font_size: int | None = None) -> dict[str, Box]:
    """Where each element's id tag goes: above the box's top-left corner, else inside it,
    else below it, else above its right end: the first spot that covers no other tag."""
    font = _font(_font_size(size, font_size))
    W, H = size
    placed: dict[str, Box] = {}
    for el in elements:
        left, top, right, bottom = el.bbox
        tb = font.getbbox(el.id)
        tw, th = math.ceil(tb[2] - tb[0]) + 4, math.ceil(tb[3] - tb[1]) + 4  # whole pixels (FreeType's are)
        spots = [(left, top - th), (left, top), (left, bottom), (right - tw, top - th), (right, top),
                 (left - tw, top)]
        tag: Box | None = None
        for x, y in spots:
            x, y = min(max(0, x), W - tw), min(max(0, y), H - th)
            cand = (x, y, x + tw, y + th)
            if not any(_overlaps(cand, p) for p in placed.values()):
                tag = cand
                break
        if tag is None:  # no free spot: overlap rather than hide the tag
            x, y = min(max(0, left), W - tw), min(max(0, top - th), H - th)
            tag = (x, y, x + tw, y + th)
        placed[el.id] = tag
    return placed


def draw_marks(image: Any, elements: Sequence[Element], *, font_size: int | None = None,
               include_text: bool = True, width: int = 2) -> Image.Image:
    """A copy of `image` with each element's box outlined in its role colour and its id in a
    filled tag (see `tag_boxes`). `include_text=False` skips plain text elements."""
    base = image.convert("RGB") if isinstance(image, Image.Image) else Image.fromarray(image).convert("RGB")
    out = base.copy()
    draw = ImageDraw.Draw(out)
    font = _font(_font_size(out.size, font_size))
    marks = [e for e in elements if include_text or e.role != Role.TEXT]
    for el in marks:
        left, top, right, bottom = el.bbox
        draw.rectangle((left, top, max(left, right - 1), max(top, bottom - 1)), outline=role_color(el.role), width=width)
    tags = tag_boxes(marks, out.size, font_size)
    for el in marks:
        color = role_color(el.role)
        tag = tags[el.id]
        tb = font.getbbox(el.id)
        draw.rectangle(tag, fill=color)
        draw.text((tag[0] + 2 - tb[0], tag[1] + 2 - tb[1]), el.id, fill=_text_color(color), font=font)
    return out


def _state(el: Element) -> str:
    bits = []
    if el.checked is not None:
        bits.append("checked" if el.checked else "unchecked")
    if el.selected:
        bits.append("selected")
    if el.focused:
        bits.append("focused")
    if not el.enabled:
        bits.append("disabled")
    if el.password:
        bits.append("password")
    return ", ".join(bits)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_element(el: Element, *, max_name: int = 60, bbox: bool = True) -> str:
    """`[7] button "Submit" (checked) @(10,100,70,122)` - one line per element."""
    parts = [f"[{el.id}] {el.role.value}"]
    if el.name:
        parts.append(f'"{_clip(el.name, max_name)}"')
    if el.value:
        parts.append(f'value="{"•" * min(8, len(el.value)) if el.password else _clip(el.value, max_name)}"')
    state = _state(el)
    if state:
        parts.append(f"({state})")
    if bbox:
        parts.append("@({},{},{},{})".format(*el.bbox))
    return " ".join(parts)


def describe_elements(elements: Sequence[Element], *, max_name: int = 60, bbox: bool = True,
                      limit: int | None = None) -> str:
    """Compact listing for prompts: id, role, name, value, state, bbox; one element a line."""
    chosen = list(elements)[:limit] if limit else list(elements)
    lines = [describe_element(e, max_name=max_name, bbox=bbox) for e in chosen]
    if limit and len(elements) > limit:
        lines.append(f"... {len(elements) - limit} more elements not shown")
    return "\n".join(lines)
