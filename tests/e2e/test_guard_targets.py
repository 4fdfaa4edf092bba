"""The guard judges what an action touches, whatever form its target takes.

A real loop drives the virtual phone through the real adb server (ADB_LIBUSB=0): a shop app with
"Pay now", "Delete account", a harmless "Help", a search box and a message form whose submit
button says "Send". A scripted planner reaches each button by element id, by description (the
real text grounder) and by point (centre and off-centre); unattended (`refuse_all`) the verdict
is the same for every form, and the phone's own state says nothing was paid, deleted or sent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from scripted import ScriptedPlanner
from waiting import wait_until

from devices.android.device import AndroidDevice
from devices.base import Device
from grounding.text_matcher import TextGrounder
from guiagent.agent import Agent, AgentConfig
from guiagent.runner import build_screen_parser
from guiagent.safety import Approver, approve_all, refuse_all
from guiagent.schema import (
    Action,
    Click,
    Done,
    Drag,
    Element,
    GuardDecision,
    Key,
    LongPress,
    Point,
    Swipe,
    Target,
    TypeText,
)

pytest.importorskip("adbutils")

LAUNCHER = {"package": "com.android.launcher3", "label": "Launcher", "activity": ".Launcher", "launch": "home",
            "role": "launcher", "system": True, "screens": {"home": {"widgets": [{"type": "icon_grid"}]}}}


def _button(wid: str, text: str, key: str) -> dict[str, object]:
    return {"type": "button", "id": wid, "text": text, "align": "stretch", "on_tap": [{"set": {key: True}}]}


SHOP = {
    "name": "shop", "description": "A checkout screen with sensitive buttons and a message form.",
    "display": {"width": 720, "height": 1280, "density": 320},
    "state": {"paid": False, "deleted": False, "sent": False, "searched": False, "help": False,
              "query": "", "message": ""},
    "apps": [LAUNCHER, {
        "package": "com.example.shop", "label": "Shop", "activity": ".ShopActivity", "launch": "checkout",
        "screens": {"checkout": {"title": "Checkout", "up_arrow": False, "widgets": [
            {"type": "edit_text", "id": "query", "bind": "query", "hint": "Search products",
             "on_submit": [{"set": {"searched": True}}]},
            _button("search", "Search", "searched"),
            {"type": "text", "text": "Total: $42.00"},
            _button("help", "Help", "help"),
            _button("pay", "Pay now", "paid"),
            _button("delete", "Delete account", "deleted"),
            {"type": "edit_text", "id": "message", "bind": "message", "hint": "Message",
             "on_submit": [{"set": {"sent": True}}]},
            _button("send", "Send", "sent"),
        ]}},
    }],
}


@pytest.fixture(scope="module")
def phone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AndroidDevice]:
    from devices.simphone.launch import open_sim_phone

    path = tmp_path_factory.mktemp("scenario") / "shop.json"
    path.write_text(json.dumps(SHOP), encoding="utf-8")
    dev = open_sim_phone(str(path))
    try:
        yield dev
    finally:
        dev.close()


@pytest.fixture
def dev(phone: AndroidDevice) -> AndroidDevice:
    phone.reset()
    phone.open_app("Shop")
    return phone


def _named(dev: AndroidDevice, name: str) -> Element:
    tree: list[Element] = dev.ui_tree()
    return next(e for e in tree if e.label.casefold() == name.casefold())  # Material buttons read "PAY NOW"


def _point(dev: AndroidDevice, el: Element, fx: float = 0.5, fy: float = 0.5) -> Target:
    left, top, right, bottom = el.bbox
    size = dev.info.screen_size
    return Target(point=Point.from_pixels(left + fx * (right - left), top + fy * (bottom - top), size))


def _first_verdict(dev: AndroidDevice, action: Action, approver: Approver = refuse_all) -> GuardDecision:
    agent = Agent(dev, ScriptedPlanner([action, Done()]), TextGrounder(semantic=False),
                  approver=approver, config=AgentConfig(max_steps=4, settle_timeout=1.0))
    agent.run("use the shop")
    step = agent.history[0]
    assert step.guard is not None
    return step.guard


def _forms(dev: AndroidDevice, name: str) -> dict[str, Target]:
    el = _named(dev, name)
    return {"id": Target(element=el.id), "description": Target.described(name), "point": _point(dev, el),
            "off-centre point": _point(dev, el, 0.12, 0.3)}


def _state(dev: AndroidDevice) -> dict[str, object]:
    return dict(dev.sim_phone.state.values)


@pytest.mark.parametrize(("name", "verdict"), [("Pay now", "ask"), ("Delete account", "ask"), ("Help", "allow")])
def test_same_element_same_verdict_for_every_target_form(dev: AndroidDevice, name: str, verdict: str) -> None:
    seen = {}
    for form, target in _forms(dev, name).items():
        for make in (Click, LongPress):
            d = _first_verdict(dev, make(target=target))
            seen[(form, make.__name__)] = (d.verdict, d.rule)
    assert set(seen.values()) == {(verdict, "sensitive-word" if verdict == "ask" else "")}, seen
    state = _state(dev)
    assert state["paid"] is False and state["deleted"] is False  # counted from the app, not the guard
    assert state["help"] is (verdict == "allow")  # the harmless button did run


def test_a_point_on_pay_now_runs_once_approved(dev: AndroidDevice) -> None:
    d = _first_verdict(dev, Click(target=_point(dev, _named(dev, "Pay now"))), approver=approve_all)
    assert d.verdict == "ask" and d.resolution == "approved"
    assert _state(dev)["paid"] is True


def test_both_ends_of_swipes_and_drags_are_judged(dev: AndroidDevice) -> None:
    total, delete, help_ = _named(dev, "Total: $42.00"), _named(dev, "Delete account"), _named(dev, "Help")
    for make in (Swipe, Drag):
        starts_on = _first_verdict(dev, make(start=_point(dev, delete), end=_point(dev, total)))
        ends_on = _first_verdict(dev, make(start=_point(dev, total), end=Target(element=delete.id)))
        harmless = _first_verdict(dev, make(start=_point(dev, total), end=_point(dev, help_)))
        assert (starts_on.verdict, ends_on.verdict, harmless.verdict) == ("ask", "ask", "allow"), make
        assert "delete account" in starts_on.reason.lower() and "delete account" in ends_on.reason.lower()
    assert _state(dev)["deleted"] is False


def test_enter_is_judged_by_the_control_it_submits(dev: AndroidDevice) -> None:
    message, query = _named(dev, "Message"), _named(dev, "Search products")
    # type + enter in the message form submits "Send": asked, refused, nothing sent
    d = _first_verdict(dev, TypeText(text="hi", target=_point(dev, message), submit=True))
    assert d.verdict == "ask" and "send" in d.reason.lower()
    # typing alone is harmless; the Enter pressed afterwards is judged by "Send" too
    agent = Agent(dev, ScriptedPlanner([TypeText(text="hi", target=Target(element=message.id)), Key(keys="enter"),
                                        Done()]), TextGrounder(semantic=False), approver=refuse_all)
    result = agent.run("write a message")
    guards = [s.guard for s in agent.history]
    assert guards[0] is not None and guards[0].verdict == "allow"
    assert guards[1] is not None and guards[1].verdict == "ask" and "send" in guards[1].reason.lower()
    assert result.status == "failed" and "refused" in result.reason
    assert _state(dev)["message"] == "hi" and _state(dev)["sent"] is False
    # the search box's Enter submits "Search": allowed, and it searched
    d = _first_verdict(dev, TypeText(text="socks", target=Target(element=query.id), submit=True))
    assert d.verdict == "allow"
    assert _state(dev)["searched"] is True and _state(dev)["sent"] is False


# -- the same on a real X11 window: Qt buttons read through AT-SPI + OCR -------------------------

HERE = Path(__file__).resolve().parents[1]


def _events(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


@pytest.fixture
def qt_window(xdisplay: object, tmp_path: Path) -> Iterator[Path]:
    """A real Qt window: a "Note" field above "Place order" and "Help" buttons; clicks are logged."""
    out = tmp_path / "events.jsonl"
    proc = subprocess.Popen([sys.executable, str(HERE / "qt_target.py"), "--out", str(out), "--field", "Note",
                             "--buttons", "Place order,Help", "--geometry", "200,150,420,200"],
                            env={**os.environ, "QT_QPA_PLATFORM": "xcb"})

    def painted() -> bool:
        assert proc.poll() is None, "the target window exited"
        return any(e.get("ready") for e in _events(out))

    wait_until(painted, what="the target window's first frame on screen")
    yield out
    proc.terminate()
    proc.wait(5)


@pytest.fixture(scope="module")
def desktop(xdisplay: object) -> Iterator[Device]:
    """The desktop with a private a11y bus, up (registry answering) before any window starts: the
    windows' trees never depend on a session bus some earlier test started or killed."""
    from devices.x11.device import open_desktop
    from guiagent.recorder.a11y_bus import A11yBus

    with A11yBus():
        dev = open_desktop("")
        try:
            yield dev
        finally:
            dev.close()


def test_on_a_desktop_window_every_form_of_target_gets_the_same_verdict(desktop: Device, qt_window: Path) -> None:
    parser = build_screen_parser(ocr=True)
    probe = Agent(desktop, ScriptedPlanner([Done()]), TextGrounder(semantic=False), parser=parser)
    obs = probe.observe()
    size = obs.screen_size

    def forms(name: str) -> list[Target]:
        el = next(e for e in obs.elements if e.label == name and e.clickable)
        left, top, right, bottom = el.bbox
        return [Target(element=el.id), Target.described(name), Target(point=obs.point_of(el)),
                Target(point=Point.from_pixels(left + 4, bottom - 4, size))]

    def verdict(action: Action) -> tuple[str, str]:
        agent = Agent(desktop, ScriptedPlanner([action, Done()]), TextGrounder(semantic=False), parser=parser,
                      approver=refuse_all, config=AgentConfig(max_steps=3, settle_timeout=1.0))
        agent.run("use the window")
        guard = agent.history[0].guard
        assert guard is not None
        return guard.verdict, guard.rule

    assert {verdict(Click(target=t)) for t in forms("Place order")} == {("ask", "sensitive-word")}
    assert {verdict(Click(target=t)) for t in forms("Help")} == {("allow", "")}
    note = next(e for e in obs.elements if e.editable)
    # Enter in the Note field submits the form's "Place order": judged by it, by point or by id
    assert verdict(TypeText(text="gift wrap", target=Target(point=obs.point_of(note)), submit=True))[0] == "ask"
    assert verdict(TypeText(text="gift wrap", target=Target(element=note.id), submit=True))[0] == "ask"
    assert verdict(TypeText(text="gift wrap", target=Target(element=note.id)))[0] == "allow"
    clicked = [e["clicked"] for e in _events(qt_window) if "clicked" in e]
    assert "Place order" not in clicked and clicked.count("Help") == 4  # the window's own log
