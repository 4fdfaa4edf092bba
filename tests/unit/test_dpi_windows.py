"""Per-monitor DPI on the Windows device: UIA rectangles, screenshot pixels and input
coordinates agree, through devices.coords only, on scaled and multi-monitor layouts with
negative origins. Scaled monitors cannot exist on Xvfb, so the layouts are declared; the
device-level cases use the FAKE uiautomation tree (tests/fake_uia.py) and real pyautogui
input on Xvfb, observed by a real X client."""

from __future__ import annotations

import pytest
from fake_uia import FakeUIAutomation, make_fake_windows_device
from test_desktop_probe import Probe

from devices.coords import Monitor, ScreenMap
from devices.windows.dpi import (
    PER_MONITOR,
    SYSTEM_AWARE,
    UNAWARE,
    input_layout,
    parse_monitors,
    pick_capture,
    rect_to_screenshot,
)
from guiagent.schema import Click, Point, Target
from guiagent.schema.errors import ConfigError

SCALES = [1.0, 1.25, 1.5, 2.0]


def screen_for(physical: list[Monitor], awareness: int) -> ScreenMap:
    return ScreenMap(input_layout(physical, awareness))


def agree(screen: ScreenMap, rect: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """The box of a UIA rect, checked both ways: a click at the box centre lands in the rect."""
    box = rect_to_screenshot(screen, *rect)
    assert box is not None
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    x, y = screen.to_input(cx, cy)
    assert rect[0] <= x < rect[2] and rect[1] <= y < rect[3], (rect, box, (x, y))
    px, py = screen.from_input(x, y)
    assert box[0] <= px < box[2] and box[1] <= py < box[3]
    return box


@pytest.mark.parametrize("scale", SCALES)
def test_per_monitor_aware_is_physical_whatever_the_scale(scale: float) -> None:
    # what the device asks for: UIA, mss and input all in physical pixels
    left = Monitor(-1920, -300, 1920, 1080, 1.0)
    primary = Monitor(0, 0, 2560, 1440, scale)
    screen = screen_for([left, primary], PER_MONITOR)
    assert screen.size == (1920 + 2560, 1440 + 300) and screen.scale == 1.0
    assert agree(screen, (-1000, -200, -900, -170)) == (920, 100, 1020, 130)
    assert agree(screen, (100, 100, 200, 130)) == (2020, 400, 2120, 430)


@pytest.mark.parametrize("scale", SCALES)
def test_unaware_process_maps_logical_rects_per_monitor(scale: float) -> None:
    # each monitor scaled by its own DPI; the left one (negative origin) stays at 1.25
    left = Monitor(-2400, 0, 2400, 1350, 1.25)  # logical -1920..0
    primary = Monitor(0, 0, 2560, 1600, scale)
    screen = screen_for([left, primary], UNAWARE)
    assert agree(screen, (-1000, 100, -900, 140)) == (2400 - 1250, 125, 2400 - 1125, 175)
    box = agree(screen, (100, 200, 300, 260))
    assert box == (2400 + round(100 * scale), round(200 * scale), 2400 + round(300 * scale), round(260 * scale))


@pytest.mark.parametrize("scale", SCALES)
def test_system_aware_scales_every_monitor_by_the_primary(scale: float) -> None:
    left = Monitor(-1920, 0, 1920, 1080, 1.0)
    primary = Monitor(0, 0, 1920, 1080, scale)
    screen = screen_for([left, primary], SYSTEM_AWARE)
    assert {m.scale for m in screen.monitors} == {scale}
    box = agree(screen, (40, 40, 140, 80))
    assert box == (1920 + round(40 * scale), round(40 * scale), 1920 + round(140 * scale), round(80 * scale))


def test_rects_off_screen_empty_or_partly_visible() -> None:
    screen = screen_for([Monitor(-1280, 0, 1280, 800), Monitor(0, 0, 1920, 1080)], PER_MONITOR)
    assert rect_to_screenshot(screen, 5000, 5000, 5100, 5100) is None  # on no monitor
    assert rect_to_screenshot(screen, 10, 10, 10, 50) is None  # zero width
    assert rect_to_screenshot(screen, -1400, 100, -1200, 140) == (0, 100, 80, 140)  # hangs off the left
    assert rect_to_screenshot(screen, 1800, 1000, 2000, 1200) == (3080, 1000, 3200, 1080)
    # a capture of the right monitor only: the left monitor's elements are not in the picture
    right_only = ScreenMap(input_layout(screen.monitors, PER_MONITOR), capture=Monitor(0, 0, 1920, 1080))
    assert rect_to_screenshot(right_only, -1000, 100, -900, 140) is None
    assert rect_to_screenshot(right_only, 100, 100, 200, 140) == (100, 100, 200, 140)


def test_parse_and_pick() -> None:
    a, b = parse_monitors("-1920,0,1920,1080;0,0,2560,1440@1.5")
    assert (a.left, a.scale, b.width, b.scale) == (-1920, 1.0, 2560, 1.5)
    for bad in ("1,2,3", "0,0,w,h", "0,0,10,10@x", ";"):
        with pytest.raises(ConfigError):
            parse_monitors(bad)
    mons = [{"left": -1920, "top": 0, "width": 4480, "height": 1440},
            {"left": -1920, "top": 0, "width": 1920, "height": 1080},
            {"left": 0, "top": 0, "width": 2560, "height": 1440, "is_primary": True}]
    assert pick_capture(mons, None).left == -1920 and pick_capture(mons, "primary").width == 2560
    assert pick_capture(mons, "1").width == 1920
    with pytest.raises(ConfigError):
        pick_capture(mons, "3")


@pytest.mark.parametrize(("awareness", "scale"), [(UNAWARE, 1.0), (UNAWARE, 1.25), (UNAWARE, 1.5),
                                                  (UNAWARE, 2.0), (PER_MONITOR, 1.5)])
def test_device_tree_and_input_agree(xdisplay, awareness: int, scale: float) -> None:
    """The element's box is in screenshot (physical) pixels; the fallback click arrives, in
    input coordinates, inside the rectangle UIA gave."""
    rect = (100, 100, 300, 300)  # UIA coordinates: logical when unaware, physical when aware
    probe = Probe(geometry=(100, 100, 200, 200))  # Xvfb has no scaling: input == root coordinates
    desk = FakeUIAutomation()
    desk.add_window("App", (0, 0, 640, 400), pid=4242).add("ButtonControl", "Plain", rect)
    dev = make_fake_windows_device(uia=desk, monitors=f"0,0,1280,800@{scale}", awareness=awareness)
    try:
        s = scale if awareness == UNAWARE else 1.0
        assert dev.info.scale == s and dev.screenshot().size == (1280, 800)
        el = next(e for e in dev.ui_tree() if e.name == "Plain")
        assert el.bbox == tuple(round(v * s) for v in rect)
        out = dev.execute(Click(target=Target(point=Point.from_pixels(*el.center, dev.info.screen_size))))
        assert out.via == "input"
        press = probe.wait_for(lambda e: e["type"] == "press")
        assert rect[0] <= press["x"] < rect[2] and rect[1] <= press["y"] < rect[3]
        assert abs(press["x"] - 200) <= 1 and abs(press["y"] - 200) <= 1
    finally:
        dev.close()
        probe.close()
