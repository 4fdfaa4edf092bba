"""The Nth item of a list of results that may span pages ("click the 5th search result"):
count the results of the page in reading order (a result: a title link at the list's left
edge with a line of text under it, its url or description); when N is beyond them, go to the
next page (its number, else "next" / ">", else the last link of the pager row) and count on."""

from __future__ import annotations

import re

from guiagent.planning.instructions import ClickGoal
from guiagent.planning.skills.basic import simple
from guiagent.planning.skills.common import Attempt, Seen, Steps, norm, reading_order, text_fields, visible
from guiagent.planning.skills.pixels import scale as pixel_scale
from guiagent.planning.skills.verify import Check
from guiagent.schema import Click, Element, Observation, Role, Target

_RESULT = re.compile(r"(?:(?:in|of|from|among|on) )?(?:the )?(?:search )?(?:results?|hits?)(?: (?:list|page))?")
_NEXT = {">", ">>", "»", "›", "next", "next page", "more", "more results"}
_MAX_PAGES = 10


def wants(goal: ClickGoal) -> bool:
    """A click on the Nth (search) result, or the Nth link "in the results"."""
    ref = goal.target
    return goal.kind == "click" and ref.ordinal is not None and ref.ordinal > 0 \
        and ref.role in (None, "link", "item") and bool(_RESULT.fullmatch(norm(ref.text)))


def titles(obs: Observation) -> list[Element]:
    """The result titles below the search field, in reading order."""
    fields = text_fields(obs)
    top = fields[-1].bbox[3] - 2 if fields else 0
    shown = visible(obs)
    links = [e for e in shown if e.role == Role.LINK and e.bbox[1] >= top and len(norm(e.label)) >= 2
             and re.search(r"[^\W\d_]", e.label)]
    if not links:
        return []
    left = min(e.bbox[0] for e in links)
    texts = [e for e in shown if e.role == Role.TEXT and e.label.strip()]

    def has_line_below(e: Element) -> bool:
        return any(0 <= t.bbox[1] - e.bbox[3] + 8 <= e.height + 8 and t.bbox[0] < e.bbox[2] for t in texts)

    return reading_order([e for e in links if e.bbox[0] - left <= 12 and has_line_below(e)])


def next_page(obs: Observation, results: list[Element], page: int, want: int) -> list[tuple[Target, int]]:
    """Where to click for the next pages and the page each leads to, best first: a "next" /
    ">" link, the wanted page's number, the next number; from pixels, the last word drawn in
    the links' colour on the pager row (its ">"); the right end of the last pager link."""
    below = results[-1].bbox[3] if results else 0
    pager = [e for e in visible(obs) if e.role == Role.LINK and e not in results and e.center[1] > below - 4]
    out = [(Target(element=e.id, description=e.label), page + 1) for e in pager
           if e.label.strip().casefold() in _NEXT or norm(e.label) in _NEXT]
    for number in dict.fromkeys((want, page + 1)):
        out += [(Target(element=e.id, description=e.label), number) for e in pager if e.label.strip() == str(number)]
    if (spot := _last_link_word(obs, results)) is not None:
        out.append((spot, page + 1))
    if pager:
        low = max(e.center[1] for e in pager)
        last = max((e for e in pager if abs(e.center[1] - low) <= e.height), key=lambda e: e.bbox[0])
        w, h = obs.screen_size  # the last glyph of a link OCR read as one ("23>")
        out.append((Target.at(max(last.center[0], last.bbox[2] - last.height / 4) / w, last.center[1] / h), page + 1))
    return out


def _last_link_word(obs: Observation, results: list[Element]) -> Target | None:
    """The rightmost word of the lowest row drawn below the results in the titles' colour."""
    from grounding.items import colour_clusters, ink

    img = obs.screenshot
    sx, sy = pixel_scale(obs)
    t = results[0]
    colour = ink(img, (round(t.bbox[0] * sx), round(t.bbox[1] * sy), round(t.bbox[2] * sx), round(t.bbox[3] * sy)))
    if colour is None:
        return None
    words = colour_clusters(img, (0, round(results[-1].bbox[3] * sy) + 2, img.width, img.height), colour)
    if not words:
        return None
    low = max(b[3] for b in words)
    x0, y0, x1, y1 = max((b for b in words if b[3] >= low - 10 * sy), key=lambda b: b[0])
    return Target.at((x0 + x1) / 2 / img.width, (y0 + y1) / 2 / img.height)


def nth_result(goal: ClickGoal, seen: Seen) -> Steps:
    """Click the title of the Nth result, paging on while N lies beyond the results shown (a
    click that did not turn the page: the next way to turn it). Postcondition: each click had
    an effect. Without any result on screen, the plain click."""
    n = goal.target.ordinal or 1
    obs, counted, page, per, way = seen.obs, 0, 1, 0, 0
    before: tuple[list[str], int, int] | None = None  # the titles, count and page before the last turn
    for _ in range(_MAX_PAGES):
        found = titles(obs)
        if not found:
            break
        if before is not None and [e.label for e in found] == before[0]:  # the page did not turn
            _, counted, page = before
            way += 1
        else:
            way = 0
        per = per or len(found)
        if n - counted <= len(found):
            el = found[n - counted - 1]
            yield Attempt((Click(target=Target(element=el.id, description=el.label)),
                           Click(target=Target(description=el.label))),
                          f"result {n} is {el.label!r} (result {n - counted} of page {page})",
                          Check("acted", f"clicking result {n} to have an effect"))
            return
        ways = next_page(obs, found, page, (n - 1) // per + 1)
        if way >= len(ways):
            break
        where, lands = ways[way]
        before = ([e.label for e in found], counted, page)
        seen = yield Attempt((Click(target=where),),
                             f"page {page} shows results {counted + 1}-{counted + len(found)}; going to page {lands}")
        counted = counted + len(found) if lands == page + 1 else (lands - 1) * per
        obs, page = seen.obs, lands
    yield from simple(goal, Seen(obs))
