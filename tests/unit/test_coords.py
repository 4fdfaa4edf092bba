"""ScreenMap: screenshot pixels <-> global physical pixels <-> input coordinates."""

from __future__ import annotations

import math

import pytest

from devices.coords import Monitor, ScreenMap, bounding_box
from guiagent.schema.errors import ConfigError


@pytest.mark.parametrize("scale", [1.0, 1.25, 1.5, 2.0])
def test_single_monitor_scale(scale: float) -> None:
    w, h = 2560, 1600
    m = ScreenMap([Monitor(0, 0, w, h, scale)])
    assert m.size == (w, h)
    assert m.scale == scale
    assert m.to_input(0, 0) == (0, 0)
    # the bottom-right physical pixel is inside the last logical unit
    assert m.to_input(w - 1, h - 1) == (math.floor((w - 1) / scale), math.floor((h - 1) / scale))
    assert m.to_input(1000, 500) == (math.floor(1000 / scale), math.floor(500 / scale))
    # input -> screenshot -> input is the identity on integer input coordinates
    for x, y in [(0, 0), (17, 33), (math.floor(w / scale) - 1, math.floor(h / scale) - 1)]:
        assert m.to_input(*m.from_input(x, y)) == (x, y)


@pytest.mark.parametrize("scale", [1.0, 1.25, 1.5, 2.0])
def test_left_monitor_with_negative_origin(scale: float) -> None:
    left = Monitor(-1920, 0, 1920, 1080, scale)
    primary = Monitor(0, 0, 2560, 1440, 1.0)
    m = ScreenMap([primary, left])
    assert m.capture == Monitor(-1920, 0, 4480, 1440)
    assert m.size == (4480, 1440)
    # screenshot pixel 0 is the left monitor's first column
    assert m.to_global(0, 0) == (-1920, 0)
    assert m.monitor_at(*m.to_global(0, 0)) == left
    assert m.index_at(*m.to_global(0, 0)) == 1
    assert m.to_input(0, 0) == (math.floor(-1920 / scale), 0)
    # 100 physical pixels right of the left monitor's origin
    assert m.to_input(100, 40) == (math.floor(-1920 / scale + 100 / scale), math.floor(40 / scale))
    # the primary monitor starts at screenshot x = 1920 and is unscaled
    assert m.to_input(1920, 0) == (0, 0)
    assert m.to_input(1920 + 500, 700) == (500, 700)
    assert m.from_input(500, 700) == (1920 + 500, 700)
    assert m.to_screenshot(-1920, 0) == (0, 0)


def test_monitor_above_and_right_with_explicit_input_origin() -> None:
    # Windows lets a scaled monitor sit anywhere; the OS says where in input space.
    primary = Monitor(0, 0, 1920, 1080, 1.0)
    top = Monitor(200, -2160, 3840, 2160, 2.0, input_origin=(200, -1080))
    m = ScreenMap([primary, top])
    assert m.capture.top == -2160
    px, py = m.to_screenshot(200 + 400, -2160 + 200)  # 400x200 physical into the 4K monitor
    assert m.to_input(px, py) == (200 + 200, -1080 + 100)
    assert m.monitor_at_input(400, -1000) == top
    assert m.from_input(400, -980) == m.to_screenshot(600, -2160 + 200)


def test_capture_of_one_monitor_offsets_everything() -> None:
    a = Monitor(0, 0, 1280, 800)
    b = Monitor(1280, 100, 1024, 768, 1.25)
    m = ScreenMap([a, b], capture=b)
    assert m.size == (1024, 768)
    assert m.scale == 1.25
    assert m.to_global(0, 0) == (1280, 100)
    assert m.to_input(0, 0) == (1024, 80)  # 1280 / 1.25, 100 / 1.25
    assert m.to_input(125, 250) == (1024 + 100, 80 + 200)
    assert m.contains_global(1280, 100) and not m.contains_global(1279, 100)


def test_points_in_gaps_snap_to_the_nearest_monitor() -> None:
    big = Monitor(0, 0, 1920, 1080)
    small = Monitor(1920, 0, 1280, 720)
    m = ScreenMap([big, small])
    assert m.monitor_at(2500, 900) is None  # below the small monitor: no screen there
    assert m.nearest_monitor(2500, 900) == small
    assert m.to_input(2500, 900) == (2500, 719)
    assert m.nearest_monitor(1950, 1000) == big  # closer to the big one's right edge
    assert m.to_input(1950, 1000) == (1919, 1000)
    assert m.from_input(5000, 5000) == (1920 + 1279, 719)


def test_bad_monitors_are_refused_with_a_reason() -> None:
    with pytest.raises(ConfigError, match="size"):
        Monitor(0, 0, 0, 100)
    with pytest.raises(ConfigError, match="scale"):
        Monitor(0, 0, 10, 10, 0.0)
    with pytest.raises(ConfigError):
        ScreenMap([])
    with pytest.raises(ConfigError):
        bounding_box([])


def test_from_mss_dict() -> None:
    m = Monitor.from_mss({"left": -10, "top": 5, "width": 30, "height": 40, "is_primary": True}, 1.5)
    assert (m.left, m.top, m.right, m.bottom, m.scale) == (-10, 5, 20, 45, 1.5)
    assert m.contains(-10, 5) and not m.contains(20, 5)
