"""The Nth result of a list that spans pages, and a search through a tree's folders: the
skills on synthetic observations, and the grammar's paraphrases."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw

from grounding.items import plus_marks
from guiagent.planning.instructions import ClickGoal, Ref, SearchClickGoal, parse_instructions
from guiagent.planning.skills import results, search
from guiagent.planning.skills.common import Seen
from guiagent.schema import Click, Done, Element, Observation, Role

SIZE = (320, 400)


def box(eid: str, role: Role, name: str, x: int, y: int, w: int = 80, h: int = 24) -> Element:
    return Element(id=eid, role=role, name=name, bbox=(x, y, x + w, y + h))


def page(titles: list[str], pager: list[str], base: int = 0) -> Observation:
    """A search field, then per result a title link with a url and a description under it,
    then a row of pager links."""
    els = [box("f", Role.TEXT_FIELD, "", 8, 8, 170), box("s", Role.BUTTON, "Search", 8, 40)]
    y = 70
    for i, t in enumerate(titles):
        els += [box(f"t{base + i}", Role.LINK, t, 4, y), box(f"u{base + i}", Role.TEXT, f"https://{t}.com", 4, y + 24, 200),
                box(f"d{base + i}", Role.TEXT, "Lorem ipsum.", 4, y + 48, 120)]
        y += 72
    els += [box(f"p{j}", Role.LINK, label, 100 + 30 * j, y, 20) for j, label in enumerate(pager)]
    return Observation(screenshot=Image.new("RGB", SIZE, "white"), elements=tuple(els), screen_size=SIZE)


def clicked(action: object) -> str:
    assert isinstance(action, Click) and action.target.element is not None
    return action.target.element


def clicked_x(action: object) -> float:
    assert isinstance(action, Click) and action.target.point is not None
    return action.target.point.x * SIZE[0]


@pytest.mark.parametrize(("pager", "via"), [(["1", "2", "3", ">"], "p3"), (["1", "2", "3"], "p1"),
                                            (["u", "iB", "ri"], "")])
def test_nth_result_pages_on_then_clicks_its_title(pager: list[str], via: str) -> None:
    goal = ClickGoal(Ref("search result", None, 5))
    assert results.wants(goal)
    steps = results.nth_result(goal, Seen(page(["Ann", "Bob", "Cid"], pager)))
    first = next(steps)
    if via:  # ">", else the page-2 number
        assert clicked(first.actions[0]) == via
    else:  # labels OCR could not read: the right end of the pager's last link (its ">")
        assert 160 + 10 <= clicked_x(first.actions[0]) <= 180
    second = steps.send(Seen(page(["Dan", "Eve", "Fay"], pager, base=3)))
    assert clicked(second.actions[0]) == "t4" and "Eve" in second.why  # 5 = the 2nd of page 2


def test_a_page_that_did_not_turn_is_turned_another_way() -> None:
    shown = page(["Ann", "Bob", "Cid"], ["1", "2", "3≥"])
    steps = results.nth_result(ClickGoal(Ref("search result", None, 4)), Seen(shown))
    assert clicked(next(steps).actions[0]) == "p1"  # the number 2
    again = steps.send(Seen(shown))  # nothing changed: the pager's last link, at its right end
    assert clicked_x(again.actions[0]) >= 160 + 10
    done = steps.send(Seen(page(["Dan", "Eve"], ["1", "2"], base=3)))
    assert clicked(done.actions[0]) == "t3"


def test_nth_result_on_the_first_page_is_clicked_at_once() -> None:
    steps = results.nth_result(ClickGoal(Ref("search result", None, 2)), Seen(page(["Ann", "Bob", "Cid"], ["2"])))
    assert clicked(next(steps).actions[0]) == "t1"


def test_only_result_clicks_are_counted_as_results() -> None:
    assert not results.wants(ClickGoal(Ref("", "link", 2)))
    assert not results.wants(ClickGoal(Ref("search result", None, None)))
    assert results.titles(page(["Ann"], ["2", "3"])) and [e.id for e in results.titles(page(["Ann"], ["2"]))] == ["t0"]


@pytest.mark.parametrize(("text", "n"), [
    ("open the 7th result", 7),
    ("click the second link in the results", 2),
    ("Please select the third result from the search results.", 3),
    ("then pick the 4th search result", 4),
    ("choose the first entry in the search results list", 1),
])
def test_result_paraphrases_parse(text: str, n: int) -> None:
    assert parse_instructions(text) == [ClickGoal(Ref("search result", None, n))]


def test_result_grammar_leaves_plain_ordinals_alone() -> None:
    assert parse_instructions("click the second link") == [ClickGoal(Ref("", "link", 2))]
    goals = parse_instructions('type "cats" into the search box, press enter and then open the fourth result')
    assert goals[-1] == ClickGoal(Ref("search result", None, 4))


# ------------------------------------------------------------------ trees

def plus(draw: ImageDraw.ImageDraw, x: int, y: int, cross: bool = True) -> None:
    """A tree's expander box at (x, y): "+" when collapsed, "-" when open."""
    draw.rectangle((x - 8, y - 8, x + 8, y + 8), outline=(150, 150, 150))
    draw.line((x - 5, y, x + 5, y), fill="black", width=2)
    if cross:
        draw.line((x, y - 5, x, y + 5), fill="black", width=2)


def tree(rows: list[tuple[str, int, str]]) -> Observation:
    """Rows of (name, indent, marker "+" / "-" / ""), one every 30 px."""
    img = Image.new("RGB", SIZE, "white")
    draw = ImageDraw.Draw(img)
    els = []
    for i, (name, indent, mark) in enumerate(rows):
        y = 10 + 30 * i
        if mark:
            plus(draw, 14 + indent, y + 12, mark == "+")
        draw.rectangle((30 + indent, y + 4, 46 + indent, y + 20), fill=(240, 200, 90))  # an icon: a filled blob
        els.append(box(f"n{i}", Role.TEXT, name, 56 + indent, y, 70))
    return Observation(screenshot=img, elements=tuple(els), screen_size=SIZE)


def test_pager_arrow_found_from_link_colour() -> None:
    shown = page(["Ann", "Bob", "Cid"], [])
    img = shown.screenshot.copy()
    draw = ImageDraw.Draw(img)
    for x in (4, 104, 134, 164):  # the titles' ink, then three pager words on the last row
        draw.rectangle((x, 70 if x == 4 else 290, x + 12, 86 if x == 4 else 300), fill=(0, 0, 238))
    draw.rectangle((4, 94, 150, 110), fill=(0, 128, 0))  # a url: another colour
    titles = results.titles(shown)
    ways = results.next_page(shown.model_copy(update={'screenshot': img}), titles, 1, 2)
    assert ways
    where, lands = ways[0]
    assert where.point is not None and lands == 2
    assert 164 <= where.point.x * SIZE[0] <= 176 and 290 <= where.point.y * SIZE[1] <= 301


def test_plus_marks_finds_crosses_not_boxes_or_blobs() -> None:
    img = Image.new("RGB", (120, 40), "white")
    draw = ImageDraw.Draw(img)
    plus(draw, 20, 20)
    plus(draw, 50, 20, cross=False)
    draw.rectangle((70, 10, 90, 30), fill="black")
    assert [(x // 2, y // 2) for x, y in plus_marks(img, (0, 0, 120, 40))] == [(10, 10)]


def test_search_opens_tree_folders_breadth_first_until_the_name_shows() -> None:
    goal = SearchClickGoal(Ref("Juan", None, None, True), "section")
    start = tree([("Rex", 0, ""), ("Vanda", 0, "+"), ("Dolores", 0, "+")])
    steps = search.search_click(goal, Seen(start))
    first = next(steps)
    target = first.actions[0]
    assert isinstance(target, Click) and target.target.point is not None
    assert abs(target.target.point.y * SIZE[1] - 52) < 6  # Vanda's marker: the top collapsed node
    opened = tree([("Rex", 0, ""), ("Vanda", 0, "-"), ("Kim", 20, "+"), ("Dolores", 0, "+")])
    second = steps.send(Seen(opened))
    assert second.actions[0].target.point is not None  # type: ignore[union-attr]
    assert abs(second.actions[0].target.point.y * SIZE[1] - 112) < 6  # type: ignore[union-attr]  # Dolores first
    third = steps.send(Seen(tree([("Rex", 0, ""), ("Vanda", 0, "-"), ("Kim", 20, "+"), ("Dolores", 0, "-"),
                                  ("Juan", 20, "")])))
    assert isinstance(third.actions[0], Click) and third.actions[0].target.description == "Juan"


def test_tree_search_gives_up_when_nothing_is_left_to_open() -> None:
    steps = search.search_click(SearchClickGoal(Ref("Juan", None, None, True), "section"),
                                Seen(tree([("Rex", 0, ""), ("Vanda", 0, "-")])))
    last = next(steps)
    assert isinstance(last.actions[0], Done) and last.actions[0].status == "impossible"
