"""One contract, every Device: the desktop on a real Xvfb, the Android device against the
virtual phone through the real adb server, and the Windows device on the fake UIAutomation
tree (the one stand-in: uiautomation cannot run on Linux)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from PIL import Image

from devices.base import Device, SettleResult
from guiagent.errors import DeviceError, UnsupportedAction
from guiagent.schema import ACTION_TYPES, Back, Click, Element, Home, Key, Outcome, Target, Wait


def _desktop() -> tuple[Device, Callable[[], None]]:
    from devices.desktop import open_desktop

    dev = open_desktop("")
    return dev, lambda: None


def _android() -> tuple[Device, Callable[[], None]]:
    from devices.simphone.launch import open_sim_phone

    dev = open_sim_phone("default")
    return dev, lambda: None  # the device's close() stops its phone


def _windows() -> tuple[Device, Callable[[], None]]:
    from fake_uia import make_fake_windows_device

    dev = make_fake_windows_device()
    return dev, lambda: None


BUILDERS = {"desktop": _desktop, "android": _android, "windows-fake": _windows}


@pytest.fixture(params=sorted(BUILDERS), scope="module")
def device(request, xdisplay) -> Iterator[Device]:
    dev, cleanup = BUILDERS[request.param]()
    yield dev
    dev.close()
    cleanup()


def test_info_is_complete(device: Device) -> None:
    info = device.info
    assert info.id and info.platform in ("linux", "windows", "macos", "android")
    w, h = info.screen_size
    assert isinstance(w, int) and isinstance(h, int) and w > 0 and h > 0
    assert info.scale > 0 and info.rotation in (0, 1, 2, 3)
    assert info.supported and set(info.supported) <= set(ACTION_TYPES)
    assert {"click", "type", "wait"} <= set(info.supported)


def test_screenshot_matches_info(device: Device) -> None:
    img = device.screenshot()
    assert isinstance(img, Image.Image) and img.mode == "RGB"
    assert img.size == device.info.screen_size


def test_ui_tree_elements_are_inside_the_screen(device: Device) -> None:
    elements = device.ui_tree()
    assert isinstance(elements, list)
    w, h = device.info.screen_size
    ids = [e.id for e in elements]
    assert len(ids) == len(set(ids)), "element ids must be unique"
    for e in elements:
        assert isinstance(e, Element)
        left, top, right, bottom = e.bbox
        assert -1 <= left <= right <= w + 1 and -1 <= top <= bottom <= h + 1, e


def test_ungrounded_targets_are_refused(device: Device) -> None:
    with pytest.raises(DeviceError):
        device.execute(Click(target=Target.described("OK")))


def test_supported_actions_run_and_unsupported_ones_raise(device: Device) -> None:
    out = device.execute(Wait(seconds=0.0))
    assert isinstance(out, Outcome) and out.status == "ok"
    for action in (Back(), Home(), Key(keys=("escape",))):
        if action.type not in device.info.supported:
            with pytest.raises(UnsupportedAction):
                device.execute(action)


def test_click_and_settle(device: Device) -> None:
    before = device.screenshot()
    out = device.execute(Click(target=Target.at(0.5, 0.02)))
    assert isinstance(out, Outcome) and out.status == "ok"
    settled = device.wait_until_stable(reference=before, timeout=2.0)
    assert isinstance(settled, SettleResult) and settled.frames >= 1 and isinstance(settled.stable, bool)
