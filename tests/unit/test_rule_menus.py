"""Menus (a path of items: pointed at, waited for, clicked last), clicks aimed at words inside a
longer OCR label, tabs told apart by place, and waits timed from the action before."""

from __future__ import annotations

import time

import pytest
from PIL import Image

from guiagent.planning.instructions import ClickGoal, MenuGoal, Ref, SelectGoal, parse_instructions
from guiagent.planning.rule import RulePlanner
from guiagent.planning.skills.aim import aim, word_point
from guiagent.schema import Click, Done, Element, Hover, Observation, Outcome, Role, Step, Target, Wait

SIZE = (400, 300)


def el(eid: str, role: Role, name: str, box: tuple[int, int, int, int]) -> Element:
    return Element(id=eid, role=role, name=name, bbox=box)


def obs(*elements: Element) -> Observation:
    return Observation(screenshot=Image.new("RGB", SIZE, "white"), elements=tuple(elements), screen_size=SIZE)


def step(i: int, action: object = None, changed: bool | None = True, **kw: object) -> Step:
    return Step(index=i, action=action, outcome=Outcome(screen_changed=changed), **kw)  # type: ignore[arg-type]


FILE_OPEN = MenuGoal((Ref("File"), Ref("Open")))


@pytest.mark.parametrize(("text", "goals"), [
    ("select File > Open", [FILE_OPEN]),
    ("Click File → Open", [FILE_OPEN]),
    ("click Open in the File menu", [FILE_OPEN]),
    ("choose Open from the File menu", [FILE_OPEN]),
    ("open the File menu and click Open", [FILE_OPEN]),
    ("Open the File menu, then select Open > Recent", [MenuGoal((Ref("File"), Ref("Open"), Ref("Recent")))]),
    ("pick 'Save As' under the menu File", [MenuGoal((Ref("File"), Ref("Save As", quoted=True)))]),
    ("open the Edit menu", [MenuGoal((Ref("Edit"),))]),
    ("Select Alvera>Terza>Ludovika", [MenuGoal((Ref("Alvera"), Ref("Terza"), Ref("Ludovika")))]),
])
def test_menu_paths_parse_from_several_phrasings(text: str, goals: list[object]) -> None:
    assert parse_instructions(text) == goals


def test_a_drop_down_called_a_menu_stays_a_selection() -> None:
    assert parse_instructions("Select Copy from the dropdown menu") == [
        SelectGoal(Ref("Copy"), Ref("dropdown", "list"))]
    assert parse_instructions("click the menu icon") == [ClickGoal(Ref("menu", "icon"))]


def test_menu_items_are_pointed_at_then_waited_for_then_the_last_is_clicked() -> None:
    file_ = el("f", Role.TEXT, "File", (5, 5, 60, 25))
    open_ = el("o", Role.TEXT, "Open", (5, 30, 60, 50))
    p = RulePlanner()
    task = "Select File > Open"
    d = p.next(task, obs(file_), [])
    assert isinstance(d.action, Hover) and d.action.target == Target(element="f", description="File")
    d = p.next(task, obs(file_), [step(0, d.action)])  # the sub-menu is not there yet
    assert isinstance(d.action, Wait)
    d = p.next(task, obs(file_, open_), [step(0), step(1, d.action)])
    assert d.action == Click(target=Target(element="o", description="Open"))


def test_a_menu_that_pointing_does_not_open_is_clicked() -> None:
    file_ = el("f", Role.TEXT, "File", (5, 5, 60, 25))
    p = RulePlanner()
    task = "click Open in the File menu"
    acts = [p.next(task, obs(file_), [step(i, changed=False)] if i else []).action for i in range(5)]
    assert isinstance(acts[0], Hover) and all(isinstance(a, Wait) for a in acts[1:4])
    assert acts[4] == Click(target=Target(element="f", description="File"))


def test_a_word_inside_a_longer_label_is_aimed_at_its_own_place() -> None:
    menu = el("m", Role.BUTTON, "Jorrie Mahalia", (9, 9, 115, 87))  # two lines read as one box
    screen = obs(menu)
    top, bottom = word_point(menu, "Jorrie", screen), word_point(menu, "Mahalia", screen)
    assert top is not None and bottom is not None
    assert top.to_pixels(SIZE)[1] < menu.center[1] < bottom.to_pixels(SIZE)[1]
    line = el("l", Role.LINK, "cursus potenti", (35, 133, 184, 157))  # two links read as one line
    left = word_point(line, "cursus", obs(line))
    assert left is not None and line.bbox[0] < left.to_pixels(SIZE)[0] < line.center[0]
    # OCR cut the last letter off: still found
    assert aim(obs(el("b", Role.BUTTON, "Phylis Caresa Margaret", (112, 10, 216, 122))), Ref("Margareta")) is not None
    # an element of that very name, or a near spelling of the whole name: left to the grounder
    assert aim(obs(menu, el("j", Role.TEXT, "Jorrie", (9, 9, 60, 40))), Ref("Jorrie")) is None
    assert aim(obs(el("x", Role.TEXT, "Meade >", (5, 5, 60, 25))), Ref("Meade")) is None
    p = RulePlanner()
    d = p.next("Select Jorrie", screen, [])
    assert isinstance(d.action, Click) and d.action.target.point is not None
    assert d.action.target.point.to_pixels(SIZE)[1] < menu.center[1]


def test_a_tab_read_differently_once_open_is_not_opened_again() -> None:
    task = 'Switch between the tabs to find and click on the link "nunc".'
    t1, t2 = el("1", Role.TAB, "Tab #1", (5, 5, 60, 25)), el("2", Role.TAB, "Tab #2", (65, 5, 120, 25))
    p = RulePlanner()
    d = p.next(task, obs(t1, t2), [])
    assert d.action == Click(target=Target(element="1", description="Tab #1"))
    d = p.next(task, obs(t1, t2), [step(0, d.action)])
    assert d.action == Click(target=Target(element="2", description="Tab #2"))
    noisy = el("2", Role.TAB, "Tab #2 2", (65, 5, 120, 27))  # the open tab's border read as a character
    line = el("l", Role.TEXT, "ut nunc dolor", (5, 60, 200, 80))  # the link only inside an OCR line
    d = p.next(task, obs(t1, noisy, line), [step(0), step(1, d.action)])
    # no exact name in any tab: the words where they showed (here, now), never Tab #2 again
    assert isinstance(d.action, Click) and d.action.target.point is not None
    assert line.bbox[1] <= d.action.target.point.to_pixels(SIZE)[1] <= line.bbox[3]


def test_words_seen_inside_a_line_in_another_tab_are_clicked_after_reopening_it() -> None:
    task = 'Switch between the tabs to find and click on the link "nunc".'
    tabs = el("1", Role.TAB, "Tab #1", (5, 5, 60, 25)), el("2", Role.TAB, "Tab #2", (65, 5, 120, 25))
    line = el("l", Role.TEXT, "ut nunc dolor", (5, 60, 200, 80))
    p = RulePlanner()
    acts = [p.next(task, obs(*tabs), []).action]
    acts.append(p.next(task, obs(*tabs, line), [step(0, acts[-1])]).action)  # Tab #1 shows it in a line
    acts.append(p.next(task, obs(*tabs), [step(1, acts[-1])]).action)  # Tab #2 does not
    assert acts == [Click(target=Target(element=t.id, description=t.label)) for t in (*tabs, tabs[0])]
    d = p.next(task, obs(*tabs, line), [step(2, acts[-1])])
    assert isinstance(d.action, Click) and d.action.target.point is not None


def test_a_wait_between_two_actions_counts_from_the_first() -> None:
    one = el("1", Role.BUTTON, "ONE", (5, 5, 60, 25))
    p = RulePlanner()
    task = "Click button ONE, wait 2 seconds, then click button TWO."
    click = p.next(task, obs(one), []).action
    # the click ran 0.8 s ago (it was decided and carried out right after its look)
    done = step(0, click, timestamp=time.time() - 0.8, timings_ms={"decide": 1.0, "act": 5.0, "parse": 200.0})
    wait = p.next(task, obs(one), [done]).action
    assert isinstance(wait, Wait)
    # less the time since the click and the look that follows the wait (at least the default settle)
    assert 0.0 <= wait.seconds <= 2.0 - 0.8 - 0.5


def test_a_late_button_whose_click_changed_nothing_is_clicked_once_more_but_never_a_submit() -> None:
    go = el("g", Role.BUTTON, "Next", (5, 5, 60, 25))
    p = RulePlanner()
    p.next("click Next", obs(), [])
    waited = p.next("click Next", obs(), [], feedback="GroundingError: nothing matches 'Next'")
    assert isinstance(waited.action, Wait)  # not there yet: waited for
    first = p.next("click Next", obs(go), [step(0, waited.action)]).action
    assert first == Click(target=Target(description="Next"))
    lost = Step(index=1, action=first, target_element=go, outcome=Outcome(screen_changed=False))
    again = p.next("click Next", obs(go), [lost])
    assert again.action == first and "once more" in again.thought
    lost_again = Step(index=2, action=first, target_element=go, outcome=Outcome(screen_changed=False))
    assert p.next("click Next", obs(go), [lost, lost_again]).action == Done(
        status="impossible", answer="expected clicking Next to have an effect (nothing on the screen changed)")
    # a button there from the start may only record the click: a second one would count twice
    p = RulePlanner()
    first = p.next("click Next", obs(go), []).action
    lost = Step(index=0, action=first, target_element=go, outcome=Outcome(screen_changed=False))
    assert isinstance(p.next("click Next", obs(go), [lost]).action, Done)


def test_a_late_submit_button_is_never_clicked_twice() -> None:
    send = el("s", Role.BUTTON, "Submit", (5, 5, 60, 25))
    q = RulePlanner()
    q.next("click Submit", obs(), [])
    waited = q.next("click Submit", obs(), [], feedback="GroundingError: nothing matches 'Submit'")
    first = q.next("click Submit", obs(send), [step(0, waited.action)]).action
    lost = Step(index=1, action=first, target_element=send, outcome=Outcome(screen_changed=False))
    assert isinstance(q.next("click Submit", obs(send), [lost]).action, Done)


def test_the_tab_drawn_joined_to_its_panel_is_taken_as_open() -> None:
    task = 'Switch between the tabs to find and click on the link "nunc".'
    t1, t2, t3 = (el("1", Role.BUTTON, "Tab #1", (5, 5, 60, 27)), el("2", Role.BUTTON, "Tab #2", (65, 5, 120, 25)),
                  el("3", Role.BUTTON, "Tab #3", (125, 5, 180, 25)))
    d = RulePlanner().next(task, obs(t1, t2, t3), [])
    assert d.action == Click(target=Target(element="2", description="Tab #2"))  # Tab #1 shows already
    level = el("1", Role.BUTTON, "Tab #1", (5, 5, 60, 25))
    d = RulePlanner().next(task, obs(level, t2, t3), [])
    assert d.action == Click(target=Target(element="1", description="Tab #1"))  # nothing tells: from the first


def test_an_item_of_a_user_with_a_menu_button_is_not_a_menu_path() -> None:
    goals = parse_instructions('For the user @kenda, click "Menu"')
    assert not any(isinstance(g, MenuGoal) for g in goals)


def test_a_card_read_as_a_button_is_never_taken_for_the_forms_only_button() -> None:
    from guiagent.planning.skills.interrupt import sole_button

    post = el("p", Role.BUTTON, "Bolton @olin Turpis quis. Libero.", (5, 5, 300, 60))
    assert sole_button(obs(post), Ref("Submit")) is None
    assert sole_button(obs(el("o", Role.BUTTON, "OK", (5, 5, 60, 25))), Ref("Submit")) is not None


def test_a_name_cut_by_a_button_drawn_over_it_is_clicked_where_it_shows() -> None:
    size = (320, 548)
    screen = Observation(screenshot=Image.new("RGB", size, "white"), screen_size=size, elements=(
        el("1", Role.TEXT, "ON", (237, 165, 282, 213)), el("2", Role.TEXT, "E", (278, 165, 303, 213)),
        el("3", Role.BUTTON, "TWO", (192, 188, 272, 268))))  # TWO lies over the lower left of ONE
    spot = aim(screen, Ref("ONE", "button"))
    assert spot is not None and spot.point is not None
    x, y = spot.point.to_pixels(size)
    assert 237 <= x <= 282 and 165 <= y < 188  # on "ON", above TWO
    only_end = Observation(screenshot=Image.new("RGB", size, "white"), screen_size=size, elements=(
        el("2", Role.TEXT, "E", (231, 227, 248, 248)), el("3", Role.BUTTON, "TWO", (150, 218, 230, 298))))
    assert aim(only_end, Ref("ONE", "button")) is None  # one letter of it could be anything
    only_end = Observation(screenshot=Image.new("RGB", size, "white"), screen_size=size, elements=(
        el("2", Role.TEXT, "NE", (221, 227, 248, 248)), el("3", Role.BUTTON, "TWO", (150, 218, 220, 298))))
    spot = aim(only_end, Ref("ONE", "button"))
    assert spot is not None and spot.point is not None and spot.point.to_pixels(size)[0] > 220
    # a "Save" button is no cut "Save As"; a piece with nothing over it is no sign of a cut
    assert aim(obs(el("s", Role.BUTTON, "Save", (5, 5, 60, 25)), el("c", Role.BUTTON, "Cancel", (62, 5, 120, 25))),
               Ref("Save As")) is None
    assert aim(obs(el("t", Role.TEXT, "ON", (5, 5, 60, 25))), Ref("ONE")) is None
