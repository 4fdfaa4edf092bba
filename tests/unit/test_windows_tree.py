"""The Windows device's UIA tree walk, on the FAKE uiautomation tree (tests/fake_uia.py):
uiautomation cannot run on Linux. Capture still goes through mss on the real Xvfb."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator

import pytest
from fake_uia import (
    UIA_E_ELEMENTNOTAVAILABLE,
    COMError,
    FakeUIAutomation,
    demo_desktop,
    make_fake_windows_device,
)

from devices.coords import Monitor, ScreenMap
from devices.windows.device import WindowsDevice, open_windows
from devices.windows.tree import TreeCache, UiaWalker, WalkLimits
from guiagent.registry import build_device
from guiagent.schema import Click, Role, Target, Wait
from guiagent.schema.errors import ConfigError

SCREEN = ScreenMap([Monitor(0, 0, 1280, 800)])


@pytest.fixture
def dev(xdisplay) -> Iterator[WindowsDevice]:
    d = make_fake_windows_device()
    yield d
    d.close()


def by_name(elements, name):
    return next(e for e in elements if e.name == name)


def test_roles_states_and_extras(dev: WindowsDevice) -> None:
    els = dev.ui_tree()
    assert dev.info.platform == "windows" and dev.info.screen_size == (1280, 800)
    assert len({e.id for e in els}) == len(els)
    win = els[0]
    assert win.role == Role.WINDOW and win.name == "Settings - Fake App" and win.bbox == (200, 100, 1000, 700)
    assert win.extras["pid"] == 4242 and win.extras["hwnd"] and win.extras["control_type"] == "WindowControl"
    name = by_name(els, "Name")
    assert name.role == Role.TEXT_FIELD and name.editable and name.focused and name.value == ""
    assert name.extras["automation_id"] == "nameBox" and name.extras["class_name"] == "Edit"
    assert name.extras["patterns"] == "value" and name.bbox == (310, 150, 600, 175)
    pwd = by_name(els, "Password")
    assert pwd.password and pwd.value is None
    ro = by_name(els, "Id")
    assert ro.value == "42" and not ro.editable
    assert by_name(els, "Subscribe").role == Role.CHECKBOX and by_name(els, "Subscribe").checked is False
    small, large = by_name(els, "Small"), by_name(els, "Large")
    assert small.role == Role.RADIO and small.checked is True and small.selected is True and large.checked is False
    combo = by_name(els, "Country")
    assert combo.role == Role.COMBOBOX and combo.value == "France" and combo.clickable
    assert by_name(els, "Help").role == Role.LINK
    dark = by_name(els, "Dark mode")
    assert dark.role == Role.SWITCH and dark.checked is True  # a button that only toggles
    assert by_name(els, "Disabled").enabled is False and by_name(els, "Submit").enabled is True
    assert by_name(els, "Items").role == Role.CONTAINER and by_name(els, "Items").extras["patterns"] == "scroll"
    assert by_name(els, "Documents").role == Role.LIST_ITEM
    assert by_name(els, "Documents").extras["control_type"] == "TreeItemControl"
    # the unnamed layout pane and the unnamed zero-size group are not elements, their content is
    assert not [e for e in els if e.role == Role.CONTAINER and not e.name]
    assert by_name(els, "Status: ready").bbox == (620, 600, 800, 620)


def test_offscreen_and_zero_size_are_skipped(dev: WindowsDevice) -> None:
    names = [e.name for e in dev.ui_tree()]
    assert [n for n in names if n.startswith("Item ")] == [f"Item {i}" for i in range(5)]
    snap = dev.snapshot()
    assert snap.stats["offscreen"] == 3 and snap.stats["empty"] >= 2 and snap.truncated is None


def test_element_vanishing_mid_walk_skips_only_its_subtree(caplog: pytest.LogCaptureFixture) -> None:
    desk = FakeUIAutomation()
    win = desk.add_window("App", (0, 0, 800, 600))
    doomed = win.add("GroupControl", "Menu", (0, 0, 400, 300), vanish_after=2)  # gone after 2 reads
    doomed.add("MenuItemControl", "Open", (0, 0, 100, 20), patterns={"invoke"})
    win.add("ButtonControl", "After", (500, 500, 600, 530), patterns={"invoke"})
    snap = UiaWalker(desk, SCREEN).walk()
    names = [n.element.name for n in snap.nodes]
    assert names == ["App", "After"] and snap.stats["vanished"] == 1
    assert desk.reads > 0 and doomed.gone


def test_sibling_navigation_failing_keeps_the_earlier_siblings() -> None:
    desk = FakeUIAutomation()
    win = desk.add_window("App", (0, 0, 800, 600))
    win.add("ButtonControl", "First", (0, 0, 100, 30), patterns={"invoke"})
    second = win.add("ButtonControl", "Second", (0, 40, 100, 70), patterns={"invoke"})
    win.add("ButtonControl", "Third", (0, 80, 100, 110), patterns={"invoke"})

    def list_changed() -> None:  # the list refreshed while we walked it
        raise COMError(UIA_E_ELEMENTNOTAVAILABLE, "The element is not available")

    second.GetNextSiblingControl = list_changed
    snap = UiaWalker(desk, SCREEN).walk()
    assert [n.element.name for n in snap.nodes] == ["App", "First", "Second"]


def test_depth_budget_on_a_very_deep_tree(caplog: pytest.LogCaptureFixture) -> None:
    desk = FakeUIAutomation()
    node = desk.add_window("Deep", (0, 0, 800, 600))
    for i in range(1500):  # deeper than Python's recursion limit
        node = node.add("GroupControl", f"level {i + 1}", (0, 0, 800, 600))
    with caplog.at_level(logging.WARNING, logger="devices.windows.tree"):
        snap = UiaWalker(desk, SCREEN, WalkLimits(max_depth=25)).walk()
    depths = [n.element.extras["depth"] for n in snap.nodes]
    assert max(depths) == 25 and len(snap.nodes) == 26 and snap.truncated == "depth"
    assert "depth budget" in caplog.text


def test_time_budget_returns_what_was_found(caplog: pytest.LogCaptureFixture) -> None:
    desk = FakeUIAutomation()
    win = desk.add_window("Slow app", (0, 0, 800, 600))
    for i in range(400):
        win.add("ButtonControl", f"b{i}", (i % 40 * 20, i // 40 * 20, i % 40 * 20 + 18, i // 40 * 20 + 18),
                patterns={"invoke"}, delay=0.002)  # every property read costs 2 ms, like a busy app
    with caplog.at_level(logging.WARNING, logger="devices.windows.tree"):
        snap = UiaWalker(desk, SCREEN, WalkLimits(time_budget=0.25)).walk()
    assert snap.truncated == "time" and 1 < len(snap.nodes) < 401
    assert [n.element.name for n in snap.nodes[1:4]] == ["b0", "b1", "b2"]  # document order kept
    assert "time budget" in caplog.text


def test_element_budget() -> None:
    desk = FakeUIAutomation()
    win = desk.add_window("Big", (0, 0, 800, 600))
    for i in range(50):
        win.add("TextControl", f"t{i}", (0, i * 10, 100, i * 10 + 9))
    snap = UiaWalker(desk, SCREEN, WalkLimits(max_elements=10)).walk()
    assert len(snap.nodes) == 10 and snap.truncated == "elements"


def test_scope_all_walks_every_window_but_the_agents_own(xdisplay) -> None:
    desk = demo_desktop()
    desk.add_window("Agent UI", (0, 0, 300, 300), pid=os.getpid(), front=False)
    dev = make_fake_windows_device(uia=desk, scope="all")
    try:
        windows = [e for e in dev.ui_tree() if e.role == Role.WINDOW]
        assert [w.name for w in windows] == ["Settings - Fake App", "Notes - Editor"]
        assert [w.extras["window"] for w in windows] == [0, 1]
    finally:
        dev.close()


def test_cache_reuses_the_walk_until_something_changes(dev: WindowsDevice) -> None:
    first = dev.ui_tree()
    reads_after_walk = dev.uia.reads
    assert dev.ui_tree() == first and dev.cache.walks == 1
    assert dev.uia.reads - reads_after_walk < 20  # only the change signal was read
    dev.uia.foreground.name = "Settings - Fake App (edited)"
    renamed = dev.ui_tree()
    assert dev.cache.walks == 2 and renamed[0].name.endswith("(edited)")
    dev.execute(Wait(seconds=0))
    dev.ui_tree()
    assert dev.cache.walks == 2  # waiting changes nothing
    sub = by_name(renamed, "Submit")
    dev.execute(Click(target=Target(point=_point(dev, sub), element=sub.id)))
    dev.ui_tree()
    assert dev.cache.walks == 3  # any action invalidates


def test_cache_ttl_expires(xdisplay) -> None:
    dev = make_fake_windows_device(cache_ttl=0.0)
    try:
        dev.ui_tree()
        dev.ui_tree()
        assert dev.cache.walks == 2
    finally:
        dev.close()


def test_another_thread_initializes_com_and_walks_again(dev: WindowsDevice) -> None:
    dev.ui_tree()
    out: list[int] = []
    t = threading.Thread(target=lambda: out.append(len(dev.ui_tree())))
    t.start()
    t.join(30)
    assert out and out[0] > 10
    assert dev.uia.com_threads == [t.ident]  # UIAutomationInitializerInThread in that thread only
    assert dev.cache.walks == 2  # controls of another thread's walk are not reused


def test_hit_test_prefers_the_smallest_interactive_element(xdisplay) -> None:
    dev = make_fake_windows_device(scope="all")
    try:
        assert dev.hit_test(250, 655).name == "Submit"
        assert dev.hit_test(260, 357).name == "Small"  # inside the "Size" group: the radio wins
        assert dev.hit_test(210, 120).name == "Settings - Fake App"  # only the window is there
        assert dev.hit_test(100, 60).name == "Notes - Editor"  # the window behind, where it shows
        assert dev.hit_test(1200, 780) is None
    finally:
        dev.close()


def test_tree_cache_standalone_counts_walks() -> None:
    desk = demo_desktop()
    cache = TreeCache(UiaWalker(desk, SCREEN), ttl=60)
    a = cache.get("foreground")
    assert cache.get("foreground") is a and cache.get("all") is not a and cache.walks == 2
    cache.invalidate()
    assert cache.peek() is not None and cache.get("all").nodes and cache.walks == 3


def test_factory_and_registry(xdisplay) -> None:
    dev = build_device("windows", uia=demo_desktop(), display=os.environ["DISPLAY"], scope="all")
    try:
        assert isinstance(dev, WindowsDevice) and dev.scope == "all" and dev.info.id == "windows:all"
    finally:
        dev.close()
    with pytest.raises(ConfigError, match="needs Windows"):
        open_windows("")
    with pytest.raises(ConfigError, match="scope"):
        WindowsDevice(uia=demo_desktop(), scope="everything")
    with pytest.raises(ConfigError, match="monitor"):
        open_windows("7", uia=demo_desktop(), display=os.environ["DISPLAY"])


def _point(dev: WindowsDevice, element):
    from guiagent.schema import Point

    return Point.from_pixels(*element.center, dev.info.screen_size)
