"""The screen parser on real OCR: merging a11y + OCR + detectors, de-duplication, naming,
stable ids across frames, options and timings."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from fixtures.perception.forms import render_form
from PIL import Image

from grounding import ocr
from grounding.parse import IdTracker, ScreenParser, parse_screen
from guiagent.schema import Element, Role

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "perception"
pytestmark = pytest.mark.skipif(not ocr.available(), reason="rapidocr/onnxruntime not installed")


def _find(elements: list[Element], role: Role, name: str) -> Element:
    hits = [e for e in elements if e.role == role and e.name == name]
    assert len(hits) == 1, (role, name, [(e.role.value, e.name, e.bbox) for e in elements])
    return hits[0]


def _centre_in(el: Element, box: tuple[int, ...]) -> bool:
    cx, cy = el.center
    return box[0] <= cx <= box[2] and box[1] <= cy <= box[3]


@pytest.fixture(scope="module")
def chromium_form(tmp_path_factory: pytest.TempPathFactory) -> Image.Image:
    exe = shutil.which("chromium")
    if exe is None:
        pytest.skip("chromium is not installed")
    out = tmp_path_factory.mktemp("chromium") / "form.png"
    subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--force-device-scale-factor=1", "--window-size=480,320", f"--screenshot={out}",
                    (FIX / "form.html").as_uri()], capture_output=True, timeout=60, check=False)
    if not out.exists():
        pytest.skip("chromium could not take a screenshot here")
    return Image.open(out).convert("RGB")


def test_parses_a_real_chromium_form(chromium_form: Image.Image) -> None:
    parser = ScreenParser()
    els = parser.parse(chromium_form)
    email = _find(els, Role.TEXT_FIELD, "Email")  # named after its label, value read inside
    assert email.value == "ada@example.com" and email.editable
    assert _find(els, Role.TEXT_FIELD, "Name").value in (None, "")
    assert _find(els, Role.CHECKBOX, "Subscribe").checked is True
    assert _find(els, Role.CHECKBOX, "Remember me").checked is False
    assert _find(els, Role.RADIO, "Small").checked is True
    assert _find(els, Role.RADIO, "Large").checked is False
    for name in ("Submit", "Cancel"):
        _find(els, Role.BUTTON, name)
    assert _find(els, Role.LINK, "About us").clickable  # blue text
    # the OCR line "Email ada@example.com" was split at the field's edge; the value is not
    # repeated as a separate text, and button captions are not repeated either
    texts = [e.name for e in els if e.role == Role.TEXT]
    assert "Email" in texts and not any("ada@" in t for t in texts)
    assert "Submit" not in texts and "Cancel" not in texts
    assert len({e.id for e in els}) == len(els)
    assert all(e.id.isdigit() for e in els)
    assert set(parser.last_timings_ms) == {"ocr", "detect", "merge", "total"}
    assert parser.last_timings_ms["total"] >= parser.last_timings_ms["ocr"] >= 0


def test_a11y_nodes_win_and_ocr_fills_empty_names() -> None:
    form = render_form("classic")
    t = form.truth
    a11y = [
        Element(id="btn-1", role=Role.BUTTON, name="Submit", bbox=t["button:Submit"], clickable=True),
        Element(id="btn-2", role=Role.BUTTON, name="", bbox=t["button:Cancel"], clickable=True),
        Element(id="lbl", role=Role.TEXT, name="Create your account", bbox=t["title"]),
        Element(id="pw", role=Role.TEXT_FIELD, name="Email", bbox=t["field:Email"], password=True, editable=True),
    ]
    els = ScreenParser().parse(form.image, a11y)
    submit = [e for e in els if _centre_in(e, t["button:Submit"]) and e.role != Role.TEXT]
    assert len(submit) == 1 and submit[0].source == "a11y" and submit[0].extras["a11y_id"] == "btn-1"
    cancel = [e for e in els if _centre_in(e, t["button:Cancel"])]
    assert len(cancel) == 1 and cancel[0].name == "Cancel" and cancel[0].source == "a11y"
    assert [e.source for e in els if e.name == "Create your account"] == ["a11y"]
    assert not [e for e in els if e.name == "Submit" and e.source != "a11y"]
    # text inside a password field is neither a value nor a separate text element
    pw = [e for e in els if _centre_in(e, t["field:Email"])]
    assert len(pw) == 1 and pw[0].password and pw[0].value is None and pw[0].source == "a11y"
    # what a11y did not report still comes from pixels
    assert any(e.role == Role.TEXT_FIELD and e.name == "Name" and e.source == "detector" for e in els)


def test_ids_stay_when_elements_do_not_move() -> None:
    parser = ScreenParser()
    first = parser.parse(render_form("flat").image)
    # the Submit/Cancel buttons move right; the status text changes; the rest stays
    second = parser.parse(render_form("flat", submit_dx=60, status="Saved").image)
    assert parser.last_ocr_mode == "incremental"

    def ident(els: list[Element]) -> dict[tuple[str, str], str]:
        return {(e.role.value, e.name): e.id for e in els}

    a, b = ident(first), ident(second)
    for key in [("text_field", "Name"), ("text_field", "Email"), ("checkbox", "Subscribe"),
                ("radio", "Large"), ("text", "Create your account"), ("text", "Comments")]:
        assert a[key] == b[key], key
    assert a[("button", "Submit")] != b[("button", "Submit")]
    assert b[("text", "Status: Saved")] not in a.values()
    assert len(set(b.values())) == len(b)
    third = parser.parse(render_form("flat", submit_dx=60, status="Saved").image)
    assert parser.last_ocr_mode == "cached" and ident(third) == b


def test_options_ocr_off_detectors_off_and_reset() -> None:
    form = render_form("classic")
    no_ocr = ScreenParser(ocr=False)
    els = no_ocr.parse(form.image)
    assert no_ocr.last_ocr_mode == "off" and els and all(e.source == "detector" for e in els)
    no_det = ScreenParser(detectors=False)
    els = no_det.parse(form.image)
    assert els and all(e.source == "ocr" for e in els)
    assert no_det.last_timings_ms["detect"] < no_det.last_timings_ms["ocr"]
    no_det.reset()
    assert [e.id for e in no_det.parse(form.image)][:3] == ["1", "2", "3"]


def test_parse_screen_convenience_keeps_ids() -> None:
    image = render_form("classic", name_value="Grace").image
    one = parse_screen(image)
    two = parse_screen(image.copy())
    assert [(e.id, e.name) for e in one] == [(e.id, e.name) for e in two]
    assert any(e.role == Role.TEXT_FIELD and e.value == "Grace" for e in one)


@pytest.mark.parametrize("task", ["click-option", "click-checkboxes"])
def test_miniwob_options_are_named_after_their_labels(task: str) -> None:
    meta = json.loads((FIX / f"miniwob_{task}.json").read_text())
    els = ScreenParser().parse(Image.open(FIX / f"miniwob_{task}.png"))
    role = Role.RADIO if task == "click-option" else Role.CHECKBOX
    labels = [d["text"] for d in meta["dom"] if d["tag"] == "t"]
    boxes = sorted((e for e in els if e.role == role), key=lambda e: e.bbox[1])
    assert [e.name for e in boxes] == labels
    inputs = [d["box"] for d in meta["dom"] if d["tag"].startswith("input_")]
    assert all(_centre_in(e, box) for e, box in zip(boxes, inputs, strict=True))
    # OCR's "O" for a radio ring is gone, the labels remain as text
    assert not [e for e in els if e.role == Role.TEXT and e.name in ("O", "o", "0")]
    assert {e.name for e in els if e.role == Role.TEXT} >= set(labels)


def test_tracker_reuses_ids_only_for_the_same_thing() -> None:
    tr = IdTracker()
    a = [Element(id="", role=Role.BUTTON, name="OK", bbox=(10, 10, 50, 30)),
         Element(id="", role=Role.TEXT, name="Hello", bbox=(10, 40, 80, 60))]
    first = tr.assign(a)
    assert [e.id for e in first] == ["1", "2"]
    b = [Element(id="", role=Role.BUTTON, name="OK", bbox=(12, 11, 52, 31)),  # jitter: same
         Element(id="", role=Role.TEXT, name="Goodbye", bbox=(10, 40, 80, 60))]  # new text: new id
    second = tr.assign(b)
    assert [e.id for e in second] == ["1", "3"]


def test_a_widget_keeps_its_id_when_the_a11y_tree_starts_listing_it() -> None:
    # a window paints before its app registers on the a11y bus: the first frame finds the button
    # in pixels, the next one through a11y; an id taken from the first frame must still name it
    tr = IdTracker()
    seen = tr.assign([Element(id="", role=Role.BUTTON, name="Place order", bbox=(210, 260, 334, 306),
                              source="detector"),
                      Element(id="", role=Role.BUTTON, name="Help", bbox=(338, 260, 420, 306), source="detector")])
    later = tr.assign([Element(id="ax1", role=Role.BUTTON, name="Help", bbox=(339, 261, 419, 305), source="a11y"),
                       Element(id="ax0", role=Role.BUTTON, name="Place order", bbox=(211, 261, 333, 305),
                               source="a11y")])
    by_name = {e.name: e.id for e in later}
    assert by_name == {e.name: e.id for e in seen}
    # another role at that place is another thing; a same-source match is preferred over a cross-source one
    again = tr.assign([Element(id="", role=Role.LINK, name="Place order", bbox=(211, 261, 333, 305), source="ocr"),
                       Element(id="", role=Role.BUTTON, name="Help", bbox=(338, 260, 420, 306), source="detector"),
                       Element(id="ax1", role=Role.BUTTON, name="Help", bbox=(339, 261, 419, 305), source="a11y")])
    ids = {(e.role, e.source): e.id for e in again}
    assert ids[(Role.LINK, "ocr")] not in by_name.values()
    assert ids[(Role.BUTTON, "a11y")] == by_name["Help"] and ids[(Role.BUTTON, "detector")] != by_name["Help"]
