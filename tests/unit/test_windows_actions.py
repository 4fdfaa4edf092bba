"""Actions on the Windows device: UIA patterns where reliable, input at the element otherwise.

The control tree is the FAKE uiautomation (tests/fake_uia.py; uiautomation cannot run on
Linux). The input fallback is real: pyautogui drives the real Xvfb, and a real X client
(`test_desktop_probe.Probe`) placed where the fake "Plain" button is reports what arrives.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from fake_uia import demo_desktop, make_fake_windows_device
from test_desktop_probe import Probe, keysym

from devices.windows.device import WindowsDevice
from guiagent.schema import Click, Home, Key, Point, Scroll, Swipe, Target, TypeText
from guiagent.schema.errors import DeviceError, UnsupportedAction

PLAIN = (700, 150, 900, 350)  # the fake "Plain" button (no patterns) == the probe's window


@pytest.fixture
def probe(xdisplay) -> Iterator[Probe]:
    p = Probe(geometry=(PLAIN[0], PLAIN[1], PLAIN[2] - PLAIN[0], PLAIN[3] - PLAIN[1]))
    yield p
    p.close()


@pytest.fixture
def dev(xdisplay) -> Iterator[WindowsDevice]:
    d = make_fake_windows_device()
    yield d
    d.close()


def target(dev: WindowsDevice, name: str, with_id: bool = True) -> Target:
    el = next(e for e in dev.ui_tree() if e.name == name)
    return Target(point=Point.from_pixels(*el.center, dev.info.screen_size), element=el.id if with_id else None)


def control(dev: WindowsDevice, name: str):
    stack = [dev.uia.root]
    while stack:
        c = stack.pop()
        if c.name == name:
            return c
        stack.extend(c.children)
    raise KeyError(name)


def element(dev: WindowsDevice, name: str):
    return next(e for e in dev.ui_tree() if e.name == name)


def test_click_uses_the_right_pattern(dev: WindowsDevice, probe: Probe) -> None:
    cases = [("Submit", "uia:invoke", "invoke"), ("Help", "uia:invoke", "invoke"),
             ("Subscribe", "uia:toggle", "toggle"), ("Dark mode", "uia:toggle", "toggle"),
             ("Large", "uia:select", "select"), ("Country", "uia:expand", "expand"),
             ("Documents", "uia:expand", "expand"), ("notes.txt", "uia:select", "select"),
             ("Item 2", "uia:select", "select")]  # a list item is selected, not invoked (opened)
    for name, via, event in cases:
        out = dev.execute(Click(target=target(dev, name)))
        assert out.via == via, name
        assert dev.uia.events[-1] == (event, name)
    assert element(dev, "Subscribe").checked is True and element(dev, "Dark mode").checked is False
    assert element(dev, "Large").checked is True and element(dev, "Small").checked is False
    assert dev.execute(Click(target=target(dev, "Country"))).via == "uia:collapse"
    assert element(dev, "Item 2").selected is True
    assert not [e for e in probe.take() if e["type"] == "press"]  # no synthetic input at all


def test_click_without_patterns_falls_back_to_input_at_the_element(dev: WindowsDevice, probe: Probe) -> None:
    out = dev.execute(Click(target=target(dev, "Plain")))
    assert out.via == "input"
    press = probe.wait_for(lambda e: e["type"] == "press")
    assert press["button"] == 1 and PLAIN[0] <= press["x"] < PLAIN[2] and PLAIN[1] <= press["y"] < PLAIN[3]
    assert abs(press["x"] - 800) <= 1 and abs(press["y"] - 250) <= 1


@pytest.mark.parametrize("break_it", ["fails", "vanished", "disabled", "patterns off"])
def test_pattern_trouble_falls_back_to_input(xdisplay, probe: Probe, break_it: str) -> None:
    desk = demo_desktop()
    # an invokable button over the probe, so the fallback click is observable
    body = desk.foreground.children[0]
    btn = body.add("ButtonControl", "Go", (720, 170, 880, 330), patterns={"invoke"})
    dev = make_fake_windows_device(uia=desk, patterns=break_it != "patterns off")
    try:
        t = target(dev, "Go")
        if break_it == "fails":
            btn.ok = False  # Invoke() returns False (HRESULT not S_OK)
        elif break_it == "vanished":
            btn.vanish()  # the element went away after the observation
        elif break_it == "disabled":
            btn.enabled = False
            dev.cache.invalidate()
            t = target(dev, "Go")
        out = dev.execute(Click(target=t))
        assert out.via == "input"
        press = probe.wait_for(lambda e: e["type"] == "press")
        assert abs(press["x"] - 800) <= 1 and abs(press["y"] - 250) <= 1
        invoked = [e for e in desk.events if e[0] == "invoke"]
        assert invoked == ([("invoke", "Go")] if break_it == "fails" else [])
    finally:
        dev.close()


def test_type_sets_the_value_when_nothing_is_lost(dev: WindowsDevice, probe: Probe) -> None:
    assert dev.execute(TypeText(text="Ada Lovelace", target=target(dev, "Name"))).via == "uia:value"
    assert control(dev, "Name").state["value"] == "Ada Lovelace"
    out = dev.execute(TypeText(text="Lyon", target=target(dev, "City"), clear=True, submit=True))
    assert out.via == "uia:value" and control(dev, "City").state["value"] == "Lyon"
    assert dev.uia.focused is control(dev, "City")  # focused before Enter
    probe.wait_for(lambda e: e["type"] == "key" and e["keysym"] == keysym("Return"))
    assert element(dev, "Name").value == "Ada Lovelace"


@pytest.mark.parametrize("field", ["City", "Password", "Id"])
def test_type_falls_back_to_keys(dev: WindowsDevice, probe: Probe, field: str) -> None:
    # City holds text and clear is off (SetValue would replace it); Password never takes
    # SetValue; Id is read-only. All three get real keystrokes.
    before = dict(control(dev, field).state)
    out = dev.execute(TypeText(text="ab", target=target(dev, field)))
    assert out.via == "input"
    probe.wait_for(lambda e: e["type"] == "key" and e["keysym"] == keysym("b"))
    assert control(dev, field).state == before
    assert not [e for e in dev.uia.events if e[0] == "set_value"]


def test_non_ascii_text_goes_through_sendkeys_with_braces_escaped(dev: WindowsDevice) -> None:
    out = dev.execute(TypeText(text="Zoë {x}", target=target(dev, "City")))
    assert out.via == "uia:sendkeys" and dev.uia.sent_keys == ["Zoë {{}x{}}"]


def test_scroll_uses_the_scroll_pattern_of_the_list(dev: WindowsDevice, probe: Probe) -> None:
    items = control(dev, "Items")
    out = dev.execute(Scroll(direction="down", amount=0.2, anchor=target(dev, "Item 1")))
    assert out.via == "uia:scroll"
    # 0.2 of an 800 px screen = one 160 px viewport; a viewport is 25 / 75 of the scroll range
    assert items.state["v_percent"] == pytest.approx(100 * 25 / 75)
    dev.execute(Scroll(direction="up", amount=2.0, anchor=target(dev, "Items")))
    assert items.state["v_percent"] == 0.0  # clamped at the top
    assert not [e for e in probe.take() if e["type"] == "press"]


def test_scroll_outside_any_scrollable_uses_the_wheel(dev: WindowsDevice, probe: Probe) -> None:
    out = dev.execute(Scroll(direction="down", amount=0.1, anchor=target(dev, "Plain")))
    assert out.via == "input"
    press = probe.wait_for(lambda e: e["type"] == "press" and e["button"] in (4, 5))
    assert press["button"] == 5  # wheel towards the user


def test_stale_element_id_is_resolved_by_the_point(dev: WindowsDevice) -> None:
    els = dev.ui_tree()
    submit = next(e for e in els if e.name == "Submit")
    help_id = next(e for e in els if e.name == "Help").id
    # an id from another walk that does not cover the point: the point decides
    out = dev.execute(Click(target=Target(point=Point.from_pixels(*submit.center, dev.info.screen_size),
                                          element=help_id)))
    assert out.via == "uia:invoke" and dev.uia.events[-1] == ("invoke", "Submit")


def test_never_acts_on_the_agents_own_window(xdisplay) -> None:
    desk = demo_desktop()
    own = desk.add_window("Agent", (0, 0, 150, 150), pid=os.getpid(), front=True)
    own.add("ButtonControl", "Stop", (10, 10, 100, 40), patterns={"invoke"})
    dev = make_fake_windows_device(uia=desk)
    try:
        assert dev.ui_tree() == []  # the foreground window is ours: not walked
        with pytest.raises(DeviceError, match="own window"):
            dev.execute(Click(target=Target(point=Point.from_pixels(50, 25, dev.info.screen_size))))
        with pytest.raises(DeviceError, match="agent's own"):
            dev.execute(Key(keys=("enter",)))
        assert not desk.events
    finally:
        dev.close()


def test_keys_and_unsupported_actions(dev: WindowsDevice, probe: Probe) -> None:
    assert dev.execute(Key(keys=("ctrl", "a"))).via == "input"
    probe.wait_for(lambda e: e["type"] == "key" and e["keysym"] == keysym("a") and e["state"] & 4)
    with pytest.raises(UnsupportedAction):
        dev.execute(Home())
    with pytest.raises(UnsupportedAction):
        dev.execute(Swipe(start=Target.at(0.1, 0.1), end=Target.at(0.2, 0.2)))
