"""The Windows device on real Windows with the real uiautomation package. Skipped elsewhere
(and never run on this project's Linux machines): run on a Windows desktop session with
`pip install -e ".[desktop,windows,test]"` and `pytest -m windows`."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from guiagent.schema import OpenApp, Role, Target, TypeText

pytestmark = [pytest.mark.windows,
              pytest.mark.skipif(sys.platform != "win32", reason="needs real Windows and uiautomation")]


@pytest.fixture
def dev() -> Iterator:
    from devices.windows.device import open_windows

    d = open_windows("", app_timeout=20.0)
    yield d
    for p in d.launched:
        p.kill()
    d.close()


def test_per_monitor_dpi_awareness(dev) -> None:
    from devices.windows.dpi import PER_MONITOR, current_awareness

    assert dev.awareness == current_awareness() == PER_MONITOR
    assert dev.screenshot().size == dev.info.screen_size


def test_notepad_round_trip(dev) -> None:
    out = dev.execute(OpenApp(name="notepad.exe"))
    assert out.via.endswith("+window") or out.via == "uia:set-active"
    assert "notepad" in (dev.foreground() or "").lower()
    els = dev.ui_tree()
    assert els and els[0].role == Role.WINDOW
    w, h = dev.info.screen_size
    assert all(0 <= e.bbox[0] <= e.bbox[2] <= w and 0 <= e.bbox[1] <= e.bbox[3] <= h for e in els)
    edit = next(e for e in els if e.role == Role.TEXT_FIELD)
    assert dev.hit_test(*edit.center).id == edit.id
    point = dev.snapshot().nodes[0].element  # the window
    assert point.extras["hwnd"]
    out = dev.execute(TypeText(text="hello from guiagent", target=Target.at(
        edit.center[0] / w, edit.center[1] / h), clear=True))
    assert out.via in ("uia:value", "input")
    dev.cache.invalidate()
    assert any("hello from guiagent" in (e.value or "") for e in dev.ui_tree())
