"""Scrolling to an end ("scroll to the bottom of the textarea") and fields by kind (a text area
vs a text input): the grammar over several phrasings, and the skill, which scrolls until a
frame shows nothing moved and clicks the field of the kind asked for."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw

from guiagent.planning.instructions import ClickGoal, Ref, ScrollGoal, TypeGoal, parse_instructions
from guiagent.planning.rule import RulePlanner
from guiagent.schema import Click, Done, Element, Observation, Outcome, Role, Scroll, Step, Target

SIZE = (400, 300)
AREA = Ref("", "field", multiline=True)


@pytest.mark.parametrize("text,direction,anchor", [
    ("Scroll to the bottom of the textarea", "down", AREA),
    ("scroll down to the end of the text area", "down", AREA),
    ("Scroll all the way to the very bottom of the textarea.", "down", AREA),
    ("scroll the text area down to its end", "down", AREA),
    ("Scroll until you reach the end of the license text", "down", Ref("license text")),
    ("scroll the agreement to the bottom", "down", Ref("agreement")),
    ("scroll all the way up in the list", "up", Ref("", "list")),
    ("scroll to the top", "up", None),
    ("scroll down to the bottom", "down", None),
])
def test_scrolling_to_an_end_parses(text: str, direction: str, anchor: Ref | None) -> None:
    assert parse_instructions(text) == [ScrollGoal(direction, 1, 5.0, anchor, to_end=True)]  # type: ignore[arg-type]


def test_plain_scrolls_are_not_to_an_end() -> None:
    assert parse_instructions("scroll down 3 times") == [ScrollGoal("down", 3, 0.5)]
    assert parse_instructions("scroll up") == [ScrollGoal("up", 1, 0.5)]


def test_the_whole_sentence_scrolls_types_then_clicks() -> None:
    goals = parse_instructions('Scroll to the bottom of the textarea, enter the name "Juan" then press "Cancel"')
    assert goals[0] == ScrollGoal("down", 1, 5.0, AREA, to_end=True)
    assert isinstance(goals[1], TypeGoal) and goals[1].text == "Juan"
    assert goals[2] == ClickGoal(Ref("Cancel", quoted=True))


@pytest.mark.parametrize("text,multiline", [
    ('Click on a "textarea" widget.', True), ("click the text area", True), ("Click the multi-line textarea", True),
    ('Click on a "text" widget.', False), ("click the text input", False), ("click the text field", None),
    ("click the second text area", True),
])
def test_a_field_named_by_its_kind(text: str, multiline: bool | None) -> None:
    goal = parse_instructions(text)[0]
    assert isinstance(goal, ClickGoal) and goal.target.role == "field"
    assert goal.target.multiline is multiline, goal


def _frame(offset: int) -> Image.Image:
    """A text area whose lines start `offset` px up (a scroll moves them)."""
    img = Image.new("RGB", SIZE, "white")
    d = ImageDraw.Draw(img)
    d.rectangle((10, 10, 300, 150), outline="black")
    for y in range(20 - offset % 40, 150, 20):
        if 12 < y < 140:
            d.line((20, y, 200, y), fill="black", width=3)
    return img


def _fields() -> tuple[Element, Element]:
    area = Element(id="a", role=Role.TEXT_FIELD, editable=True, bbox=(10, 10, 300, 150), extras={"multiline": True})
    line = Element(id="n", role=Role.TEXT_FIELD, editable=True, bbox=(10, 170, 300, 200))
    return area, line


def test_scrolls_until_nothing_moves_then_goes_on() -> None:
    area, line = _fields()
    shots = [_frame(0), _frame(10), _frame(20), _frame(20)]  # the 3rd scroll moves nothing: the end
    p = RulePlanner()
    task = "scroll to the bottom of the textarea and click the text input"
    acts = []
    for i, shot in enumerate(shots + [shots[-1]]):
        o = Observation(screenshot=shot, elements=(line, area), screen_size=SIZE)
        hist = [Step(index=i - 1, outcome=Outcome(screen_changed=i < 3))] if i else []
        acts.append(p.next(task, o, hist).action)
    assert all(isinstance(a, Scroll) and a.direction == "down" for a in acts[:3])
    anchor = acts[0].anchor  # type: ignore[union-attr]
    assert anchor is not None and anchor.point is not None  # over the text area, not the input
    assert 10 < anchor.point.x * SIZE[0] < 300 and 10 < anchor.point.y * SIZE[1] < 150
    assert acts[3] == Click(target=Target(element="n", description="the text field"))


def test_an_end_never_reached_is_no_success() -> None:
    area, _ = _fields()
    p = RulePlanner()
    acts = []
    for i in range(12):
        o = Observation(screenshot=_frame(i * 7), elements=(area,), screen_size=SIZE)
        hist = [Step(index=i - 1, outcome=Outcome(screen_changed=True))] if i else []
        acts.append(p.next("scroll down to the end of the text area", o, hist).action)
    assert sum(isinstance(a, Scroll) for a in acts) == 10
    assert isinstance(acts[10], Done) and acts[10].status == "impossible" and "not reached" in (acts[10].answer or "")
