"""The virtual phone through the REAL adb server and adbutils (ADB_LIBUSB=0).

Never kills the adb server (other engineers share it); disconnects its own serials."""

from __future__ import annotations

import io
import os
import re
import shlex
import struct
import subprocess
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from waiting import wait_until

from devices.simphone import SimPhone
from devices.simphone.launch import adb_connect, adb_disconnect

adbutils = pytest.importorskip("adbutils")


def adb(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ADB_LIBUSB": "0"}
    return subprocess.run([adbutils.adb_path(), *args], capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def client() -> adbutils.AdbClient:
    adb("start-server")  # a no-op when it already runs; never kill-server here
    return adbutils.AdbClient(socket_timeout=20)


@pytest.fixture(scope="module")
def phone(client: adbutils.AdbClient) -> Iterator[SimPhone]:
    with SimPhone(scenario="default") as p:
        adb_connect(p.serial, client=client)
        try:
            yield p
        finally:
            adb_disconnect(p.serial, client)


@pytest.fixture
def dev(phone: SimPhone, client: adbutils.AdbClient) -> adbutils.AdbDevice:
    phone.reset()
    return client.device(phone.serial)


def node_center(xml: str, **attrs: str) -> tuple[int, int]:
    for node in ET.fromstring(xml).iter("node"):
        if all(node.get(k.replace("_", "-")) == v for k, v in attrs.items()):
            left, top, right, bottom = map(int, re.findall(r"\d+", node.get("bounds", "")))
            return (left + right) // 2, (top + bottom) // 2
    raise AssertionError(f"no node with {attrs}")


def wait_ready(client: adbutils.AdbClient, phone: SimPhone, timeout: float = 30) -> None:
    """Until `echo` works again, re-connecting as a driver would after a drop."""

    def answers() -> bool:
        try:
            if client.device(phone.serial).shell("echo back", timeout=3) == "back":
                return True
        except adbutils.AdbError:
            pass
        try:
            client.connect(phone.serial, timeout=3)
        except adbutils.AdbError:
            pass
        return False

    wait_until(answers, timeout=timeout, what=f"{phone.serial} to answer adb again", interval=0.2)


def test_adb_lists_the_phone_as_a_device(phone: SimPhone) -> None:
    out = adb("devices", "-l").stdout
    line = next(ln for ln in out.splitlines() if ln.startswith(phone.serial))
    assert line.split()[1] == "device"
    assert "model:SimPhone" in line and "product:simphone" in line


def test_shell_through_adbutils_and_the_adb_cli(dev: adbutils.AdbDevice, phone: SimPhone) -> None:
    assert dev.shell("echo hi") == "hi"
    r = dev.shell2("echo out; echo err >&2; exit 3", v2=True)  # shell protocol v2
    assert (r.returncode, r.stdout, r.stderr) == (3, "out\n", "err\n")
    r = dev.shell2("nosuch", v2=False)  # v1: adbutils appends `; echo X4EXIT:$?`
    assert r.returncode == 127 and "not found" in r.output
    cli = adb("-s", phone.serial, "shell", "echo cli; exit 7")  # the adb client uses shell,v2
    assert (cli.returncode, cli.stdout) == (7, "cli\n")
    assert dev.prop.model == "SimPhone" and dev.getprop("ro.build.version.sdk") == "34"
    assert "shell_v2" in dev.get_features()


def test_screencap_png_and_raw_equal_the_rendered_frame(dev: adbutils.AdbDevice, phone: SimPhone) -> None:
    dev.app_start("com.android.settings")
    frame = np.asarray(phone.frame())
    png = Image.open(io.BytesIO(dev.shell("screencap -p", encoding=None)))
    assert png.format == "PNG" and np.array_equal(np.asarray(png.convert("RGB")), frame)
    raw = dev.shell("screencap", encoding=None)
    w, h, fmt, colorspace = struct.unpack("<4I", raw[:16])
    assert (w, h, fmt, colorspace, len(raw)) == (720, 1280, 1, 1, 16 + 720 * 1280 * 4)
    rgba = np.frombuffer(raw[16:], np.uint8).reshape(h, w, 4)
    assert np.array_equal(rgba[..., :3], frame) and (rgba[..., 3] == 255).all()
    assert np.array_equal(np.asarray(dev.screenshot()), frame)  # adbutils' own path
    assert np.array_equal(np.asarray(dev.framebuffer().convert("RGB")), frame)


def test_uiautomator_dump_parses_and_a_tap_toggles_wifi(dev: adbutils.AdbDevice, phone: SimPhone) -> None:
    dev.app_start("com.android.settings", ".Settings")
    xml = dev.dump_hierarchy()  # rm; uiautomator dump FILE && echo success; then sync RECV
    root = ET.fromstring(xml)
    assert root.tag == "hierarchy" and root.get("rotation") == "0"
    assert xml == phone.dump_xml()
    tty = dev.shell("uiautomator dump /dev/tty")
    assert tty.startswith("<?xml") and tty.endswith("UI hierchary dumped to: /dev/tty")
    switch = next(n for n in root.iter("node") if n.get("class") == "android.widget.Switch")
    assert switch.get("checked") == "false" and phone.state["wifi"] is False
    dev.click(*node_center(xml, resource_id="com.android.settings:id/wifi"))
    assert phone.state["wifi"] is True
    after = next(n for n in ET.fromstring(dev.dump_hierarchy()).iter("node") if n.get("class") == "android.widget.Switch")
    assert after.get("checked") == "true"


@pytest.mark.parametrize("text", ['Hi there & $HOME "q" \'s\' (x) <y> | ; * ~ \\ 50% #1', "tab\tand, comma"])
def test_input_text_with_special_characters_arrives_exactly(dev: adbutils.AdbDevice, phone: SimPhone,
                                                             text: str) -> None:
    dev.app_start("com.example.notes")
    dev.click(*node_center(dev.dump_hierarchy(), resource_id="com.example.notes:id/note_input"))
    dev.shell("input text " + shlex.quote(text.replace(" ", "%s")))  # the usual %s-for-space encoding
    assert phone.state["note_draft"] == text
    dev.shell("input keyevent ENTER")
    assert phone.state["notes"] == [text]
    escaped = re.sub(r"([\\()<>|;&*~\"'`$ #])", r"\\\1", "a b$c")  # backslash style
    dev.shell(f"input text {escaped}")
    assert phone.state["note_draft"] == "a b$c"


def test_getevent_streams_the_touches_the_phone_receives(dev: adbutils.AdbDevice, phone: SimPhone) -> None:
    described = dev.shell("getevent -lp")
    assert re.search(r"ABS_MT_POSITION_X\s+: value 0, min 0, max 719", described)
    assert re.search(r"ABS_MT_POSITION_Y\s+: value 0, min 0, max 1279", described)
    stream = dev.shell("getevent -lt", stream=True)
    lines: list[str] = []
    done = threading.Event()

    def read() -> None:
        for raw in stream.conn.makefile("rb"):
            lines.append(raw.decode().rstrip())
            released = any(re.search(r"BTN_TOUCH\s+UP", ln) for ln in lines)
            if released and "SYN_REPORT" in lines[-1]:
                done.set()
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        # the stream is open once the header is there
        wait_until(lambda: any("add device 2" in ln for ln in lines), what="getevent's device header")
        dev.click(300, 500)
        assert done.wait(10), lines
    finally:
        stream.close()
    events = [ln for ln in lines if ln.startswith("[")]
    assert re.match(r"\[\s*\d+\.\d{6}\] /dev/input/event2: EV_ABS\s+ABS_MT_TRACKING_ID\s+[0-9a-f]{8}", events[0])
    x = next(ln for ln in events if "ABS_MT_POSITION_X" in ln).split()[-1]
    y = next(ln for ln in events if "ABS_MT_POSITION_Y" in ln).split()[-1]
    assert (int(x, 16), int(y, 16)) == (300, 500)
    assert any(re.search(r"BTN_TOUCH\s+DOWN", ln) for ln in events)
    assert events[-1].split()[-2:] == ["SYN_REPORT", "00000000"]


def test_interactive_adb_shell_runs_lines_from_stdin(phone: SimPhone) -> None:
    r = subprocess.run([adbutils.adb_path(), "-s", phone.serial, "shell"], capture_output=True, text=True,
                       input="echo one\nnosuch\ngetprop ro.product.model\nexit 4\n", timeout=20,
                       env={**os.environ, "ADB_LIBUSB": "0"})
    assert (r.stdout, r.returncode) == ("one\nSimPhone\n", 4)
    assert "nosuch: inaccessible or not found" in r.stderr


def test_am_start_and_monkey_open_apps(dev: adbutils.AdbDevice, phone: SimPhone) -> None:
    dev.app_start("com.example.contacts", ".ContactsActivity")  # am start -n
    assert dev.app_current().package == "com.example.contacts" and phone.state.screen == "contacts"
    dev.keyevent("HOME")
    dev.app_start("com.example.notes")  # monkey -p ... -c LAUNCHER 1
    cur = dev.app_current()
    assert (cur.package, cur.activity) == ("com.example.notes", "com.example.notes.NotesActivity")
    assert "com.example.notes" in dev.list_packages()
    dev.keyevent(4)
    assert phone.state.package == "com.android.launcher3"


def test_wm_size_density_and_rotation(dev: adbutils.AdbDevice, phone: SimPhone) -> None:
    assert dev.shell("wm size") == "Physical size: 720x1280"
    assert dev.shell("wm density") == "Physical density: 320"
    assert tuple(dev.window_size()) == (720, 1280) and dev.rotation() == 0
    dev.shell("settings put system user_rotation 1")
    assert dev.rotation() == 1 and tuple(dev.window_size()) == (1280, 720)
    assert dev.screenshot().size == (1280, 720)
    dev.shell("wm size 1080x1920")
    assert dev.shell("wm size") == "Physical size: 720x1280\nOverride size: 1080x1920"
    assert dev.screenshot().size == (1920, 1080)


def test_swipe_scrolls_the_contacts_list(dev: adbutils.AdbDevice, phone: SimPhone) -> None:
    dev.app_start("com.example.contacts")
    assert "Ada Lovelace" in dev.dump_hierarchy()
    dev.swipe(360, 1000, 360, 400, 0.2)
    assert phone.state.scroll["contacts_list"] == 600
    assert "Ada Lovelace" not in dev.dump_hierarchy()


def test_push_and_pull_use_the_sync_service(phone: SimPhone, tmp_path: Path) -> None:
    src = tmp_path / "in.bin"
    src.write_bytes(bytes(range(256)) * 300)
    assert adb("-s", phone.serial, "push", str(src), "/sdcard/in.bin").returncode == 0
    assert phone.fs.read("/sdcard/in.bin") == src.read_bytes()
    assert adb("-s", phone.serial, "pull", "/sdcard/in.bin", str(tmp_path / "out.bin")).returncode == 0
    assert (tmp_path / "out.bin").read_bytes() == src.read_bytes()
    missing = adb("-s", phone.serial, "pull", "/sdcard/none", str(tmp_path / "x"))
    assert missing.returncode != 0 and "does not exist" in missing.stderr


def test_black_frame_fault_keeps_the_ui_tree(dev: adbutils.AdbDevice, phone: SimPhone) -> None:
    phone.faults.black(True)
    assert not np.asarray(dev.screenshot()).any()
    assert "Settings" in dev.shell("uiautomator dump /dev/tty")
    phone.faults.black(False)
    assert np.asarray(dev.screenshot()).any()


def test_stall_fault_answers_nothing_then_recovers(dev: adbutils.AdbDevice, phone: SimPhone,
                                                   client: adbutils.AdbClient) -> None:
    phone.faults.stall(3.0)
    conn = dev.open_transport(timeout=1.0)
    try:
        conn.send_command("shell:echo stalled")
        with pytest.raises(adbutils.AdbTimeout):
            conn.check_okay()  # the adb server waits for the phone's OKAY, which does not come
    finally:
        conn.close()
    wait_until(lambda: not phone.faults.stalled, what="the stall to end")
    assert client.device(phone.serial).shell("echo ok", timeout=10) == "ok"


def test_drop_fault_makes_adbutils_raise_and_the_phone_comes_back(dev: adbutils.AdbDevice, phone: SimPhone,
                                                                  client: adbutils.AdbClient) -> None:
    assert dev.shell("echo before") == "before"
    phone.faults.drop(for_s=1.5)
    with pytest.raises(adbutils.AdbError):
        def still_answers() -> bool:
            return dev.shell("echo during", timeout=3) == "during"  # raises once adb sees the drop

        wait_until(lambda: not still_answers(), timeout=10, what="adb to notice the dropped connection")
    wait_ready(client, phone)
    assert client.device(phone.serial).shell("echo after") == "after"
    assert adb("-s", phone.serial, "get-state").stdout.strip() == "device"


def test_many_concurrent_streams(dev: adbutils.AdbDevice, phone: SimPhone, client: adbutils.AdbClient) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def raw_frame(d: adbutils.AdbDevice) -> bytes:
        conn = d.open_shell("screencap")  # read in big chunks: adbutils' read_until_close is quadratic
        buf = bytearray()
        while chunk := conn.conn.recv(1 << 20):
            buf += chunk
        conn.close()
        return bytes(buf)

    expected = len(raw_frame(dev))

    def work(i: int) -> tuple[str, int]:
        d = client.device(phone.serial)
        return d.shell(f"echo worker-{i}; sleep 0.05; echo done-{i}"), len(raw_frame(d))

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(16)))
    assert results == [(f"worker-{i}\ndone-{i}", expected) for i in range(16)]


def test_two_phones_in_one_process(client: adbutils.AdbClient, phone: SimPhone) -> None:
    with SimPhone(scenario="form") as other:
        adb_connect(other.serial, client=client)
        try:
            a, b = client.device(phone.serial), client.device(other.serial)
            a.shell("svc wifi enable")
            b.app_start("com.example.signup")
            assert "com.example.signup" not in a.shell("pm list packages")
            assert b.app_current().package == "com.example.signup"
            assert phone.state.package == "com.android.launcher3" and phone.state["wifi"] is True
        finally:
            adb_disconnect(other.serial, client)
