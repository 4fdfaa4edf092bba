"""Pixel widget detectors on rendered forms (two looks), real Chromium screenshots (MiniWoB++
fixtures and a live headless capture) and plain text (no false widgets)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from fixtures.perception.forms import render_form, render_lines

from grounding.detect import detect_widgets, label_runs
from guiagent.schema import Element, Role

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "perception"


def _iou(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _match(found: list[Element], box: tuple[int, ...], min_iou: float = 0.6) -> Element | None:
    best = max(found, key=lambda e: _iou(e.bbox, box), default=None)
    return best if best is not None and _iou(best.bbox, box) >= min_iou else None


@pytest.mark.parametrize("style", ["classic", "flat"])
def test_finds_every_widget_of_a_rendered_form(style: str) -> None:
    form = render_form(style, name_value="Ada", subscribe=True, small=False)
    found = detect_widgets(form.image)
    expect = {"field": Role.TEXT_FIELD, "check": Role.CHECKBOX, "radio": Role.RADIO, "button": Role.BUTTON}
    for key, box in form.truth.items():
        kind = key.split(":")[0]
        if kind not in expect:
            continue
        el = _match(found, box)
        assert el is not None, f"{key} at {box} not found; got {[(e.role.value, e.bbox) for e in found]}"
        assert el.role == expect[kind], (key, el.role)
        assert el.source == "detector" and el.clickable
        if kind in ("check", "radio"):
            assert el.checked is form.checked[key], (key, el.checked)
        else:
            assert el.checked is None
        assert el.editable is (kind == "field")
    # nothing else: no widget invented on labels, the title, the link or the status line
    widgets = [b for k, b in form.truth.items() if k.split(":")[0] in expect]
    extra = [e for e in found if not any(_iou(e.bbox, b) >= 0.6 for b in widgets)]
    assert not extra, extra


def test_states_flip_with_the_pixels() -> None:
    on = detect_widgets(render_form("flat", subscribe=True, small=True).image)
    off = detect_widgets(render_form("flat", subscribe=False, small=False).image)

    def states(found: list[Element]) -> list[bool | None]:
        return [e.checked for e in sorted(found, key=lambda e: (e.bbox[1], e.bbox[0]))
                if e.role in (Role.CHECKBOX, Role.RADIO)]

    assert states(on) == [True, False, True, False]
    assert states(off) == [False, False, False, True]


@pytest.mark.parametrize("task,tag,role", [
    ("click-option", "input_radio", Role.RADIO),
    ("click-checkboxes", "input_checkbox", Role.CHECKBOX),
    ("login-user", "input_text", Role.TEXT_FIELD),
    ("login-user", "input_password", Role.TEXT_FIELD),
    ("enter-text", "input_text", Role.TEXT_FIELD),
    ("login-user", "button", Role.BUTTON),
])
def test_real_miniwob_widgets_match_the_dom(task: str, tag: str, role: Role) -> None:
    from PIL import Image

    found = detect_widgets(Image.open(FIX / f"miniwob_{task}.png"))
    dom = [d for d in json.loads((FIX / f"miniwob_{task}.json").read_text())["dom"] if d["tag"] == tag]
    assert dom
    for d in dom:
        box = tuple(d["box"])
        el = _match(found, box, 0.45 if role in (Role.RADIO, Role.CHECKBOX) else 0.7)
        assert el is not None and el.role == role, (d, [(e.role.value, e.bbox) for e in found])
        if role in (Role.RADIO, Role.CHECKBOX):
            assert el.checked is False


def _chromium_shot(html: Path, out: Path, size: str = "480,320") -> Path:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("chromium is not installed")
    subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--force-device-scale-factor=1", f"--window-size={size}", f"--screenshot={out}",
                    html.as_uri()], capture_output=True, timeout=60, check=False)
    if not out.exists():
        pytest.skip("chromium could not take a screenshot here")
    return out


@pytest.fixture(scope="module")
def chromium_form(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _chromium_shot(FIX / "form.html", tmp_path_factory.mktemp("chromium") / "form.png")


def test_real_chromium_form_controls(chromium_form: Path) -> None:
    from PIL import Image

    found = detect_widgets(Image.open(chromium_form))
    by_role: dict[Role, list[Element]] = {}
    for e in found:
        by_role.setdefault(e.role, []).append(e)
    assert len(by_role.get(Role.TEXT_FIELD, [])) == 2
    assert [e.checked for e in by_role.get(Role.CHECKBOX, [])] == [True, False]
    assert [e.checked for e in by_role.get(Role.RADIO, [])] == [True, False]
    assert len(by_role.get(Role.BUTTON, [])) == 2
    assert set(by_role) == {Role.TEXT_FIELD, Role.CHECKBOX, Role.RADIO, Role.BUTTON}


def test_plain_text_has_no_fields_or_buttons() -> None:
    image, _ = render_lines(["OPEN DOOR 0800 BOX", "Quod erat demonstrandum.", "[ ] (o) {x} <D> 00 OO"],
                            size=(600, 200), font_px=22)
    found = detect_widgets(image)
    assert not [e for e in found if e.role in (Role.TEXT_FIELD, Role.BUTTON)], found


def test_run_labelling_matches_a_flood_fill() -> None:
    rng = np.random.default_rng(7)
    for _ in range(5):
        mask = rng.random((40, 60)) < 0.35
        runs = label_runs(mask)
        pixel_label = -np.ones(mask.shape, dtype=np.int64)
        for r, s, e, lab in zip(runs.row, runs.start, runs.end, runs.label, strict=True):
            pixel_label[r, s:e] = lab
        assert ((pixel_label >= 0) == mask).all()
        # reference: 8-connected flood fill
        ref = -np.ones(mask.shape, dtype=np.int64)
        n = 0
        for y, x in zip(*np.nonzero(mask), strict=True):
            if ref[y, x] >= 0:
                continue
            stack = [(y, x)]
            ref[y, x] = n
            while stack:
                cy, cx = stack.pop()
                for ny in range(max(0, cy - 1), min(40, cy + 2)):
                    for nx in range(max(0, cx - 1), min(60, cx + 2)):
                        if mask[ny, nx] and ref[ny, nx] < 0:
                            ref[ny, nx] = n
                            stack.append((ny, nx))
            n += 1
        # same partition: a bijection between labels
        pairs = set(zip(ref[mask].tolist(), pixel_label[mask].tolist(), strict=True))
        assert len(pairs) == n == len({p[1] for p in pairs})


_FIELDS = ('<html><body style="font:16px sans-serif;margin:10px">'
           '<div><input type="text" value="oz5j" style="width:200px"></div><br>'
           '<div><textarea style="width:200px">b</textarea></div><br>'
           '<div><textarea style="width:200px"></textarea></div><br>'
           '<div><input type="text" style="width:200px"></div><br>'
           '<div><input type="radio"> <span>Yes</span> <input type="radio"> <span>e</span></div>'
           '</body></html>')


@pytest.mark.parametrize("scale", [1, 2])
def test_text_areas_are_told_from_text_inputs(tmp_path: Path, scale: int) -> None:
    """A text area (its resize grip in the corner) is a multi-line field, an input a
    single-line one: a "j" at the end of a value is no caret, and no grip is taken for text."""
    from PIL import Image

    from grounding.detect import MULTILINE

    page = tmp_path / "fields.html"
    page.write_text(_FIELDS)
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("chromium is not installed")
    out = tmp_path / "fields.png"
    subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--force-device-scale-factor={scale}", "--window-size=300,330", f"--screenshot={out}",
                    page.as_uri()], capture_output=True, timeout=60, check=False)
    if not out.exists():
        pytest.skip("chromium could not take a screenshot here")
    found = sorted(detect_widgets(Image.open(out)), key=lambda e: e.bbox[1])
    fields = [e for e in found if e.role == Role.TEXT_FIELD]
    assert [bool(e.extras.get(MULTILINE)) for e in fields] == [False, True, True, False], \
        [(e.role.value, e.bbox, e.extras) for e in found]
    assert len([e for e in found if e.role == Role.RADIO]) == 2, [(e.role.value, e.bbox) for e in found]
    assert not [e for e in found if e.role == Role.BUTTON], found
