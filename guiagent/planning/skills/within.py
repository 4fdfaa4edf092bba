"""Click a target inside the item (a post, a row, a card) that shows an anchor text, on one,
N or all such items: "click Reply on all posts by @kasie", "find the email by Lyda and click
the trash icon".

The items are the bands between the list's horizontal boundaries (`grounding.items`); the
anchor is found by OCR; inside the anchor's band the target is a text (an element whose name
matches), an icon named by what it depicts (`grounding.icon_names`: the band's icons ranked
against the system theme's icon for the word), or, when neither shows, an entry of the
band's "more" menu. Items already done are remembered by position (followed through each
scroll by the measured shift of the texts) or, failing that, by their texts, so that a list
can be scrolled and every item visited once. Postcondition per click: the item's pixels changed, else
the effect is reported unverified (no repeat: these controls toggle).
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher

import numpy as np
from PIL import Image

from grounding.icon_names import best_icon, concepts_for, icon_candidates
from grounding.items import Band, band_at, horizontal_rules, rule_columns
from guiagent.planning.instructions import ClickGoal, Ref, WithinGoal
from guiagent.planning.skills.basic import POINTER
from guiagent.planning.skills.common import Attempt, Notes, Seen, Steps, named, norm, targets, visible
from guiagent.planning.skills.entries import next_page, value_of
from guiagent.planning.skills.pixels import Box, changed, full, point_at, px_box
from guiagent.planning.skills.verify import Check
from guiagent.schema import Action, Done, Element, Observation, Role, Scroll, Target

MAX_SCROLLS = 8
MAX_PAGES = 8  # pages of a paged list turned looking for the anchor


@dataclass(frozen=True)
class Item:
    anchor: Element
    band: Band
    box: Box  # in screenshot pixels
    key: tuple[str, ...]  # its texts but the anchor's: the same item after a scroll reads alike


def _inside(e: Element, box: Box, obs: Observation) -> bool:
    x0, y0, x1, y1 = px_box(obs, e.bbox)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return box[0] <= cx < box[2] and box[1] <= cy < box[3]


def shows(e: Element, anchor: Ref) -> bool:
    """`e`'s text names the anchor: its words, in order, inside the text ("Lane @kasie")."""
    want = norm(anchor.text)
    return bool(want) and f" {want} " in f" {norm(e.label)} "


def items(obs: Observation, anchor: Ref) -> list[Item]:
    """The items on screen that show `anchor`, top to bottom (one per band)."""
    img = obs.screenshot
    if img is None:
        return []
    boxes = [px_box(obs, e.bbox) for e in visible(obs) if e.label]
    rules = [r for r in horizontal_rules(img) if not _underline(img, r, boxes)]
    out: list[Item] = []
    for e in sorted((e for e in visible(obs) if e.label and shows(e, anchor)), key=lambda e: e.bbox[1]):
        x0, y0, x1, y1 = px_box(obs, e.bbox)
        band = band_at(rules, (y0 + y1) / 2, img.height)
        if any(it.band == band for it in out):
            continue
        box = band.box(img.width)
        texts = tuple(norm(x.label) for x in sorted(visible(obs), key=lambda x: x.bbox[1])
                      if x.role == Role.TEXT and x.label and x.id != e.id and _inside(x, box, obs)) or (norm(e.label),)
        out.append(Item(e, band, box, texts))
    return out


def _underline(img: Image.Image, y: int, boxes: Sequence[Box]) -> bool:
    """A line drawn under texts and no wider than them (a link's underline, with the glyphs
    beside it), not an item's border: the texts across `y` hold nearly all its columns."""
    cols = rule_columns(img, y)
    if not cols.any():
        return False
    under = np.zeros_like(cols)
    for b in boxes:
        if b[1] <= y <= b[3] + 3:
            under[max(0, b[0] - 4):max(0, b[2] + 4)] = True
    return float((cols & under).sum()) >= 0.9 * float(cols.sum())


@dataclass
class Visited:
    """The items done: where their anchor is on the current frame (moved along by each
    scroll's shift, measured from the texts seen before and after it), and their texts, for
    when a shift cannot be measured."""

    keys: list[tuple[str, ...]] = field(default_factory=list)
    ys: list[float] = field(default_factory=list)  # screenshot px on the current frame
    lost: bool = False  # a scroll moved the list by an unknown amount: compare texts
    step: float = 0.0  # the longest move of one scroll so far
    bottom: bool = False  # the last scroll moved less than half of that: the list's end shows

    def has(self, item: Item) -> bool:
        if any(item.band.top <= y < item.band.bottom for y in self.ys):
            return True
        return self.lost and any(same_item(item.key, k) for k in self.keys)

    def add(self, obs: Observation, item: Item) -> None:
        box = px_box(obs, item.anchor.bbox)
        self.keys.append(item.key)
        self.ys.append((box[1] + box[3]) / 2)

    def scrolled(self, before: Observation, after: Observation) -> None:
        shift = _shift(before, after)
        if shift is None:
            self.ys, self.lost = [], True
        else:
            self.ys = [y - shift for y in self.ys]
            self.bottom = 0 < shift < self.step / 2
            self.step = max(self.step, shift)


def _shift(before: Observation, after: Observation) -> float | None:
    """How far the content moved up, from the texts shown exactly once on both frames (names
    repeat from item to item, and a list's period makes their moves agree by chance): the
    move at least two such texts agree on, else None."""
    def once(obs: Observation) -> dict[str, int]:
        seen: dict[str, list[int]] = {}
        for e in obs.elements:
            if len(norm(e.label)) >= 4:
                seen.setdefault(norm(e.label), []).append(px_box(obs, e.bbox)[1])
        return {k: v[0] for k, v in seen.items() if len(v) == 1}
    a, b = once(before), once(after)
    moves = [a[k] - b[k] for k in a.keys() & b.keys()]
    votes = [(sum(abs(m - n) <= 4 for n in moves), m) for m in moves]
    best = max(votes, default=(0, 0))
    return float(best[1]) if best[0] >= 2 else None


def same_item(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Two readings of one item's texts (OCR varies a little between frames)."""
    return SequenceMatcher(None, " ".join(a), " ".join(b)).ratio() >= 0.8


def _texts_in(obs: Observation, box: Box) -> list[Element]:
    """The words inside `box`; OCR's reading of icons ("☆口", "••": a letter at most) is not one."""
    return [e for e in visible(obs) if sum(c.isalnum() for c in e.label) >= 2 and _inside(e, box, obs)]


def _icons(obs: Observation, item: Item) -> list[Box]:
    return icon_candidates(obs.screenshot, item.box, [px_box(obs, e.bbox) for e in _texts_in(obs, item.box)])


def locate(obs: Observation, item: Item, ref: Ref) -> tuple[Target | None, str]:
    """The target inside `item`: a text that names it, else the icon that depicts it.
    (None, why) when neither is there."""
    value = value_of(obs, ref, lambda e: _inside(e, item.box, obs) and e.id != item.anchor.id)
    if value is not None:  # "click their email": the value beside the label "Email:"
        return value, f"the value shown for {ref.text!r} in the item"
    inside = [e for e in visible(obs) if _inside(e, item.box, obs) and e.id != item.anchor.id]
    el = named(obs.model_copy(update={"elements": tuple(inside)}), ref)
    if el is not None:
        return Target(element=el.id, description=ref.describe()), f"{ref.describe()} is shown in the item"
    phrase = f"{ref.text} {ref.role or ''}"
    if not concepts_for(phrase):
        return None, f"nothing in the item is called {ref.text!r}"
    icons = _icons(obs, item)
    box = best_icon(obs.screenshot, icons, phrase)
    if box is None:
        return None, f"none of the item's {len(icons)} icon(s) clearly looks like {ref.text!r}"
    return Target(point=point_at(obs, box), description=ref.describe()), "the icon that looks most like it"


def _scroll(obs: Observation) -> Scroll:
    """A small step down (one wheel notch): an item must not pass by unseen in a short list view."""
    img = obs.screenshot
    box = (0, 0, img.width, img.height // 2) if img is not None else (0, 0, 1, 1)
    return Scroll(direction="down", amount=0.05, anchor=Target(point=point_at(obs, box), description="the list"))


def _click(goal: WithinGoal, target: Target) -> tuple[Action, ...]:
    return (POINTER[goal.kind](target=target),)


def _new_text(before: Observation, after: Observation) -> bool:
    """Some word that was not on the screen before (a menu's entries), icons' glyphs aside."""
    old = {norm(e.label) for e in before.elements}
    return any(len(norm(e.label)) > 3 and norm(e.label) not in old for e in after.elements if e.label)


def _menu_entry(obs: Observation, item: Item) -> Target | None:
    """The item's "more" menu button, for a target that is not shown (an entry of that menu)."""
    box = best_icon(obs.screenshot, _icons(obs, item), "more")
    return Target(point=point_at(obs, box), description="the item's more menu") if box is not None else None


LIST = "within:list"  # Notes.memory key: an item of the list this skill worked through


def below(goal: ClickGoal, seen: Seen, notes: Notes) -> bool:
    """After working through a list: the control named next is not on screen (a Submit
    button under the list, below the fold)."""
    return LIST in notes.memory and bool(goal.target.text) and named(seen.obs, goal.target) is None


def scroll_to(goal: ClickGoal, seen: Seen, notes: Notes) -> Steps:
    """Scroll the list down (a few notches at most) until the control shows, then click it."""
    notes.memory.pop(LIST, None)
    obs = seen.obs
    for _ in range(MAX_SCROLLS):
        if named(obs, goal.target) is not None:
            break
        seen = yield Attempt((_scroll(obs),), f"{goal.target.describe()} may be below the list")
        if seen.changed is False or not changed(obs, seen.obs, (0, 0, obs.screenshot.width, obs.screenshot.height)):
            obs = seen.obs
            break
        obs = seen.obs
    el = named(obs, goal.target)
    yield Attempt(tuple(POINTER[goal.kind](target=t) for t in targets(goal.target, el)),
                  check=Check("acted", f"clicking {goal.target.describe()} to have an effect"))


def within_click(goal: WithinGoal, seen: Seen, notes: Notes) -> Steps:
    """Each item showing the anchor, top to bottom, scrolling on until `goal.count` are done
    (all of them: until the list ends); a target shown nowhere in the item is looked for in
    the item's "more" menu."""
    want = goal.count
    done = Visited()
    scrolls = pages = 0
    obs = seen.obs
    what = f"{goal.target.describe()} in the item showing {goal.anchor.describe()}"
    while True:
        if not done.keys and not items(obs, goal.anchor) and pages < MAX_PAGES \
                and (turned := (yield from _turn_page(obs, goal.anchor))) is not None:
            pages += 1
            obs = turned
            continue
        fresh = [it for it in items(obs, goal.anchor) if not done.has(it)]
        failures: list[str] = []
        for item in fresh:
            target, why = locate(obs, item, goal.target)
            if target is None:
                failures.append(why)
                continue
            obs = yield from _click_checked(goal, obs, item, target, why, notes)
            notes.memory[LIST] = item.anchor
            done.add(obs, item)
            if 0 < want <= len(done.keys):
                return
            break
        else:
            named_only = not concepts_for(f"{goal.target.text} {goal.target.role or ''}")  # a word, no icon
            if failures and named_only and not done.keys and want == 1 \
                    and (menu := _menu_entry(obs, fresh[0])) is not None:
                # no "opened" check and no retry: a second click would close the menu again
                seen = yield Attempt((POINTER["click"](target=menu),), "it is not shown: opening the item's menu")
                if named(seen.obs, goal.target) is None and not _new_text(obs, seen.obs):
                    seen = yield Attempt((POINTER["click"](target=menu),), "the menu did not open: once more")
                for _ in range(2):  # the menu may open below the fold of a scrolled list
                    if named(seen.obs, goal.target) is not None:
                        break
                    seen = yield Attempt((_scroll(seen.obs),), "the menu's entries are below the fold")
                yield Attempt(tuple(POINTER[goal.kind](target=t) for t in targets(goal.target)),
                              "the entry of the item's menu", Check("acted", f"{what} to have an effect"))
                return
            if scrolls >= MAX_SCROLLS or done.bottom:
                yield from _end(goal, done, failures)
                return
            scrolls += 1
            before = obs
            seen = yield Attempt((_scroll(obs),), f"looking for more items showing {goal.anchor.describe()}")
            done.scrolled(before, seen.obs)
            obs = seen.obs
            if seen.changed is False or not changed(before, obs, (0, 0, obs.screenshot.width, obs.screenshot.height)):
                yield from _end(goal, done, failures)
                return


def _turn_page(obs: Observation, anchor: Ref) -> Generator[Attempt, Seen, Observation | None]:
    """A paged list whose page shows no item with the anchor: its "next" control, clicked
    (no repeat: a second click would skip a page). The new page, or None when there is no
    such control or the page did not change."""
    nxt = next_page(obs)
    if nxt is None:
        return None
    seen = yield Attempt((POINTER["click"](target=nxt),), f"no item on this page shows {anchor.describe()}: "
                                                          "turning to the next page")
    return seen.obs if seen.changed is not False and changed(obs, seen.obs, full(obs)) else None


def reveal(anchor: Ref, obs: Observation) -> Generator[Attempt, Seen, tuple[Observation, Item] | None]:
    """Bring an item showing `anchor` on screen: turn the pages of a paged list, else scroll
    it down, until one shows or nothing moves. (screen, item), or None."""
    pages = 0
    for _ in range(MAX_SCROLLS + MAX_PAGES):
        if found := items(obs, anchor):
            return obs, found[0]
        if pages < MAX_PAGES and (turned := (yield from _turn_page(obs, anchor))) is not None:
            pages, obs = pages + 1, turned
            continue
        if next_page(obs) is not None:
            return None  # the pager did not move: the last page
        seen = yield Attempt((_scroll(obs),), f"looking further down for an item showing {anchor.describe()}")
        if seen.changed is False or not changed(obs, seen.obs, full(obs)):
            return None
        obs = seen.obs
    return None


def _click_checked(goal: WithinGoal, obs: Observation, item: Item, target: Target, why: str,
                   notes: Notes) -> Generator[Attempt, Seen, Observation]:
    """Click, then check that the item's pixels changed. No second click when they did not:
    such controls toggle (a like, a star), and a repeat would undo the first; like the
    "acted" postcondition, an unseen effect is reported, not retried. Returns the new screen."""
    what = f"{goal.target.describe()} in the item showing {goal.anchor.describe()}"
    seen = yield Attempt(_click(goal, target), why)
    if not changed(obs, seen.obs, item.box):
        notes.lines.append(f"clicking {what} changed nothing visible in the item")
    return seen.obs


def _end(goal: WithinGoal, visited: Visited, failures: Sequence[str]) -> Steps:
    """The list is exhausted: success for "all" when at least one item was done, else say why."""
    done = visited.keys
    if goal.count == 0 and done:
        return
    if not done and failures:
        answer = f"I could not find {goal.target.describe()} in the item showing {goal.anchor.describe()}: {failures[0]}"
    elif not done:
        answer = f"no item on the screen shows {goal.anchor.describe()}"
    else:
        answer = f"only {len(done)} item(s) show {goal.anchor.describe()}, not {goal.count}"
    yield Attempt((Done(status="impossible", answer=answer),))
