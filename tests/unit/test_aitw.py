"""AITW converters: (y, x) at the boundary, action type ids, the 0.04 tap rule."""

from __future__ import annotations

import pytest

from guiagent.formats.aitw import AitwAction, AitwType, NotRepresentable, from_aitw, is_tap, to_aitw
from guiagent.schema import Back, Click, Done, Home, Key, OpenApp, Scroll, Swipe, Target, TypeText


def test_click_swaps_to_y_x() -> None:
    a = to_aitw(Click(target=Target.at(0.2, 0.8)))
    assert a.action_type == AitwType.DUAL_POINT and a.touch_point == (0.8, 0.2) == a.lift_point
    assert from_aitw(a) == Click(target=Target.at(0.2, 0.8))


def test_tap_versus_swipe_by_the_004_rule() -> None:
    assert is_tap((0.5, 0.5), (0.5, 0.539))
    assert not is_tap((0.5, 0.5), (0.5, 0.541))
    near = from_aitw({"action_type": 4, "touch_point": [0.5, 0.5], "lift_point": [0.53, 0.52]})
    assert isinstance(near, Click)
    far = from_aitw({"action_type": 4, "touch_point": "[0.8, 0.5]", "lift_point": "[0.2, 0.5]"})
    assert isinstance(far, Swipe) and far.start.point and far.start.point.y == 0.8 and far.end.point.y == 0.2


def test_type_ids_both_ways() -> None:
    cases = [(TypeText(text="hi"), AitwType.TYPE), (Back(), AitwType.PRESS_BACK), (Home(), AitwType.PRESS_HOME),
             (Key(keys=("enter",)), AitwType.PRESS_ENTER), (Done(), AitwType.STATUS_TASK_COMPLETE),
             (Done(status="impossible"), AitwType.STATUS_TASK_IMPOSSIBLE)]
    for action, kind in cases:
        a = to_aitw(action)
        assert a.action_type == kind and int(kind) in (3, 5, 6, 7, 10, 11)
        assert from_aitw(a) == action
    assert to_aitw(TypeText(text="hi")).typed_text == "hi"


def test_scroll_becomes_a_swipe_in_the_opposite_finger_direction() -> None:
    a = to_aitw(Scroll(direction="down"))
    assert not a.is_tap and a.touch_point[0] > a.lift_point[0]  # finger moves up to see content below


def test_unrepresentable_and_ungrounded_raise() -> None:
    with pytest.raises(NotRepresentable):
        to_aitw(Key(keys=("ctrl", "c")))
    with pytest.raises(NotRepresentable):
        to_aitw(OpenApp(name="Settings"))
    with pytest.raises(NotRepresentable, match="ground"):
        to_aitw(Click(target=Target.described("OK")))


def test_string_type_names_from_files() -> None:
    assert from_aitw({"action_type": "PRESS_BACK"}) == Back()
    assert AitwAction.model_validate({"action_type": 3, "typed_text": "x"}).action_type == AitwType.TYPE
