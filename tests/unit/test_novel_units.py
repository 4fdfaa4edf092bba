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
from guiagent.explore.positions import PER_TARGET, neighbours, positional_instructions, rank_words
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
    positional = [t for k, t in extra_instructions(by_id["f"], els) if k == "positional"]
    assert 1 <= len(positional) <= PER_TARGET and any("Minutes" in t for t in positional), positional
    assert ("icon", "the unchecked Vegetarian checkbox") in extra_instructions(by_id["c"], els)
    assert ("icon", "the Navigate up symbol") in extra_instructions(by_id["i"], els)
    described = by_id["b"].model_copy(update={"extras": {"description": "Starts the countdown"}})
    assert ("functional", "the button that starts the countdown") in extra_instructions(described, els)


def test_description_names_role_state_neighbours_and_position() -> None:
    els = form()
    assert describe(els[1], els, SIZE) == "text field 10 | below Minutes | above START | top center"
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


def test_train_grounder_text_refuses_data_without_screens(tmp_path: Path) -> None:
    import pytest

    from guiagent.cli import main

    (tmp_path / "set.json").write_text("[]")
    for data in (tmp_path / "missing", tmp_path / "set.json"):
        with pytest.raises(SystemExit) as done:
            main(["train", "grounder", "--backend", "text", "--data", str(data), "--out", str(tmp_path / "m")])
        assert done.value.code == 2
    assert not (tmp_path / "m").exists()


def test_positional_forms_come_from_layout_on_every_side() -> None:
    # two labelled fields, a checkbox with its label on the right, two buttons side by side
    els = [el("l1", Role.TEXT, "Email", (20, 100, 300, 140)),
           el("f1", Role.TEXT_FIELD, "Email", (20, 150, 700, 220), editable=True, clickable=True),
           el("l2", Role.TEXT, "Password", (20, 240, 300, 280)),
           el("f2", Role.TEXT_FIELD, "Password", (20, 290, 700, 360), editable=True, clickable=True),
           el("c", Role.CHECKBOX, "", (20, 380, 80, 440), clickable=True, checked=False),
           el("cl", Role.TEXT, "Remember me", (90, 390, 400, 430)),
           el("b1", Role.BUTTON, "Cancel", (20, 470, 340, 540), clickable=True),
           el("b2", Role.BUTTON, "Sign in", (380, 470, 700, 540), clickable=True)]
    by = {e.id: e for e in els}
    near = neighbours(by["f2"], els)
    assert near["below"].id == "l2" and near["above"].id == "cl"  # the unnamed box is no anchor
    assert neighbours(by["c"], els)["left"].id == "cl"  # the box is left of its label
    assert neighbours(by["b2"], els)["right"].id == "b1"
    assert rank_words(by["f2"], els) == ["second", "last", "bottom"]
    assert "right" in rank_words(by["b2"], els) and "first" in rank_words(by["b1"], els)
    said = {t for e in els for t in positional_instructions(e, els, e.name)}
    assert any(" between " in t for t in said) and any(" above " in t or " over " in t for t in said)
    assert any(t.startswith(("the second", "the last", "the first")) for t in said)
    assert all(len(positional_instructions(e, els, e.name)) <= PER_TARGET for e in els)
    # the anchor of a control is named with its role ("the button under the Password text field")
    assert not any("Password" in t for t in positional_instructions(by["f2"], els, "Password"))


def test_desktop_held_out_set_loads_with_enough_enabled_targets() -> None:
    held = load_novel(ROOT / "assets" / "novel" / "galculator.json")
    assert len(held.items) >= 20 and "hand" in json.loads((ROOT / "assets" / "novel" / "galculator.json").read_text())[
        "written_by"]
    assert all(it.target.enabled and it.target.name for it in held.items)
    assert {"literal", "functional", "positional"} <= {it.kind for it in held.items}
