"""Raw events -> semantic actions (pure state machine, no devices)."""

from __future__ import annotations

import pytest

from guiagent.recorder.semantics import (
    ActionRecognizer,
    KeyPress,
    KeyRelease,
    PointerButton,
    PointerMove,
    Recognized,
    WheelScroll,
)
from guiagent.recorder.touch import classify_touch
from guiagent.schema import Click, DoubleClick, Drag, Key, LongPress, RightClick, Scroll, Swipe, TypeText

SIZE = (1000, 500)


def run(events: list, end: float | None = None) -> list[Recognized]:
    rec = ActionRecognizer(SIZE)
    out: list[Recognized] = []
    for ev in events:
        out += rec.feed(ev)
    if end is not None:
        out += rec.tick(end)
    out += rec.finish()
    return out


def click(t: float, x: int, y: int, button: str = "left", hold: float = 0.05) -> list:
    return [PointerButton(t, x, y, button, True), PointerButton(t + hold, x, y, button, False)]  # type: ignore[arg-type]


def keys(t: float, text: str, dt: float = 0.05) -> list:
    out = []
    for i, ch in enumerate(text):
        out += [KeyPress(t + i * dt, ch.lower(), ch), KeyRelease(t + i * dt + 0.01, ch.lower())]
    return out


def test_click_is_emitted_after_double_click_window_with_normalized_point() -> None:
    rec = ActionRecognizer(SIZE)
    assert rec.feed(PointerButton(1.0, 500, 250, "left", True)) == []
    assert rec.feed(PointerButton(1.05, 500, 250, "left", False)) == []
    assert rec.tick(1.2) == []  # still inside the double-click window
    (r,) = rec.tick(1.5)
    assert isinstance(r.action, Click)
    assert r.action.target.point is not None
    assert (r.action.target.point.x, r.action.target.point.y) == (0.5, 0.5)
    assert r.t_start == 1.0 and r.point == (500, 250)


def test_double_click_within_window_and_distance() -> None:
    out = run(click(1.0, 100, 100) + click(1.2, 103, 101))
    assert [type(r.action) for r in out] == [DoubleClick]
    assert out[0].t_start == 1.0


def test_two_clicks_far_apart_in_space_or_time_are_two_clicks() -> None:
    assert [type(r.action) for r in run(click(1.0, 100, 100) + click(1.2, 300, 100))] == [Click, Click]
    assert [type(r.action) for r in run(click(1.0, 100, 100) + click(2.0, 100, 100))] == [Click, Click]


def test_right_click_and_drag() -> None:
    ev = click(1.0, 10, 10, "right") + [
        PointerButton(2.0, 100, 100, "left", True), PointerMove(2.1, 150, 120),
        PointerMove(2.2, 300, 400), PointerButton(2.5, 300, 400, "left", False),
    ]
    out = run(ev)
    assert [type(r.action) for r in out] == [RightClick, Drag]
    drag = out[1].action
    assert isinstance(drag, Drag) and drag.end.point is not None
    assert (drag.end.point.x, drag.end.point.y) == (0.3, 0.8)
    assert drag.duration == pytest.approx(0.5)


def test_jitter_below_drag_threshold_is_a_click() -> None:
    ev = [PointerButton(1.0, 100, 100, "left", True), PointerMove(1.02, 104, 103),
          PointerButton(1.05, 102, 101, "left", False)]
    assert [type(r.action) for r in run(ev)] == [Click]


def test_typing_coalesces_with_backspace_shift_and_caps() -> None:
    ev = [KeyPress(1.0, "shift"), KeyPress(1.01, "h", "H"), KeyRelease(1.02, "shift"), KeyRelease(1.03, "h")]
    ev += keys(1.1, "ello")
    ev += [KeyPress(1.4, "x", "x"), KeyPress(1.45, "backspace")]  # typo corrected
    ev += [KeyPress(1.5, "capslock"), KeyPress(1.55, "a", "a"), KeyPress(1.6, "capslock")]
    ev += [KeyPress(1.7, "shift"), KeyPress(1.71, "1"), KeyRelease(1.72, "shift")]  # no char: US shift map
    ev += [KeyPress(1.8, "space"), KeyPress(1.9, "enter")]
    out = run(ev)
    assert len(out) == 1
    action = out[0].action
    assert isinstance(action, TypeText)
    assert action.text == "HelloA! " and action.submit
    assert out[0].t_start == 1.0


def test_backspace_on_empty_buffer_and_tab_are_keys() -> None:
    out = run([KeyPress(1.0, "backspace")] + keys(1.1, "ab") + [KeyPress(1.3, "tab")])
    assert [r.action for r in out] == [Key(keys=("backspace",)), TypeText(text="ab"), Key(keys=("tab",))]


def test_click_flushes_typing_and_typing_flushes_click_in_order() -> None:
    ev = click(1.0, 100, 100) + keys(1.1, "hi") + click(1.5, 400, 100)
    out = run(ev, end=5.0)
    assert [type(r.action) for r in out] == [Click, TypeText, Click]
    assert [r.t_start for r in out] == sorted(r.t_start for r in out)


def test_pause_flushes_typing() -> None:
    rec = ActionRecognizer(SIZE)
    for ev in keys(1.0, "ab"):
        rec.feed(ev)
    assert rec.tick(1.5) == []
    (r,) = rec.tick(4.0)
    assert r.action == TypeText(text="ab")


def test_hotkey_chords() -> None:
    ev = [KeyPress(1.0, "ctrl"), KeyPress(1.01, "s", "s"), KeyRelease(1.02, "s"), KeyRelease(1.03, "ctrl")]
    ev += [KeyPress(2.0, "ctrl"), KeyPress(2.01, "shift"), KeyPress(2.02, "t", "T"),
           KeyRelease(2.03, "shift"), KeyRelease(2.04, "ctrl")]
    ev += [KeyPress(3.0, "shift"), KeyPress(3.01, "tab"), KeyRelease(3.02, "shift")]
    ev += [KeyPress(4.0, "escape"), KeyPress(5.0, "ctrl"), KeyRelease(5.1, "ctrl")]  # lone ctrl: nothing
    out = run(ev)
    assert [r.action for r in out] == [Key(keys="ctrl+s"), Key(keys="ctrl+shift+t"), Key(keys="shift+tab"),
                                       Key(keys="escape")]


def test_scroll_runs_merge_and_split_by_direction() -> None:
    ev = [WheelScroll(1.0, 200, 100, 0, -1), WheelScroll(1.1, 200, 100, 0, -1), WheelScroll(1.2, 200, 100, 0, -1),
          WheelScroll(1.3, 200, 100, 0, 1), WheelScroll(3.0, 200, 100, 1, 0)]
    out = run(ev)
    assert [(r.action.direction, r.action.amount) for r in out if isinstance(r.action, Scroll)] == [
        ("down", pytest.approx(0.3)), ("up", pytest.approx(0.1)), ("right", pytest.approx(0.1))]
    first = out[0].action
    assert isinstance(first, Scroll) and first.anchor is not None and first.anchor.point is not None
    assert first.anchor.point.x == pytest.approx(0.2)


def test_middle_click_and_unknown_keys_are_counted_as_ignored() -> None:
    rec = ActionRecognizer(SIZE)
    for ev in click(1.0, 5, 5, "middle") + [KeyPress(1.2, "xf86audioplay")]:
        assert rec.feed(ev) == []
    assert rec.finish() == [] and rec.ignored == 2


@pytest.mark.parametrize(
    ("down", "up", "start", "end", "travel", "kind"),
    [
        (0.0, 0.1, (100, 100), (102, 101), 3, Click),
        (0.0, 0.9, (100, 100), (103, 100), 4, LongPress),
        (0.0, 0.3, (500, 1500), (500, 400), 1100, Swipe),
        (0.0, 0.3, (100, 100), (100, 100), 200, Swipe),  # went away and came back
    ],
)
def test_classify_touch(down: float, up: float, start: tuple, end: tuple, travel: float, kind: type) -> None:
    action = classify_touch(down, up, start, end, travel, (1080, 2400))
    assert isinstance(action, kind)


def test_element_hit_test_prefers_interactive_then_smallest() -> None:
    from guiagent.recorder.session import element_at, focused_element
    from guiagent.schema import Element, Role

    win = Element(id="w", role=Role.WINDOW, name="App", bbox=(0, 0, 500, 500))
    panel = Element(id="p", role=Role.CONTAINER, bbox=(0, 0, 300, 300))
    label = Element(id="l", role=Role.TEXT, name="Name", bbox=(10, 10, 200, 40))
    field = Element(id="f", role=Role.TEXT_FIELD, name="Name", bbox=(10, 10, 290, 40), editable=True, focused=True)
    els = [win, panel, label, field]
    assert element_at(els, 20, 20) == field  # interactive beats the smaller static label
    assert element_at(els, 250, 250) == panel  # only background: the smallest
    assert element_at(els, 499, 499) == win
    assert element_at(els, 600, 600) is None
    assert focused_element(els) == field and focused_element([win]) is None


def test_typed_text_carries_the_quiet_interval_around_it() -> None:
    ev = click(1.0, 100, 100) + [KeyPress(1.1, "shift")] + keys(1.11, "Ab") + [KeyPress(1.3, "tab")]
    out = run(ev)
    typed = next(r for r in out if isinstance(r.action, TypeText))
    assert typed.t_start == 1.1  # the Shift of the capital
    assert typed.t_prev == 1.05  # the click's release: the last input before typing
    assert typed.t_next == 1.3  # the Tab that ended it
    rec = ActionRecognizer(SIZE)
    for e in keys(1.0, "ab"):
        rec.feed(e)
    (r,) = rec.tick(4.0)
    assert r.t_prev is None and r.t_next == 4.0  # ended by a pause: nothing happened until the tick


# -- which field typed text went into (recorder.focus) ------------------------------------------

def _form(focus: str = "", name_field: str = "", value: str | None = "") -> list:
    """A two-row form: "First name"/"E-mail" labels left of unnamed fields, a Subscribe box,
    a Cancel button; `focus` is the element holding the focus."""
    from guiagent.schema import Element, Role

    def el(id_: str, role: Role, name: str, bbox: tuple[int, int, int, int], **kw: object) -> Element:
        return Element(id=id_, role=role, name=name, bbox=bbox, focused=id_ == focus,
                       extras={"pid": 7, "path": f"0.{id_}"}, **kw)  # type: ignore[arg-type]

    return [
        el("win", Role.WINDOW, "Sign up", (0, 0, 400, 300)),
        el("l1", Role.TEXT, "First name", (20, 40, 90, 74)),
        el("f1", Role.TEXT_FIELD, name_field, (100, 40, 260, 74), editable=True, value=value),
        el("l2", Role.TEXT, "E-mail", (20, 80, 62, 114)),
        el("f2", Role.TEXT_FIELD, "", (100, 80, 260, 114), editable=True, value=""),
        el("box", Role.CHECKBOX, "Subscribe", (100, 130, 200, 150), clickable=True),
        el("cancel", Role.BUTTON, "Cancel", (100, 250, 180, 284), clickable=True),
    ]


def test_typing_target_ignores_walks_that_may_have_seen_the_next_tab() -> None:
    from guiagent.recorder.capture import Snapshot
    from guiagent.recorder.focus import typing_target

    # click at 1.0, typing 1.1..1.5, Tab at 1.52. The walk that began at 1.45 ended after
    # the Tab and read the focus on the checkbox; the one inside the interval saw the field.
    snaps = [Snapshot(0.8, 0.85, _form("")), Snapshot(1.12, 1.18, _form("f1")),
             Snapshot(1.45, 1.6, _form("box")), Snapshot(1.7, 1.75, _form("box"))]
    found = typing_target(snaps, 1.0, 1.1, 1.52, "Ada")
    assert found is not None and found.element.id == "f1" and found.how == "focus"
    # No walk inside the interval: the field clicked right before typing.
    late = [snaps[0], snaps[2], snaps[3]]
    clicked = (_form()[2], _form())
    found = typing_target(late, 1.0, 1.1, 1.52, "Ada", clicked)
    assert found is not None and found.element.id == "f1" and found.how == "click"
    # Neither: a field whose value came to show the typed text, never the checkbox.
    shown = [snaps[0], Snapshot(1.7, 1.75, _form("box", value="Ada"))]
    found = typing_target(shown, 1.0, 1.1, 1.52, "Ada")
    assert found is not None and found.element.id == "f1" and found.how == "content"


def test_typing_target_never_picks_a_button_when_a_field_is_a_candidate() -> None:
    from guiagent.recorder.capture import Snapshot
    from guiagent.recorder.focus import typing_target

    # The latest quiet walk saw the Cancel button (the app had not caught up), an earlier the field.
    snaps = [Snapshot(1.12, 1.18, _form("f2")), Snapshot(1.3, 1.35, _form("cancel"))]
    found = typing_target(snaps, 1.0, 1.1, 1.52, "a@b.c")
    assert found is not None and found.element.id == "f2"
    only_button = [Snapshot(1.3, 1.35, _form("cancel"))]
    found = typing_target(only_button, 1.0, 1.1, 1.52, "x")
    assert found is not None and found.element.id == "cancel" and found.how == "fallback"
    assert typing_target([], None, 1.1, 1.52, "x") is None


def test_typing_target_prefers_a_password_field_among_candidates() -> None:
    from guiagent.recorder.capture import Snapshot
    from guiagent.recorder.focus import typing_target

    secret = [e.model_copy(update={"password": True}) if e.id == "f2" else e for e in _form("f2")]
    snaps = [Snapshot(0.8, 0.85, _form("f1")), Snapshot(1.2, 1.26, secret)]
    found = typing_target(snaps, 1.0, 1.1, 1.15, "hunter2")  # typed faster than a walk, after a Tab
    assert found is not None and found.element.password
    # Clicked into a plain field right before typing: that settles it, whatever a later walk saw.
    form = _form()
    found = typing_target(snaps, 1.0, 1.1, 1.15, "ada", clicked=(form[2], form))
    assert found is not None and found.element.id == "f1" and not found.element.password


def test_unnamed_field_is_named_by_the_grounders_label_rule() -> None:
    from grounding.text_matcher import TextGrounder
    from guiagent.recorder.focus import named
    from guiagent.schema import Observation

    form = _form()
    first, email, box = form[2], form[4], form[5]
    assert named(first, form, 400).name == "First name"
    assert named(email, form, 400).name == "E-mail"  # not "First name", which lies above it too
    assert named(email, form, 400).extras["name_from"] == "label"
    assert named(box, form, 400) is box  # has a name of its own
    lone = [e for e in form if e.id != "l2"]
    assert named(email, lone, 400).name == ""  # "First name" names the field on its own row only
    # Round trip: the name given grounds back to the same field.
    obs = Observation(screenshot=None, elements=form, screen_size=(400, 300))
    assert TextGrounder(semantic=False).ground("the E-mail field", obs).element == email
