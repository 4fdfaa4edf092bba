"""Find-and-click through tabs takes only the very thing named on a first sweep: the same word
as plain text is not "the link", and a quoted name's punctuation counts ("mauris." is another
link than "mauris"). Only when no tab has it is the near match clicked."""

from __future__ import annotations

from PIL import Image

from guiagent.planning.rule import RulePlanner
from guiagent.schema import Click, Element, Observation, Outcome, Role, Step, Target

SIZE = (400, 300)


def el(eid: str, role: Role, name: str, box: tuple[int, int, int, int]) -> Element:
    return Element(id=eid, role=role, name=name, bbox=box)


def obs(*elements: Element) -> Observation:
    return Observation(screenshot=Image.new("RGB", SIZE, "white"), elements=elements, screen_size=SIZE)


def step(i: int, action: object = None) -> Step:
    return Step(index=i, action=action, outcome=Outcome(screen_changed=True))  # type: ignore[arg-type]


TABS = (el("1", Role.TAB, "Tab #1", (5, 5, 60, 25)).model_copy(update={"selected": True}),  # open
        el("2", Role.TAB, "Tab #2", (65, 5, 120, 25)),
        el("3", Role.TAB, "Tab #3", (125, 5, 180, 25)))


def test_plain_text_is_not_the_link_while_tabs_remain() -> None:
    task = 'Look through the tabs to find the link "ullamcorper" and click it.'
    word = el("w", Role.TEXT, "ullamcorper", (5, 60, 90, 80))  # the word, not a link, in the open tab
    link = el("k", Role.LINK, "ullamcorper", (5, 90, 90, 110))
    p = RulePlanner()
    d = p.next(task, obs(*TABS, word), [])
    assert d.action == Click(target=Target(element="2", description="Tab #2"))
    d = p.next(task, obs(*TABS, link), [step(0, d.action)])
    assert isinstance(d.action, Click) and d.action.target.description == "the link 'ullamcorper'"


def test_a_quoted_name_keeps_its_punctuation_on_the_first_sweep() -> None:
    task = 'Switch between the tabs to find and click on the link "mauris.".'
    bare = el("a", Role.LINK, "mauris", (5, 60, 90, 80))
    dotted = el("b", Role.LINK, "mauris.", (5, 60, 90, 80))
    p = RulePlanner()
    acts = [p.next(task, obs(*TABS, bare), []).action]
    acts.append(p.next(task, obs(*TABS, dotted), [step(0, acts[-1])]).action)
    assert acts[0] == Click(target=Target(element="2", description="Tab #2"))
    assert isinstance(acts[1], Click) and acts[1].target.description == "the link 'mauris.'"
