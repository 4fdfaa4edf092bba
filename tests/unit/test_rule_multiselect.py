"""Several options of one list: a plain click replaces a multi-select list's selection, so the
second and later options are ctrl+clicked; options named without a list stay plain clicks."""

from __future__ import annotations

import pytest
from test_rule_skills import el, obs, step

from guiagent.planning.rule import RulePlanner
from guiagent.schema import Click, Element, Role, Scroll, Step, describe_action

ITEMS = (el("m", Role.TEXT, "Mickie", 0), el("a", Role.TEXT, "Ashlie", 1), el("b", Role.TEXT, "Bob", 2),
         el("s", Role.BUTTON, "Submit", 3))


def run(task: str, items: tuple[Element, ...] = ITEMS) -> list[str]:
    p, hist, out = RulePlanner(), list[Step](), list[str]()
    for i in range(6):
        d = p.next(task, obs(*items), hist)
        out.append(describe_action(d.action))
        if not isinstance(d.action, Click):
            break
        target = d.action.target
        hist.append(step(i, next(e for e in items if target.element == e.id or target.description == e.name)))
    return out


@pytest.mark.parametrize("task", [
    "Select Mickie, Ashlie from the scroll list and click Submit.",
    "select Mickie, Ashlie in the list box, then press Submit",
])
def test_the_second_option_of_one_list_is_ctrl_clicked(task: str) -> None:
    assert run(task) == ["click 'Mickie'", "ctrl+click 'Ashlie'", "click 'Submit'", "done (success)"]


def test_options_named_without_a_list_are_plain_clicks() -> None:
    assert run("Select Mickie and Ashlie, then click Submit")[:2] == ["click 'Mickie'", "click 'Ashlie'"]


def test_an_option_further_down_the_list_box_is_scrolled_to_first() -> None:
    task = "Select Mickie, Ashlie from the scroll list and click Submit."
    names = ["Linell", "Alikee", "Mickie", "Tori", "Filide"]  # "Alikee" is not "Ashlie", however fuzzy
    top = tuple(el(f"t{i}", Role.TEXT, n, i) for i, n in enumerate(names)) + (el("s", Role.BUTTON, "Submit", 6),)
    p = RulePlanner()
    assert describe_action(p.next(task, obs(*top), []).action) == "click 'Mickie'"
    d = p.next(task, obs(*top), [step(0, top[2])])
    assert isinstance(d.action, Scroll) and d.action.direction == "down" and d.action.anchor is not None
    lower = tuple(el(f"u{i}", Role.TEXT, n, i) for i, n in enumerate(["Tori", "Filide", "Ashlie", "Bob"])) \
        + (el("s", Role.BUTTON, "Submit", 6),)
    d = p.next(task, obs(*lower), [step(0, top[2]), step(1)])
    assert describe_action(d.action) == "ctrl+click 'Ashlie'"
