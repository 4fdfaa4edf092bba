"""One contract, every Device: the desktop on a real Xvfb (bare, and wrapped with a kill switch
through the registry), the Android device against the virtual phone through the real adb
server, and the Windows device on the fake UIAutomation tree (the one stand-in: uiautomation
cannot run on Linux).

The seam: `Device.execute` is written once in devices.base. It checks the typed capability and
the grounding, converts the targets, then dispatches to the device's primitives inside its
`acting` hook; these tests replace the primitives with tripwires to see that a refused action
never reaches any input."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from PIL import Image

from devices.base import Device, SettleResult
from devices.killswitch import KillSwitch
from devices.pointer import PointerDevice
from devices.wrappers import DeviceWrapper, KillSwitchDevice
from guiagent.schema import (
    ACTION_TYPES,
    ALL_ACTIONS,
    Action,
    ActionClass,
    Back,
    Click,
    Done,
    DoubleClick,
    Drag,
    Element,
    Home,
    Hover,
    Key,
    LongPress,
    OpenApp,
    Outcome,
    RightClick,
    Scroll,
    Swipe,
    Target,
    TypeText,
    Wait,
)
from guiagent.schema.errors import DeviceError, StopRequested, UnsupportedAction


def _desktop() -> tuple[Device, Callable[[], None]]:
    from devices.x11.device import open_desktop

    dev = open_desktop("")
    return dev, lambda: None


def _desktop_wrapped() -> tuple[Device, Callable[[], None]]:
    from guiagent.registry import build_device

    dev = build_device("desktop", a11y=False, kill_switch=KillSwitch(hotkey=None))
    assert isinstance(dev, KillSwitchDevice)
    return dev, lambda: None


def _android() -> tuple[Device, Callable[[], None]]:
    from devices.simphone.launch import open_sim_phone

    dev = open_sim_phone("default")
    return dev, lambda: None  # the device's close() stops its phone


def _windows() -> tuple[Device, Callable[[], None]]:
    from fake_uia import make_fake_windows_device

    dev = make_fake_windows_device()
    return dev, lambda: None


BUILDERS = {"desktop": _desktop, "desktop+killswitch": _desktop_wrapped, "android": _android,
            "windows-fake": _windows}

HERE, THERE = Target.at(0.5, 0.5), Target.at(0.5, 0.4)
# one grounded action of every type
SAMPLES: dict[ActionClass, Action] = {
    Click: Click(target=HERE), DoubleClick: DoubleClick(target=HERE), RightClick: RightClick(target=HERE),
    LongPress: LongPress(target=HERE), TypeText: TypeText(text="x", target=HERE), Key: Key(keys="escape"),
    Scroll: Scroll(direction="down", anchor=HERE), Swipe: Swipe(start=HERE, end=THERE),
    Drag: Drag(start=HERE, end=THERE), OpenApp: OpenApp(name="nothing"), Back: Back(), Home: Home(),
    Wait: Wait(seconds=0.0), Done: Done(), Hover: Hover(target=HERE),
}
# everything between base.execute's checks and the input: the hook and the primitives
INPUT_SEAM = ("acting", "tap", "double_tap", "secondary_tap", "long_press", "type_text", "press_keys", "scroll",
              "swipe", "drag", "open_app", "back", "home", "wait", "hover")


@pytest.fixture(params=sorted(BUILDERS), scope="module")
def device(request, xdisplay) -> Iterator[Device]:
    dev, cleanup = BUILDERS[request.param]()
    yield dev
    dev.close()
    cleanup()


def innermost(device: Device) -> Device:
    return device.unwrapped if isinstance(device, DeviceWrapper) else device


@contextmanager
def tripwires(device: Device) -> Iterator[list[str]]:
    """The device's input seam replaced by recorders (instance attributes shadow the methods)."""
    calls: list[str] = []
    inner = innermost(device)

    def wire(name: str) -> Callable[..., str]:
        def tripped(*args: object, **kwargs: object) -> str:
            calls.append(name)
            raise AssertionError(f"{name} reached for a refused action")

        return tripped

    for name in INPUT_SEAM:
        setattr(inner, name, wire(name))
    try:
        yield calls
    finally:
        for name in INPUT_SEAM:
            delattr(inner, name)


def test_samples_cover_the_action_union() -> None:
    assert set(SAMPLES) == ALL_ACTIONS
    assert all(type(a) is cls for cls, a in SAMPLES.items())
    assert sorted(a.type for a in SAMPLES.values()) == sorted(ACTION_TYPES)


def test_info_is_complete(device: Device) -> None:
    info = device.info
    assert info.id and info.platform in ("linux", "windows", "macos", "android")
    w, h = info.screen_size
    assert isinstance(w, int) and isinstance(h, int) and w > 0 and h > 0
    assert info.scale > 0 and info.rotation in (0, 1, 2, 3)
    assert info.supported and set(info.supported) <= set(ALL_ACTIONS)
    assert {a.model_fields["type"].default for a in info.supported} <= set(ACTION_TYPES)
    assert {Click, TypeText, Wait} <= set(info.supported)


def test_traits_are_typed(device: Device) -> None:
    info = device.info
    phone = info.platform == "android"
    assert (info.touch, info.trusts_a11y, info.resettable) == (phone, phone, phone)  # the virtual phone resets
    assert (Swipe in info.supported) == info.touch


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


def test_ungrounded_targets_are_refused_before_any_input(device: Device) -> None:
    with tripwires(device) as calls:
        for action in (Click(target=Target.described("OK")), Drag(start=HERE, end=Target(element="e3"))):
            with pytest.raises(DeviceError, match="not grounded"):
                device.execute(action)
    assert calls == []


def test_unsupported_actions_are_refused_before_any_input(device: Device) -> None:
    unsupported = ALL_ACTIONS - device.info.supported
    with tripwires(device) as calls:
        for cls in sorted(unsupported, key=lambda c: c.__name__):
            with pytest.raises(UnsupportedAction, match=SAMPLES[cls].type):
                device.execute(SAMPLES[cls])
    assert calls == []


def test_supported_actions_run_and_unsupported_ones_raise(device: Device) -> None:
    out = device.execute(Wait(seconds=0.0))
    assert isinstance(out, Outcome) and out.status == "ok"
    assert device.execute(Done()).via == "noop"
    for action in (Back(), Home(), Key(keys=("escape",))):
        if type(action) not in device.info.supported:
            with pytest.raises(UnsupportedAction):
                device.execute(action)


def test_a_tripped_kill_switch_stops_any_device_before_any_input(device: Device) -> None:
    lent = innermost(device).kill_switch  # the wrapped fixture's own switch, else None
    ks = KillSwitch(hotkey=None)
    guarded = KillSwitchDevice(device, ks)
    try:
        assert guarded.info == device.info and guarded.unwrapped is innermost(device)
        assert guarded.screenshot().size == device.info.screen_size
        # what the wrapper does not define is the wrapped device's (the virtual phone, X11 ...)
        assert getattr(guarded, "sim_phone", None) is getattr(device, "sim_phone", None)
        assert guarded.execute(Wait(seconds=0.0)).status == "ok"
        ks.trip("conformance")
        with tripwires(device) as calls:
            for action in (Click(target=HERE), Wait(seconds=0.0)):
                with pytest.raises(StopRequested, match="conformance"):
                    guarded.execute(action)
        assert calls == []
    finally:
        innermost(device).kill_switch = lent


def test_a_stop_raised_by_any_device_trips_the_kill_switch(device: Device) -> None:
    lent = innermost(device).kill_switch
    ks = KillSwitch(hotkey=None)
    guarded = KillSwitchDevice(device, ks)
    inner = innermost(device)

    def corner(*args: object, **kwargs: object) -> str:  # what the pointer devices raise on the fail-safe
        raise StopRequested("pyautogui fail-safe: the pointer is in a screen corner")

    inner.tap = corner  # type: ignore[method-assign]
    try:
        with pytest.raises(StopRequested, match="fail-safe"):
            guarded.execute(Click(target=HERE))
        assert ks.tripped and "fail-safe" in (ks.reason or "")
        with pytest.raises(StopRequested, match="fail-safe"):  # every later action stops too
            guarded.execute(Wait(seconds=0.0))
    finally:
        del inner.tap
        inner.kill_switch = lent
        if lent is not None:  # the wrapped fixture's own switch saw the stop pass through it too
            assert lent.tripped
            lent.reset()


def test_hover_moves_the_pointer_without_a_button_or_is_refused(device: Device) -> None:
    if Hover not in device.info.supported:  # a touch screen: no pointer to rest anywhere
        with pytest.raises(UnsupportedAction, match="hover"):
            device.execute(Hover(target=HERE))
        return
    from Xlib import X
    from Xlib.display import Display

    inner = innermost(device)
    assert isinstance(inner, PointerDevice)  # the desktops that hover move the real pointer
    conn = Display(inner.input.display or os.environ["DISPLAY"])
    buttons = X.Button1Mask | X.Button2Mask | X.Button3Mask
    try:
        for target in (Target.at(0.3, 0.6), Target.at(0.6, 0.3)):
            assert device.execute(Hover(target=target)).status == "ok"
            spot = inner.spot(target)
            p = conn.screen().root.query_pointer()  # the X server's own pointer, after the action returned
            assert (p.root_x, p.root_y) == inner.screen.to_input(spot.x, spot.y)
            assert not p.mask & buttons
    finally:
        conn.close()


def test_click_and_settle(device: Device) -> None:
    before = device.screenshot()
    out = device.execute(Click(target=Target.at(0.5, 0.02)))
    assert isinstance(out, Outcome) and out.status == "ok"
    settled = device.wait_until_stable(reference=before, timeout=2.0)
    assert isinstance(settled, SettleResult) and settled.frames >= 1 and isinstance(settled.stable, bool)
