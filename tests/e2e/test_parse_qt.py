"""A real Qt window on a real X server (Xvfb), captured with mss: the parser and the text
grounder must find Qt's own widgets where Qt says they are."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from waiting import first_json_line, wait_until

from grounding import ocr
from grounding.parse import ScreenParser
from grounding.text_matcher import TextGrounder
from guiagent.schema import Observation, Role

FORM = Path(__file__).resolve().parents[1] / "fixtures" / "perception" / "qt_form.py"
pytestmark = pytest.mark.skipif(not ocr.available(), reason="rapidocr/onnxruntime not installed")


def _grab() -> Image.Image:
    import mss

    with mss.MSS() as shot:
        raw = shot.grab(shot.monitors[1])
        return Image.frombytes("RGB", raw.size, raw.rgb)


@pytest.fixture(scope="module")
def qt_screen(xdisplay: Any) -> Iterator[tuple[Image.Image, dict[str, list[int]]]]:
    pytest.importorskip("PySide6")
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "DISPLAY": xdisplay.name}
    proc = subprocess.Popen([sys.executable, str(FORM), "--geometry", "40,60,420,300"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    info = first_json_line(proc.stdout, timeout=60)
    try:
        if not info.get("ready"):
            err = proc.stderr.read() if proc.poll() is not None and proc.stderr else ""
            pytest.skip(f"the Qt form did not start on Xvfb: {err[-300:]}")
        # wait until the whole window is painted: every widget's box shows something (the unpainted
        # screen is black) and two grabs in a row agree (one widget painted and the next not yet is a real frame)
        widgets = info["widgets"]
        last: list[Image.Image] = []

        def painted() -> Image.Image | None:
            shot = _grab()
            ready = all(shot.crop((x, y, x + w, y + h)).getbbox() is not None  # some pixel not black
                        for x, y, w, h in widgets.values())
            stable = bool(last) and last[-1].tobytes() == shot.tobytes()
            last[:] = [shot]
            return shot if ready and stable else None

        image = wait_until(painted, what="the whole form painted and still")
        yield image, widgets
    finally:
        proc.kill()
        proc.wait(10)


def _inside(point: tuple[float, float], geom: list[int], slack: int = 2) -> bool:
    x, y, w, h = geom
    return x - slack <= point[0] <= x + w + slack and y - slack <= point[1] <= y + h + slack


def test_qt_widgets_are_found_where_qt_puts_them(qt_screen: tuple[Image.Image, dict[str, list[int]]]) -> None:
    image, geo = qt_screen
    els = ScreenParser().parse(image)
    fields = [e for e in els if e.role == Role.TEXT_FIELD]
    assert {e.name for e in fields} == {"Name", "City"}
    city = next(e for e in fields if e.name == "City")
    assert city.value == "Paris" and _inside(city.center, geo["field:City"])
    for key, state in (("check:Subscribe", True), ("check:Remember me", False),
                       ("radio:Small", True), ("radio:Large", False)):
        role = Role.CHECKBOX if key.startswith("check") else Role.RADIO
        name = key.split(":")[1]
        el = next(e for e in els if e.role == role and e.name == name)
        assert el.checked is state and _inside(el.center, geo[key]), (key, el)
    for name in ("Save", "Cancel"):
        el = next(e for e in els if e.role == Role.BUTTON and e.name == name)
        assert _inside(el.center, geo[f"button:{name}"])


def test_grounding_on_the_qt_screen(qt_screen: tuple[Image.Image, dict[str, list[int]]]) -> None:
    image, geo = qt_screen
    obs = Observation(screenshot=image, elements=tuple(ScreenParser().parse(image)), screen_size=image.size)
    g = TextGrounder(semantic=False)
    for description, key in (("Name field", "field:Name"), ("the text field next to City", "field:City"),
                             ("Remember me checkbox", "check:Remember me"), ("Large", "radio:Large"),
                             ("the Cancel button", "button:Cancel"), ("the 2nd text box", "field:City")):
        result = g.ground(description, obs)
        assert _inside(result.point.to_pixels(image.size), geo[key]), (description, result)
