"""The desktop device on a real Xvfb with real input (XTest), observed by a real X client
(`test_desktop_probe.Probe`). Nothing is mocked: the device captures the server's framebuffer
and sends input through the server, and the probe sees what an application would.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_desktop_probe import GEOM, GREEN, RED, Probe, at, keysym
from waiting import wait_until

from devices.x11.device import DesktopDevice, open_desktop
from devices.x11.session import WindowInfo
from devices.x11.xvfb import VirtualDisplay
from guiagent.schema import (
    Back,
    Click,
    DoubleClick,
    Drag,
    Home,
    Hover,
    Key,
    LongPress,
    OpenApp,
    RightClick,
    Scroll,
    Swipe,
    Target,
    TypeText,
    Wait,
)
from guiagent.schema.errors import ConfigError, DeviceError, UnsupportedAction

ROOT = Path(__file__).resolve().parents[2]
@pytest.fixture
def probe(xdisplay: VirtualDisplay) -> Iterator[Probe]:
    p = Probe()
    yield p
    p.close()


@pytest.fixture(scope="module")
def dev(xdisplay: VirtualDisplay) -> Iterator[DesktopDevice]:
    d = open_desktop("", a11y=False)
    yield d
    d.close()


def test_screenshot_size_and_content(dev: DesktopDevice, probe: Probe) -> None:
    img = dev.screenshot()
    assert img.mode == "RGB" and img.size == dev.info.screen_size == (1280, 800)
    assert dev.info.platform == "linux" and dev.info.scale == 1.0
    x, y, w, h = GEOM
    assert img.getpixel((x + 5, y + 5)) == RED and img.getpixel((x + w - 5, y + h - 5)) == RED
    assert img.getpixel((x - 2, y + 5)) != RED  # the probe's edge is where the server put it


def test_click_moves_the_real_pointer_and_changes_the_screen(dev: DesktopDevice, probe: Probe) -> None:
    cx, cy = probe.center
    before = dev.screenshot()
    assert dev.execute(Click(target=at(dev, cx, cy))).status == "ok"
    press = probe.wait_for(lambda e: e["type"] == "press")
    assert (press["button"], press["x"], press["y"]) == (1, cx, cy)
    probe.wait_for(lambda e: e["type"] == "release")
    settled = dev.wait_until_stable(reference=before, timeout=10)
    assert settled.stable and settled.changed
    assert settled.last_frame is not None and settled.last_frame.getpixel((cx, cy)) == GREEN
    # nothing moves now: stable, unchanged
    again = dev.wait_until_stable(reference=settled.last_frame, timeout=10)
    assert again.stable and not again.changed


def test_double_right_and_long_press(dev: DesktopDevice, probe: Probe) -> None:
    cx, cy = probe.center
    dev.execute(DoubleClick(target=at(dev, cx, cy)))
    probe.wait_for(lambda e: e["type"] == "release" and len([p for p in probe.seen if p["type"] == "release"]) == 2)
    presses = [e for e in probe.take() if e["type"] == "press"]
    assert [(e["button"], e["x"], e["y"]) for e in presses] == [(1, cx, cy)] * 2

    dev.execute(RightClick(target=at(dev, cx + 10, cy)))
    right = probe.wait_for(lambda e: e["type"] == "press")
    assert (right["button"], right["x"], right["y"]) == (3, cx + 10, cy)
    probe.wait_for(lambda e: e["type"] == "release" and e["button"] == 3)
    probe.take()

    dev.execute(LongPress(target=at(dev, cx, cy + 10), duration=0.4))
    down = probe.wait_for(lambda e: e["type"] == "press")
    up = probe.wait_for(lambda e: e["type"] == "release")
    assert (down["x"], down["y"], up["x"], up["y"]) == (cx, cy + 10, cx, cy + 10)
    assert up["time"] - down["time"] >= 380  # X server timestamps (ms): the button was held


def test_hover_moves_the_real_pointer_and_presses_nothing(dev: DesktopDevice, probe: Probe) -> None:
    x, y, w, h = GEOM
    spot = (x + 15, y + h - 15)
    assert dev.execute(Hover(target=at(dev, *spot))).status == "ok"
    assert dev.x11.pointer() == spot  # the server's pointer, once the action returned
    fence = probe.center  # a click after it: every event before the fence's came from the hover
    dev.execute(Click(target=at(dev, *fence)))
    probe.wait_for(lambda e: e["type"] == "release")
    presses = [(e["x"], e["y"]) for e in probe.take() if e["type"] == "press"]
    assert presses == [fence]


def test_ctrl_click_holds_ctrl_at_the_press_and_releases_it(dev: DesktopDevice, probe: Probe) -> None:
    cx, cy = probe.center
    assert dev.execute(Click(target=at(dev, cx, cy), modifiers=("ctrl",))).status == "ok"
    press = probe.wait_for(lambda e: e["type"] == "press")
    assert (press["button"], press["x"], press["y"]) == (1, cx, cy)
    assert press["state"] & 4  # ControlMask: the server saw ctrl down at the button press
    probe.wait_for(lambda e: e["type"] == "release")
    probe.take()
    dev.execute(Click(target=at(dev, cx, cy)))  # the modifier was let go: a plain click after it
    plain = probe.wait_for(lambda e: e["type"] == "press")
    assert not plain["state"] & 4
    probe.wait_for(lambda e: e["type"] == "release")
    probe.take()


def test_drag_sends_press_motion_release(dev: DesktopDevice, probe: Probe) -> None:
    x, y, w, h = GEOM
    start, end = (x + 20, y + 20), (x + w - 20, y + h - 30)
    dev.execute(Drag(start=at(dev, *start), end=at(dev, *end), duration=0.3))
    up = probe.wait_for(lambda e: e["type"] == "release")
    events = probe.take()
    press = next(e for e in events if e["type"] == "press")
    motions = [(e["x"], e["y"]) for e in events if e["type"] == "motion"]
    assert (press["x"], press["y"]) == start and (up["x"], up["y"]) == end
    assert len(set(motions)) >= 2  # moved through intermediate points with the button held
    assert all(start[0] <= mx <= end[0] and start[1] <= my <= end[1] for mx, my in motions)


@pytest.mark.parametrize(("direction", "button"), [("down", 5), ("up", 4), ("left", 6), ("right", 7)])
def test_scroll_turns_the_wheel_at_the_anchor(dev: DesktopDevice, probe: Probe, direction: str, button: int) -> None:
    cx, cy = probe.center
    action = Scroll(direction=direction, amount=0.25, anchor=at(dev, cx, cy))  # type: ignore[arg-type]
    clicks = abs(dev._wheel_clicks(action))
    assert clicks >= 2
    dev.execute(action)
    probe.wait_for(lambda e: len([r for r in probe.seen if r["type"] == "release"]) == clicks)
    presses = [e for e in probe.take() if e["type"] == "press"]
    assert {(e["button"], e["x"], e["y"]) for e in presses} == {(button, cx, cy)}
    assert len(presses) == clicks


def test_keys_chords_and_unicode_text_reach_the_focused_window(dev: DesktopDevice, probe: Probe) -> None:
    cx, cy = probe.center
    dev.execute(Click(target=at(dev, cx, cy)))  # the probe takes focus on click
    probe.wait_for(lambda e: e["type"] == "release")
    probe.take()

    dev.execute(Key(keys="ctrl+s"))
    s_key = probe.wait_for(lambda e: e["type"] == "key" and e["keysym"] == ord("s"))
    assert s_key["state"] & 4  # ControlMask held
    assert [e["keysym"] for e in probe.take() if e["type"] == "key"] == [keysym("Control_L"), ord("s")]

    for key, name in [("enter", "Return"), ("escape", "Escape"), ("meta", "Super_L"), ("f5", "F5")]:
        dev.execute(Key(keys=key))
        probe.wait_for(lambda e, n=name: e["type"] == "key" and e["keysym"] == keysym(n))
    dev.execute(Back())
    probe.wait_for(lambda e: e["type"] == "key" and e["keysym"] == keysym("Left"))
    probe.take()

    out = dev.execute(TypeText(text="aZ ü—漢\n"))
    assert out.via == "xtest-keysym"
    probe.wait_for(lambda e: e["type"] == "key" and e["keysym"] == keysym("Return"))
    typed = [e["keysym"] for e in probe.take() if e["type"] == "key" and e["keysym"] != keysym("Shift_L")]
    assert typed == [ord("a"), ord("Z"), ord(" "), 0xFC, 0x01002014, 0x01006F22, keysym("Return")]

    with pytest.raises(UnsupportedAction):
        dev.execute(Key(keys="power"))


def test_own_window_is_refused_by_pid(xdisplay: VirtualDisplay, dev: DesktopDevice, probe: Probe) -> None:
    cx, cy = probe.center
    guarded = open_desktop("", a11y=False, exclude_pids={probe.pid})
    try:
        with pytest.raises(DeviceError, match="own window"):
            guarded.execute(Click(target=at(guarded, cx, cy)))
        with pytest.raises(DeviceError, match="own window"):
            guarded.execute(Drag(start=at(guarded, 10, 10), end=at(guarded, cx, cy)))
        # the probe holds the focus: keys are refused too
        with pytest.raises(DeviceError, match="focused window"):
            guarded.execute(TypeText(text="nope"))
    finally:
        guarded.close()
    # barrier: the first event the probe ever gets is this later, allowed click
    dev.execute(Click(target=at(dev, cx + 7, cy + 7)))
    first = probe.wait_for(lambda e: e["type"] in ("press", "key"))
    assert (first["type"], first["x"], first["y"]) == ("press", cx + 7, cy + 7)


def test_own_window_default_is_this_process(xdisplay: VirtualDisplay, dev: DesktopDevice) -> None:
    """A window this very process created (without _NET_WM_PID: found through X-Resource)."""
    from Xlib import X
    from Xlib.display import Display

    d = Display()
    s = d.screen()
    win = s.root.create_window(100, 500, 150, 100, 0, s.root_depth, X.InputOutput, X.CopyFromParent,
                               background_pixel=0x0000FF)
    win.map()
    d.sync()
    try:
        info = wait_until(lambda: (i := dev.x11.window_at(150, 550)) is not None and i.id == win.id and i,
                          what="our own window under (150, 550)")
        assert info.pid == os.getpid()
        with pytest.raises(DeviceError, match="own window"):
            dev.execute(Click(target=at(dev, 150, 550)))
        with pytest.raises(DeviceError, match="own window"):
            dev.execute(Scroll(direction="down", anchor=at(dev, 150, 550)))
        win.set_input_focus(X.RevertToParent, X.CurrentTime)
        d.sync()
        with pytest.raises(DeviceError, match="focused window"):
            dev.execute(Key(keys="ctrl+w"))
    finally:
        win.destroy()
        d.close()


def test_foreground_is_the_focused_window_title(dev: DesktopDevice) -> None:
    p = Probe(title="probe — ünïcödé title")
    try:
        dev.execute(Click(target=at(dev, *p.center)))
        p.wait_for(lambda e: e["type"] == "release")
        assert dev.foreground() == "probe — ünïcödé title"
    finally:
        p.close()


def test_unsupported_and_ungrounded_actions(dev: DesktopDevice, xdisplay: VirtualDisplay) -> None:
    assert Swipe not in dev.info.supported and Home not in dev.info.supported
    with pytest.raises(UnsupportedAction):
        dev.execute(Swipe(start=Target.at(0.5, 0.5), end=Target.at(0.5, 0.1)))
    with pytest.raises(UnsupportedAction):
        dev.execute(Home())
    with pytest.raises(DeviceError, match="not grounded"):
        dev.execute(Click(target=Target.described("the OK button")))
    with pytest.raises(DeviceError, match="no executable"):
        dev.execute(OpenApp(name="surely-not-an-installed-program-xyz"))
    assert dev.execute(Wait(seconds=0.01)).status == "ok"
    with pytest.raises(ConfigError, match="monitor"):
        open_desktop("7", a11y=False)
    with pytest.raises(ConfigError, match="region"):
        open_desktop("", a11y=False, region="1,2,3")
    with pytest.raises(ConfigError, match="not inside the screen"):
        open_desktop("", a11y=False, region="1200,700,200,200")
    with pytest.raises(ConfigError, match="home_key"):
        open_desktop("", a11y=False, home_key="ctrl+nosuchkey")


def test_home_key_option(xdisplay: VirtualDisplay, probe: Probe) -> None:
    d = open_desktop("", a11y=False, home_key="meta")
    try:
        assert Home in d.info.supported
        d.execute(Click(target=at(d, *probe.center)))
        d.execute(Home())
        probe.wait_for(lambda e: e["type"] == "key" and e["keysym"] == keysym("Super_L"))
    finally:
        d.close()


def test_open_app_launches_a_real_window(dev: DesktopDevice, tmp_path: Path) -> None:
    form = ROOT / "assets" / "demo_form.py"
    out = dev.execute(OpenApp(name=f"{sys.executable} {form} --geometry 300,520,420,260"))
    assert out.via == "exec"
    proc = dev.launched[-1]
    try:
        def launched_window() -> WindowInfo | None:
            assert proc.poll() is None, "the launched app died"
            info = dev.x11.window_at(500, 600)
            return info if info is not None and info.pid == proc.pid else None

        info = wait_until(launched_window, what="the launched app's window")
        assert info.title == "guiagent demo form"
    finally:
        proc.terminate()
        proc.wait(10)
