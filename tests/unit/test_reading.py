"""Reading text on the screen and using it: the grammar of reads ("the 5th word in the
paragraph", "the last word of the text area"), text regions from OCR lines and drawn frames,
scrolling a text area to its end, copy / paste, and autocomplete that never claims a pick it
cannot read in the field."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw

from guiagent.planning.instructions import (
    AutocompleteGoal,
    ClickGoal,
    CopyGoal,
    ReadGoal,
    Ref,
    parse_instructions,
)
from guiagent.planning.instructions.reading import ordinal_of
from guiagent.planning.rule import RulePlanner
from guiagent.planning.skills.read import find_region, frames, merge_lines, pick, regions, units
from guiagent.planning.skills.text import overlaps_text
from guiagent.schema import (
    Click,
    Done,
    Element,
    Key,
    Observation,
    Outcome,
    Role,
    Scroll,
    Step,
    Target,
    TypeText,
    Wait,
)
from guiagent.schema.errors import InstructionNotUnderstood

SIZE = (400, 400)
FIELD = Ref("", "field")
TEXTAREA, INPUT = Ref("", "field", multiline=True), Ref("", "field", multiline=False)  # "text area", "input field"
PARAGRAPH, AREA = Ref("", "paragraph"), Ref("", "text area")


def text(eid: str, label: str, left: int, top: int, width: int = 0) -> Element:
    return Element(id=eid, role=Role.TEXT, name=label, bbox=(left, top, left + (width or 12 * len(label)), top + 22),
                   source="ocr")


def screen(*elements: Element, frame: tuple[int, int, int, int] | None = None) -> Observation:
    img = Image.new("RGB", SIZE, "white")
    if frame is not None:  # a text area's border
        ImageDraw.Draw(img).rectangle(frame, outline=(118, 118, 118), width=2)
    return Observation(screenshot=img, elements=tuple(elements), screen_size=SIZE)


def step(i: int, target: Element | None = None) -> Step:
    return Step(index=i, target_element=target, outcome=Outcome(screen_changed=True))


# ------------------------------------------------------------------ grammar

@pytest.mark.parametrize(("instruction", "goals"), [
    ('Find the 5th word in the paragraph, type that into the textbox and press "Submit".',
     [ReadGoal(PARAGRAPH, "word", 5, FIELD), ClickGoal(Ref("Submit", quoted=True))]),
    ("Find the last word in the text area, enter it into the text field and hit Submit.",
     [ReadGoal(AREA, "word", -1, FIELD), ClickGoal(Ref("Submit"))]),
    ("Type the last word of the text area into the box", [ReadGoal(AREA, "word", -1, FIELD)]),
    ("Read the second to last line of the passage and enter it in the input field, then press enter",
     [ReadGoal(PARAGRAPH, "line", -2, INPUT, submit=True)]),
    ("Look at the paragraph's third word, then write that word into the Name field",
     [ReadGoal(PARAGRAPH, "word", 3, Ref("Name", "field"))]),
    ("type word number 12 in the text into the answer field", [ReadGoal(PARAGRAPH, "word", 12, Ref("answer", "field"))]),
    ("Note the penultimate number in the 2nd paragraph. Type it into the field.",
     [ReadGoal(Ref("", "paragraph", 2), "number", -2, FIELD)]),
    ("find the fourth word from the end in the passage above", [ReadGoal(PARAGRAPH, "word", -4)]),
    ("Copy the 3rd word of the paragraph into the search box", [ReadGoal(PARAGRAPH, "word", 3, Ref("search", "field"))]),
    ("Find the first word in the paragraph and paste it into the textbox", [ReadGoal(PARAGRAPH, "word", 1, FIELD)]),
    ("Enter the final word into the box", [ReadGoal(Ref("", "text"), "word", -1, FIELD)]),
    ("Type the 3rd word of the paragraph", [ReadGoal(PARAGRAPH, "word", 3, FIELD)]),
    ("Copy the text from the text area to the input field and click Submit",
     [CopyGoal(TEXTAREA), CopyGoal(INPUT, paste=True), ClickGoal(Ref("Submit"))]),
    ("Paste the contents of the 2nd text area into the answer box",
     [CopyGoal(Ref("", "field", 2, multiline=True)), CopyGoal(Ref("answer", "field"), paste=True)]),
])
def test_reads_parse_in_many_phrasings(instruction: str, goals: list[object]) -> None:
    assert parse_instructions(instruction) == goals


@pytest.mark.parametrize(("phrase", "n"), [("5th", 5), ("fifth", 5), ("last", -1), ("second to last", -2),
                                           ("2nd-to-last", -2), ("penultimate", -2), ("3rd from the end", -3),
                                           ("twelfth", 12), ("0th", None), ("many", None)])
def test_ordinals(phrase: str, n: int | None) -> None:
    assert ordinal_of(phrase) == n


def test_a_read_that_says_no_position_is_refused() -> None:
    with pytest.raises(InstructionNotUnderstood, match="find what"):
        parse_instructions("Find the word in the paragraph")
    with pytest.raises(InstructionNotUnderstood, match="which one"):
        parse_instructions("Find the 0th word in the paragraph")


def test_an_entered_autocomplete_submits_unless_the_instruction_says_how() -> None:
    assert parse_instructions('Enter an item that starts with "An"') == [AutocompleteGoal("An", submit=True)]
    assert parse_instructions('Type an item that starts with "An"') == [AutocompleteGoal("An")]
    assert parse_instructions('Enter an item that starts with "Som" and ends with "ia", then click Submit') == [
        AutocompleteGoal("Som", "ia"), ClickGoal(Ref("Submit"))]


# ------------------------------------------------------------------ words, regions

def test_words_numbers_lines_and_positions() -> None:
    lines = ("Cursus. Egestas, 12 apples", "and 3.5 pears - (fin).")
    assert units(lines, "word") == ["Cursus", "Egestas", "12", "apples", "and", "3.5", "pears", "fin"]
    assert units(lines, "number") == ["12", "3.5"]
    assert pick(units(lines, "line"), -1) == "and 3.5 pears - (fin)."
    assert pick(["a", "b"], 3) is None and pick(["a", "b"], -2) == "a"
    assert merge_lines(["one", "two", "three"], ("two", "three", "four")) == ["one", "two", "three", "four"]
    assert merge_lines(["one", "two"], ("five", "six")) is None


def test_a_framed_block_is_the_text_area_and_loose_lines_the_paragraph() -> None:
    para = [text("p1", "Vel felis bibendum", 10, 10), text("p2", "nisi.", 240, 10), text("p3", "Morbi vel", 10, 34)]
    inside = [text("a1", "Lorem ipsum", 30, 156), text("a2", "dolor sit", 30, 180), text("g", "4", 352, 184, 12)]
    obs = screen(*para, *inside, frame=(20, 120, 370, 210))
    assert [max(abs(a - b) for a, b in zip(f, (20, 120, 370, 210), strict=True)) <= 2 for f in frames(obs)] == [True]
    area = find_region(AREA, obs)
    assert area is not None and area.framed and area.lines == ("Lorem ipsum", "dolor sit")  # not its grip "4"
    assert area.cut()  # its text runs down to the bottom edge
    paragraph = find_region(PARAGRAPH, obs)
    assert paragraph is not None and paragraph.lines == ("Vel felis bibendum nisi.", "Morbi vel")
    assert [r.framed for r in regions(obs)] == [False, True]
    # room below the last line read, but the top of a line the frame cuts shows there: more below
    roomy = [text("a1", "Lorem ipsum", 30, 130), text("a2", "dolor sit", 30, 154)]
    plain = screen(*roomy, frame=(20, 120, 370, 210))
    assert not find_region(AREA, plain).cut()  # type: ignore[union-attr]
    cut = screen(*roomy, frame=(20, 120, 370, 210))
    ImageDraw.Draw(cut.screenshot).rectangle((30, 200, 120, 207), fill=(20, 20, 20))
    assert find_region(AREA, cut).cut()  # type: ignore[union-attr]


# ------------------------------------------------------------------ the skills through the planner

def test_the_nth_word_of_the_paragraph_is_typed_into_the_field() -> None:
    field = Element(id="f", role=Role.TEXT_FIELD, editable=True, bbox=(10, 100, 250, 130))
    obs = screen(text("1", "Vel felis bibendum", 10, 10), text("2", "nisi.", 240, 10),
                 text("3", "Bibendum eu", 10, 34), field)
    task = "Find the 4th word in the paragraph, type that into the textbox"
    d = RulePlanner().next(task, obs, [])
    assert isinstance(d.action, TypeText) and d.action.text == "nisi" and d.action.target is not None
    assert d.action.target.element == "f"


def test_the_last_word_scrolls_the_text_area_until_its_text_stops_changing() -> None:
    frame = (20, 20, 370, 110)
    field = Element(id="f", role=Role.TEXT_FIELD, editable=True, bbox=(20, 150, 250, 180))
    top = screen(text("a", "Cursus egestas", 30, 30), text("b", "adipiscing id", 30, 54),
                 text("c", "sit nibh", 30, 80), field, frame=frame)
    end = screen(text("d", "nam aliquam mi", 30, 30), text("e", "faucibus velit", 30, 54),
                 text("g", "fringilla. Cursus", 30, 80), field, frame=frame)
    task = "Find the last word in the text area, enter it into the text field"
    p = RulePlanner()
    d1 = p.next(task, top, [])
    assert isinstance(d1.action, Scroll) and d1.action.anchor is not None and d1.action.anchor.point is not None
    x, y = d1.action.anchor.point.x * SIZE[0], d1.action.anchor.point.y * SIZE[1]
    assert frame[0] < x < frame[2] and frame[1] < y < frame[3]  # the wheel over the text area
    d2 = p.next(task, end, [step(0)])
    assert isinstance(d2.action, Scroll)  # it changed: once more, until it does not
    d3 = p.next(task, end, [step(0), step(1)])
    assert isinstance(d3.action, TypeText) and d3.action.text == "Cursus"


def test_a_word_past_the_end_is_an_honest_failure() -> None:
    obs = screen(text("1", "only three words", 10, 10))
    d = RulePlanner().next("find the 7th word in the paragraph and type it into the box", obs, [])
    assert isinstance(d.action, Done) and d.action.status == "impossible" and "3 word" in (d.action.answer or "")


def test_copy_from_an_undetected_text_area_and_paste_into_the_field() -> None:
    frame = (20, 80, 200, 170)
    field = Element(id="f", role=Role.TEXT_FIELD, editable=True, bbox=(20, 20, 260, 50))
    obs = screen(text("1", "Adipis", 30, 90), text("2", "cing", 30, 114), field, frame=frame)
    task = "Copy the text in the textarea below, paste it into the textbox and press Submit."
    p = RulePlanner()
    acts = [p.next(task, obs, [step(i, field if i == 3 else None) for i in range(n)]).action for n in range(6)]
    first = acts[0]
    assert isinstance(first, Click) and first.target.point is not None
    assert frame[1] < first.target.point.y * SIZE[1] < frame[3]  # into the text area, not the field
    assert acts[1:3] == [Key(keys=("ctrl", "a")), Key(keys=("ctrl", "c"))]
    assert acts[3] == Click(target=Target(element="f", description="the text field"))
    assert acts[4:6] == [Key(keys=("ctrl", "a")), Key(keys=("ctrl", "v"))]
    # the field still looks empty after the paste: into it once more, paste again, then fail
    hist = [step(i, field if i == 3 else None) for i in range(6)]
    again = p.next(task, obs, hist)
    assert isinstance(again.action, Click)
    p.next(task, obs, [*hist, step(6, field)])
    last = p.next(task, obs, [*hist, step(6, field), step(7)])
    assert isinstance(last.action, Done) and last.action.status == "impossible"
    assert overlaps_text("Adipiscing gravida. Sit amet ", "ravida. Sit amet") is True
    assert overlaps_text("Adipiscing", "") is None


def test_autocomplete_picks_the_suggestion_and_submits_only_when_the_field_holds_it() -> None:
    field = Element(id="f", role=Role.TEXT_FIELD, name="Tags:", editable=True, bbox=(20, 44, 276, 87))
    submit = Element(id="s", role=Role.BUTTON, name="Submit", bbox=(19, 96, 224, 161))
    typed = field.model_copy(update={"value": "Som"})
    # the open list, seen by the detector as a field named after the label above it
    listed = screen(typed, Element(id="l", role=Role.TEXT_FIELD, name="Tags:", value="Somalia", editable=True,
                                   bbox=(20, 88, 276, 137)))
    task = 'Enter an item that starts with "Som" and ends with "ia".'
    p = RulePlanner()
    d1 = p.next(task, screen(field, submit), [])
    assert isinstance(d1.action, TypeText) and d1.action.text == "Som"
    d2 = p.next(task, listed, [step(0, field)])
    assert d2.action == Click(target=Target(element="l", description="Somalia"))
    chosen = screen(field.model_copy(update={"value": "Somalia"}), submit)
    d3 = p.next(task, chosen, [step(0, field), step(1)])
    assert d3.action == Click(target=Target(element="s", description="Submit"))
    # the same pick, but the field shows something else: never a success
    q = RulePlanner()
    q.next(task, screen(field, submit), [])
    q.next(task, listed, [step(0, field)])
    wrong = screen(field.model_copy(update={"value": "Som"}), submit)
    d = q.next(task, wrong, [step(0, field), step(1)])
    hist = [step(0, field), step(1)]
    while not isinstance(d.action, Done) and len(hist) < 8:  # a retry of the click, re-reads past a caret
        assert not (isinstance(d.action, Click) and d.action.target.element == "s")  # never submitted
        hist.append(step(len(hist)))
        d = q.next(task, wrong, hist)
    assert isinstance(d.action, Done) and d.action.status == "impossible"


def test_a_suggestion_wrapped_over_two_lines_and_one_out_of_sight() -> None:
    from guiagent.planning.skills.text import suggestions

    field = Element(id="f", role=Role.TEXT_FIELD, editable=True, value="Ma", bbox=(20, 44, 276, 87))
    items = [text("1", "Macao", 27, 93), text("2", "Malta", 27, 138), text("3", "Marshall", 27, 183),
             text("4", "Islands", 27, 215)]
    assert [t for t, _ in suggestions(screen(field, *items), "Ma", "ds", field)] == ["Marshall Islands"]
    # the one that fits is not in sight: Down through the list until the field shows it, Enter
    task = 'Enter an item that starts with "Ma" and ends with "que".'
    submit = Element(id="s", role=Role.BUTTON, name="Submit", bbox=(19, 96, 224, 161))
    p = RulePlanner()
    p.next(task, screen(field.model_copy(update={"value": None}), submit), [])
    shown = [field.model_copy(update={"value": v}) for v in ("Ma", "Macao", "Martinique", "Martinique")]
    hist = [step(0, field)]
    d = p.next(task, screen(shown[0], *items), hist)
    assert d.action == Key(keys=("down",))
    hist.append(step(1))
    assert p.next(task, screen(shown[1], *items), hist).action == Key(keys=("down",))
    hist.append(step(2))
    assert p.next(task, screen(shown[2], *items), hist).action == Key(keys=("enter",))
    hist.append(step(3))
    assert p.next(task, screen(shown[3], submit), hist).action == Click(target=Target(element="s", description="Submit"))


def test_an_a11y_text_area_gives_all_its_lines_without_scrolling() -> None:
    area = Element(id="a", role=Role.TEXT_FIELD, editable=True, value="alpha beta\ngamma delta,\n", bbox=(10, 10, 300, 60))
    name = Element(id="n", role=Role.TEXT_FIELD, name="Name", editable=True, bbox=(10, 100, 300, 130))
    obs = screen(area, name)
    d = RulePlanner().next("type the last line of the text area into the Name field", obs, [])
    assert isinstance(d.action, TypeText) and d.action.text == "gamma delta," and d.action.target is not None
    assert d.action.target.description == "Name field"  # the grounder finds it by its label
    d = RulePlanner().next("type the last word of the text area into the Name field", obs, [])
    assert isinstance(d.action, TypeText) and d.action.text == "delta"


def test_a_caret_misread_is_read_again_and_other_text_is_typed_once_more_then_failed() -> None:
    field = Element(id="f", role=Role.TEXT_FIELD, editable=True, bbox=(10, 100, 250, 130))
    para = text("1", "Nunc est", 10, 10)
    task = "Find the 1st word in the paragraph, type that into the textbox"

    def shows(value: str) -> Observation:
        return screen(para, field.model_copy(update={"value": value}))

    p = RulePlanner()
    assert isinstance(p.next(task, screen(para, field), []).action, TypeText)
    d = p.next(task, shows("Nund"), [step(0, field)])  # "Nunc|": the caret glued to the c
    assert isinstance(d.action, Wait)
    assert p.next(task, shows("Nunc"), [step(0, field), step(1)]).action == Done(status="success")
    q = RulePlanner()
    q.next(task, screen(para, field), [])
    hist = [step(0, field)]
    actions = []
    for _ in range(8):
        d = q.next(task, shows("Bob"), hist)
        actions.append(d.action)
        if isinstance(d.action, Done):
            break
        hist.append(step(len(hist), field))
    assert sum(isinstance(a, TypeText) and a.clear for a in actions) == 1  # typed once more, once
    assert isinstance(actions[-1], Done) and actions[-1].status == "impossible" and "'Bob'" in (actions[-1].answer or "")


@pytest.mark.parametrize(("pick", "shown", "prefix", "ok"), [
    ("Fiji", "Fiji", "Fij", True), ("Fiji", "FJji", "Fij", True), ("Chad", "Chad", "Chad", True),
    ("United States Minor Outlying Islands", "Minor Outlying Islands", "Uni", True),
    ("Fiji", "Fij", "Fij", False), ("Fiji", "Fi", "Fij", False), ("Somalia", "Som", "Som", False), ("Oman", "", "Om", False),
])
def test_a_pick_is_read_in_the_field_never_the_typed_prefix(pick: str, shown: str, prefix: str, ok: bool) -> None:
    from guiagent.planning.skills.text import _holds

    assert _holds(pick, shown, prefix) is ok
