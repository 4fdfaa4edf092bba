"""The pieces of the NovelScreenSpot-style measurement without a model: the hand-written held-out
set, the train/held-out split by screen signature, instruction kinds, element descriptions and
the HTML report (misses first)."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from grounding.element_text import describe, position_words
from guiagent.eval import grounding_report
from guiagent.eval.novel import KINDS, by_kind, load_novel, screen_signature, training_screens
from guiagent.explore.collector import element_of, load_screen_file
from guiagent.explore.instructions import extra_instructions
from guiagent.schema import Element, Role

ROOT = Path(__file__).resolve().parents[2]
HELD = ROOT / "assets" / "novel" / "pantry.json"
SIZE = (720, 1280)


def el(id: str, role: Role, name: str, bbox: tuple[int, int, int, int], **kw: object) -> Element:
    return Element(id=id, role=role, name=name, bbox=bbox, extras={"package": "org.example"}, **kw)  # type: ignore[arg-type]


def form() -> list[Element]:
    return [el("t", Role.TEXT, "Minutes", (32, 176, 688, 214)),
            el("f", Role.TEXT_FIELD, "", (32, 238, 688, 334), value="10", editable=True, clickable=True),
            el("b", Role.BUTTON, "START", (32, 358, 234, 454), clickable=True),
            el("c", Role.CHECKBOX, "Vegetarian", (0, 706, 720, 818), clickable=True, checked=False),
            el("i", Role.ICON, "Navigate up", (0, 48, 112, 160), clickable=True)]


def test_held_out_set_is_hand_written_big_enough_and_covers_every_kind() -> None:
    held = load_novel(HELD)
    assert len(held.items) >= 40
    kinds = by_kind([{"kind": it.kind, "hit": False} for it in held.items])
    assert all(kinds[k]["n"] >= 5 for k in KINDS)
    assert "hand" in json.loads(HELD.read_text())["written_by"]
    for it in held.items:  # every target box lies on its screen
        w, h = held.observations[it.screen].screen_size
        assert it.bbox[0] >= 0 and it.bbox[0] + it.bbox[2] <= w and it.bbox[1] + it.bbox[3] <= h


def test_split_leaves_out_held_out_screens_and_their_look_alikes(tmp_path: Path) -> None:
    held = load_novel(HELD)
    screens = tmp_path / "screens"
    screens.mkdir()
    timer_doc, timer = load_screen_file(HELD.with_suffix("") / "timer.json")
    # the same screen with another value typed and a new id: still the held-out screen
    look_alike = {**timer_doc, "screen": "s9", "title": "Timer!",
                  "elements": [{**e, "value": "25"} if e["role"] == "text_field" else e for e in timer_doc["elements"]]}
    other = {**timer_doc, "screen": "s1", "title": "Recipes",
             "elements": [e for e in timer_doc["elements"] if e["package"] == "com.android.systemui"]
             + [{"id": "x", "role": "list_item", "name": "Pancakes", "bbox": [0, 200, 720, 300]}]}
    for doc in (look_alike, other):
        (screens / f"{doc['screen']}.json").write_text(json.dumps(doc))
    kept, excluded = training_screens(tmp_path, held)
    assert kept == {"s1"} and excluded == {"s9"}
    assert screen_signature(timer) == held.signatures["timer"]


def test_extra_instruction_kinds_come_from_neighbours_state_and_metadata() -> None:
    els = form()
    by_id = {e.id: e for e in els}
    assert extra_instructions(by_id["f"], els) == [("positional", "the text field below Minutes")]
    assert ("icon", "the unchecked Vegetarian checkbox") in extra_instructions(by_id["c"], els)
    assert ("icon", "the Navigate up symbol") in extra_instructions(by_id["i"], els)
    described = by_id["b"].model_copy(update={"extras": {"description": "Starts the countdown"}})
    assert ("functional", "the button that starts the countdown") in extra_instructions(described, els)


def test_description_names_role_state_neighbours_and_position() -> None:
    els = form()
    assert describe(els[1], els, SIZE) == "text field 10 | below Minutes | top center"
    assert describe(els[3], els, SIZE).startswith("checkbox Vegetarian | unchecked | below START")
    assert position_words(els[4], SIZE) == "top left"
    back = element_of({"id": "u", "role": "icon", "name": "Back", "bbox": [0, 1184, 144, 1280], "clickable": True})
    assert describe(back, [back], SIZE) == "icon Back | bottom left"


def test_report_draws_every_target_misses_first(tmp_path: Path) -> None:
    rows = [{"instruction": "Start", "kind": "literal", "bbox": [32, 358, 202, 96], "point": [100, 400], "hit": True},
            {"instruction": "begin the countdown", "kind": "functional", "bbox": [32, 358, 202, 96],
             "point": [300, 700], "hit": False, "picked": "Vegetarian", "method": "learned"}]
    img = Image.new("RGB", SIZE, "white")
    path = grounding_report.write(tmp_path / "r.html", "t", {"g": by_kind(rows)}, {"g": rows}, lambda r: img)
    page = path.read_text()
    assert page.count("data:image/png;base64,") == 2
    assert page.index("begin the countdown") < page.index("<code>Start</code>")
    assert "1 misses of 2" in page and "50% (1/2)" in page
