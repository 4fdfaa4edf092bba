"""Window management and OpenApp on the Windows device. Windows come from the FAKE
uiautomation (tests/fake_uia.py; uiautomation cannot run on Linux); launched processes are
real, and so are the Start-menu keystrokes (pyautogui on Xvfb, seen by a real X client)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import pytest
from fake_uia import demo_desktop, make_fake_windows_device
from test_desktop_probe import Probe, keysym
from waiting import wait_until

from devices.windows.device import WindowsDevice
from guiagent.schema import OpenApp
from guiagent.schema.errors import DeviceError


@pytest.fixture
def dev(xdisplay) -> Iterator[WindowsDevice]:
    d = make_fake_windows_device(app_timeout=10.0, start_menu_timeout=0.1)
    yield d
    for p in d.launched:
        p.kill()
        p.wait(10)
    d.close()


def later(fn, until, timeout: float = 10.0) -> threading.Thread:
    """Run `fn` in a thread once `until()` holds: an app whose window shows up after a while."""

    def run() -> None:
        wait_until(until, timeout=timeout, what="the moment to start the app")
        fn()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_open_app_brings_an_open_window_to_the_front(dev: WindowsDevice) -> None:
    assert dev.foreground() == "Settings - Fake App"
    out = dev.execute(OpenApp(name="notes"))  # case-insensitive part of the title
    assert out.via == "uia:set-active" and dev.foreground() == "Notes - Editor"
    assert dev.uia.root.children[0].name == "Notes - Editor"
    assert dev.ui_tree()[0].name == "Notes - Editor"  # the cache did not serve the old window


def test_switch_to_this_window_when_set_active_fails(dev: WindowsDevice) -> None:
    notes = next(w for w in dev.uia.root.children if w.name.startswith("Notes"))
    notes.activate_ok = False  # SetForegroundWindow refused (another process has the foreground)
    assert dev.activate_window("Notes") == "uia:switch"
    assert [e[0] for e in dev.uia.events] == ["set_active", "switch"] and dev.foreground() == "Notes - Editor"
    with pytest.raises(DeviceError, match="no window"):
        dev.activate_window("Calculator", timeout=0.2)


def test_open_app_runs_an_executable_and_waits_for_its_window(dev: WindowsDevice) -> None:
    cmd = f"{sys.executable} -c 'import time; time.sleep(60)'"
    # the window appears once the process runs, owned by its pid (the title says nothing)
    t = later(lambda: dev.uia.add_window("Untitled", (100, 100, 500, 400), pid=dev.launched[-1].pid, front=False),
              until=lambda: bool(dev.launched))
    out = dev.execute(OpenApp(name=cmd))
    t.join(15)
    assert out.via == "exec+window"
    assert dev.launched and dev.launched[-1].poll() is None  # really running
    assert dev.foreground() == "Untitled" and dev.uia.events[-1] == ("set_active", "Untitled")


def test_open_app_through_the_start_menu(dev: WindowsDevice, xdisplay) -> None:
    probe = Probe(title="start menu stand-in")  # receives the keystrokes the Start menu would get
    try:
        typed = lambda: any(e["type"] == "key" and e["keysym"] == keysym("Return") for e in probe.seen)  # noqa: E731
        t = later(lambda: dev.uia.add_window("Calculator", (300, 200, 600, 600), pid=777, front=False), until=typed)
        # the probe's pump only fills `seen` when asked; ask from this thread while OpenApp runs
        pump = threading.Thread(target=lambda: probe.wait_for(lambda e: e.get("keysym") == keysym("Return")))
        pump.start()
        out = dev.execute(OpenApp(name="calculator"))
        pump.join(15)
        t.join(15)
        assert out.via == "start-menu+window" and dev.foreground() == "Calculator"
        syms = [e["keysym"] for e in probe.seen if e["type"] == "key"]
        assert syms[0] == keysym("Super_L")
        assert syms[1:] == [keysym(c) for c in "calculator"] + [keysym("Return")]
    finally:
        probe.close()


def test_open_app_without_a_window_still_reports_what_it_did(xdisplay) -> None:
    dev = make_fake_windows_device(uia=demo_desktop(), app_timeout=0.3, start_menu_timeout=0.05)
    try:
        assert dev.execute(OpenApp(name="nosuchapp")).via == "start-menu"
    finally:
        dev.close()
