"""Widgets that hold a value, on real Chromium pages: native range inputs found from their
pixels (knob where the value puts it), and the rule planner setting a slider, a drawn
drop-down (type-ahead to an option the list hides), a read-only date field with a calendar
and a spinner that refuses typing, end to end on MiniWoB pages (Xvfb, the
desktop device). Each episode must be scored a success by the page itself."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from miniwob_runs import run_episodes
from PIL import Image

from grounding.detect import detect_sliders

_RANGES = ('<html><body style="font:18px sans-serif;margin:20px">'
           '<div>Volume <input type="range" min="0" max="100" value="20" style="width:240px"> <span>20</span></div>'
           '<div style="margin-top:30px">Zoom <input type="range" min="0" max="10" value="8" style="width:240px">'
           "</div></body></html>")


def test_native_range_inputs_are_sliders_with_their_knob_in_place(tmp_path: Path) -> None:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("chromium is not installed")
    page, out = tmp_path / "ranges.html", tmp_path / "ranges.png"
    page.write_text(_RANGES)
    subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--force-device-scale-factor=1", "--window-size=400,200", f"--screenshot={out}", page.as_uri()],
                   capture_output=True, timeout=60, check=False)
    if not out.exists():
        pytest.skip("chromium could not take a screenshot here")
    sliders = detect_sliders(Image.open(out))
    assert len(sliders) == 2, sliders
    assert abs(sliders[0].fraction - 0.2) < 0.06 and abs(sliders[1].fraction - 0.8) < 0.06, sliders


def test_slider_dropdown_time_date_and_spinner_end_to_end(browser) -> None:
    # dev seeds: "Select 6 with the slider, click the 3rd checkbox"; "Choose 6 ft from the
    # dropdown" (hidden below the opened list, "6ft 1in" next to it); "Select 12/01/2016 as
    # the date" (read-only field, calendar); "Select -3 with the spinner" (typing is refused)
    seen = run_episodes((("form-sequence", 101), ("form-sequence-3", 102),
                         ("choose-date-easy", 100), ("use-spinner", 104)))
    failed = [r for r in seen if not r.success]
    assert not failed, [(r.task, r.reason, r.actions) for r in failed]
