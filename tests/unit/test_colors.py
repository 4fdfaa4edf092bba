"""Colours from pixels (grounding/colors.py, grounding/shapes.py) and the rule planner's skills
that use them: things named by colour, drags in a direction, a paragraph's text selected.
Tiles and shapes are drawn with PIL in many shades (not MiniWoB's); the grammar is tried on
phrasings other than MiniWoB's templates."""

from __future__ import annotations

import colorsys

import pytest
from PIL import Image, ImageDraw

from grounding.colors import accepts, family, fit, hue_family, parse_color, patches, shade_of, with_swatches
from grounding.shapes import room, things
from guiagent.planning.instructions import (
    ClickGoal,
    ColorGoal,
    HighlightGoal,
    NudgeGoal,
    Ref,
    parse_instructions,
)
from guiagent.planning.rule import RulePlanner
from guiagent.schema import Click, Done, Drag, Element, Observation, Outcome, Role, Step


def hsl(h: float, s: float, lum: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hls_to_rgb(h / 360, lum, s)
    return round(r * 255), round(g * 255), round(b * 255)


# ------------------------------------------------------------------ naming colours

@pytest.mark.parametrize(("rgb", "word"), [
    ((230, 25, 75), "red"), ((180, 30, 30), "red"), ((245, 130, 48), "orange"), ((255, 225, 25), "yellow"),
    ((60, 180, 75), "green"), ((0, 100, 0), "green"), ((70, 240, 240), "cyan"), ((0, 130, 200), "blue"),
    ((25, 25, 112), "blue"), ((145, 30, 180), "purple"), ((240, 50, 230), "magenta"), ((250, 190, 212), "pink"),
    ((139, 90, 43), "brown"), ((10, 10, 10), "black"), ((250, 250, 250), "white"), ((128, 128, 128), "gray"),
    ((200, 200, 200), "gray"),
])
def test_basic_colour_words_name_common_shades(rgb: tuple[int, int, int], word: str) -> None:
    assert family(rgb) == word
    assert accepts(word, rgb)


def test_a_word_fits_its_colour_better_than_the_others() -> None:
    tiles = [(34, 139, 34), (220, 53, 69), (0, 123, 255), (108, 117, 125), (255, 193, 7)]  # a button palette
    for word, want in (("green", 0), ("red", 1), ("blue", 2), ("grey", 3), ("yellow", 4)):
        assert min(range(len(tiles)), key=lambda i: fit(word, tiles[i])) == want, word
    assert not accepts("green", (220, 53, 69)) and not accepts("blue", (255, 193, 7))
    assert parse_color("#f80") == (255, 136, 0) and parse_color("rgb(1, 2, 3)") == (1, 2, 3)
    assert parse_color("red") is None and accepts("#ff8800", (250, 140, 5))


@pytest.mark.parametrize(("hue", "word"), [(0, "red"), (355, "red"), (8, "red"), (110, "green"), (135, "green"),
                                            (215, "blue"), (240, "blue"), (60, "yellow"), (280, "purple")])
def test_a_shade_is_any_lightness_and_saturation_of_the_hue(hue: float, word: str) -> None:
    for s in (0.3, 0.6, 0.9):
        for lum in (0.3, 0.5, 0.75, 0.9):
            rgb = hsl(hue, s, lum)
            assert shade_of(word, rgb), (hue, s, lum, rgb)
            assert hue_family(rgb) == ("red" if word == "red" else word)
            others = {"red", "green", "blue", "yellow", "purple"} - {word}
            assert not any(shade_of(o, rgb) for o in others), (hue, s, lum, rgb)


# ------------------------------------------------------------------ patches, things, swatches

def _tiles() -> Image.Image:
    img = Image.new("RGB", (300, 200), "white")
    d = ImageDraw.Draw(img)
    fills = [(200, 40, 40), (40, 160, 60), (30, 60, 200), (255, 255, 255), (250, 180, 200), (90, 20, 20)]
    for i, fill in enumerate(fills):
        x, y = 20 + (i % 3) * 90, 20 + (i // 3) * 90
        d.rectangle((x, y, x + 50, y + 50), fill=fill, outline=(0, 0, 0), width=2)
    d.text((20, 180), "Some text here", fill=(0, 0, 0))
    return img


def test_patches_are_the_uniform_tiles_with_their_colours() -> None:
    found = sorted(patches(_tiles()), key=lambda p: (p.bbox[1], p.bbox[0]))
    assert len(found) == 6, found
    assert [p.rgb for p in found] == [(200, 40, 40), (40, 160, 60), (30, 60, 200), (255, 255, 255), (250, 180, 200),
                                      (90, 20, 20)]
    assert [shade_of("red", p.rgb) for p in found] == [True, False, False, False, True, True]
    assert all(p.fill > 0.9 for p in found)


def test_things_room_and_swatches() -> None:
    img = Image.new("RGB", (200, 120), "white")
    d = ImageDraw.Draw(img)
    d.ellipse((100, 40, 140, 80), fill=(250, 200, 0), outline=(0, 0, 0))
    d.rectangle((10, 100, 60, 115), fill=(220, 220, 220))  # a labelled control, skipped by its box
    drawn = things(img, skip=[(8, 98, 62, 117)])
    assert len(drawn) == 1 and drawn[0].bbox == (100, 40, 141, 81)
    assert room(img, drawn[0].bbox, "right") == 59 and room(img, drawn[0].bbox, "up") == 40
    band = Image.new("RGB", (200, 30), (255, 255, 200))
    ImageDraw.Draw(band).rectangle((80, 6, 96, 22), fill=(0, 128, 255), outline=(0, 0, 0))
    lines = with_swatches(band, [(2, 4, 75, 24), (100, 4, 190, 24)], ["Press the", "coloured tile"])
    assert lines == ["Press the #0080ff coloured tile"]
    stray = with_swatches(band, [(2, 4, 92, 24), (100, 4, 190, 24)], ["Press the 1", "coloured tile"])
    assert stray == ["Press the #0080ff coloured tile"]  # the sample's edge was read as "1"
    assert with_swatches(Image.new("RGB", (200, 30), "white"), [(2, 4, 75, 24)], ["plain"]) == ["plain"]


# ------------------------------------------------------------------ grammar

@pytest.mark.parametrize(("text", "goals"), [
    ("press the green button", [ColorGoal("green", noun="button")]),
    ("Tap on the yellow one.", [ColorGoal("yellow", noun="one")]),
    ("click the box that is purple", [ColorGoal("purple", noun="box")]),
    ("choose the square coloured orange", [ColorGoal("orange", noun="square")]),
    ("tick every blue square", [ColorGoal("blue", every=True, noun="square")]),
    ("pick all the pink tiles", [ColorGoal("pink", every=True, noun="tiles")]),
    ("select every shade of green, then click OK", [ColorGoal("green", every=True, shades=True),
                                                    ClickGoal(Ref("OK"))]),
    ("click the #00ff00 square", [ColorGoal("#00ff00", noun="square")]),
    ("move the shape up", [NudgeGoal("up")]),
    ("drag the box to the right", [NudgeGoal("right")]),
    ("slide the red circle downwards a bit", [NudgeGoal("down", color="red")]),
    ("drag Ada to the left", [NudgeGoal("left", source=Ref("Ada"))]),
    ("select all the text of the second paragraph", [HighlightGoal(2)]),
    ("highlight paragraph 3", [HighlightGoal(3)]),
    ("Highlight the whole last paragraph, then press Submit", [HighlightGoal(-1), ClickGoal(Ref("Submit"))]),
])
def test_colour_direction_and_selection_phrasings(text: str, goals: list[object]) -> None:
    assert parse_instructions(text) == goals


def test_a_colour_alone_is_still_a_name_and_list_places_are_still_places() -> None:
    assert parse_instructions("click Red") == [ClickGoal(Ref("Red"))]
    assert parse_instructions("Drag Marthena to the top")[0].position == 1  # type: ignore[union-attr]


# ------------------------------------------------------------------ skills, through the planner

def _obs(img: Image.Image, *elements: Element) -> Observation:
    return Observation(screenshot=img, elements=elements, screen_size=img.size)


def _step(i: int) -> Step:
    return Step(index=i, outcome=Outcome(screen_changed=True))


def test_click_the_colour_and_every_shade_of_one() -> None:
    img = _tiles()
    p = RulePlanner()
    d = p.next("click the green box", _obs(img), [])
    assert isinstance(d.action, Click) and d.action.target.point is not None
    assert d.action.target.point.to_pixels(img.size) == (135, 45)
    task = "select all the shades of red and press Submit"
    submit = Element(id="s", role=Role.BUTTON, name="Submit", bbox=(200, 170, 280, 195))
    seen: list[tuple[int, int]] = []
    history: list[Step] = []
    for i in range(3):
        d = p.next(task, _obs(img, submit), history)
        assert isinstance(d.action, Click) and d.action.target.point is not None
        seen.append(d.action.target.point.to_pixels(img.size))
        history.append(_step(i))
    assert seen == [(45, 45), (135, 135), (225, 135)]  # red, pale pink, maroon: shades of red
    d = p.next(task, _obs(img, submit), history)
    assert isinstance(d.action, Click) and d.action.target.description == "Submit"
    d = p.next("click the cyan box", _obs(img), [])
    assert isinstance(d.action, Done) and d.action.status == "impossible"


def _shape_at(x: int, y: int) -> Image.Image:
    img = Image.new("RGB", (320, 240), "white")
    ImageDraw.Draw(img).polygon([(x, y - 20), (x - 22, y + 18), (x + 22, y + 18)], fill=(128, 0, 128),
                                outline=(0, 0, 0))
    return img


def test_drag_in_a_direction_is_checked_on_the_pixels() -> None:
    p = RulePlanner()
    d = p.next("move the shape left", _obs(_shape_at(200, 120)), [])
    assert isinstance(d.action, Drag)
    (sx, sy), (ex, ey) = (t.point.to_pixels((320, 240)) for t in (d.action.start, d.action.end))  # type: ignore[union-attr]
    assert ex < sx - 30 and abs(ey - sy) <= 1
    done = p.next("move the shape left", _obs(_shape_at(150, 120)), [_step(0)])
    assert done.action == Done(status="success") and "moved" in done.thought
    p = RulePlanner()
    p.next("move the shape left", _obs(_shape_at(200, 120)), [])
    stuck = p.next("move the shape left", _obs(_shape_at(200, 120)), [_step(0)])
    assert isinstance(stuck.action, Done) and stuck.action.status == "impossible"


def _paragraphs(selected: int | None = None, cut: int = 0) -> tuple[Image.Image, list[Element]]:
    img = Image.new("RGB", (320, 300), "white")
    d = ImageDraw.Draw(img)
    els, y, k = [], 20, 0
    for para in range(3):
        for line in range(2):
            box = (10, y, 300 if line == 0 else 180, y + 16)
            if selected == para:  # `cut`: the highlight misses the first letter
                d.rectangle((box[0] + (cut if line == 0 else 0), *box[1:]), fill=(168, 206, 255))
            d.text((box[0], y + 2), "lorem ipsum dolor sit amet", fill=(0, 0, 0))
            if para == 1 and line == 0:
                box = (17, y, 300, y + 16)  # OCR's box cut off the first letter
            els.append(Element(id=f"t{k}", role=Role.TEXT, name="lorem ipsum dolor sit amet consectetur"[: 38 - 10 * line],
                               bbox=box))
            y, k = y + 20, k + 1
        y += 24
    return img, els


def test_highlight_a_paragraph_by_a_drag_then_check_the_highlight() -> None:
    task = "highlight the text in the second paragraph"
    img, els = _paragraphs()
    p = RulePlanner()
    d = p.next(task, _obs(img, *els), [])
    assert isinstance(d.action, Drag)
    start, end = (t.point.to_pixels(img.size) for t in (d.action.start, d.action.end))  # type: ignore[union-attr]
    ink_end = 10 + ImageDraw.Draw(img).textlength("lorem ipsum dolor sit amet")  # the last line's text
    assert 7 <= start[0] <= 10 and start[1] == 92 and ink_end < end[0] < ink_end + 12 and end[1] == 112
    after, _ = _paragraphs(selected=1)
    assert p.next(task, _obs(after, *els), [_step(0)]).action == Done(status="success")
    p = RulePlanner()
    p.next(task, _obs(img, *els), [])
    wrong, _ = _paragraphs(selected=0)
    missed = p.next(task, _obs(wrong, *els), [_step(0)])
    assert isinstance(missed.action, Done) and missed.action.status == "impossible"
    p = RulePlanner()
    p.next(task, _obs(img, *els), [])
    short, _ = _paragraphs(selected=1, cut=6)
    missed = p.next(task, _obs(short, *els), [_step(0)])
    assert isinstance(missed.action, Done) and "first or last letter" in (missed.action.answer or "")


def test_a_short_one_line_paragraph_counts_and_a_button_label_does_not() -> None:
    img = Image.new("RGB", (320, 300), "white")
    els = [Element(id="b", role=Role.BUTTON, name="Submit", bbox=(10, 5, 120, 45)),
           Element(id="bt", role=Role.TEXT, name="Submit", bbox=(40, 15, 100, 35)),
           Element(id="p1", role=Role.TEXT, name="Viverra eu. Neque orci", bbox=(12, 60, 250, 78)),
           Element(id="p1b", role=Role.TEXT, name="scelerisque.", bbox=(12, 82, 140, 100)),
           Element(id="p2", role=Role.TEXT, name="Sit. Et ac blandit", bbox=(12, 128, 200, 146))]
    d = RulePlanner().next("select the text of paragraph 2", _obs(img, *els), [])
    assert isinstance(d.action, Drag) and d.action.start.point is not None
    assert d.action.start.point.to_pixels(img.size)[1] == 137


def test_an_outlined_shape_is_grabbed_inside_and_dragged_within_the_room_it_has() -> None:
    img = Image.new("RGB", (320, 240), "white")
    d = ImageDraw.Draw(img)
    d.ellipse((250, 100, 300, 150), fill="white", outline=(0, 0, 0), width=2)  # white on white: only the ring shows
    d.rectangle((10, 200, 90, 230), outline=(0, 0, 0))
    submit = Element(id="s", role=Role.BUTTON, name="Submit", bbox=(10, 200, 91, 231))
    act = RulePlanner().next("drag the circle to the right", _obs(img, submit), []).action
    assert isinstance(act, Drag)
    (sx, sy), (ex, ey) = (t.point.to_pixels(img.size) for t in (act.start, act.end))  # type: ignore[union-attr]
    assert abs(sx - 275) <= 2 and abs(sy - 125) <= 2  # the ring's centre, not its edge
    assert 275 + 12 <= ex <= 319 - 25 + 4 and ey == sy  # no further than the screen's edge allows
