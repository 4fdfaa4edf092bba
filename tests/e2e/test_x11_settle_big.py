"""Settling on a big screen (over devices.x11.settle's size floor) on a real Xvfb: the device
watches the window under the pointer, then confirms with one full frame."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from test_desktop_probe import GREEN, Probe, at

from devices.x11.device import DesktopDevice
from devices.x11.settle import MIN_PIXELS, watch_box
from devices.x11.xvfb import VirtualDisplay
from guiagent.schema import Click

pytestmark = pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb")
GEOM = (1500, 900, 240, 180)


@pytest.fixture(scope="module")
def big() -> Iterator[VirtualDisplay]:
    with VirtualDisplay(2560, 1440) as vd:
        yield vd


def test_a_click_settles_on_the_window_it_touched(big: VirtualDisplay) -> None:
    assert big.size[0] * big.size[1] >= MIN_PIXELS  # the window path is the one tested
    probe = Probe(geometry=GEOM)
    dev = DesktopDevice("", display=big.name, a11y=False)
    try:
        cx, cy = probe.center
        before = dev.screenshot()
        assert dev.execute(Click(target=at(dev, cx, cy))).status == "ok"
        probe.wait_for(lambda e: e["type"] == "release")
        assert watch_box(dev.x11.window_rects(), dev.capture_rect) == (1500, 900, 1740, 1080)
        settled = dev.wait_until_stable(reference=before, timeout=10, quiet=0.04)
        assert settled.stable and settled.changed
        assert settled.last_frame is not None and settled.last_frame.getpixel((cx, cy)) == GREEN
        again = dev.wait_until_stable(reference=settled.last_frame, timeout=10, quiet=0.04, react=0.1)
        assert again.stable and not again.changed  # nothing moves: the full-frame settle says so
    finally:
        dev.close()
        probe.close()
