"""Parse the coordinates a grounding model printed into a normalized `Point`.

Model families print locations in different *shapes* and different *scales*:

shapes (recognised in this order, first match wins):
  - Qwen2-VL / OS-Atlas box tokens  `<|box_start|>(x1,y1),(x2,y2)<|box_end|>` (or one point)
  - UI-TARS actions                 `click(start_box='(x,y)')`, `start_box='<|box_start|>(x,y)<|box_end|>'`
  - point tags                      `<point>x y</point>`
  - Qwen2.5-VL JSON                 `{"bbox_2d": [x1, y1, x2, y2]}`, `{"point_2d": [x, y]}`
  - bracketed groups                `(x, y)`, `[x, y]`, `(x1,y1),(x2,y2)`, `[x1, y1, x2, y2]`
  - a bare pair                     `x, y` (only when that is the whole reply)
  A box becomes its centre.

scales (`CoordFormat`, chosen by config, never guessed):
  - "pixels":   absolute pixels of the image the model SAW (after the processor resized it;
                Qwen2.5-VL, UI-TARS-1.5)
  - "norm1000": 0..1000 of the image (Qwen2-VL, OS-Atlas, UI-TARS v1, UGround-V1)
  - "unit":     0..1 of the image (ShowUI)

Undoing the processor resize: Qwen2-VL processors stretch the whole screenshot to a size
whose sides are multiples of 28 (`smart_resize`), without padding. A pixel (px, py) of the
seen image is therefore (px * W / w, py * H / h) on the original W x H screenshot, and the
normalized point is (px / w, py / h) on both. So a point normalized against the seen size
lands right on any screen, at any scale; `seen_to_original` gives original pixels.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal, TypeGuard, get_args

from guiagent.schema import Point
from guiagent.schema.errors import PlanParseError

CoordFormat = Literal["pixels", "norm1000", "unit"]
COORD_FORMATS: tuple[str, ...] = get_args(CoordFormat)
Size = tuple[int, int]  # (width, height)


def is_coord_format(value: object) -> TypeGuard[CoordFormat]:
    return value in COORD_FORMATS

# How far past the edge a coordinate may stray (rounding, a box edge on the border) before
# we call it garbage rather than clamp it.
_EDGE_TOLERANCE = 0.02

_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_NUM_RE = re.compile(_NUM)
_SEP = r"(?:\s*[,;]\s*|\s+)"  # a comma, a semicolon or whitespace: never nothing
_PAIR = rf"\(\s*({_NUM}){_SEP}({_NUM})\s*\)"
_BOX_TOKENS = re.compile(r"<\|box_start\|>(.*?)<\|box_end\|>", re.S)
_START_BOX = re.compile(r"start_box\s*=\s*['\"]?(.*?)(?:['\"]\s*[,)]|$)", re.S)
_POINT_TAG = re.compile(rf"<point>\s*({_NUM}){_SEP}({_NUM})\s*</point>", re.S)
_JSON_KEY = re.compile(rf"[\"'](?:bbox_2d|point_2d|bbox|point|box)[\"']\s*:\s*\[\s*({_NUM}(?:{_SEP}{_NUM}){{1,3}})\s*\]")
_TWO_PAIRS = re.compile(rf"{_PAIR}\s*,?\s*{_PAIR}")
_GROUP4 = re.compile(rf"[\[(]\s*({_NUM}){_SEP}({_NUM}){_SEP}({_NUM}){_SEP}({_NUM})\s*[\])]")
_GROUP2 = re.compile(rf"[\[(]\s*({_NUM}){_SEP}({_NUM})\s*[\])]")
_BARE2 = re.compile(rf"\s*({_NUM})\s*[,\s]\s*({_NUM})\s*\.?\s*")


def extract_numbers(text: str) -> tuple[list[float], str]:
    """The 2 (point) or 4 (box) numbers a reply carries, and the name of the shape matched.

    Raises PlanParseError when no known shape is present.
    """
    if not isinstance(text, str) or not text.strip():
        raise PlanParseError("the model returned no coordinates (empty reply)", raw=str(text))
    candidates: list[tuple[str, str]] = []
    if m := _BOX_TOKENS.search(text):
        candidates.append(("box_tokens", m.group(1)))
    if m := _START_BOX.search(text):
        candidates.append(("start_box", _BOX_TOKENS.sub(r"\1", m.group(1))))
    for name, chunk in candidates:
        nums = [float(n) for n in _NUM_RE.findall(chunk)]
        if len(nums) in (2, 4):
            return nums, name
        raise PlanParseError(
            f"{name} holds {len(nums)} numbers, expected 2 (x, y) or 4 (x1, y1, x2, y2): {chunk!r}", raw=text
        )
    if m := _POINT_TAG.search(text):
        return [float(m.group(1)), float(m.group(2))], "point_tag"
    if m := _JSON_KEY.search(text):
        nums = [float(n) for n in _NUM_RE.findall(m.group(1))]
        if len(nums) in (2, 4):
            return nums, "json"
    if m := _TWO_PAIRS.search(text):
        return [float(g) for g in m.groups()], "two_points"
    if m := _GROUP4.search(text):
        return [float(g) for g in m.groups()], "box"
    if m := _GROUP2.search(text):
        return [float(g) for g in m.groups()], "point"
    if m := _BARE2.fullmatch(text):
        return [float(m.group(1)), float(m.group(2))], "bare"
    raise PlanParseError(f"no coordinates found in the model reply: {_clip(text)!r}", raw=text)


def parse_point(text: str, coord_format: CoordFormat, seen_size: Size | None = None) -> Point:
    """The normalized point (x, y in [0, 1]) that `text` designates.

    `seen_size` is the (width, height) of the image the model saw; needed for "pixels".
    """
    if coord_format not in COORD_FORMATS:
        raise PlanParseError(f"unknown coordinate format {coord_format!r}; use one of {COORD_FORMATS}")
    nums, shape = extract_numbers(text)
    if not all(math.isfinite(n) for n in nums):
        raise PlanParseError(f"non-finite coordinate in {_clip(text)!r}", raw=text)
    if len(nums) == 4:  # a box: its centre
        x1, y1, x2, y2 = nums
        x, y = (x1 + x2) / 2, (y1 + y2) / 2
    else:
        x, y = nums
    if coord_format == "pixels":
        if not seen_size or seen_size[0] <= 0 or seen_size[1] <= 0:
            raise PlanParseError("pixel coordinates need the size of the image the model saw", raw=text)
        sx, sy = float(seen_size[0]), float(seen_size[1])
    elif coord_format == "norm1000":
        sx = sy = 1000.0
    else:
        sx = sy = 1.0
    nx, ny = x / sx, y / sy
    lo, hi = -_EDGE_TOLERANCE, 1.0 + _EDGE_TOLERANCE
    if not (lo <= nx <= hi and lo <= ny <= hi):
        scale = f"{seen_size[0]}x{seen_size[1]} pixels" if coord_format == "pixels" and seen_size else coord_format
        raise PlanParseError(
            f"coordinate ({x:g}, {y:g}) from {shape} lies outside the image ({scale}): {_clip(text)!r}", raw=text
        )
    return Point(x=min(max(nx, 0.0), 1.0), y=min(max(ny, 0.0), 1.0))


@dataclass(frozen=True)
class ImageResize:
    """How a processor resized one image: original (w, h) -> the (w, h) the model saw."""

    original: Size
    seen: Size

    def seen_to_original(self, px: float, py: float) -> tuple[float, float]:
        """A pixel of the seen image -> the same spot in original-image pixels."""
        return px * self.original[0] / self.seen[0], py * self.original[1] / self.seen[1]

    def original_to_seen(self, px: float, py: float) -> tuple[float, float]:
        return px * self.seen[0] / self.original[0], py * self.seen[1] / self.original[1]


def smart_resize(
    width: int, height: int, *, factor: int = 28, min_pixels: int = 56 * 56, max_pixels: int = 28 * 28 * 1280
) -> Size:
    """The (width, height) a Qwen2-VL-family image processor resizes a width x height image to.

    Mirrors transformers' `smart_resize` (same rounding), without importing transformers, so an
    OpenAI-compatible endpoint serving such a model can be fed an image it will not resize.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    if max(height, width) / min(height, width) > 200:
        raise ValueError(f"aspect ratio of {width}x{height} exceeds 200")
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return w_bar, h_bar


def _clip(text: str, n: int = 160) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."
