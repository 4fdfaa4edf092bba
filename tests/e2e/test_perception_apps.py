"""Perception on real windows under Xvfb: the menu bars of third-party GTK, Qt and Tk apps are
read, small as their text is, one title per text box ("the Edit menu" must find "Edit", not
"File Edit"); and a checkbox the a11y tree reports with its label is one element, not two."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from test_desktop_form import a11y_bus, close_form, launch_form, wait_mapped
from waiting import wait_until

from devices.x11.device import DesktopDevice, open_desktop
from devices.x11.xvfb import VirtualDisplay
from grounding import ocr
from grounding.parse import ScreenParser
from grounding.regions import content_regions, tiles
from guiagent.schema import Role

__all__ = ["a11y_bus"]  # a fixture used here, defined with the desktop form tests

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not ocr.available(), reason="OCR (rapidocr) not installed")

# app -> its menu titles (featherpad underlines the F of File, which OCR reads as "Eile": left out)
MENUS = {
    "mousepad": ["Edit", "Search", "View", "Document", "Help"],  # GTK 3, under a root-warning banner
    "featherpad": ["Edit", "Options", "Search", "Help"],  # Qt 5
    "l3afpad": ["File", "Edit", "Search", "Options", "Help"],  # GTK 3
    "gitk": ["File", "Edit", "View", "Help"],  # Tk
}


@pytest.fixture
def dev(xdisplay: VirtualDisplay) -> Iterator[DesktopDevice]:
    d = open_desktop("", a11y=False)
    yield d
    d.close()


def _menu_bar(dev: DesktopDevice) -> list[ocr.OcrBox]:
    """The text boxes of a fresh read of the screen, along the top 40 px."""
    img = dev.screenshot()
    boxes = ocr.IncrementalOcr(ocr.default_engine()).read(img)
    return [b for b in boxes if b.bbox[1] < 40]


@pytest.mark.parametrize("app", list(MENUS))
def test_menu_titles_are_read_one_per_box(app: str, dev: DesktopDevice, xdisplay: VirtualDisplay,
                                         tmp_path: Path) -> None:
    if shutil.which(app) is None:
        pytest.skip(f"{app} not installed (scripts/install-sysdeps.sh)")
    env = {**os.environ, "DISPLAY": xdisplay.name, "QT_QPA_PLATFORM": "xcb", "NO_AT_BRIDGE": "1"}
    # in a throwaway one-commit repository: gitk reads the history of its working directory (this
    # project's whole history would make its first paint depend on the clone and the machine's load)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, timeout=30)
    (tmp_path / "a.txt").write_text("a\n")
    subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one",
                    "--allow-empty"], check=True, timeout=30)
    proc = subprocess.Popen([app], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wanted = MENUS[app]

        def titles() -> list[str] | None:
            found = [b.text for b in _menu_bar(dev)]
            return found if all(w in found for w in wanted) else None

        found = wait_until(titles, timeout=60, interval=0.3, what=f"{app}'s menu titles, each in its own box")
        # no box glues two titles together ("File Edit")
        for text in found:
            assert sum(w.casefold() in text.casefold().split() for w in wanted) <= 1, found
        # read left to right along one row
        boxes = {b.text: b.bbox for b in _menu_bar(dev) if b.text in wanted}
        xs = [boxes[w][0] for w in wanted if w in boxes]
        assert xs == sorted(xs)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)


def test_tiles_keep_every_side_within_the_limit_and_cut_between_lines() -> None:
    gray = np.full((800, 2500), 255, dtype=np.uint8)
    for top in range(10, 790, 30):  # text-like rows of ink with blank gaps between them
        gray[top: top + 12, 20:2480:3] = 0
    parts = tiles(gray, (0, 0, 2500, 800), limit=960)
    assert all(r - left <= 960 and b - t <= 960 for left, t, r, b in parts)
    assert sum((r - left) * (b - t) for left, t, r, b in parts) == 2500 * 800  # an exact cover
    assert len(parts) == 3
    cuts = {p[2] for p in parts} - {2500}
    for x in cuts:  # vertical cuts fall between ink columns
        assert not (gray[:, x] == 0).any() or not (gray[:, x - 1] == 0).any()


def test_content_regions_skip_the_empty_desktop() -> None:
    gray = np.zeros((2160, 3840), dtype=np.uint8)
    gray[100:300, 200:600] = 200
    (region,) = content_regions(gray)
    assert region[0] <= 200 and region[1] <= 100 and region[2] >= 600 and region[3] >= 300
    assert (region[2] - region[0]) * (region[3] - region[1]) < 0.02 * 3840 * 2160


def test_a11y_checkbox_and_its_pixel_box_are_one_element(a11y_bus: dict[str, str], tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in a11y_bus.items():
        monkeypatch.setenv(k, v)
    dev = open_desktop("")
    form = launch_form(tmp_path / "result.json", a11y_bus)
    try:
        wait_mapped(dev, form)

        def tree() -> list | None:
            if dev._atspi is not None and dev._atspi.unavailable:
                pytest.skip(f"AT-SPI unavailable here: {dev._atspi.unavailable}")
            els = [e for e in dev.ui_tree() if e.extras.get("pid") == form.proc.pid]
            return els if any(e.role == Role.CHECKBOX for e in els) else None

        a11y = wait_until(tree, what="the form's checkbox in the AT-SPI tree")
        x, y, w, h = form.widgets["Subscribe"]
        box_centre = (x + 8, y + h // 2)  # Qt draws the box at the left of the widget
        els = ScreenParser().parse(dev.screenshot(), a11y)
        toggles = [e for e in els if e.role in (Role.CHECKBOX, Role.RADIO)
                   and e.bbox[0] <= box_centre[0] <= e.bbox[2] and e.bbox[1] <= box_centre[1] <= e.bbox[3]]
        assert len(toggles) == 1, toggles
        assert toggles[0].source == "a11y" and toggles[0].name == "Subscribe" and toggles[0].checked is False
    finally:
        close_form(form)
        dev.close()
