"""Anchored targets on a list rendered by a real Chromium (a headless screenshot of a local
page), read from pixels alone (OCR + pixel detectors): rows with a name and two icon-only
buttons (an outlined star and a bin, drawn here as SVG in another style than the system
theme). The rule planner finds the row by its name and the icon by what it depicts."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from grounding.icon_names import references
from grounding.parse import ScreenParser
from guiagent.planning.instructions import Ref, WithinGoal
from guiagent.planning.rule import RulePlanner
from guiagent.planning.skills import Notes, Seen, run_goal
from guiagent.schema import Click, Done, Observation, Scroll

pytestmark = pytest.mark.skipif(not references("star"), reason="no Adwaita icon theme on this machine")

ROW, STAR_X, TRASH_X, ICON_Y, SIZE = 65, 300, 340, 20, 24  # CSS px (scale 1): a row is 64 px + a 1 px rule
NAMES = ("Alice Moore", "Bob Stone", "Carol King", "Bob Stone")
_STAR = ('<svg width=24 height=24 viewBox="0 0 24 24"><polygon points="12,2 15,9 22,9 16.5,13.5 18.5,21 12,16.5 '
         '5.5,21 7.5,13.5 2,9 9,9" fill="none" stroke="#555" stroke-width="2"/></svg>')
_BIN = ('<svg width=24 height=24 viewBox="0 0 24 24"><rect x="3" y="5" width="18" height="2" fill="#555"/>'
        '<rect x="9" y="2" width="6" height="3" fill="none" stroke="#555" stroke-width="1.5"/>'
        '<path d="M5 8 L19 8 L17.5 22 L6.5 22 Z" fill="none" stroke="#555" stroke-width="2"/></svg>')


def _page(tmp: Path) -> Path:
    rows = "".join(
        f'<div class=row><b>{name}</b><div>Subject {i + 1}</div>'
        f'<span style="left:{STAR_X}px">{_STAR}</span><span style="left:{TRASH_X}px">{_BIN}</span></div>'
        for i, name in enumerate(NAMES))
    style = ("body{margin:0;font:18px sans-serif} .row{position:relative;height:64px;border-bottom:1px solid #ccc;"
             "padding:0 10px} .row span{position:absolute;top:" + f"{ICON_Y}px" + "}")
    html = tmp / "inbox.html"
    html.write_text(f"<html><head><style>{style}</style></head><body>{rows}</body></html>")
    return html


def _shot(html: Path) -> Image.Image:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("chromium is not installed")
    out = html.with_suffix(".png")
    subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--force-device-scale-factor=1", "--window-size=400,300", f"--screenshot={out}", html.as_uri()],
                   capture_output=True, timeout=60, check=False)
    if not out.exists():
        pytest.skip("chromium could not take a screenshot here")
    return Image.open(out).convert("RGB")


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Observation:
    image = _shot(_page(tmp_path_factory.mktemp("within")))
    return Observation(screenshot=image, elements=tuple(ScreenParser().parse(image, [])), screen_size=image.size)


def _where(obs: Observation, action: object) -> tuple[int, str]:
    """(row index, "star" / "trash" / "") of a click's point."""
    assert isinstance(action, Click) and action.target.point is not None, action
    x, y = action.target.point.to_pixels(obs.screen_size)
    row = y // ROW
    inside = ICON_Y - 2 <= y - row * ROW <= ICON_Y + SIZE + 2
    icon = "star" if inside and STAR_X - 2 <= x <= STAR_X + SIZE + 2 else \
        "trash" if inside and TRASH_X - 2 <= x <= TRASH_X + SIZE + 2 else ""
    return row, icon


@pytest.mark.parametrize(("instruction", "row", "icon"), [
    ("Find the email by Carol King and click the trash icon to delete it.", 2, "trash"),
    ("Star the message from Alice Moore", 0, "star"),
    ("In the row containing 'Carol King', click the favourite star", 2, "star"),
])
def test_the_planner_clicks_the_icon_of_the_anchored_row(inbox: Observation, instruction: str, row: int,
                                                         icon: str) -> None:
    d = RulePlanner().next(instruction, inbox, [])
    assert _where(inbox, d.action) == (row, icon), d.thought


def test_every_row_of_a_name_once_then_the_end_of_the_list(inbox: Observation) -> None:
    steps = run_goal(WithinGoal(Ref("delete", "icon"), Ref("Bob Stone"), 0), Seen(inbox), Notes())
    clicks = [_where(inbox, next(steps).actions[0])]
    attempt = steps.send(Seen(inbox, changed=True))
    while isinstance(attempt.actions[0], Click):
        clicks.append(_where(inbox, attempt.actions[0]))
        attempt = steps.send(Seen(inbox, changed=True))
    assert sorted(clicks) == [(1, "trash"), (3, "trash")]
    assert isinstance(attempt.actions[0], Scroll)  # more rows may be below: look
    with pytest.raises(StopIteration):  # the list did not move: that was all of them
        steps.send(Seen(inbox, changed=False))


def test_a_name_on_no_row_is_an_honest_failure(inbox: Observation) -> None:
    steps = run_goal(WithinGoal(Ref("trash", "icon"), Ref("Zed Quill")), Seen(inbox), Notes())
    assert isinstance(next(steps).actions[0], Scroll)
    last = steps.send(Seen(inbox, changed=False)).actions[0]
    assert isinstance(last, Done) and last.status == "impossible" and "Zed Quill" in (last.answer or "")
