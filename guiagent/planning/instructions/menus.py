"""Menu clauses: a path of menu items ("select File > Save As", "click Open in the File menu",
"choose Copy from the Edit menu") and "open the X menu and click Y" folded into one path."""

from __future__ import annotations

import re
from typing import TypeVar

from guiagent.planning.instructions.goals import ClickGoal, MenuGoal
from guiagent.planning.instructions.phrases import Masked, parse_ref

MENU_PATH = re.compile(r"\s*(?:>|→|->|»)\s*")
# "Open in the File menu", "'Save As' from the menu File", "Copy under Edit menu"
_IN_MENU = re.compile(r"^(?P<item>.+?)\s+(?:in|from|under|on|of|inside|within)\s+(?:the\s+)?"
                      r"(?:(?P<a>.+?)\s+(?:sub-?)?menu|(?:sub-?)?menu\s+(?P<b>.+?))$", re.I)
_MENU_WORD = re.compile(r"\s+(?:sub-?)?menu$", re.I)


# "the File menu", "the menu File", "File > Open": a menu named (not a "Menu" button)
_NAMES_MENU = re.compile(r"\bthe\s+(?:\S+\s+){1,3}?(?:sub-?)?menu\b|\bthe\s+(?:sub-?)?menu\s+\S|\w\s*(?:>|→|->|»)\s*\w",
                         re.I)


def names_menu(instruction: str) -> bool:
    """The instruction speaks of a menu (the menu grammar reads it, not the anchored-item one:
    "Open in the File menu" is no item "showing" File)."""
    return bool(_NAMES_MENU.search(instruction))


_UNNAMED = re.compile(r"(?:the\s+)?(?:drop-?down|context|pop-?up|this|that|right-?click|main|the)?", re.I)


def menu_goal(t: Masked, kind: str, rest: str, clause: str) -> MenuGoal | None:
    """The menu path a click / select / open clause names ("File > Open", "Open in the File
    menu", "the File menu"), or None when it names none."""
    rest = rest.strip()
    if kind in ("click", "select") and MENU_PATH.search(rest):
        steps = [s for s in MENU_PATH.split(rest) if s.strip()]
        return MenuGoal(tuple(parse_ref(t, s, clause) for s in steps)) if len(steps) >= 2 else None
    if kind in ("click", "select") and (m := _IN_MENU.match(rest)):
        menu = (m.group("a") or m.group("b") or "").strip()
        if not _UNNAMED.fullmatch(menu):
            return MenuGoal((parse_ref(t, menu, clause), parse_ref(t, m.group("item"), clause)))
    if kind in ("click", "open") and (m := _MENU_WORD.search(rest)) and not _UNNAMED.fullmatch(rest[: m.start()]):
        return MenuGoal((parse_ref(t, rest[: m.start()], clause),))  # "open the File menu"
    return None


G = TypeVar("G")


def fold_menus(goals: list[G]) -> list[G | MenuGoal]:
    """A menu opened (a one-step MenuGoal) and a click that follows it: one path."""
    out: list[G | MenuGoal] = []
    for g in goals:
        prev = out[-1] if out else None
        if isinstance(prev, MenuGoal) and prev.opened_only and isinstance(g, ClickGoal) and g.kind == "click":
            out[-1] = MenuGoal((*prev.path, g.target))
        elif isinstance(prev, MenuGoal) and prev.opened_only and isinstance(g, MenuGoal) and not g.opened_only:
            out[-1] = MenuGoal((*prev.path, *g.path)) if g.path[0] != prev.path[-1] else g
        else:
            out.append(g)
    return out
