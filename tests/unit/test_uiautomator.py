"""uiautomator dump parsing against hand-written fixtures in the public format."""

from __future__ import annotations

from pathlib import Path

import pytest

from devices.android.uiautomator import (
    UiDumpError,
    extract_hierarchy,
    hierarchy_rotation,
    parse_uiautomator,
    role_for,
)
from guiagent.schema import Role
from guiagent.schema.errors import DeviceError

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "uiautomator"


def load(name: str) -> str:
    return (FIX / name).read_text(encoding="utf-8")


def by_name(elements, name):
    hits = [e for e in elements if e.name == name]
    assert hits, f"no element named {name!r} in {[e.name for e in elements]}"
    return hits[0]


def test_nested_settings_roles_flags_and_junk_suffix() -> None:
    els = parse_uiautomator(load("settings_nested.xml"), (1080, 2400))
    up = by_name(els, "Navigate up")
    assert up.role is Role.ICON and up.clickable and up.bbox == (0, 74, 126, 200)
    title = by_name(els, "Network & internet")  # XML entity decoded
    assert title.role is Role.TEXT and not title.clickable
    wifi = next(e for e in els if e.name == "Wi‑Fi" and e.role is Role.TEXT)
    # Not clickable itself, but inside a clickable row: clickable, own bbox, tap goes to the row.
    assert wifi.clickable and wifi.bbox == (168, 260, 400, 320)
    row = next(e for e in els if e.id == wifi.extras["click_target"])
    assert row.clickable and row.bbox == (0, 210, 1080, 420) and row.name == "Wi‑Fi"
    x, y = wifi.center
    assert row.bbox[0] <= x <= row.bbox[2] and row.bbox[1] <= y <= row.bbox[3]
    switches = [e for e in els if e.role is Role.SWITCH]
    assert [s.checked for s in switches] == [False, True]
    assert switches[1].name == "Bluetooth" and "name_from" not in switches[1].extras  # its content-desc
    # The unlabelled switch and its row are named after the row's title, like TalkBack reads them.
    assert switches[0].name == "Wi‑Fi" and switches[0].extras["name_from"] == "row"
    assert all(s.extras["resource_id"] == "android:id/switch_widget" for s in switches)
    assert wifi.extras["package"] == "com.android.settings" and wifi.extras["class"] == "android.widget.TextView"
    assert wifi.id == "u0.1.0.1.0" and wifi.extras["index_path"] == "0.1.0.1.0"
    lst = next(e for e in els if e.role is Role.CONTAINER and e.extras.get("scrollable"))
    assert lst.extras["resource_id"].endswith("recycler_view")
    # Zero-size node dropped; pure layout containers dropped; icon inside row kept as image/icon.
    assert not any(e.name == "Zero size" for e in els)
    assert not any(e.extras["class"] == "android.widget.RelativeLayout" for e in els)
    icon = next(e for e in els if e.extras["resource_id"] == "android:id/icon")
    assert icon.role is Role.ICON and icon.clickable  # inherits the row's clickability
    assert len({e.id for e in els}) == len(els)
    assert all(e.source == "a11y" for e in els)


def test_keep_containers_keeps_layouts() -> None:
    few = parse_uiautomator(load("settings_nested.xml"), (1080, 2400))
    many = parse_uiautomator(load("settings_nested.xml"), (1080, 2400), keep_containers=True)
    assert len(many) > len(few)
    assert any(e.extras["class"] == "android.widget.RelativeLayout" for e in many)


def test_rotated_hierarchy_keeps_landscape_bounds_and_clips_offscreen() -> None:
    raw = load("rotated.xml")  # junk line *before* the XML, as `dump` + `cat` prints
    assert hierarchy_rotation(raw) == 1
    els = parse_uiautomator(raw, (2400, 1080))
    milk = by_name(els, "Buy milk")
    assert milk.bbox == (0, 140, 2400, 300) and milk.selected is True
    assert milk.extras["rotation"] == 1 and milk.extras["long_clickable"] is True
    half = by_name(els, "Half visible")
    assert half.bbox == (0, 1000, 2400, 1080)  # clipped to the screen
    assert not any(e.name == "Below the screen" for e in els)
    fab = by_name(els, "New note")
    assert fab.role is Role.ICON and fab.clickable


def test_screen_size_defaults_to_the_root_bounds() -> None:
    els = parse_uiautomator(load("rotated.xml"))
    assert not any(e.name == "Below the screen" for e in els)
    assert by_name(els, "Half visible").bbox[3] == 1080


def test_non_ascii_and_entities() -> None:
    els = parse_uiautomator(load("nonascii.xml").encode("utf-8"), (720, 1280))
    assert by_name(els, "Café ☕ 日本語").role is Role.TEXT
    send = by_name(els, 'Отправить 🚀 "now" <ok>')
    assert send.role is Role.ICON and send.clickable
    banner = next(e for e in els if e.extras["resource_id"] == "org.example:id/banner")
    assert banner.role is Role.IMAGE and not banner.clickable
    assert banner.extras["package"] == "org.example.café"


def test_password_field_and_form_flags() -> None:
    els = parse_uiautomator(load("login_password.xml"), (1080, 2400))
    user = next(e for e in els if e.extras["resource_id"].endswith("/user"))
    assert user.role is Role.TEXT_FIELD and user.editable and user.focused
    assert user.value == "ada@example.com" and not user.password
    pw = by_name(els, "Password")
    assert pw.role is Role.TEXT_FIELD and pw.password and pw.editable and not pw.focused
    remember = by_name(els, "Remember me")
    assert remember.role is Role.CHECKBOX and remember.checked is True
    sign_in = by_name(els, "Sign in")
    assert sign_in.role is Role.BUTTON and not sign_in.enabled and sign_in.checked is None
    card = by_name(els, "Pay by card")
    assert card.role is Role.RADIO and card.checked is False
    assert not any(e.extras["class"] == "android.widget.LinearLayout" for e in els)


def test_deep_nesting_does_not_recurse() -> None:
    depth = 3000
    node = ('<node index="0" text="" class="android.widget.FrameLayout" package="p" clickable="false" '
            'bounds="[0,0][100,100]">')
    leaf = '<node index="0" text="deep leaf" class="android.widget.TextView" bounds="[10,10][50,20]" />'
    xml = '<hierarchy rotation="0">' + node * depth + leaf + "</node>" * depth + "</hierarchy>"
    els = parse_uiautomator(xml, (100, 100))
    leaf_el = by_name(els, "deep leaf")
    assert leaf_el.extras["index_path"].count(".") == depth


@pytest.mark.parametrize(
    ("fixture", "message"),
    [
        ("empty.txt", "returned nothing"),
        ("idle_error.txt", "could not get idle state"),
        ("truncated.xml", "truncated"),
        ("malformed.xml", "not valid XML"),
    ],
)
def test_bad_dumps_raise_clear_errors(fixture: str, message: str) -> None:
    with pytest.raises(UiDumpError, match=message) as info:
        parse_uiautomator(load(fixture))
    assert isinstance(info.value, DeviceError)


def test_dtd_is_refused() -> None:
    evil = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><hierarchy rotation="0"></hierarchy>'
    with pytest.raises(UiDumpError, match="DTD"):
        parse_uiautomator(evil)


def test_empty_hierarchy_is_valid_and_empty() -> None:
    assert parse_uiautomator('<hierarchy rotation="0"/>\nUI hierchary dumped to: /dev/tty') == []
    assert extract_hierarchy("junk<hierarchy rotation=\"2\"></hierarchy>junk").startswith("<hierarchy")


def test_bad_bounds_are_skipped() -> None:
    xml = ('<hierarchy rotation="0"><node text="ok" class="android.widget.TextView" bounds="[0,0][10,10]"/>'
           '<node text="bad" class="android.widget.TextView" bounds="garbage"/></hierarchy>')
    assert [e.name for e in parse_uiautomator(xml, (100, 100))] == ["ok"]


@pytest.mark.parametrize(
    ("cls", "clickable", "checkable", "named", "role"),
    [
        ("android.widget.Button", True, False, True, Role.BUTTON),
        ("com.google.android.material.button.MaterialButton", True, False, True, Role.BUTTON),
        ("android.widget.ToggleButton", True, True, True, Role.SWITCH),
        ("androidx.appcompat.widget.SwitchCompat", True, True, False, Role.SWITCH),
        ("android.widget.CheckedTextView", True, True, True, Role.CHECKBOX),
        ("android.widget.ImageView", False, False, False, Role.IMAGE),
        ("android.widget.ImageView", True, False, False, Role.ICON),
        ("android.widget.Spinner", True, False, False, Role.COMBOBOX),
        ("android.widget.SeekBar", False, False, False, Role.SLIDER),
        ("android.view.View", True, False, True, Role.BUTTON),  # Compose clickable with a label
        ("android.view.View", False, True, False, Role.CHECKBOX),
        ("android.view.View", False, False, True, Role.TEXT),
        ("android.widget.AutoCompleteTextView", True, False, False, Role.TEXT_FIELD),
    ],
)
def test_role_mapping(cls: str, clickable: bool, checkable: bool, named: bool, role: Role) -> None:
    assert role_for(cls, clickable=clickable, checkable=checkable, named=named) is role
