"""The rule planner on hand-built observations: one typed action per call, skips, searches,
retries and honest give-ups."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from PIL import Image

from guiagent.planning.rule import RulePlanner
from guiagent.registry import build_planner
from guiagent.schema import (
    Click,
    Decision,
    Done,
    Element,
    Key,
    Observation,
    OpenApp,
    Outcome,
    Role,
    Scroll,
    Step,
    Target,
    TypeText,
    Wait,
)
from guiagent.schema.errors import ConfigError, InstructionNotUnderstood

SIZE = (400, 300)


def el(eid: str, role: Role, name: str = "", row: int = 0, col: int = 0, **kw: object) -> Element:
    """An element on a coarse grid: rows 30 px high, columns 100 px wide."""
    return Element(id=eid, role=role, name=name, bbox=(col * 100 + 5, row * 30 + 5, col * 100 + 90, row * 30 + 25),
                   **kw)  # type: ignore[arg-type]


def obs(*elements: Element) -> Observation:
    return Observation(screenshot=Image.new("RGB", SIZE, "white"), elements=tuple(elements), screen_size=SIZE)


def run(planner: RulePlanner, task: str, screens: Iterable[Observation], **kw: object) -> list[Decision]:
    return [planner.next(task, o, [], **kw) for o in screens]  # type: ignore[arg-type]


def described(d: Decision) -> str | None:
    target = getattr(d.action, "target", None)
    return target.description if target else None


FORM = (
    el("1", Role.TEXT, "Name", 0, 0), el("2", Role.TEXT_FIELD, "", 0, 1, editable=True),
    el("3", Role.TEXT, "Subscribe", 1, 1), el("4", Role.CHECKBOX, "", 1, 0, checked=False),
    el("5", Role.BUTTON, "Submit", 2, 0),
)
DEMO = "Type 'Ada Lovelace' into Name, tick Subscribe, then click Submit"


def test_demo_form_one_action_per_call_then_done() -> None:
    p = RulePlanner()
    p.reset(DEMO)
    typed = tuple(e.model_copy(update={"value": "Ada Lovelace"}) if e.id == "2" else e for e in FORM)
    ticked = tuple(e.model_copy(update={"checked": True}) if e.id == "4" else e for e in typed)
    d1, d2, d3, d4 = run(p, DEMO, [obs(*FORM), obs(*typed), obs(*ticked), obs(*ticked)])
    assert d1.action == TypeText(text="Ada Lovelace", target=Target(description="Name field"))
    assert d1.subgoal == "type 'Ada Lovelace' into Name field"
    assert d1.plan == ("tick Subscribe checkbox", "click Submit")
    # the checkbox left of the "Subscribe" label is found on its row and clicked by id
    assert d2.action == Click(target=Target(element="4", description="Subscribe checkbox"))
    assert d2.plan == ("click Submit",)
    assert d3.action == Click(target=Target(description="Submit"))
    assert d4.action == Done(status="success") and d4.plan == ()
    assert p.next(DEMO, obs(*FORM), [Step(index=0)]) is d4  # stays done


def test_tick_is_skipped_when_already_checked() -> None:
    checked = tuple(e.model_copy(update={"checked": True}) if e.id == "4" else e for e in FORM)
    p = RulePlanner()
    d1, d2 = run(p, DEMO, [obs(*checked)] * 2)
    assert isinstance(d1.action, TypeText)
    assert d2.action == Click(target=Target(description="Submit"))
    assert "already on" in d2.thought


def test_turn_on_wifi_switch_on_the_label_row() -> None:
    task = "Open Settings and turn on Wi-Fi"
    off = obs(el("w", Role.TEXT, "Wi-Fi", 3, 0), el("s", Role.SWITCH, "", 3, 3, checked=False),
              el("b", Role.TEXT, "Bluetooth", 4, 0), el("t", Role.SWITCH, "", 4, 3, checked=True))
    p = RulePlanner()
    switched = obs(el("w", Role.TEXT, "Wi-Fi", 3, 0), el("s", Role.SWITCH, "", 3, 3, checked=True),
                   el("b", Role.TEXT, "Bluetooth", 4, 0), el("t", Role.SWITCH, "", 4, 3, checked=True))
    d1, d2, d3 = run(p, task, [off, off, switched])
    assert d1.action == OpenApp(name="Settings")
    assert d2.action == Click(target=Target(element="s", description="Wi-Fi"))
    assert d3.action == Done(status="success")
    assert "1 effect(s) checked" in d3.thought  # the switch reads on
    on = obs(el("w", Role.TEXT, "Wi-Fi", 3, 0), el("s", Role.SWITCH, "", 3, 3, checked=True))
    p2 = RulePlanner()
    assert [d.action for d in run(p2, task, [on] * 2)] == [OpenApp(name="Settings"), Done(status="success")]
    # turning off what is on: the a11y name of the switch itself is enough
    p3 = RulePlanner()
    named = obs(el("x", Role.SWITCH, "Bluetooth", 0, 3, checked=True))
    assert run(p3, "turn off Bluetooth", [named])[0].action == Click(
        target=Target(element="x", description="Bluetooth"))


def test_both_text_fields_get_the_1st_and_2nd_field_in_reading_order() -> None:
    task = 'Enter the password "x7Zq" into both text fields and press submit.'
    screen = obs(el("f2", Role.TEXT_FIELD, "", 2, 1, editable=True), el("f1", Role.TEXT_FIELD, "", 1, 1, editable=True),
                 el("b", Role.BUTTON, "Submit", 3, 0))
    d = run(RulePlanner(), task, [screen] * 4)
    assert d[0].action == TypeText(text="x7Zq", target=Target(element="f1", description="the 1st text field"))
    assert d[1].action == TypeText(text="x7Zq", target=Target(element="f2", description="the 2nd text field"))
    assert d[2].action == Click(target=Target(description="submit"))
    assert d[3].action == Done(status="success")


def test_select_options_clicks_each_unchecked_box_then_submit() -> None:
    task = "Select eRMHk, 5L, vQ and click Submit."
    screen = obs(el("a", Role.CHECKBOX, "eRMHk", 0, checked=False), el("b", Role.CHECKBOX, "5L", 1, checked=True),
                 el("c", Role.CHECKBOX, "vQ", 2, checked=False), el("d", Role.CHECKBOX, "Zz", 3, checked=False),
                 el("s", Role.BUTTON, "Submit", 4))
    a_on = obs(*(e.model_copy(update={"checked": True}) if e.id == "a" else e for e in screen.elements))
    c_on = obs(*(e.model_copy(update={"checked": True}) if e.id == "c" else e for e in a_on.elements))
    d = run(RulePlanner(), task, [screen, a_on, c_on, c_on])
    assert d[0].action == Click(target=Target(element="a", description="eRMHk"))
    assert d[1].action == Click(target=Target(element="c", description="vQ"))  # 5L is already checked
    assert "already selected" in d[1].thought
    assert d[2].action == Click(target=Target(description="Submit"))
    assert d[3].action == Done(status="success")


def test_select_from_a_closed_dropdown_types_the_option() -> None:
    task = "Select sHg from the list and click Submit."
    screen = obs(el("l", Role.COMBOBOX, "", 0, value="abc"), el("s", Role.BUTTON, "Submit", 2))
    d = run(RulePlanner(), task, [screen] * 2)
    assert d[0].action == TypeText(text="sHg", target=Target(element="l", description="the drop-down"), submit=True)
    assert d[1].action == Click(target=Target(description="Submit"))
    already = obs(el("l", Role.COMBOBOX, "", 0, value="sHg"), el("s", Role.BUTTON, "Submit", 2))
    assert run(RulePlanner(), task, [already])[0].action == Click(target=Target(description="Submit"))


def test_tab_search_opens_untried_tabs_until_the_link_shows() -> None:
    task = 'Switch between the tabs to find and click on the link "xyz".'
    tabs = [el(f"t{i}", Role.TAB, f"Tab #{i}", 0, i - 1) for i in (1, 2, 3)]

    def screen(selected: int, *links: str) -> Observation:
        shown = [t.model_copy(update={"selected": i + 1 == selected}) for i, t in enumerate(tabs)]
        return obs(*shown, *(el(f"l{n}", Role.LINK, n, 2 + k) for k, n in enumerate(links)))

    p = RulePlanner()
    d1 = p.next(task, screen(1, "abc", "def"), [])
    assert d1.action == Click(target=Target(element="t2", description="Tab #2"))  # Tab #1 is open already
    d2 = p.next(task, screen(2, "foo"), [])
    assert d2.action == Click(target=Target(element="t3", description="Tab #3"))
    d3 = p.next(task, screen(3, "bar", "xyz"), [])
    assert d3.action == Click(target=Target(description="the link 'xyz'"))
    assert p.next(task, screen(3, "bar", "xyz"), []).action == Done(status="success")
    # nowhere to be found: an exact sweep, a loose sweep, then an honest give-up, not an endless loop
    q = RulePlanner()
    opened, selected = [], 1
    for _ in range(10):
        d = q.next(task, screen(selected, "nope"), [])
        if isinstance(d.action, Done):
            break
        assert isinstance(d.action, Click) and d.action.target.element
        opened.append(d.action.target.element)
        selected = int(d.action.target.element[1:])
    assert opened == ["t2", "t3", "t1", "t2"]
    assert d.action == Done(status="impossible", answer="the link 'xyz' is in none of the 3 tabs")


def test_search_prefers_an_exact_link_in_a_later_tab_to_a_word_inside_text() -> None:
    task = 'Switch between the tabs to find and click on the link "nunc".'
    tab1 = obs(el("t1", Role.TAB, "Tab #1", 0, 0, selected=True), el("t2", Role.TAB, "Tab #2", 0, 1),
               el("p", Role.TEXT, "arcu nunc dolor", 2))
    tab2 = obs(el("t1", Role.TAB, "Tab #1", 0, 0), el("t2", Role.TAB, "Tab #2", 0, 1, selected=True),
               el("l", Role.LINK, "nunc", 3))
    p = RulePlanner()
    assert p.next(task, tab1, []).action == Click(target=Target(element="t2", description="Tab #2"))
    assert p.next(task, tab2, []).action == Click(target=Target(description="the link 'nunc'"))


def test_section_search_expands_headers_and_finds_the_link_inside_an_ocr_line() -> None:
    task = 'Expand the sections below, to find and click on the link "nunc".'
    heads = [el("h1", Role.TEXT, "Section #1", 0, source="ocr"), el("h2", Role.TEXT, "Section #2", 1, source="ocr")]
    p = RulePlanner()
    assert p.next(task, obs(*heads), []).action == Click(target=Target(element="h1", description="Section #1"))
    d = p.next(task, obs(*heads, el("x", Role.TEXT, "lorem ipsum", 2, source="ocr")), [])
    assert d.action == Click(target=Target(element="h2", description="Section #2"))
    line = el("y", Role.TEXT, "dolor nunc sit", 3, source="ocr")
    d = p.next(task, obs(*heads, line), [])
    # the words inside a longer OCR line: a point on "nunc" (the line's middle third), not the line's centre
    assert isinstance(d.action, Click) and d.action.target.description == "the link 'nunc'"
    assert d.action.target.point is not None
    x, y = d.action.target.point.to_pixels(SIZE)
    assert line.bbox[1] <= y <= line.bbox[3] and line.bbox[0] + line.width / 3 < x < line.bbox[2] - line.width / 3


def test_grounding_failure_tries_one_other_phrasing_then_gives_up() -> None:
    task = 'Click on the "Submit" button.'
    p = RulePlanner()
    screen = obs()
    assert described(p.next(task, screen, [])) == "the button 'Submit'"
    retry = p.next(task, screen, [], feedback="GroundingError: nothing matches 'the button 'Submit''")
    assert retry.action == Click(target=Target(description="Submit"))  # the role word dropped
    assert "trying" in retry.thought
    final = p.next(task, screen, [], feedback="GroundingError: no element matches 'Submit'")
    history: list[Step] = []
    while isinstance(final.action, Wait):  # it may appear late: a few bounded looks before giving up
        assert len(history) < 3 and "waiting" in final.thought
        history.append(Step(index=len(history), action=final.action))
        again = p.next(task, screen, history)
        assert again.action == Click(target=Target(description="the button 'Submit'"))
        p.next(task, screen, history, feedback="GroundingError: nothing matches 'the button 'Submit''")
        final = p.next(task, screen, history, feedback="GroundingError: no element matches 'Submit'")
    assert len(history) == 3
    assert isinstance(final.action, Done) and final.action.status == "impossible"
    assert "Submit" in (final.action.answer or "") and "no element matches" in (final.action.answer or "")


def test_a_refusal_that_is_not_about_grounding_ends_at_once() -> None:
    p = RulePlanner()
    p.next("click Delete", obs(), [])
    final = p.next("click Delete", obs(), [], feedback="SafetyBlocked: the user declined")
    assert final.action == Done(status="impossible", answer="I could not click Delete: SafetyBlocked: the user declined")


def test_typing_without_a_field_uses_focused_then_first_field() -> None:
    focused = obs(el("a", Role.TEXT_FIELD, row=0, editable=True), el("b", Role.TEXT_FIELD, row=1, focused=True))
    assert run(RulePlanner(), 'type "hi"', [focused])[0].action == TypeText(text="hi")
    one = obs(el("a", Role.TEXT_FIELD, row=1, editable=True, value="old"))
    d = run(RulePlanner(), 'type "hi"', [one])[0]
    assert d.action == TypeText(text="hi", target=Target(element="a", description="the text field"), clear=True)
    assert run(RulePlanner(), 'type "hi"', [obs()])[0].action == TypeText(text="hi")


def test_focus_the_2nd_input_box_and_type_with_enter() -> None:
    screen = obs(el("a", Role.TEXT_FIELD, row=0, editable=True), el("b", Role.TEXT_FIELD, row=1, editable=True))
    d = run(RulePlanner(), "Focus into the 2nd input box.", [screen])[0]
    assert d.action == Click(target=Target(element="b", description="the 2nd text field"))
    d = run(RulePlanner(), 'Type "xyz" in the textbox and press Enter.', [screen])[0]
    assert d.action == TypeText(text="xyz", target=Target(element="a", description="the text field"), submit=True)
    focused = obs(el("a", Role.TEXT_FIELD, row=0, editable=True), el("b", Role.TEXT_FIELD, row=1, focused=True))
    d = run(RulePlanner(), "Focus into the textbox.", [focused])[0]
    assert d.action == Click(target=Target(element="b", description="the text field"))


def test_repeated_keys_and_scrolls_then_done() -> None:
    p = RulePlanner()
    task = "scroll down 3 times, then press ctrl+s"
    actions = [d.action for d in run(p, task, [obs()] * 5)]
    assert actions == [Scroll(direction="down"), Scroll(direction="down"), Scroll(direction="down"),
                       Key(keys=("ctrl", "s")), Done(status="success")]


def test_not_understood_is_raised_not_guessed() -> None:
    p = RulePlanner()
    with pytest.raises(InstructionNotUnderstood, match="make it pretty"):
        p.reset("make it pretty")
    with pytest.raises(InstructionNotUnderstood, match="make it pretty"):
        p.next("make it pretty", obs(), [])


def test_new_task_and_rerun_start_over() -> None:
    p = RulePlanner()
    assert run(p, "click A", [obs()] * 2)[1].action == Done(status="success")
    assert p.next("click A", obs(), []).action == Click(target=Target(description="A"))  # run again: history empty
    assert p.next("click B", obs(), []).action == Click(target=Target(description="B"))


def test_registry_builds_it_and_checks_options() -> None:
    planner = build_planner("rule")
    assert isinstance(planner, RulePlanner) and planner.name == "rule" and planner.keeps_plan
    assert build_planner("rule", retry_variants=False).retry_variants is False
    with pytest.raises(ConfigError, match="temperature"):
        build_planner("rule", temperature=0.3)


def test_failed_steps_in_history_are_not_taken_as_done() -> None:
    task = "click Save, then click Close"
    p = RulePlanner()
    first = p.next(task, obs(), [])
    assert first.action == Click(target=Target(description="Save"))
    # the loop ran out of retries grounding it: a failed step without an action
    no_target = Step(index=0, outcome=Outcome(status="failed", error="cannot ground 'Save'"))
    history = [no_target]
    decision = p.next(task, obs(), history)
    while isinstance(decision.action, Wait):  # it may show late: a few bounded looks for it first
        history.append(Step(index=len(history), action=decision.action))
        assert p.next(task, obs(), history).action == first.action
        history.append(Step(index=len(history), outcome=Outcome(status="failed", error="cannot ground 'Save'")))
        decision = p.next(task, obs(), history)
    assert len(history) == 7 and decision.action == Done(
        status="impossible", answer="I could not click Save: cannot ground 'Save'")
    # a device error: the same action once more, then the next sub-goal once it went through
    q = RulePlanner()
    q.next(task, obs(), [])
    broken = Step(index=0, action=first.action, outcome=Outcome(status="failed", error="device: xdotool died"))
    again = q.next(task, obs(), [broken])
    assert again.action == first.action and "device error" in again.thought
    ok = Step(index=1, action=first.action)
    assert q.next(task, obs(), [broken, ok]).action == Click(target=Target(description="Close"))
    # a user skip moves on; a guard block ends the run with the reason
    r = RulePlanner()
    r.next(task, obs(), [])
    skipped = Step(index=0, action=first.action, outcome=Outcome(status="skipped", error="not run: skipped"))
    assert r.next(task, obs(), [skipped]).action == Click(target=Target(description="Close"))
    blocked = Step(index=1, outcome=Outcome(status="blocked", error="not run: deletes data"))
    assert r.next(task, obs(), [skipped, blocked]).action == Done(
        status="impossible", answer="I could not click Close: not run: deletes data")
