"""Coordinate parsers for every output form the supported model families print."""

from __future__ import annotations

import pytest

from grounding.coord_parse import ImageResize, extract_numbers, parse_point, smart_resize
from guiagent.schema import Point
from guiagent.schema.errors import PlanParseError


def close(p: Point, x: float, y: float, tol: float = 1e-6) -> bool:
    return abs(p.x - x) <= tol and abs(p.y - y) <= tol


@pytest.mark.parametrize(
    ("text", "fmt", "seen", "x", "y"),
    [
        # Qwen2-VL / OS-Atlas: box tokens, 0-1000, box -> centre
        ("<|object_ref_start|>Submit<|object_ref_end|><|box_start|>(100,200),(300,400)<|box_end|>",
         "norm1000", None, 0.2, 0.3),
        ("<|box_start|>(500,250)<|box_end|>", "norm1000", None, 0.5, 0.25),
        # UI-TARS v1 action with start_box, 0-1000
        ("Thought: the button.\nAction: click(start_box='(512,384)')", "norm1000", None, 0.512, 0.384),
        ("click(start_box='<|box_start|>(250,750)<|box_end|>')", "norm1000", None, 0.25, 0.75),
        ("click(start_box='(100,100,300,300)')", "norm1000", None, 0.2, 0.2),
        # UI-TARS-1.5 / Qwen2.5-VL: absolute pixels of the resized image
        ("click(start_box='(640,400)')", "pixels", (1280, 800), 0.5, 0.5),
        ('```json\n[{"bbox_2d": [100, 50, 300, 150], "label": "OK"}]\n```', "pixels", (1000, 500), 0.2, 0.2),
        ('{"point_2d": [250, 125]}', "pixels", (1000, 500), 0.25, 0.25),
        ("<point>320 240</point>", "pixels", (640, 480), 0.5, 0.5),
        # ShowUI: [x, y] in 0-1
        ("[0.49, 0.42]", "unit", None, 0.49, 0.42),
        ("[0.1,0.2,0.3,0.4]", "unit", None, 0.2, 0.3),
        # UGround / plain: (x, y)
        ("(700, 300)", "norm1000", None, 0.7, 0.3),
        ("The element is at (700, 300).", "norm1000", None, 0.7, 0.3),
        ("(100,200),(300,400)", "norm1000", None, 0.2, 0.3),
        ("[10, 20, 30, 40]", "pixels", (100, 100), 0.2, 0.3),
        ("350, 120", "norm1000", None, 0.35, 0.12),
        ("(.5, .25)", "unit", None, 0.5, 0.25),
        ("(1e2, 2e2)", "norm1000", None, 0.1, 0.2),
    ],
)
def test_every_output_form(text: str, fmt: str, seen: tuple[int, int] | None, x: float, y: float) -> None:
    assert close(parse_point(text, fmt, seen), x, y)  # type: ignore[arg-type]


def test_box_tokens_take_precedence_over_other_numbers() -> None:
    text = "Step 3 [1, 2]: <|box_start|>(10,20),(30,40)<|box_end|>"
    nums, shape = extract_numbers(text)
    assert shape == "box_tokens" and nums == [10, 20, 30, 40]


def test_edge_rounding_is_clamped_but_far_outside_is_an_error() -> None:
    assert parse_point("(1005, 0)", "norm1000").x == 1.0
    with pytest.raises(PlanParseError, match="outside the image"):
        parse_point("(1500, 300)", "norm1000")
    with pytest.raises(PlanParseError, match="outside the image"):
        parse_point("[0.5, 1.7]", "unit")
    with pytest.raises(PlanParseError, match="outside the image.*1280x800"):
        parse_point("(2000, 10)", "pixels", (1280, 800))


@pytest.mark.parametrize(
    "garbage",
    ["", "   ", "I cannot find that element.", "click the blue button", "(12)", "[1, 2, 3]",
     "<|box_start|>(1,2,3)<|box_end|>", "\u0001\ufffd\ufffdb\ufffd"],
)
def test_garbage_raises_plan_parse_error_keeping_raw(garbage: str) -> None:
    with pytest.raises(PlanParseError) as info:
        parse_point(garbage, "norm1000")
    assert info.value.raw == garbage


def test_pixels_need_the_seen_size_and_formats_are_checked() -> None:
    with pytest.raises(PlanParseError, match="size of the image the model saw"):
        parse_point("(10, 10)", "pixels", None)
    with pytest.raises(PlanParseError, match="unknown coordinate format"):
        parse_point("(10, 10)", "percent")  # type: ignore[arg-type]


def test_smart_resize_matches_transformers() -> None:
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize as hf_smart_resize

    for w, h in [(1280, 800), (1920, 1080), (1080, 2400), (160, 210), (3840, 2160), (56, 56), (30, 900)]:
        for lo, hi in [(56 * 56, 28 * 28 * 1280), (256 * 28 * 28, 1344 * 28 * 28), (3136, 28 * 28 * 64)]:
            hh, ww = hf_smart_resize(h, w, factor=28, min_pixels=lo, max_pixels=hi)
            assert smart_resize(w, h, min_pixels=lo, max_pixels=hi) == (ww, hh)


@pytest.mark.parametrize("screen", [(1280, 800), (2560, 1600), (1080, 2400), (1920, 1080), (800, 600)])
def test_resize_undo_lands_on_the_element_at_any_screen_size(screen: tuple[int, int]) -> None:
    # A button at the same relative place on every screen; the model sees the resized image.
    w, h = screen
    box = (int(0.62 * w), int(0.70 * h), int(0.62 * w) + max(12, w // 12), int(0.70 * h) + max(12, h // 20))
    seen = smart_resize(w, h, min_pixels=3136, max_pixels=28 * 28 * 256)
    resize = ImageResize(original=screen, seen=seen)
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    sx, sy = resize.original_to_seen(cx, cy)
    # the model prints integer pixels of what it saw (rounding loses < 1 seen pixel)
    point = parse_point(f"click(start_box='({round(sx)},{round(sy)})')", "pixels", seen)
    px, py = point.to_pixels(screen)
    assert box[0] <= px <= box[2] and box[1] <= py <= box[3]
    ox, oy = resize.seen_to_original(round(sx), round(sy))
    assert abs(ox - px) <= 1 and abs(oy - py) <= 1
    assert seen != screen or screen == (800, 600)  # the resize is real (not the identity)
