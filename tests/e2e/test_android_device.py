"""AndroidDevice end to end: adbutils -> a REAL adb server -> the virtual phone (SimPhone).

The adb server is a private one of this module (`adb -P PORT server nodaemon`, started and
stopped by its pid) so other engineers' devices on the shared server never interfere, and the
"only connected device" rule can be tested. Every phone's state is checked on the phone side
(`phone.state`), not through the device under test.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import socket
import subprocess
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from waiting import wait_until

from devices.android.device import AndroidDevice, open_android
from devices.simphone import SimPhone
from guiagent.schema import (
    ALL_ACTIONS,
    TOUCH_ACTIONS,
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
    Point,
    RightClick,
    Role,
    Scroll,
    Swipe,
    Target,
    TypeText,
    Wait,
)
from guiagent.schema.errors import (
    ConfigError,
    DeviceDisconnected,
    DeviceError,
    DeviceTimeout,
    UnsupportedAction,
)

pytestmark = pytest.mark.timeout(180)
LAUNCHER = "com.android.launcher3"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def adb_port() -> Iterator[int]:
    import adbutils

    port = free_port()
    env = {**os.environ, "ADB_LIBUSB": "0", "ADB_EMU": "0", "ADB_MDNS": "0"}
    proc = subprocess.Popen([adbutils.adb_path(), "-P", str(port), "server", "nodaemon"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = adbutils.AdbClient(port=port, socket_timeout=5)
    wait_until(lambda: _answers(client), 30, "the private adb server")
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _answers(client: Any) -> bool:
    try:
        client.server_version()
        return True
    except Exception:
        return False


@pytest.fixture(scope="module")
def phone() -> Iterator[SimPhone]:
    with SimPhone() as p:
        yield p


@pytest.fixture(scope="module")
def device(adb_port: int, phone: SimPhone) -> Iterator[AndroidDevice]:
    d = open_android(phone.serial, adb_port=adb_port, timeout=5.0, reconnect_timeout=1.0, ime_settle_s=0)
    yield d
    d.close()
    d.transport.client.disconnect(phone.serial)


@pytest.fixture(autouse=True)
def fresh(phone: SimPhone, device: AndroidDevice) -> None:
    phone.reset()
    device.refresh_info()


def find(device: AndroidDevice, name: str, role: Role | None = None) -> Element:
    els = device.ui_tree()
    hits = [e for e in els if e.name == name and (role is None or e.role is role)]
    assert hits, f"no {role or 'element'} named {name!r} on screen: {[e.name for e in els]}"
    return hits[0]


def at(device: AndroidDevice, e: Element) -> Target:
    return Target(point=Point.from_pixels(*e.center, device.info.screen_size))


def test_info_matches_the_phone(device: AndroidDevice, phone: SimPhone) -> None:
    info = device.info
    assert info.platform == "android" and info.id == phone.serial
    assert info.screen_size == phone.state.size == (720, 1280)
    assert info.density == phone.state.density and info.rotation == 0 and info.scale == 1.0
    assert info.model == phone.scenario.device.model
    assert info.supported == TOUCH_ACTIONS == ALL_ACTIONS - {Hover}  # every action but a pointer's rest
    assert info.touch and info.trusts_a11y and not info.resettable  # a phone of its own, no sim_phone


def test_a_click_with_modifier_keys_is_refused_before_any_input(device: AndroidDevice) -> None:
    with pytest.raises(UnsupportedAction, match=r"no mouse for ctrl\+click"):
        device.execute(Click(target=Target.at(0.5, 0.5), modifiers=("ctrl",)))


def test_raw_and_png_screenshots_equal_the_phone_frame(device: AndroidDevice, phone: SimPhone) -> None:
    truth = np.asarray(phone.frame().convert("RGB"))
    raw, png = np.asarray(device.screencap_raw()), np.asarray(device.screencap_png())
    assert raw.shape == (1280, 720, 3)
    assert np.array_equal(raw, truth) and np.array_equal(png, truth)
    shot = device.screenshot()
    assert device.screenshot_mode in ("raw", "png")  # "auto" measured both and kept one
    assert shot.size == device.info.screen_size and np.array_equal(np.asarray(shot), truth)
    assert not device.last_frame_secure


def test_ui_tree_matches_what_is_on_screen(device: AndroidDevice, phone: SimPhone) -> None:
    els = device.ui_tree()
    names = {e.name for e in els}
    assert {"Settings", "Notes", "Contacts", "Wallet"} <= names
    w, h = device.info.screen_size
    frame = np.asarray(device.screenshot().convert("L"), dtype=np.float32)
    for e in els:
        left, top, right, bottom = e.bbox
        assert 0 <= left < right <= w and 0 <= top < bottom <= h
        if e.name in ("Settings", "Notes", "Contacts", "Wallet"):
            assert frame[top:bottom, left:right].std() > 10, f"nothing drawn where {e.name!r} is"
    device._dump_to_tty = False  # devices that cannot dump to /dev/tty: file + cat gives the same
    try:
        assert device.ui_tree() == els
    finally:
        device._dump_to_tty = True
    device.execute(Click(target=at(device, find(device, "Notes"))))  # tapping the box opens the app
    wait_until(lambda: phone.state.package == "com.example.notes", what="Notes to open")


def test_tap_toggles_wifi(device: AndroidDevice, phone: SimPhone) -> None:
    device.execute(OpenApp(name="Settings"))
    switch = find(device, "Wi-Fi", Role.SWITCH)  # named after its row
    assert switch.checked is False and phone.state["wifi"] is False
    assert device.execute(Click(target=at(device, switch))).status == "ok"
    wait_until(lambda: phone.state["wifi"] is True, what="Wi-Fi on")
    assert find(device, "Wi-Fi", Role.SWITCH).checked is True
    device.execute(Click(target=at(device, switch)))
    wait_until(lambda: phone.state["wifi"] is False, what="Wi-Fi off")


TRICKY = "it's $5 & \"quoted\" (ok); 100%sure `x` ~ * ? [a] {b} #c !d \\ end"


def test_text_with_spaces_quotes_and_shell_metacharacters_arrives_exactly(
        device: AndroidDevice, phone: SimPhone) -> None:
    device.execute(OpenApp(name="com.example.notes"))
    field = next(e for e in device.ui_tree() if e.editable)
    assert device.execute(TypeText(text=TRICKY, target=at(device, field))).via == "input"
    wait_until(lambda: phone.state["note_draft"] == TRICKY, what="the exact text")
    # clear replaces the text, submit presses Enter (which saves the note in this app)
    device.execute(TypeText(text="second note", target=at(device, field), clear=True, submit=True))
    wait_until(lambda: phone.state["notes"] == ["second note"], what="the note saved")
    assert phone.state["note_draft"] == ""


def test_non_ascii_without_ime_is_a_clear_error(device: AndroidDevice, phone: SimPhone) -> None:
    device.execute(OpenApp(name="Notes"))
    field = next(e for e in device.ui_tree() if e.editable)
    with pytest.raises(DeviceError, match=r"ADB Keyboard.*ime enable com\.android\.adbkeyboard/\.AdbIME"):
        device.execute(TypeText(text="Grüße", target=at(device, field)))
    assert phone.state["note_draft"] == ""


def test_non_ascii_through_adb_keyboard_restores_the_ime(adb_port: int) -> None:
    with SimPhone(adb_keyboard="enabled") as p:
        d = open_android(p.serial, adb_port=adb_port, timeout=5.0, ime_settle_s=0)
        try:
            before = p.state.ime
            d.execute(OpenApp(name="Notes"))
            field = next(e for e in d.ui_tree() if e.editable)
            text = "Grüße ☕ 日本語, ça va? $HOME"
            assert d.execute(TypeText(text=text, target=at(d, field))).via == "ime"
            wait_until(lambda: p.state["note_draft"] == text, what="the unicode text")
            assert p.state.ime == before != "com.android.adbkeyboard/.AdbIME"
        finally:
            d.close()
            d.transport.client.disconnect(p.serial)


def test_back_home_and_gestures(device: AndroidDevice, phone: SimPhone) -> None:
    device.execute(OpenApp(name="Contacts"))
    device.execute(Scroll(direction="down", amount=0.5))
    down = wait_until(lambda: phone.state.scroll.get("contacts_list", 0), what="the list to scroll")
    assert down > 0
    device.execute(Scroll(direction="up", amount=0.2))
    wait_until(lambda: 0 <= phone.state.scroll.get("contacts_list", 0) < down, what="scrolling back up")
    device.execute(Swipe(start=Target.at(0.5, 0.8), end=Target.at(0.5, 0.4), duration=0.2))
    g = phone.state.last_gesture
    assert g[0] == "swipe" and g[2] > g[4]
    assert device.execute(Drag(start=Target.at(0.5, 0.4), end=Target.at(0.5, 0.7))).via == "input:draganddrop"
    g = phone.state.last_gesture
    assert g[0] == "swipe" and g[2] < g[4]
    touches = phone.state.touches
    device.execute(DoubleClick(target=Target.at(0.5, 0.02)))  # status bar: changes nothing
    assert phone.state.touches == touches + 2
    contact = find(device, "Grace Hopper") if any(e.name == "Grace Hopper" for e in device.ui_tree()) \
        else next(e for e in device.ui_tree() if e.clickable and e.role is Role.TEXT and " " in e.name)
    device.execute(LongPress(target=at(device, contact), duration=0.6))
    assert phone.state.last_gesture[0] == "long_press"
    assert device.execute(RightClick(target=at(device, contact))).via == "input:long_press"
    assert phone.state.last_gesture[0] == "long_press"
    device.execute(Click(target=at(device, contact)))
    wait_until(lambda: phone.state.screen == "contact", what="the contact page")
    device.execute(Back())
    wait_until(lambda: phone.state.screen == "contacts", what="back to the list")
    device.execute(Home())
    wait_until(lambda: phone.state.package == LAUNCHER, what="the launcher")
    for action in (Key(keys="enter"), Wait(seconds=0.01), Done()):
        assert device.execute(action).status == "ok"


def test_open_app_by_package_and_by_label(device: AndroidDevice, phone: SimPhone) -> None:
    assert device.execute(OpenApp(name="com.example.contacts")).via == "monkey"
    wait_until(lambda: phone.state.package == "com.example.contacts", what="Contacts by package")
    assert device.foreground().startswith("com.example.contacts/")
    device.execute(OpenApp(name="wallet"))  # label, resolved from the package names
    wait_until(lambda: phone.state.package == "com.example.wallet", what="Wallet by label")
    # The launcher path: HOME, find the icon by its label, tap it, learn the package.
    assert device.apps.launch_from_launcher("Notes") == "com.example.notes"
    assert phone.state.package == "com.example.notes" and device.apps.labels["notes"] == "com.example.notes"
    with pytest.raises(DeviceError, match="no app called 'Flight Simulator'"):
        device.execute(OpenApp(name="Flight Simulator"))
    with pytest.raises(DeviceError, match="not installed"):
        device.execute(OpenApp(name="org.nowhere.app"))


def test_rotation_maps_coordinates(device: AndroidDevice, phone: SimPhone) -> None:
    device.execute(OpenApp(name="Settings"))
    phone.rotate(1)
    assert device.screenshot().size == (1280, 720)
    assert device.info.screen_size == (1280, 720) and device.info.rotation % 2 == 1
    switch = find(device, "Wi-Fi", Role.SWITCH)
    assert switch.bbox[2] > 720  # a landscape layout: the switch sits right of the portrait width
    device.execute(Click(target=at(device, switch)))
    wait_until(lambda: phone.state["wifi"] is True, what="Wi-Fi on in landscape")
    kind, x, y = phone.state.last_gesture
    left, top, right, bottom = switch.bbox
    assert kind == "tap" and left <= x <= right and top <= y <= bottom


def test_size_override_and_screenshot_scale(device: AndroidDevice, phone: SimPhone) -> None:
    device.execute(OpenApp(name="Settings"))
    device.shell("wm size 540x960")  # the logical display shrinks; input and frames follow
    assert device.screenshot().size == (540, 960) and device.info.screen_size == (540, 960)
    switch = find(device, "Wi-Fi", Role.SWITCH)
    device.execute(Click(target=at(device, switch)))
    wait_until(lambda: phone.state["wifi"] is True, what="Wi-Fi on with an override size")
    device.shell("wm size reset")
    device.screenshot()
    # Frames at half the input resolution (scale 0.5): the same normalized point must reach
    # the same input pixel.
    switch = find(device, "Wi-Fi", Role.SWITCH)
    point = at(device, switch)
    device.info = dataclasses.replace(device.info, screen_size=(360, 640), scale=0.5)
    device.execute(Click(target=point))
    wait_until(lambda: phone.state["wifi"] is False, what="Wi-Fi off through a scaled frame")
    kind, x, y = phone.state.last_gesture
    left, top, right, bottom = switch.bbox
    assert left <= x <= right and top <= y <= bottom


def test_black_frames_set_the_secure_flag_and_the_tree_still_works(device: AndroidDevice, phone: SimPhone) -> None:
    phone.faults.black(True)
    try:
        device.screenshot()
        assert device.last_frame_secure
        assert any(e.name == "Settings" for e in device.ui_tree())
        settle = device.wait_until_stable(timeout=2.0)
        assert settle.stable and settle.last_frame is None  # settled on UI-tree hashes
    finally:
        phone.faults.black(False)
    device.screenshot()
    assert not device.last_frame_secure
    device.execute(OpenApp(name="Wallet"))  # a FLAG_SECURE screen
    device.screenshot()
    assert device.last_frame_secure and any(e.name.lower() == "unlock" for e in device.ui_tree())


def test_drop_raises_disconnected_then_recovers(device: AndroidDevice, phone: SimPhone) -> None:
    reconnects = device.transport.reconnects
    phone.faults.drop(for_s=1.5)
    with pytest.raises(DeviceDisconnected):
        device.screenshot()

    def works() -> bool:
        try:
            return device.shell("echo back") == "back\n"
        except DeviceDisconnected:
            return False

    wait_until(works, timeout=30, what="the phone to come back")
    assert device.transport.reconnects == reconnects + 1
    device.execute(OpenApp(name="Settings"))
    wait_until(lambda: phone.state.package == "com.android.settings", what="a working device")


def test_stall_raises_timeout_then_works(device: AndroidDevice, phone: SimPhone) -> None:
    phone.faults.stall(for_s=2.5)
    with pytest.raises(DeviceTimeout, match="no answer within 1s"):
        device.shell("echo hi", timeout=1.0)

    def works() -> bool:
        try:
            return device.shell("echo ok", timeout=2.0) == "ok\n"
        except (DeviceTimeout, DeviceDisconnected):
            return False

    wait_until(works, timeout=30, what="the phone to answer again")


def test_open_android_picks_the_only_device_and_refuses_ambiguity(adb_port: int, phone: SimPhone) -> None:
    only = open_android("", adb_port=adb_port, timeout=5.0)
    assert only.serial == phone.serial
    with SimPhone() as second:
        d2 = open_android(second.serial, adb_port=adb_port, timeout=5.0)
        try:
            with pytest.raises(DeviceError, match="2 Android devices are connected") as info:
                open_android("", adb_port=adb_port, timeout=5.0)
            assert phone.serial in str(info.value) and second.serial in str(info.value)
        finally:
            d2.transport.client.disconnect(second.serial)
    with pytest.raises(DeviceDisconnected, match="failed to connect|Connection refused"):
        open_android(f"127.0.0.1:{free_port()}", adb_port=adb_port, timeout=5.0)
    with pytest.raises(ConfigError, match="unknown android option"):
        open_android(phone.serial, adb_port=adb_port, bogus=1)


def test_bench_measures_every_operation(device: AndroidDevice) -> None:
    from guiagent.cli import android_bench

    parser = argparse.ArgumentParser()
    bench = parser.add_subparsers(dest="bench")
    android_bench.register(argparse.Namespace(bench=bench))
    args = parser.parse_args(["android", "--serial", "127.0.0.1:5555", "--repeat", "3"])
    assert args.func is android_bench.cmd_bench_android and args.repeat == 3
    rows = android_bench.measure(device, repeat=2)
    assert [r[0].split()[0] for r in rows] == ["shell", "screencap", "screencap", "uiautomator", "input"]
    assert all(len(samples) >= 2 and min(samples) > 0 for _, samples, _ in rows)
    assert rows[1][2].startswith("720x1280")
