"""The rule planner on desktop apps it was never tuned for: lists of click targets (symbols,
"then"), typographic signs, unnamed form fields labelled by the text beside them, "the
document", the save postcondition (title marker, error dialog) and clauses it cannot read."""

from __future__ import annotations

import pytest
from PIL import Image

from grounding.query import sign_twin
from grounding.text_matcher import TextGrounder
from guiagent.planning.instructions import ClickGoal, Ref, TypeGoal, parse_instructions
from guiagent.planning.rule import RulePlanner
from guiagent.planning.skills.slots import fill_slots
from guiagent.planning.skills.verify import Check, Verdict, evaluate
from guiagent.schema import Done, Element, Key, Observation, Outcome, Role, Step, TypeText, Wait
from guiagent.schema.errors import InstructionNotUnderstood

SIZE = (400, 300)


def el(eid: str, role: Role, name: str = "", row: int = 0, col: int = 0, **kw: object) -> Element:
    return Element(id=eid, role=role, name=name, bbox=(col * 100 + 5, row * 30 + 5, col * 100 + 90, row * 30 + 25),
                   **kw)  # type: ignore[arg-type]


def obs(*elements: Element, title: str | None = None) -> Observation:
    return Observation(screenshot=Image.new("RGB", SIZE, "white"), elements=tuple(elements), screen_size=SIZE,
                       foreground=title)


def step(i: int, target: Element | None = None, changed: bool | None = True) -> Step:
    return Step(index=i, target_element=target, outcome=Outcome(screen_changed=changed))


def clicks(text: str) -> list[str]:
    goals = parse_instructions(text)
    assert all(isinstance(g, ClickGoal) for g in goals)
    return [g.target.text for g in goals]  # type: ignore[union-attr]


def test_a_list_of_keys_after_one_verb_is_one_click_each() -> None:
    assert clicks("Compute 12 + 7 by clicking 1, 2, +, 7 and =") == ["1", "2", "+", "7", "="]
    assert clicks("Click 6, then ×, then 8, then =") == ["6", "×", "8", "="]
    assert clicks("click Terms and Conditions") == ["Terms and Conditions"]  # a name stays one


def test_a_clause_with_no_verb_after_a_typed_field_is_refused_by_name() -> None:
    with pytest.raises(InstructionNotUnderstood) as info:
        parse_instructions("Type 'Ada' into Name, frobnicate the widget, then click Submit")
    assert "frobnicate the widget" in str(info.value)
    assert parse_instructions("Type 'Ada' into Surname, then click OK")[0] == TypeGoal("Ada", Ref("Surname", "field"))


def test_a_typographic_sign_finds_the_key_labelled_with_the_keyboard_one() -> None:
    assert sign_twin("×") == "*" and sign_twin("÷") == "/" and sign_twin("−") == "-" and sign_twin("=") is None
    keys = obs(el("mul", Role.BUTTON, "*", 0, 0), el("eq", Role.BUTTON, "=", 0, 1), el("min", Role.BUTTON, "-", 0, 2))
    g = TextGrounder(semantic=False)
    assert g.ground("×", keys).element.id == "mul"  # type: ignore[union-attr]
    assert g.ground("−", keys).element.id == "min"  # type: ignore[union-attr]
    both = obs(el("mul", Role.BUTTON, "*", 0, 0), el("x", Role.BUTTON, "×", 0, 1))
    assert g.ground("×", both).element.id == "x"  # type: ignore[union-attr]  # written so wins


def _address_form(*labels: str) -> list[Element]:
    """A GTK form: unnamed entries, each with its label as a separate text to its left."""
    out = []
    for i, label in enumerate(labels):
        out += [el(f"l{i}", Role.TEXT, label, i, 0), el(f"f{i}", Role.TEXT_FIELD, "", i, 1, editable=True)]
    return [*out, el("ok", Role.BUTTON, "OK", len(labels) + 1, 1)]


def test_slot_filling_into_unnamed_fields_labelled_beside_them() -> None:
    assert fill_slots("the postal code 75001, the country France and the city Paris",
                      ["City", "Postal code", "Country"]) == {0: "Paris", 1: "75001", 2: "France"}
    task = "Fill in the address with the postal code 75001, the country France and the city Paris, then press OK"
    form = _address_form("City", "Postal code", "Country")
    p = RulePlanner()
    d = p.next(task, obs(*form), [])
    assert isinstance(d.action, TypeText) and d.action.text == "Paris" and d.action.target is not None and d.action.target.element == "f0"
    filled = obs(*(e.model_copy(update={"value": "Paris"}) if e.id == "f0" else e for e in form))
    d = p.next(task, filled, [step(0, form[1])])
    assert isinstance(d.action, TypeText) and d.action.text == "75001" and d.action.target is not None and d.action.target.element == "f1"


def test_a_value_for_a_field_the_form_lacks_is_an_honest_failure() -> None:
    task = "Fill in the address with the postal code 75001, the country France and the city Paris, then press OK"
    d = RulePlanner().next(task, obs(*_address_form("City", "Country")), [])
    assert isinstance(d.action, Done) and d.action.status == "impossible" and "'75001'" in (d.action.answer or "")


def test_the_document_is_the_largest_editable_area() -> None:
    small = el("find", Role.TEXT_FIELD, "", 0, 0, editable=True)
    big = Element(id="doc", role=Role.TEXT_FIELD, name="", bbox=(5, 40, 395, 290), editable=True)
    d = RulePlanner().next("Type 'hello' into the document, then press ctrl+s", obs(small, big), [])
    assert isinstance(d.action, TypeText) and d.action.target is not None and d.action.target.element == "doc"


def _saving(before_title: str, after: Observation) -> Done | Wait:
    task = "Type 'hi' into the document, then press ctrl+s"
    doc = Element(id="doc", role=Role.TEXT_FIELD, name="", bbox=(5, 40, 395, 290), editable=True)
    win = el("w", Role.WINDOW, before_title)
    p = RulePlanner()
    p.next(task, obs(win, doc, title=before_title.lstrip("*")), [])
    typed = obs(win, doc.model_copy(update={"value": "hi"}), title=before_title)
    d = p.next(task, typed, [step(0, doc)])
    assert d.action == Key(keys=("ctrl", "s"))
    d = p.next(task, after, [step(0, doc), step(1)])
    assert isinstance(d.action, Done | Wait)
    return d.action


def test_save_succeeds_only_when_the_title_loses_its_marker() -> None:
    doc = Element(id="doc", role=Role.TEXT_FIELD, name="", value="hi", bbox=(5, 40, 395, 290), editable=True)
    saved = obs(el("w", Role.WINDOW, "note.txt - Editor"), doc, title="note.txt - Editor")
    assert _saving("*note.txt - Editor", saved) == Done(status="success")
    unsaved = obs(el("w", Role.WINDOW, "*note.txt - Editor"), doc, title="*note.txt - Editor")
    assert _saving("*note.txt - Editor", unsaved) == Wait(seconds=1.0)  # the title may lag: one more look


def test_an_error_dialog_after_save_is_never_a_success_nor_waved_away() -> None:
    doc = Element(id="doc", role=Role.TEXT_FIELD, name="", value="hi", bbox=(5, 40, 395, 290), editable=True)
    error = obs(el("w", Role.WINDOW, "*note.txt - Editor"), doc, el("q", Role.WINDOW, "Question", 5, 0),
                el("t", Role.TEXT, "The document is read-only, save it as another file?", 6, 0),
                el("c", Role.BUTTON, "Cancel", 7, 0), title="Question")
    assert _saving("*note.txt - Editor", error) == Wait(seconds=1.0)  # not a click on Cancel
    verdict, what = evaluate(Check("saved", "saved"), obs(title="*a"), error, None, True)
    assert verdict is Verdict.failed and "read-only" in what


def test_after_the_second_look_a_title_still_unsaved_is_a_failure_and_a_cleared_one_a_success() -> None:
    task = "Type 'hi' into the document, then press ctrl+s"
    doc = Element(id="doc", role=Role.TEXT_FIELD, name="", value="hi", bbox=(5, 40, 395, 290), editable=True)
    for late_title, status in (("*note.txt", "impossible"), ("note.txt", "success")):
        p = RulePlanner()
        p.next(task, obs(doc.model_copy(update={"value": None}), title="note.txt"), [])
        p.next(task, obs(doc, title="*note.txt"), [step(0, doc)])
        assert p.next(task, obs(doc, title="*note.txt"), [step(0, doc), step(1)]).action == Wait(seconds=1.0)
        d = p.next(task, obs(doc, title=late_title), [step(0, doc), step(1), step(2, changed=False)])
        assert isinstance(d.action, Done) and d.action.status == status
        if status == "impossible":
            assert "unsaved changes" in (d.action.answer or "")


def test_typing_then_enter_into_a_box_that_clears_is_no_failure_when_the_screen_looks_the_same() -> None:
    task = "Type 'zz7' into the note field and press enter"
    box = el("n", Role.TEXT_FIELD, "note", 0, 0, editable=True)
    p = RulePlanner()
    d = p.next(task, obs(box), [])
    assert isinstance(d.action, TypeText) and d.action.submit
    # the note was added below the fold and the box cleared: the same pixels as before
    assert p.next(task, obs(box), [step(0, box, changed=False)]).action == Done(status="success")


def test_the_save_check_reads_the_window_names_when_the_foreground_title_is_unknown() -> None:
    doc = Element(id="doc", role=Role.TEXT_FIELD, name="", value="hi", bbox=(5, 40, 395, 290), editable=True)
    before = obs(el("w", Role.WINDOW, "*note.txt - Editor"), doc)
    saved = obs(el("w", Role.WINDOW, "note.txt - Editor"), doc)
    assert evaluate(Check("saved", "saved"), before, saved, None, False)[0] is Verdict.ok
    assert evaluate(Check("saved", "saved"), before, before, None, False)[0] is Verdict.failed
    assert evaluate(Check("saved", "saved"), saved, saved, None, False)[0] is Verdict.unseen  # no marker seen
