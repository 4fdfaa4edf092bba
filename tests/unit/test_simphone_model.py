"""The virtual phone without adb: its shell, the simulated Android, the scenario loader, and
that pixels and the UI tree agree. (tests/e2e/test_simphone_adb.py drives it through real adb.)"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import numpy as np
import pytest

from devices.simphone import SimPhone, load_scenario
from devices.simphone.commands_input import decode_input_text
from devices.simphone.scenario import parse_scenario
from devices.simphone.shell import ShellSyntaxError, parse
from guiagent.schema.errors import ConfigError


@pytest.fixture(scope="module")
def phone() -> Iterator[SimPhone]:
    with SimPhone(scenario="default") as p:
        yield p


@pytest.fixture(autouse=True)
def _fresh(phone: SimPhone) -> None:
    phone.reset()


def bounds(xml: str, **attrs: str) -> tuple[int, int, int, int]:
    for node in ET.fromstring(xml).iter("node"):
        if all(node.get(k.replace("_", "-")) == v for k, v in attrs.items()):
            left, top, right, bottom = map(int, re.findall(r"\d+", node.get("bounds", "")))
            return left, top, right, bottom
    raise AssertionError(f"no node with {attrs}")


def center(b: tuple[int, int, int, int]) -> tuple[int, int]:
    return (b[0] + b[2]) // 2, (b[1] + b[3]) // 2


# --- the shell -------------------------------------------------------------------------------

@pytest.mark.parametrize(("script", "status", "output"), [
    ("echo hi", 0, "hi\n"),
    ("echo 'a  b' \"c $? d\" e\\ f", 0, "a  b c 0 d e f\n"),
    ("false; echo X4EXIT:$?", 0, "X4EXIT:1\n"),
    ("false && echo no || echo yes", 0, "yes\n"),
    ("true && echo one; echo two", 0, "one\ntwo\n"),
    ("echo -n x; echo y # comment", 0, "xy\n"),
    ("nosuchtool --flag", 127, "/system/bin/sh: nosuchtool: inaccessible or not found\n"),
    ("echo gone > /dev/null", 0, ""),
    ("echo err >&2", 0, "err\n"),
    ("exit 3; echo never", 3, ""),
    ("echo ${HOME}x $UNSET_VAR.", 0, "/x .\n"),
])
def test_shell_runs_like_sh(phone: SimPhone, script: str, status: int, output: str) -> None:
    assert phone.shell(script) == (status, output)


def test_shell_redirects_pipes_and_files(phone: SimPhone) -> None:
    assert phone.shell("echo one > /data/local/tmp/f; echo two >> /data/local/tmp/f")[0] == 0
    assert phone.shell("cat /data/local/tmp/f") == (0, "one\ntwo\n")
    assert phone.shell("cat /data/local/tmp/f | grep tw") == (0, "two\n")
    assert phone.shell("cat /data/local/tmp/f | wc -l") == (0, "2\n")
    assert phone.shell("rm /data/local/tmp/f && ls /data/local/tmp") == (0, "")
    status, out = phone.shell("cat /data/local/tmp/f")
    assert status == 1 and "No such file or directory" in out
    assert phone.shell("rm -f /data/local/tmp/f")[0] == 0


@pytest.mark.parametrize("script", ["echo 'open", "echo a &&", "| grep x", "echo $(id)", "echo `id`"])
def test_shell_syntax_errors_are_reported_not_raised(phone: SimPhone, script: str) -> None:
    with pytest.raises(ShellSyntaxError):
        parse(script)
    status, out = phone.shell(script)
    assert status == 1 and "syntax error" in out


@pytest.mark.parametrize(("raw", "typed"), [
    ("hello%sworld", "hello world"), ("100%", "100%"), ("%%s", "% "), ("a%b", "a%b"), ("%s%s", "  "),
])
def test_input_text_decodes_percent_s_like_android(raw: str, typed: str) -> None:
    assert decode_input_text(raw) == typed


# --- the simulated Android ----------------------------------------------------------------------

def test_settings_switch_toggles_and_airplane_turns_radios_off(phone: SimPhone) -> None:
    phone.shell("am start -n com.android.settings/.Settings")
    xml = phone.dump_xml()
    assert phone.state["wifi"] is False
    phone.tap(*center(bounds(xml, resource_id="com.android.settings:id/wifi")))
    assert phone.state["wifi"] is True
    assert 'checked="true"' in phone.dump_xml().split('resource-id="com.android.settings:id/wifi"')[1][:2000]
    phone.tap(*center(bounds(xml, resource_id="com.android.settings:id/airplane")))
    s = phone.state
    assert (s["airplane"], s["wifi"], s["bluetooth"]) == (True, False, False)
    assert phone.shell("settings get global airplane_mode_on") == (0, "1\n")
    phone.shell("svc wifi enable")
    assert phone.state["wifi"] is True


def test_navigation_back_home_and_tasks(phone: SimPhone) -> None:
    phone.shell("monkey -p com.example.contacts -c android.intent.category.LAUNCHER 1")
    assert phone.state.screen == "contacts"
    phone.tap(*center(bounds(phone.dump_xml(), text="Ada Lovelace")))
    s = phone.state
    assert (s.screen, s.stack, s.activity) == ("contact", ("contacts", "contact"), ".ContactDetailActivity")
    assert "Ada Lovelace" in phone.dump_xml()
    phone.shell("input keyevent KEYCODE_HOME")
    assert phone.state.package == "com.android.launcher3"
    phone.shell("monkey -p com.example.contacts -c android.intent.category.LAUNCHER 1")
    assert phone.state.screen == "contact"  # the task is brought back as it was
    phone.shell("input keyevent 4")
    phone.shell("input keyevent BACK")
    assert phone.state.package == "com.android.launcher3"
    status, out = phone.shell("am start -n com.example.contacts/.NoSuchActivity")
    assert status == 1 and "does not exist" in out
    status, out = phone.shell("monkey -p com.nope -c android.intent.category.LAUNCHER 1")
    assert status != 0 and "No activities found" in out


def test_list_scrolls_by_the_swipe_distance_and_clamps(phone: SimPhone) -> None:
    phone.shell("am start -n com.example.contacts/.ContactsActivity")
    phone.shell("input swipe 360 1000 360 600 100")
    assert phone.state.scroll == {"contacts_list": 400}
    assert "Ada Lovelace" not in phone.dump_xml()
    for _ in range(8):
        phone.shell("input swipe 360 1100 360 200 50")
    xml = phone.dump_xml()
    assert "Zhang Yitang" in xml and 'scrollable="true"' in xml
    before = phone.state.scroll["contacts_list"]
    phone.shell("input swipe 360 1000 360 200 50")
    assert phone.state.scroll["contacts_list"] == before  # at the end already
    phone.shell("input swipe 360 300 360 1100 50")
    assert phone.state.scroll["contacts_list"] == before - 800


def test_text_goes_into_the_focused_field_and_keys_edit_it(phone: SimPhone) -> None:
    phone.shell("am start -n com.example.notes/.NotesActivity")
    phone.shell("input text ignored")  # nothing focused yet
    assert phone.state["note_draft"] == ""
    phone.tap(*center(bounds(phone.dump_xml(), resource_id="com.example.notes:id/note_input")))
    assert phone.state.focused == "note_input"
    phone.shell("input text 'Buy%smilk' && input keyevent 62 KEYCODE_A DEL DEL 8")
    assert phone.state["note_draft"] == "Buy milk1"
    status, out = phone.shell("input text 日本")
    assert status == 255 and "NullPointerException" in out and phone.state["note_draft"] == "Buy milk1"
    phone.tap(*center(bounds(phone.dump_xml(), resource_id="com.example.notes:id/save")))
    assert phone.state["notes"] == ["Buy milk1"] and phone.state["note_draft"] == ""
    assert bounds(phone.dump_xml(), text="Buy milk1")


def test_rotation_relays_out_and_maps_touches(phone: SimPhone) -> None:
    phone.shell("settings put system user_rotation 1")
    s = phone.state
    assert s.rotation == 1 and s.size == (1280, 720) and phone.frame().size == (1280, 720)
    assert phone.shell("wm size") == (0, "Physical size: 720x1280\n")
    assert 'rotation="1"' in phone.dump_xml()
    assert re.search(r"orientation=1", phone.shell("dumpsys display")[1])
    # landscape (x, y) -> natural panel (w-1-y, x)
    assert phone.panel.to_panel(100, 50) == (669, 100)
    phone.rotate(3)
    assert phone.panel.to_panel(100, 50) == (50, 1179)
    phone.rotate(0)
    assert phone.panel.to_panel(100, 50) == (100, 50)


def test_secure_screen_and_black_frames(phone: SimPhone) -> None:
    phone.shell("am start -n com.example.wallet/.WalletActivity")
    assert phone.state.secure and not np.asarray(phone.frame()).any()
    assert "Balance" in phone.dump_xml()  # the tree still shows it
    phone.shell("input keyevent HOME")
    assert np.asarray(phone.frame()).any()
    phone.faults.black(True)
    assert not np.asarray(phone.frame()).any()
    phone.faults.black(False)
    assert np.asarray(phone.frame()).any()


def test_every_visible_text_node_has_ink_inside_its_bounds(phone: SimPhone) -> None:
    """The UI tree's boxes are where the pixels are: each text node's box holds drawn text,
    and the switch's box holds the thumb colour, which moves when it toggles."""
    for app in ("com.android.settings/.Settings", "com.example.contacts/.ContactsActivity"):
        phone.shell(f"am start -n {app}")
        img = np.asarray(phone.frame()).astype(int)
        root = ET.fromstring(phone.dump_xml())
        texts = [n for n in root.iter("node") if n.get("text")]
        assert len(texts) >= 5
        for n in texts:
            left, top, right, bottom = map(int, re.findall(r"\d+", n.get("bounds", "")))
            crop = img[top:bottom, left:right]
            background = crop[0, -1]
            assert (np.abs(crop - background).sum(axis=2) > 150).sum() > 20, n.get("text")
    phone.shell("am start -n com.android.settings/.Settings")
    switch = [n for n in ET.fromstring(phone.dump_xml()).iter("node") if n.get("class") == "android.widget.Switch"][0]
    left, top, right, bottom = map(int, re.findall(r"\d+", switch.get("bounds", "")))
    blue = np.array([26, 115, 232])

    def blue_pixels() -> tuple[int, int]:
        crop = np.asarray(phone.frame()).astype(int)[top:bottom, left:right]
        hits = np.argwhere(np.abs(crop - blue).sum(axis=2) < 30)
        return len(hits), int(hits[:, 1].mean()) if len(hits) else -1

    count_off, _ = blue_pixels()
    phone.tap((left + right) // 2, (top + bottom) // 2)
    count_on, x_on = blue_pixels()
    assert count_off == 0 and count_on > 100 and x_on > (right - left) // 2  # thumb on the right


def test_adb_keyboard_only_types_when_it_is_the_current_ime() -> None:
    with SimPhone(scenario="form") as p:
        p.shell("monkey -p com.example.signup -c android.intent.category.LAUNCHER 1")
        p.tap(*center(bounds(p.dump_xml(), resource_id="com.example.signup:id/name")))
        p.shell("am broadcast -a ADB_INPUT_TEXT --es msg Zoe")
        assert p.state["name"] == ""  # installed and enabled, but not selected
        assert p.shell("ime set com.android.adbkeyboard/.AdbIME")[0] == 0
        assert p.shell("am broadcast -a ADB_INPUT_B64 --es msg Wm/DqyDml6XmnKw=") == (
            0, "Broadcasting: Intent { act=ADB_INPUT_B64 flg=0x400000 (has extras) }\nBroadcast completed: result=0\n")
        assert p.state["name"] == "Zoë 日本"
    with SimPhone(scenario="default") as p:
        assert p.shell("ime list -a -s") == (0, "com.android.inputmethod.latin/.LatinIME\n")
        assert p.shell("ime set com.android.adbkeyboard/.AdbIME")[0] != 0


def test_simctl_admin_hook(phone: SimPhone) -> None:
    assert phone.shell("simctl fault black on")[0] == 0 and phone.faults.black_frames
    assert phone.shell("simctl fault clear")[0] == 0 and not phone.faults.black_frames
    assert phone.shell("simctl set wifi true")[0] == 0 and phone.state["wifi"] is True
    status, out = phone.shell("simctl state")
    assert status == 0 and json.loads(out)["values"]["wifi"] is True
    assert phone.shell("simctl set nokey 1")[0] == 1


# --- scenarios ---------------------------------------------------------------------------------

def test_bundled_scenarios_load() -> None:
    sc = load_scenario("default")
    assert {a.label for a in sc.apps} >= {"Settings", "Notes", "Contacts"}
    assert sc.state["wifi"] is False
    contacts = sc.screen("contacts").widgets[0]
    assert len(contacts.items) == 40
    assert load_scenario("form").ime.adb_keyboard == "enabled"


def test_bad_scenarios_fail_with_a_message_naming_the_problem() -> None:
    raw = json.loads(load_scenario("default").model_dump_json(by_alias=True))
    raw["apps"][1]["screens"]["settings"]["widgets"][4]["on_tap"] = [{"navigate": "nowhere"}]
    with pytest.raises(ConfigError, match="navigates to unknown screen 'nowhere'"):
        parse_scenario(raw)
    raw = json.loads(load_scenario("default").model_dump_json(by_alias=True))
    raw["apps"][1]["screens"]["settings"]["widgets"][0]["bind"] = "nope"
    with pytest.raises(ConfigError, match="binds 'nope', which is not a bool"):
        parse_scenario(raw)
    with pytest.raises(ConfigError, match="no scenario 'missing'"):
        load_scenario("missing")
