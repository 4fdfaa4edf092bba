"""The other direction of coord_parse: write a location the way a grounding family answers it.

Training data (LoRA fine-tuning of a grounder, SFT exports of recorded steps) needs the target
answer in exactly the shape and scale the model will later print and `coord_parse.parse_point`
reads back: ShowUI `[0.49, 0.42]` (0..1), UI-TARS `(x,y)` and OS-Atlas / Qwen2-VL box tokens
(0..1000), Qwen2.5-VL JSON in pixels of the image the model saw. `parse_point(answer(...))`
gives the point back (to the scale's rounding): tests/unit/test_answer_format.py checks it.
"""

from __future__ import annotations

from typing import assert_never

from grounding.coord_parse import CoordFormat, Size
from guiagent.schema import Point
from guiagent.schema.errors import ConfigError

# A normalized box (x1, y1, x2, y2) in [0, 1], as the target of a grounding record.
Box = tuple[float, float, float, float]


def scaled(value: float, fmt: CoordFormat, extent: int | None = None) -> float | int:
    """One normalized coordinate in the scale `fmt` (`extent`: that side of the seen image, for pixels)."""
    match fmt:
        case "unit":
            return round(value, 2)  # ShowUI prints two decimals
        case "norm1000":
            return int(round(value * 1000))
        case "pixels":
            if not extent or extent <= 0:
                raise ConfigError("pixel coordinates need the size of the image the model sees")
            return int(round(value * extent))
        case _:
            assert_never(fmt)


def scaled_point(point: Point, fmt: CoordFormat, seen: Size | None = None) -> tuple[float | int, float | int]:
    w, h = seen if seen else (None, None)
    return scaled(point.x, fmt, w), scaled(point.y, fmt, h)


def _num(v: float | int) -> str:
    return str(v) if isinstance(v, int) else f"{v:.2f}"


def point_text(point: Point, fmt: CoordFormat, seen: Size | None = None, *, sep: str = ",") -> str:
    x, y = scaled_point(point, fmt, seen)
    return f"({_num(x)}{sep}{_num(y)})"


def grounding_answer(family: str, point: Point, fmt: CoordFormat, seen: Size | None = None,
                     box: Box | None = None) -> str:
    """The reply a grounder of `family` gives to its grounding prompt (assets/prompts/grounding_<family>.txt)
    for a target at `point` (inside `box` when known), in scale `fmt`."""
    match family:
        case "showui":
            x, y = scaled_point(point, fmt, seen)
            return f"[{_num(x)}, {_num(y)}]"
        case "uitars":
            return point_text(point, fmt, seen)
        case "uground" | "generic":
            return point_text(point, fmt, seen, sep=", ")
        case "osatlas" | "qwen2vl":
            if fmt == "pixels":  # Qwen2.5-VL answers JSON in pixels of the seen image
                if box is None:
                    x, y = scaled_point(point, fmt, seen)
                    return f'{{"point_2d": [{x}, {y}]}}'
                a, b = Point(x=box[0], y=box[1]), Point(x=box[2], y=box[3])
                (x1, y1), (x2, y2) = scaled_point(a, fmt, seen), scaled_point(b, fmt, seen)
                return f'{{"bbox_2d": [{x1}, {y1}, {x2}, {y2}]}}'
            if box is None:
                return f"<|box_start|>{point_text(point, fmt, seen)}<|box_end|>"
            a, b = Point(x=box[0], y=box[1]), Point(x=box[2], y=box[3])
            return f"<|box_start|>{point_text(a, fmt, seen)},{point_text(b, fmt, seen)}<|box_end|>"
        case _:
            raise ConfigError(f"no answer format for grounding family {family!r}")
