"""End to end on a real Qt app: the demo form on Xvfb, driven by the desktop device.

Typing (ASCII through pyautogui, Unicode through keysym remapping), clicks on Qt widgets and
the submitted JSON prove that input arrives as a user's would. The AT-SPI test runs the form
on a private D-Bus session with the accessibility bus enabled before the app starts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from waiting import first_json_line, wait_until

from devices.x11.atspi import AtspiReader
from devices.x11.device import DesktopDevice, open_desktop
from devices.x11.xvfb import VirtualDisplay
from guiagent.schema import Click, Element, Point, Role, Target, TypeText

ROOT = Path(__file__).resolve().parents[2]
FORM = ROOT / "assets" / "demo_form.py"
GEOMETRY = "60,80,560,340"
UNICODE = "Ada Lovelace — ünïcödé 漢字"


@dataclass
class Form:
    proc: subprocess.Popen[str]
    out: Path
    widgets: dict[str, list[int]]

    def center(self, dev: DesktopDevice, name: str) -> Target:
        x, y, w, h = self.widgets[name]
        px, py = dev.screen.to_screenshot(x + w / 2, y + h / 2)
        return Target(point=Point.from_pixels(px, py, dev.info.screen_size))

    def result(self, timeout: float = 20.0) -> dict[str, Any]:
        def written() -> bool:
            assert self.proc.poll() is None, "the form exited"
            return self.out.exists()

        wait_until(written, timeout=timeout, what="the form to write its result")
        return json.loads(self.out.read_text(encoding="utf-8"))


def launch_form(out: Path, env: dict[str, str] | None = None) -> Form:
    full_env = {**os.environ, "QT_QPA_PLATFORM": "xcb", **(env or {})}
    proc = subprocess.Popen([sys.executable, str(FORM), "--out", str(out), "--geometry", GEOMETRY],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=full_env)
    assert proc.stderr is not None
    ready = first_json_line(proc.stderr, timeout=60)
    if not ready.get("ready"):
        proc.kill()
        raise AssertionError("the demo form did not start")
    return Form(proc, out, ready["widgets"])


def wait_mapped(dev: DesktopDevice, form: Form) -> None:
    x, y, w, h = form.widgets["Name"]
    wait_until(lambda: (win := dev.x11.window_at(x + w // 2, y + h // 2)) is not None and win.pid == form.proc.pid,
               what="the form window under its Name field")


def close_form(form: Form) -> None:
    form.proc.terminate()
    try:
        form.proc.wait(10)
    except subprocess.TimeoutExpired:
        form.proc.kill()
        form.proc.wait(5)


@pytest.fixture
def dev(xdisplay: VirtualDisplay) -> Iterator[DesktopDevice]:
    d = open_desktop("", a11y=False)
    yield d
    d.close()


@pytest.fixture
def form(dev: DesktopDevice, tmp_path: Path) -> Iterator[Form]:
    f = launch_form(tmp_path / "result.json")
    try:
        wait_mapped(dev, f)
        yield f
    finally:
        close_form(f)


def test_fill_and_submit_with_unicode(dev: DesktopDevice, form: Form) -> None:
    first = dev.execute(TypeText(text="Charles Babbage", target=form.center(dev, "Name")))
    assert first.via == "pyautogui"
    # clear replaces the ASCII text; the Unicode goes through XTest keysym remapping
    second = dev.execute(TypeText(text=UNICODE, target=form.center(dev, "Name"), clear=True))
    assert second.via == "xtest-keysym"
    dev.execute(Click(target=form.center(dev, "Subscribe")))
    dev.execute(Click(target=form.center(dev, "Pro")))
    dev.execute(Click(target=form.center(dev, "Submit")))
    assert form.result() == {"name": UNICODE, "subscribe": True, "plan": "Pro"}
    assert dev.foreground() == "guiagent demo form"


def test_submit_presses_enter(dev: DesktopDevice, form: Form) -> None:
    dev.execute(TypeText(text="Grace Hopper", target=form.center(dev, "Name"), submit=True))
    assert form.result() == {"name": "Grace Hopper", "subscribe": False, "plan": "Free"}


# -- AT-SPI ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def a11y_bus(xdisplay: VirtualDisplay) -> Iterator[dict[str, str]]:
    """The accessibility bus, enabled before any app starts: the session's (conftest), shared. A
    second bus launcher on the same display would replace the first one's socket (one per display)
    and take it down when it leaves, so every later app on the display could not register."""
    from guiagent.recorder.a11y_bus import A11yBus

    if not (A11yBus.available() and Path("/usr/bin/python3").exists()):
        pytest.skip("AT-SPI needs dbus-daemon, dbus-send and Debian's python3 (scripts/install-sysdeps.sh)")
    with A11yBus() as bus:
        assert bus.address is not None
        yield {"DBUS_SESSION_BUS_ADDRESS": bus.address}


def test_atspi_tree_of_the_demo_form(a11y_bus: dict[str, str], tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in a11y_bus.items():
        monkeypatch.setenv(k, v)
    dev = open_desktop("")
    form = launch_form(tmp_path / "result.json", a11y_bus)
    try:
        wait_mapped(dev, form)
        assert dev._atspi is not None
        def form_elements() -> list[Element]:
            if dev._atspi is not None and dev._atspi.unavailable:
                pytest.skip(f"AT-SPI unavailable here: {dev._atspi.unavailable}")
            return [e for e in dev.ui_tree() if e.extras.get("pid") == form.proc.pid]

        els = wait_until(form_elements, what="the form in the AT-SPI tree")
        by_name = {(e.role, e.name): e for e in els}
        window = by_name[(Role.WINDOW, "guiagent demo form")]
        name = by_name[(Role.TEXT_FIELD, "Name")]
        subscribe = by_name[(Role.CHECKBOX, "Subscribe")]
        free, pro = by_name[(Role.RADIO, "Free")], by_name[(Role.RADIO, "Pro")]
        submit = by_name[(Role.BUTTON, "Submit")]
        assert name.editable and name.enabled and name.value == "" and not name.password
        assert subscribe.checked is False and free.checked is True and pro.checked is False
        assert submit.clickable and window.bbox == (60, 80, 620, 420)
        # boxes agree with Qt's own geometry (the screenshot is the whole screen here); Qt's
        # accessible rect of a checkbox is its click area, a pixel or two off the widget
        for el, key in [(name, "Name"), (subscribe, "Subscribe"), (submit, "Submit")]:
            x, y, w, h = form.widgets[key]
            assert max(abs(a - b) for a, b in zip(el.bbox, (x, y, x + w, y + h), strict=True)) <= 3

        # act through the tree's own boxes, then read the new state back
        def point(el: Any) -> Target:
            return Target(point=Point.from_pixels(*el.center, dev.info.screen_size))

        dev.execute(TypeText(text="Ada ü", target=point(name)))
        dev.execute(Click(target=point(subscribe)))
        def new_state() -> dict[tuple[Role, str], Element] | None:
            after = {(e.role, e.name): e for e in dev.ui_tree() if e.extras.get("pid") == form.proc.pid}
            done = after[(Role.TEXT_FIELD, "Name")].value == "Ada ü" and after[(Role.CHECKBOX, "Subscribe")].checked
            return after if done else None

        after = wait_until(new_state, what="the tree to show the typed name and the ticked box")
        assert after[(Role.CHECKBOX, "Subscribe")].focused

        # the agent's own windows are left out of the tree
        guarded = open_desktop("", exclude_pids={form.proc.pid})
        try:
            assert not [e for e in guarded.ui_tree() if e.extras.get("pid") == form.proc.pid]
        finally:
            guarded.close()
    finally:
        close_form(form)
        dev.close()


def test_atspi_unavailable_gives_an_empty_tree(xdisplay: VirtualDisplay) -> None:
    # the venv's Python has no pyatspi: the helper reports that, and ui_tree() stays empty
    reader = AtspiReader(python=sys.executable, timeout=5)
    assert reader.nodes() == []
    assert reader.unavailable is not None and "pyatspi" in reader.unavailable
    assert reader.nodes() == []  # and it does not try again on every call
    reader.close()
    d = open_desktop("", a11y=False)
    try:
        assert d.ui_tree() == []
    finally:
        d.close()
