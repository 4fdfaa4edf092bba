"""Widgets that hold a value (sliders, spinners, dates, times, drawn drop-downs): their grammar
(paraphrases, not one site's template), the slider detector on drawn pixels, and the skills on
synthetic observations: each reads the value back and never claims a value it did not see."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw

from grounding.detect import detect_sliders, detect_widgets
from guiagent.planning.instructions import (
    DateTimeGoal,
    Ref,
    SelectGoal,
    SliderGoal,
    SpinGoal,
    parse_instructions,
)
from guiagent.planning.rule import RulePlanner
from guiagent.planning.skills import Seen, pickers, widgets
from guiagent.planning.skills.pickers import read_date, read_time, shows
from guiagent.schema import Click, Done, Drag, Element, Key, Observation, Outcome, Role, Step, TypeText
from guiagent.schema.errors import InstructionNotUnderstood

SIZE = (400, 300)


def slider_image(knob_x: int, focused: bool = False) -> Image.Image:
    img = Image.new("RGB", SIZE, "white")
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((40, 100, 260, 118), radius=4, outline=(197, 197, 197), fill=(250, 250, 250), width=2)
    d.rounded_rectangle((knob_x - 13, 94, knob_x + 13, 124), radius=4, outline=(20, 20, 20) if focused else (197, 197, 197),
                        fill=(246, 246, 246), width=2)
    if focused:  # a focus ring drawn inside the knob
        d.rounded_rectangle((knob_x - 9, 98, knob_x + 9, 120), radius=3, outline=(0, 0, 0), width=2)
    return img


def slider_obs(knob_x: int, value: str | None, focused: bool = False) -> Observation:
    els = (Element(id="v", role=Role.TEXT, name=value, bbox=(280, 100, 310, 120)),) if value is not None else ()
    return Observation(screenshot=slider_image(knob_x, focused), elements=els, screen_size=SIZE)


# ------------------------------------------------------------------ grammar

@pytest.mark.parametrize(("text", "goal"), [
    ("Move the slider to 6", SliderGoal("6")),
    ("drag the slider to -3 and click Submit", SliderGoal("-3")),
    ("Use the slider to pick 7", SliderGoal("7")),
    ("set the volume to 30%", SliderGoal("30%", Ref("volume"))),
    ("Adjust the brightness slider to 80", SliderGoal("80", Ref("brightness"))),
    ("choose 4 using the slider", SliderGoal("4")),
    ("set the quantity spinner to 3", SpinGoal("3", Ref("quantity"))),
    ("set the quantity to 3", SpinGoal("3", Ref("quantity"))),
    ("Use the spinner to select -4", SpinGoal("-4")),
    ("pick 12 with the number picker", SpinGoal("12")),
    ("Set the time to 12:26 am", DateTimeGoal("12:26 am", "time")),
    ("type 7:05 PM into the time field", DateTimeGoal("7:05 PM", "time")),
    ("set the alarm to 7:30 PM", DateTimeGoal("7:30 PM", "time", Ref("alarm"))),
    ("choose 12/16/2016 in the date picker", DateTimeGoal("12/16/2016", "date")),
    ("enter the date 03/04/2020", DateTimeGoal("03/04/2020", "date")),
    ("Set the date to Dec 16, 2016", DateTimeGoal("Dec 16, 2016", "date")),
])
def test_widget_phrasings_parse(text: str, goal: object) -> None:
    assert parse_instructions(text)[0] == goal


def test_widget_grammar_leaves_the_rest_alone() -> None:
    assert parse_instructions("Type hello into the name field")[0].__class__.__name__ == "TypeGoal"
    goals = parse_instructions("pick Large from the dropdown, then click Buy")
    assert isinstance(goals[0], SelectGoal) and goals[0].option.text == "Large"
    with pytest.raises(InstructionNotUnderstood, match="set what"):
        parse_instructions("set the mood")


# ------------------------------------------------------------------ slider pixels

@pytest.mark.parametrize("focused", [False, True])
def test_slider_detector_finds_track_and_knob(focused: bool) -> None:
    found = detect_sliders(slider_image(100, focused))
    assert len(found) == 1
    s = found[0]
    assert abs(s.track[0] - 40) <= 2 and abs(s.track[2] - 261) <= 2
    assert abs((s.knob[0] + s.knob[2]) / 2 - 100) <= 3
    assert 0.2 < s.fraction < 0.35
    roles = [e.role for e in detect_widgets(slider_image(100, focused))]
    assert Role.SLIDER in roles and Role.CHECKBOX not in roles  # the knob is no checkbox


def test_plain_fields_are_no_sliders() -> None:
    img = Image.new("RGB", SIZE, "white")
    ImageDraw.Draw(img).rectangle((40, 100, 260, 130), outline=(120, 120, 120), width=2)
    assert detect_sliders(img) == []


# ------------------------------------------------------------------ skills

def test_slider_measures_aims_then_nudges_until_it_reads_the_value() -> None:
    run = widgets.slider(SliderGoal("6"), Seen(slider_obs(60, "-8")))
    first = next(run)
    assert isinstance(first.actions[0], Click) and first.actions[0].target.point is not None
    # the click moved the knob to x=200, which reads 5: 13 units over 140 px
    aim = run.send(Seen(slider_obs(200, "5")))
    assert isinstance(aim.actions[0], Click)
    x = aim.actions[0].target.point.x * SIZE[0]  # type: ignore[union-attr]
    assert 205 <= x <= 215
    key = run.send(Seen(slider_obs(205, "5", focused=True)))  # one short: an arrow key
    assert key.actions[0] == Key(keys=("right",))
    with pytest.raises(StopIteration):
        run.send(Seen(slider_obs(211, "6", focused=True)))


def test_slider_that_never_moves_is_an_honest_failure() -> None:
    run = widgets.slider(SliderGoal("6"), Seen(slider_obs(60, "-8")))
    next(run)
    drag = run.send(Seen(slider_obs(60, "-8")))  # a click did nothing: the knob is dragged
    assert isinstance(drag.actions[0], Drag) and drag.actions[0].start.point is not None
    assert abs(drag.actions[0].start.point.x * SIZE[0] - 60) <= 3
    done = run.send(Seen(slider_obs(60, "-8")))
    assert isinstance(done.actions[0], Done) and done.actions[0].status == "impossible"
    assert "moved it" in (done.actions[0].answer or "")


def field_obs(value: str | None, arrows: bool = True) -> Observation:
    els = [Element(id="f", role=Role.TEXT_FIELD, value=value, bbox=(10, 40, 250, 70), editable=True)]
    if arrows:
        els.append(Element(id="a", role=Role.BUTTON, bbox=(252, 40, 276, 70)))
    els.append(Element(id="s", role=Role.BUTTON, name="Submit", bbox=(10, 90, 120, 120)))
    return Observation(screenshot=Image.new("RGB", SIZE, "white"), elements=tuple(els), screen_size=SIZE)


def test_spinner_that_refuses_typing_is_stepped_with_its_arrows() -> None:
    run = widgets.spinner(SpinGoal("-3"), Seen(field_obs("0")))
    typed = next(run)
    assert isinstance(typed.actions[0], TypeText) and typed.actions[0].text == "-3"
    down = run.send(Seen(field_obs("0")))  # typing was refused
    assert isinstance(down.actions[0], Click) and "down" in (down.actions[0].target.description or "")
    run.send(Seen(field_obs("-1")))
    run.send(Seen(field_obs("2")))  # OCR lost the minus of "-2": the count says -2
    with pytest.raises(StopIteration):
        run.send(Seen(field_obs("-3")))


def test_dates_and_times_compare_as_values() -> None:
    assert read_time("06:15 AM") == read_time("6:15 am") != read_time("6:15 PM")
    assert read_time("12:26 AM") == read_time("00:26")
    assert read_date("12/16/2016") == read_date("Dec 16, 2016") == read_date("2016-12-16")
    assert read_date("12/16/2016") != read_date("12/01/2016")


def time_obs(shown: str) -> Observation:
    box = Element(id="t", role=Role.BUTTON, name=shown, bbox=(10, 20, 220, 70))
    submit = Element(id="s", role=Role.BUTTON, name="Submit", bbox=(10, 80, 220, 140))
    return Observation(screenshot=Image.new("RGB", SIZE, "white"), elements=(box, submit), screen_size=SIZE)


def test_time_goes_in_segment_by_segment_and_is_read_back() -> None:
    run = pickers.datetime(DateTimeGoal("6:15 PM", "time"), Seen(time_obs("--:-- --")))
    typed = next(run).actions[0]
    assert isinstance(typed, TypeText) and typed.text == "0615P" and typed.target is not None
    assert typed.target.point is not None and typed.target.point.x * SIZE[0] < 40  # its first segment
    with pytest.raises(StopIteration):
        run.send(Seen(time_obs("06:15 PM")))


def test_time_that_does_not_read_back_ends_in_failure_not_success() -> None:
    planner = RulePlanner()
    task = "Enter 6:15 AM as the time and press submit."
    d = planner.next(task, time_obs("--:-- --"), [])
    assert isinstance(d.action, TypeText)
    d = planner.next(task, time_obs("06:15 PM"), [Step(index=0, outcome=Outcome(screen_changed=True))])
    assert isinstance(d.action, Done) and d.action.status == "impossible"
    assert "06:15 PM" in (d.action.answer or "")


def test_a_closed_box_may_show_its_choice_cut_short() -> None:
    assert shows("5ft... V", "5ft 9in") and shows("Large ▾", "large")
    assert not shows("6ft...", "5ft 9in") and not shows("...", "5ft 9in")


def test_a_cut_short_choice_must_still_start_like_the_option() -> None:
    assert not shows("6ft...", "6 ft") and shows("6 ft", "6 ft") and not shows("16 ft", "6 ft")


def test_a_percent_goes_to_that_fraction_of_a_slider_that_shows_no_value() -> None:
    run = widgets.slider(SliderGoal("50%", Ref("volume")), Seen(slider_obs(60, None)))
    click = next(run).actions[0]
    assert isinstance(click, Click) and click.target.point is not None
    assert abs(click.target.point.x * SIZE[0] - 150) <= 3
    with pytest.raises(StopIteration):
        run.send(Seen(slider_obs(150, None)))
    run = widgets.slider(SliderGoal("50%"), Seen(slider_obs(60, None)))
    next(run)
    done = run.send(Seen(slider_obs(60, None)))  # the knob did not move
    assert isinstance(done.actions[0], Done) and done.actions[0].status == "impossible"


def test_a_date_input_read_as_two_boxes_reads_whole() -> None:
    parts = (Element(id="a", role=Role.BUTTON, name="02/14/", bbox=(16, 26, 126, 65)),
             Element(id="b", role=Role.TEXT, name="2015", bbox=(130, 25, 195, 66)))
    box = Element(id="d", role=Role.BUTTON, name="mm/dd/yyyy", bbox=(13, 23, 265, 68))
    after = Observation(screenshot=Image.new("RGB", SIZE, "white"), elements=parts, screen_size=SIZE)
    assert read_date(widgets.value_in(after, box)) == read_date("02/14/2015")


def test_a_caret_glued_to_a_number_is_taken_out_but_a_digit_stem_stays() -> None:
    import numpy as np

    from guiagent.planning.skills.widgets import _caretless

    crop = np.full((40, 80, 3), 255, dtype=np.uint8)
    crop[12:28, 10:13] = 0  # the stem of a "1", as tall as the other digit
    crop[12:28, 20:23] = 0  # the sides of a "0"
    crop[12:28, 30:33] = 0
    crop[12:14, 20:33] = 0
    crop[26:28, 20:33] = 0
    crop[6:34, 36:38] = 0  # the caret: thin and taller than the text
    out = _caretless(crop)
    assert (out[6:34, 36:38] == 255).all()
    assert (out[12:28, 10:13] == 0).all() and (out[12:28, 30:33] == 0).all()
