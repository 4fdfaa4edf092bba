"""The candidate actions of a screen: clicks on its interactive elements, scrolls of its
scrollable containers, and back/home to leave it. Every candidate meets the safety guard
before the explorer may choose it; a blocked one is reported, never offered.

Each candidate has a `key` (stable for this screen across visits: role + normalized name, or
position for unnamed elements) and a `group` (actions that probably do the same kind of thing:
same app, role and resource id or class, e.g. every row of one list). The policy shares what
it learns about novelty within a group.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from guiagent.explore.graph import normalize_name
from guiagent.explore.instructions import MIN_SIDE, label_of
from guiagent.safety import Guard
from guiagent.schema import (
    Action,
    ActionClass,
    Back,
    Click,
    Element,
    Home,
    Observation,
    Point,
    Role,
    Scroll,
    Target,
)

_CLICK_ROLES = frozenset({Role.BUTTON, Role.CHECKBOX, Role.RADIO, Role.SWITCH, Role.LINK, Role.ICON,
                          Role.COMBOBOX, Role.LIST_ITEM, Role.MENU_ITEM, Role.TAB})
_GRID = 16


@dataclass(frozen=True)
class Candidate:
    key: str
    group: str
    action: Action
    element: Element | None = None
    escape: bool = False  # back / home: for dead ends and the depth limit

    @property
    def label(self) -> str:
        if self.element is not None and self.action.type == "click":
            return f"click {self.element.role.value} {label_of(self.element) or self.element.id!r}"
        return self.key


def _app(e: Element, foreground: str | None) -> str:
    return str(e.extras.get("package") or "") or (foreground or "").partition("/")[0]


def clickable(e: Element) -> bool:
    """Receives taps itself (not a label inside a clickable row: the row is the candidate)."""
    if not e.enabled or e.width < MIN_SIDE or e.height < MIN_SIDE:
        return False
    if isinstance(e.extras.get("click_target"), str):
        return False
    return e.clickable or e.editable or e.role in _CLICK_ROLES


def _where(e: Element, size: tuple[int, int]) -> str:
    cx, cy = e.center
    return f"@{int(cx * _GRID / max(size[0], 1))},{int(cy * _GRID / max(size[1], 1))}"


def enumerate_candidates(obs: Observation, supported: Iterable[ActionClass] = ()) -> list[Candidate]:
    """Every action worth trying on this screen (before the guard), in screen order.
    `supported`: the device's action classes (empty: every action)."""
    can = frozenset(supported)

    def ok(kind: ActionClass) -> bool:
        return not can or kind in can

    size = obs.screen_size
    out: list[Candidate] = []
    seen: dict[str, int] = {}

    def add(key: str, group: str, action: Action, element: Element | None = None, escape: bool = False) -> None:
        n = seen.get(key, 0)
        seen[key] = n + 1
        out.append(Candidate(key if n == 0 else f"{key}#{n + 1}", group, action, element, escape))

    for e in obs.elements:
        app = _app(e, obs.foreground)
        kind = str(e.extras.get("resource_id") or "") or str(e.extras.get("class") or "")
        if ok(Click) and clickable(e):
            name = normalize_name(label_of(e))
            point = Point.from_pixels(*e.center, size)
            key = f"click:{e.role.value}:{name or _where(e, size)}"
            add(key, f"click|{app}|{e.role.value}|{kind}", Click(target=Target(point=point)), e)
        if ok(Scroll) and e.extras.get("scrollable") and e.width >= 4 * MIN_SIDE and e.height >= 4 * MIN_SIDE:
            anchor = Target(point=Point.from_pixels(*e.center, size))
            for direction in ("down", "up"):
                add(f"scroll:{direction}:{kind or e.id}", f"scroll|{app}|{direction}|{kind}",
                    Scroll(direction=direction, amount=0.5, anchor=anchor), e)
    if ok(Back):
        add("back", "back", Back(), escape=True)
    if ok(Home):
        add("home", "home", Home(), escape=True)
    return out


class GuardFilter:
    """Runs the guard on candidates, caching verdicts per (action kind, role, label).

    `prewarm(labels)` is called once per screen with the labels not judged yet, so that a
    semantic matcher embeds them in one batch instead of one model call per label."""

    def __init__(self, guard: Guard, prewarm: Callable[[list[str]], None] | None = None) -> None:
        self.guard = guard
        self.prewarm = prewarm
        self._cache: dict[tuple[str, str, str], tuple[bool, str]] = {}

    @staticmethod
    def _key(cand: Candidate) -> tuple[str, str, str]:
        e = cand.element
        return cand.action.type, e.role.value if e else "", (e.label if e else cand.key)

    def check(self, cand: Candidate, obs: Observation) -> tuple[bool, str]:
        cache_key = self._key(cand)
        hit = self._cache.get(cache_key)
        if hit is None:
            decision = self.guard.check(cand.action, obs, cand.element)
            hit = (decision.verdict == "allow", decision.reason or decision.verdict)
            self._cache[cache_key] = hit
        return hit

    def split(self, cands: list[Candidate], obs: Observation) -> tuple[list[Candidate], dict[str, str]]:
        """(allowed candidates, {blocked key: reason})."""
        if self.prewarm is not None:
            fresh = [c.element.label for c in cands
                     if c.element is not None and c.element.label and self._key(c) not in self._cache]
            if fresh:
                self.prewarm(fresh)
        allowed, blocked = [], {}
        for c in cands:
            ok, reason = self.check(c, obs)
            if ok:
                allowed.append(c)
            else:
                blocked[c.key] = reason
        return allowed, blocked
