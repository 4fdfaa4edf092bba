"""getevent parsing: axis ranges, the event stream, rotation, gestures and keys (pure)."""

from __future__ import annotations

import pytest

from guiagent.recorder.getevent import (
    GestureTracker,
    parse_event_line,
    parse_getevent_p,
    to_screen,
    touchscreen,
)
from guiagent.schema import Back, Click, Home, Key, LongPress, Swipe

LP = """add device 1: /dev/input/event3
  name:     "gpio-keys"
  events:
    KEY (0001): KEY_BACK              KEY_HOMEPAGE
add device 2: /dev/input/event2
  name:     "sec_touchscreen"
  events:
    KEY (0001): BTN_TOUCH
    ABS (0003): ABS_MT_SLOT           : value 0, min 0, max 9, fuzz 0, flat 0, resolution 0
                ABS_MT_POSITION_X     : value 0, min 0, max 4095, fuzz 0, flat 0, resolution 0
                ABS_MT_POSITION_Y     : value 0, min 0, max 4095, fuzz 0, flat 0, resolution 0
                ABS_MT_TRACKING_ID    : value 0, min 0, max 65535, fuzz 0, flat 0, resolution 0
  input props:
    INPUT_PROP_DIRECT
"""
P_NUMERIC = """add device 1: /dev/input/event1
  name:     "touch"
  events:
    ABS (0003): 0035  : value 0, min 0, max 1079, fuzz 0, flat 0, resolution 0
                0036  : value 0, min 0, max 2399, fuzz 0, flat 0, resolution 0
"""


def lines_for_touch(t: float, pts: list[tuple[int, int]], dt: float, dev: str = "/dev/input/event2",
                    tid: int = 7) -> list[str]:
    out = [f"[{t:14.6f}] {dev}: EV_ABS       ABS_MT_TRACKING_ID   {tid:08x}"]
    for i, (x, y) in enumerate(pts):
        ts = t + i * dt
        out += [f"[{ts:14.6f}] {dev}: EV_ABS       ABS_MT_POSITION_X    {x:08x}",
                f"[{ts:14.6f}] {dev}: EV_ABS       ABS_MT_POSITION_Y    {y:08x}"]
        if i == 0:
            out.append(f"[{ts:14.6f}] {dev}: EV_KEY       BTN_TOUCH            DOWN")
        out.append(f"[{ts:14.6f}] {dev}: EV_SYN       SYN_REPORT           00000000")
    te = t + (len(pts) - 1) * dt + dt
    out += [f"[{te:14.6f}] {dev}: EV_ABS       ABS_MT_TRACKING_ID   ffffffff",
            f"[{te:14.6f}] {dev}: EV_KEY       BTN_TOUCH            UP",
            f"[{te:14.6f}] {dev}: EV_SYN       SYN_REPORT           00000000"]
    return out


def run(lines: list[str], rotation: int = 0, size: tuple[int, int] = (1080, 2400)) -> list:
    panel = touchscreen(parse_getevent_p(LP))
    assert panel is not None
    tracker = GestureTracker(panel, size, rotation)
    out = []
    for line in lines:
        ev = parse_event_line(line)
        if ev is not None:
            out += tracker.feed(ev)
    return out


def test_axis_ranges_labelled_and_numeric() -> None:
    devs = parse_getevent_p(LP)
    panel = touchscreen(devs)
    assert panel is not None and panel.path == "/dev/input/event2" and panel.name == "sec_touchscreen"
    assert (panel.axes["ABS_MT_POSITION_X"].max, panel.axes["ABS_MT_POSITION_Y"].max) == (4095, 4095)
    assert not devs["/dev/input/event3"].is_touchscreen
    num = touchscreen(parse_getevent_p(P_NUMERIC))
    assert num is not None and num.axes["ABS_MT_POSITION_Y"].max == 2399


def test_event_line_forms() -> None:
    ev = parse_event_line("[   12345.678901] /dev/input/event2: EV_ABS       ABS_MT_TRACKING_ID   ffffffff")
    assert ev is not None and ev.value == -1 and ev.t == pytest.approx(12345.678901)
    ev = parse_event_line("[   1.5] /dev/input/event2: 0003 0035 0000021c")
    assert ev is not None and (ev.type, ev.code, ev.value) == ("EV_ABS", "ABS_MT_POSITION_X", 0x21C)
    ev = parse_event_line("[   1.5] /dev/input/event3: EV_KEY       KEY_BACK             DOWN")
    assert ev is not None and ev.value == 1
    assert parse_event_line("add device 1: /dev/input/event3") is None
    assert parse_event_line("could not open /dev/input/event9") is None


@pytest.mark.parametrize(("rotation", "expected"), [(0, (270, 600)), (1, (600, 810)), (2, (810, 1800)),
                                                     (3, (1800, 270))])
def test_rotation(rotation: int, expected: tuple[int, int]) -> None:
    x, y = to_screen(0.25, 0.25, (1080, 2400), rotation)
    assert (round(x), round(y)) == expected


def test_tap_long_press_swipe_and_keys_in_screen_pixels() -> None:
    lines = lines_for_touch(100.0, [(2048, 2048), (2050, 2049)], 0.05)  # tap at the centre
    lines += lines_for_touch(101.0, [(1024, 1024)] * 10, 0.1)  # 1 s still: long press
    lines += lines_for_touch(103.0, [(2048, 3500), (2048, 2500), (2048, 1000)], 0.05)  # swipe up
    lines += ["[104.000000] /dev/input/event3: EV_KEY       KEY_BACK             DOWN",
              "[104.050000] /dev/input/event3: EV_KEY       KEY_BACK             UP",
              "[105.000000] /dev/input/event3: EV_KEY       KEY_HOMEPAGE         DOWN",
              "[105.050000] /dev/input/event3: EV_KEY       KEY_HOMEPAGE         UP",
              "[106.000000] /dev/input/event3: 0001 001c 00000001",
              "[106.050000] /dev/input/event3: 0001 001c 00000000"]
    out = run(lines)
    kinds = [type(r.action) for r in out]
    assert kinds == [Click, LongPress, Swipe, Back, Home, Key]
    tap = out[0].action
    assert isinstance(tap, Click) and tap.target.point is not None
    assert tap.target.point.x == pytest.approx(0.5, abs=0.002) and tap.target.point.y == pytest.approx(0.5, abs=0.002)
    assert out[0].point == (540, 1200) and out[0].t_start == pytest.approx(100.0)
    assert isinstance(out[1].action, LongPress) and out[1].action.duration == pytest.approx(1.0)
    swipe = out[2].action
    assert isinstance(swipe, Swipe) and swipe.start.point is not None and swipe.end.point is not None
    assert swipe.start.point.y > 0.8 and swipe.end.point.y < 0.3
    assert out[5].action == Key(keys=("enter",))


def test_rotated_tap_and_second_finger_ignored() -> None:
    lines = lines_for_touch(1.0, [(1024, 1024)], 0.05)
    out = run(lines, rotation=1, size=(2400, 1080))
    (r,) = out
    # natural (270, 600) -> landscape (600, 1080 - 270)
    assert r.point == (600, 810)
    panel = touchscreen(parse_getevent_p(LP))
    assert panel is not None
    tracker = GestureTracker(panel, (1080, 2400))
    two = ["[1.0] /dev/input/event2: EV_ABS ABS_MT_SLOT 00000000",
           "[1.0] /dev/input/event2: EV_ABS ABS_MT_TRACKING_ID 00000001",
           "[1.0] /dev/input/event2: EV_ABS ABS_MT_POSITION_X 00000100",
           "[1.0] /dev/input/event2: EV_ABS ABS_MT_POSITION_Y 00000100",
           "[1.0] /dev/input/event2: EV_SYN SYN_REPORT 00000000",
           "[1.1] /dev/input/event2: EV_ABS ABS_MT_SLOT 00000001",
           "[1.1] /dev/input/event2: EV_ABS ABS_MT_TRACKING_ID 00000002",
           "[1.1] /dev/input/event2: EV_ABS ABS_MT_POSITION_X 00000f00",
           "[1.1] /dev/input/event2: EV_ABS ABS_MT_POSITION_Y 00000f00",
           "[1.1] /dev/input/event2: EV_SYN SYN_REPORT 00000000",
           "[1.2] /dev/input/event2: EV_ABS ABS_MT_SLOT 00000000",
           "[1.2] /dev/input/event2: EV_ABS ABS_MT_TRACKING_ID ffffffff",
           "[1.2] /dev/input/event2: EV_SYN SYN_REPORT 00000000"]
    out = []
    for line in two:
        ev = parse_event_line(line)
        assert ev is not None
        out += tracker.feed(ev)
    assert [type(r.action) for r in out] == [Click] and tracker.ignored >= 1
    assert out[0].point == (round(0x100 / 4096 * 1080), round(0x100 / 4096 * 2400))
