"""Real OCR (RapidOCR, PP-OCR ONNX models from the wheel) on rendered forms and on real
MiniWoB++ screenshots: what it reads, where, and what the incremental reader re-reads."""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from fixtures.perception.forms import font, render_form, render_lines
from PIL import Image, ImageDraw

from grounding import ocr
from grounding.ocr import IncrementalOcr, OcrBox, OcrEngine, dirty_regions, split_line
from guiagent.schema.errors import ConfigError

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "perception"
pytestmark = pytest.mark.skipif(not ocr.available(), reason="rapidocr/onnxruntime not installed")


@pytest.fixture(scope="module")
def engine() -> OcrEngine:
    return OcrEngine()


def _centre_in(box: tuple[int, int, int, int], outer: tuple[int, int, int, int], slack: int = 3) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return outer[0] - slack <= cx <= outer[2] + slack and outer[1] - slack <= cy <= outer[3] + slack


def _alnum(text: str) -> str:
    return "".join(c for c in text.casefold() if c.isalnum())


def test_reads_a_rendered_form_with_positions(engine: OcrEngine) -> None:
    form = render_form("classic", name_value="Ada")
    boxes = engine.read(form.image)
    by_text = {b.text: b for b in boxes}
    for label in ("Name", "Email", "Comments", "Subscribe", "Remember me", "Small", "Large", "Submit",
                  "Cancel", "About us", "Create your account"):
        assert label in by_text, f"{label!r} not read; got {sorted(by_text)}"
    assert _centre_in(by_text["Name"].bbox, form.truth["label:Name"])
    assert _centre_in(by_text["Remember me"].bbox, form.truth["label:Remember me"])
    assert _centre_in(by_text["Submit"].bbox, form.truth["button:Submit"])
    # a line glued across a wide gap is split: "Subscribe" and "Remember me" are two boxes
    assert by_text["Subscribe"].bbox[2] < by_text["Remember me"].bbox[0]
    assert all(0.5 <= b.score <= 1.0 for b in boxes)


@pytest.mark.parametrize("task", ["click-checkboxes", "login-user", "click-option"])
def test_reads_tiny_miniwob_labels(engine: OcrEngine, task: str) -> None:
    """MiniWoB task areas are 160x210 px with 10-13 px text; labels must read exactly."""
    image = Image.open(FIX / f"miniwob_{task}.png")
    meta = json.loads((FIX / f"miniwob_{task}.json").read_text())
    boxes = engine.read(image)
    texts = {_alnum(b.text): b for b in boxes}
    labels = [d for d in meta["dom"] if d["text"] and d["tag"] in ("t", "label", "button")]
    assert labels
    for d in labels:
        key = _alnum(d["text"])
        assert key in texts, f"{d['text']!r} not read; got {[b.text for b in boxes]}"
        assert _centre_in(texts[key].bbox, tuple(d["box"]), slack=4)
    # the instruction (two lines of 10 px text) reads too
    words = {_alnum(w) for b in boxes for w in b.text.split()}
    assert sum(_alnum(w) in words for w in meta["utterance"].split()) >= 0.8 * len(meta["utterance"].split())


def test_small_crops_are_upscaled(engine: OcrEngine) -> None:
    image, _ = render_lines(["Tiny 9px label"], size=(120, 30), font_px=9, start=(4, 8))
    pixels = engine.pixels_read
    boxes = engine.read(image)
    assert engine.pixels_read - pixels == 4 * 120 * 30  # read at 2x
    assert any(_alnum(b.text) == "tiny9pxlabel" for b in boxes), [b.text for b in boxes]
    assert all(b.bbox[2] <= 120 and b.bbox[3] <= 30 for b in boxes)  # mapped back to 1x


def test_region_read_offsets_boxes(engine: OcrEngine) -> None:
    form = render_form("flat")
    region = (0, form.truth["button:Submit"][1] - 10, 640, form.truth["button:Submit"][3] + 10)
    boxes = engine.read(form.image, region)
    by_text = {b.text: b for b in boxes}
    assert set(by_text) >= {"Submit", "Cancel", "About us"}
    assert _centre_in(by_text["Cancel"].bbox, form.truth["button:Cancel"])


def test_incremental_rereads_only_the_changed_region(engine: OcrEngine) -> None:
    before = render_form("classic", status="Ready")
    after = render_form("classic", status="Saved 3 items")
    inc = IncrementalOcr(engine)
    first = inc.read(before.image)
    assert inc.last_mode == "full"
    calls, pixels = engine.calls, engine.pixels_read
    second = inc.read(after.image)
    assert inc.last_mode == "incremental"
    assert engine.calls - calls == len(inc.last_regions) == 1
    (region,) = inc.last_regions
    area = (region[2] - region[0]) * (region[3] - region[1])
    assert area < 0.15 * 640 * 400
    assert _centre_in(after.truth["status"], region, slack=0)
    assert engine.pixels_read - pixels < 0.5 * 640 * 400  # even with the 2x upscale
    # same text as reading the new frame from scratch
    full = OcrEngine().read(after.image)
    assert Counter(_alnum(b.text) for b in second) == Counter(_alnum(b.text) for b in full)
    for b in second:
        twin = min(full, key=lambda f: abs(f.bbox[0] - b.bbox[0]) + abs(f.bbox[1] - b.bbox[1]))
        assert _alnum(twin.text) == _alnum(b.text)
        assert all(abs(x - y) <= 6 for x, y in zip(b.bbox, twin.bbox, strict=True)), (b, twin)
    # lines outside the change are the cached ones, untouched
    unchanged = [b for b in first if "Status" not in b.text]
    assert all(b in second for b in unchanged)


def test_incremental_on_real_typing(engine: OcrEngine) -> None:
    """Chromium before and after typing "Myron" into MiniWoB's field."""
    inc = IncrementalOcr(engine)
    inc.read(Image.open(FIX / "miniwob_enter-text.png"))
    calls = engine.calls
    typed = Image.open(FIX / "miniwob_enter-text_typed.png")
    boxes = inc.read(typed)
    assert inc.last_mode == "incremental" and engine.calls - calls == 1
    assert any(_alnum(b.text) == "myron" and b.bbox[1] > 55 for b in boxes), [b.text for b in boxes]
    full = engine.read(typed)
    assert sorted(_alnum(b.text) for b in boxes) == sorted(_alnum(b.text) for b in full)


def test_unchanged_frame_costs_nothing_and_size_change_reads_all(engine: OcrEngine) -> None:
    form = render_form("flat")
    inc = IncrementalOcr(engine)
    first = inc.read(form.image)
    calls = engine.calls
    assert inc.read(form.image.copy()) == first
    assert inc.last_mode == "cached" and engine.calls == calls
    bigger = Image.new("RGB", (700, 420), "white")
    bigger.paste(form.image, (0, 0))
    inc.read(bigger)
    assert inc.last_mode == "full" and engine.calls == calls + 1


def test_dirty_regions_merge_neighbours_and_keep_far_changes_apart() -> None:
    prev = np.full((200, 300), 255, dtype=np.uint8)
    cur = prev.copy()
    cur[20:30, 40:60] = 0  # two changes 10 px apart: one region
    cur[20:30, 70:80] = 0
    cur[150:160, 250:260] = 0  # far away: a second region
    regions = sorted(dirty_regions(prev, cur, cell=32, threshold=24, margin=5))
    assert regions == [(35, 15, 85, 35), (245, 145, 265, 165)]
    assert dirty_regions(prev, prev.copy()) == []
    faint = prev.copy()
    faint[50:60, 50:60] = 240  # below the threshold: noise, not a change
    assert dirty_regions(prev, faint) == []


def test_cached_line_touching_a_change_is_reread_whole(engine: OcrEngine) -> None:
    """Changing one word of a line must re-read the whole line, not a fragment."""
    a, _ = render_lines(["The quick brown fox jumps", "second line stays"], size=(420, 100))
    b, _ = render_lines(["The quick brown cat jumps", "second line stays"], size=(420, 100))
    inc = IncrementalOcr(engine)
    inc.read(a)
    boxes = inc.read(b)
    assert inc.last_mode == "incremental"
    assert [_alnum(x.text) for x in boxes] == ["thequickbrowncatjumps", "secondlinestays"]


def test_split_and_clean_rules() -> None:
    spans = tuple((10 + 8 * i, 17 + 8 * i) for i in range(5)) + tuple((120 + 8 * i, 127 + 8 * i) for i in range(5))
    left, right = split_line(OcrBox("Small Large", (10, 0, 160, 20), 0.9, spans))
    assert (left.text, right.text) == ("Small", "Large")
    assert left.bbox == (10, 0, 49, 20) and right.bbox == (120, 0, 159, 20)
    # characters that do not line up with the text: the line is kept whole
    misaligned = OcrBox("Small Large", (10, 0, 160, 20), 0.9, spans[:9])
    assert split_line(misaligned) == [misaligned]
    # normal word spacing is not a split
    words = OcrBox("ab cd", (0, 0, 40, 20), 0.9, ((0, 8), (8, 16), (20, 28), (28, 36)))
    assert split_line(words) == [words]
    assert words.split_at(18) is not None and words.split_at(2) is None
    cleaned = ocr._clean(OcrBox("□ Kenny", (0, 0, 60, 12), 0.9, ((0, 9), (14, 20), (20, 26), (26, 32), (32, 38), (38, 44))))
    assert cleaned is not None and cleaned.text == "Kenny" and cleaned.bbox[0] == 14
    assert ocr._clean(OcrBox("Myron|", (0, 0, 50, 12), 0.9)).text == "Myron"
    assert ocr._clean(OcrBox("☐", (0, 0, 9, 9), 0.9)) is None


def test_unavailable_ocr_is_reported_and_parsing_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "rapidocr" else real(name, *a))
    assert ocr.available() is False
    with pytest.raises(ConfigError, match="rapidocr"):
        OcrEngine().read(Image.new("RGB", (50, 50), "white"))
    from grounding.parse import ScreenParser
    from guiagent.schema import Element, Role

    form = render_form("classic")
    a11y = [Element(id="w7", role=Role.BUTTON, name="Submit", bbox=form.truth["button:Submit"], clickable=True)]
    parser = ScreenParser(ocr=True)
    elements = parser.parse(form.image, a11y)
    assert parser.last_ocr_mode == "off"
    assert not [e for e in elements if e.source == "ocr"]
    assert any(e.name == "Submit" and e.source == "a11y" for e in elements)
    assert any(e.role == Role.TEXT_FIELD and e.source == "detector" for e in elements)


def test_bad_image_type_is_a_clear_error(engine: OcrEngine) -> None:
    with pytest.raises(ConfigError, match="PIL image or a numpy array"):
        engine.read("not an image")


def test_draws_do_not_leak_between_reads(engine: OcrEngine) -> None:
    image = Image.new("RGB", (300, 80), "white")
    ImageDraw.Draw(image).text((10, 20), "Checkout", fill="black", font=font(18))
    assert [_alnum(b.text) for b in engine.read(image)] == ["checkout"]
    assert engine.read(Image.new("RGB", (300, 80), "white")) == []


@pytest.mark.skipif(not ocr.available(), reason="rapidocr/onnxruntime not installed")
def test_importing_rapidocr_shares_its_model_table_and_leaves_omegaconf_as_it_was() -> None:
    from omegaconf import OmegaConf

    load = OmegaConf.load
    engine_cls = ocr._import_rapidocr()
    assert OmegaConf.load is load  # the memo lived only while rapidocr imported
    from rapidocr.inference_engine.base import InferSession

    assert engine_cls.__name__ == "RapidOCR" and OmegaConf.select(InferSession.model_info, "onnxruntime") is not None
