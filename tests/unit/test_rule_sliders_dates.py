"""Several sliders set in one sentence, and a date picked on a calendar that opens on another
month: their grammar (phrasings that are not one site's template), sliders read in screen
order with each one's value told apart from its neighbours', and the calendar paged by its
arrows with the heading read back after every press."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw

from guiagent.planning.instructions import DateTimeGoal, Ref, SliderGoal, parse_instructions
from guiagent.planning.skills import Seen, pickers
from guiagent.planning.skills.common import Attempt
from guiagent.planning.skills.slider_value import shown, sliders_in_order
from guiagent.schema import Click, Done, DoubleClick, Element, Observation, Role, TypeText

SIZE = (400, 320)


# ------------------------------------------------------------------ grammar


@pytest.mark.parametrize("text", [
    "Set the sliders to the combination [8,2,9] and submit.",
    "move the three sliders to 8, 2 and 9",
    "set slider values to 8, 2, 9 then press submit",
    "Adjust all the sliders to (8; 2; 9)",
    "drag the 3 sliders to the values 8, 2, and 9 and click Submit",
])
def test_several_sliders_in_one_sentence_parse_in_order(text: str) -> None:
    goals = [g for g in parse_instructions(text) if isinstance(g, SliderGoal)]
    assert goals == [SliderGoal("8", Ref(ordinal=1)), SliderGoal("2", Ref(ordinal=2)), SliderGoal("9", Ref(ordinal=3))]


def test_one_slider_still_parses_as_one() -> None:
    assert parse_instructions("move the volume slider to 6") == [SliderGoal("6", Ref("volume"))]


@pytest.mark.parametrize("text", [
    "Select 03/05/2016 as the date and hit submit.",
    "choose March 5, 2016 in the date picker",
    "set the date to 2016-03-05",
    "pick the date 5 March 2016",
    "enter Mar 5th 2016 as the date",
    "choose the 5th of March, 2016 in the calendar and submit",
    "set the date to 2016/03/05",
])
def test_dates_a_user_would_write_parse_to_the_same_day(text: str) -> None:
    goals = [g for g in parse_instructions(text) if isinstance(g, DateTimeGoal)]
    assert len(goals) == 1 and goals[0].kind == "date"
    assert pickers.read_date(goals[0].text) == pickers.When((2016, 3, 5))


# ------------------------------------------------------------------ stacked sliders


def stacked(knobs: list[int], values: list[str], under: bool = True) -> Observation:
    """Three sliders one over another, each one's value drawn under it (or over it)."""
    img = Image.new("RGB", SIZE, "white")
    d = ImageDraw.Draw(img)
    els = []
    for i, (kx, v) in enumerate(zip(knobs, values, strict=True)):
        y = 40 + 70 * i
        d.rounded_rectangle((40, y, 300, y + 18), radius=4, outline=(197, 197, 197), fill=(250, 250, 250), width=2)
        d.rounded_rectangle((kx - 13, y - 6, kx + 13, y + 24), radius=4, outline=(197, 197, 197), fill=(246, 246, 246),
                            width=2)
        ty = y + 30 if under else y - 34
        els.append(Element(id=f"v{i}", role=Role.TEXT, name=v, bbox=(42, ty, 60, ty + 20)))
    return Observation(screenshot=img, elements=tuple(els), screen_size=SIZE)


@pytest.mark.parametrize("under", [True, False])
def test_stacked_sliders_are_read_top_to_bottom_each_with_its_own_value(under: bool) -> None:
    obs = stacked([60, 200, 120], ["3", "17", "9"], under)
    found = sliders_in_order(obs)
    assert len(found) == 3
    assert [round(s.fraction, 1) for s in found] == [0.1, 0.6, 0.3]
    assert [shown(obs, s) for s in found] == [3.0, 17.0, 9.0]


# ------------------------------------------------------------------ calendar paging

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


def calendar(month: int, year: int = 2016, picked: str = "") -> Observation:
    """A read-only date field and an open calendar showing `month`: its heading between two
    round arrow icons, and 28 days in a grid under it."""
    els = [Element(id="f", role=Role.TEXT_FIELD, name="Date", value=picked, bbox=(10, 10, 260, 40), editable=True),
           Element(id="prev", role=Role.ICON, name="", bbox=(14, 60, 40, 86)),
           Element(id="head", role=Role.TEXT, name=f"{_MONTHS[month - 1]} {year}", bbox=(80, 62, 200, 84)),
           Element(id="next", role=Role.ICON, name="", bbox=(230, 60, 256, 86))]
    for d in range(1, 29):
        x, y = 14 + 34 * ((d - 1) % 7), 100 + 28 * ((d - 1) // 7)
        els.append(Element(id=f"d{d}", role=Role.BUTTON, name=str(d), bbox=(x, y, x + 30, y + 24)))
    return Observation(screenshot=None, elements=tuple(els), screen_size=SIZE)


def _action(a: Attempt) -> object:
    return a.actions[0]


def test_calendar_pages_back_two_months_a_press_then_clicks_the_day() -> None:
    run = pickers.datetime(DateTimeGoal("07/06/2016", "date"), Seen(calendar(12)))
    assert isinstance(_action(next(run)), TypeText)  # a read-only field: typing does nothing
    press = _action(run.send(Seen(calendar(12), changed=True)))
    assert isinstance(press, DoubleClick) and press.target.description is not None
    assert "previous" in press.target.description
    assert isinstance(_action(run.send(Seen(calendar(10)))), DoubleClick)
    assert isinstance(_action(run.send(Seen(calendar(8)))), Click)  # one month left: one click
    day = _action(run.send(Seen(calendar(7))))
    assert isinstance(day, Click) and day.target.element == "d6"
    with pytest.raises(StopIteration):
        run.send(Seen(Observation(screenshot=None, elements=(calendar(7, picked="07/06/2016").elements[0],),
                                  screen_size=SIZE)))


def test_a_calendar_that_counts_a_double_click_once_is_paged_one_click_at_a_time() -> None:
    run = pickers.datetime(DateTimeGoal("March 3, 2016", "date"), Seen(calendar(6)))
    next(run)
    assert isinstance(_action(run.send(Seen(calendar(6), changed=True))), DoubleClick)
    assert isinstance(_action(run.send(Seen(calendar(5)))), Click)  # it moved one month only
    assert isinstance(_action(run.send(Seen(calendar(4)))), Click)
    day = _action(run.send(Seen(calendar(3))))
    assert isinstance(day, Click) and day.target.element == "d3"


def test_an_arrow_that_pages_nothing_is_an_honest_failure() -> None:
    run = pickers.datetime(DateTimeGoal("2016-09-01", "date"), Seen(calendar(12)))
    next(run)
    run.send(Seen(calendar(12), changed=True))
    run.send(Seen(calendar(12)))  # once may be a calendar still fading in
    done = _action(run.send(Seen(calendar(12))))
    assert isinstance(done, Done) and done.status == "impossible" and "did not page" in (done.answer or "")
