"""Capturing one monitor or a region whose origin is not (0, 0), on the real Xvfb.

RandR 1.5 lets a client split the screen into monitors (what `xrandr --setmonitor` does);
mss lists them like real outputs. We split the 1280x800 screen into a left and a right
monitor starting at y=100, capture the right one (origin 640,100) and check that pixels and
clicks land where the server says.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from test_desktop_probe import RED, Probe, at

from devices.x11.device import open_desktop
from devices.x11.xvfb import VirtualDisplay
from guiagent.schema import Click, Point, Target

MONITORS = {"GA_TEST_LEFT": (0, 100, 640, 700), "GA_TEST_RIGHT": (640, 100, 640, 700)}


def _set_monitor_request() -> type:
    # python-xlib's own randr.set_monitor cannot pack its nested struct (0.33): inline it.
    from Xlib.protocol import rq

    class SetMonitor(rq.Request):
        _request = rq.Struct(
            rq.Card8("opcode"), rq.Opcode(43), rq.RequestLength(), rq.Window("window"),
            rq.Card32("name"), rq.Bool("primary"), rq.Bool("automatic"), rq.LengthOf("crtcs", 2),
            rq.Int16("x"), rq.Int16("y"), rq.Card16("width_in_pixels"), rq.Card16("height_in_pixels"),
            rq.Card32("width_in_millimeters"), rq.Card32("height_in_millimeters"),
            rq.List("crtcs", rq.Card32Obj),
        )

    return SetMonitor


@pytest.fixture
def split_screen(xdisplay: VirtualDisplay) -> Iterator[None]:
    from Xlib.display import Display
    from Xlib.ext import randr

    d = Display()
    root = d.screen().root
    opcode = d.display.get_extension_major(randr.extname)
    request = _set_monitor_request()
    for name, (x, y, w, h) in MONITORS.items():
        request(display=d.display, opcode=opcode, window=root, name=d.intern_atom(name), primary=False,
                automatic=False, x=x, y=y, width_in_pixels=w, height_in_pixels=h,
                width_in_millimeters=0, height_in_millimeters=0, crtcs=[])
    d.sync()
    try:
        yield
    finally:
        for name in MONITORS:
            root.xrandr_delete_monitor(d.intern_atom(name))
        d.sync()
        d.close()


def test_one_monitor_with_a_non_zero_origin(split_screen: None) -> None:
    import mss

    with mss.MSS() as m:
        index = next(i for i, mon in enumerate(m.monitors)
                     if i > 0 and (mon["left"], mon["top"], mon["width"], mon["height"]) == MONITORS["GA_TEST_RIGHT"])
    probe = Probe(geometry=(700, 150, 200, 200))
    dev = open_desktop(str(index), a11y=False)
    try:
        assert dev.info.screen_size == (640, 700)
        assert dev.screen.to_input(0, 0) == (640, 100)
        img = dev.screenshot()
        # the probe sits at global (700, 150): (60, 50) in this monitor's screenshot
        assert img.getpixel((60, 50)) == RED and img.getpixel((259, 249)) == RED
        assert img.getpixel((58, 50)) != RED and img.getpixel((60, 48)) != RED
        # a normalized point of this screenshot lands at the matching global pixel
        target = Target(point=Point.from_pixels(160.5, 150.5, dev.info.screen_size))
        dev.execute(Click(target=target))
        press = probe.wait_for(lambda e: e["type"] == "press")
        assert (press["x"], press["y"]) == (800, 250)
    finally:
        dev.close()
        probe.close()


def test_region_capture_and_clicks(xdisplay: VirtualDisplay) -> None:
    probe = Probe(geometry=(700, 150, 200, 200))
    dev = open_desktop("", a11y=False, region="700,150,200,200")
    try:
        img = dev.screenshot()
        assert img.size == (200, 200)
        assert set(img.getdata()) == {RED}  # exactly the probe window
        dev.execute(Click(target=at(dev, 710, 190)))
        press = probe.wait_for(lambda e: e["type"] == "press")
        assert (press["x"], press["y"]) == (710, 190)
    finally:
        dev.close()
        probe.close()
