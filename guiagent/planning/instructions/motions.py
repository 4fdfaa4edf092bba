"""Clauses about keys, waits, scrolls and drags in a direction: "press ctrl+s", "wait 2 seconds",
"scroll down twice", "drag the item left"."""

from __future__ import annotations

import re

from pydantic import ValidationError

from guiagent.planning.instructions.goals import (
    BackGoal,
    ClickGoal,
    HomeGoal,
    KeyGoal,
    NudgeGoal,
    ScrollGoal,
    SubGoal,
)
from guiagent.planning.instructions.phrases import Masked, count, parse_ref, strip_det
from guiagent.schema import Key, ScrollDirection

_KEYBOARD = frozenset({"enter", "tab", "escape", "backspace", "delete", "space", "up", "down", "left", "right",
                       "pageup", "pagedown", "end", "insert", "ctrl", "alt", "shift", "meta"}
                      | {f"f{i}" for i in range(1, 13)})


def key_or_click(t: Masked, rest: str, part: str) -> SubGoal:
    """"press ctrl+s" / "hit Enter twice" are keys; "press Submit" / "press login" are clicks."""
    times = 1
    if (m := re.search(r"\s+(?:(?P<n>\w+)\s+times|(?P<w>twice|thrice|once))$", rest, re.I)) and \
            (n := count(m.group("n") or m.group("w"))) is not None:
        times, rest = n, rest[: m.start()]
    s = strip_det(rest)
    said_key = re.search(r"\s+keys?$", s, re.I) is not None
    s = re.sub(r"\s+(?:key|keys|button)$", "", s, flags=re.I)
    if re.fullmatch(r"home|back", s, re.I):
        return HomeGoal() if s.lower() == "home" else BackGoal()
    quoted = t.only_quote(s)
    chord = quoted if quoted is not None else re.sub(r"\s*\+\s*", "+", t.unmask(s)).strip()
    if chord and " " not in chord:
        try:
            keys = Key.model_validate({"keys": chord}).keys  # the validator splits "ctrl+s"
        except ValidationError:
            keys = ()
        # device keys ("search", "camera", "menu") only when called keys: 'press "Search"' is a button
        if keys and (said_key or len(keys) > 1 or all(k in _KEYBOARD or len(k) == 1 for k in keys)):
            return KeyGoal(keys, times)
    if times != 1:
        raise t.error(part, f"{chord!r} is not a key")
    return ClickGoal(parse_ref(t, rest, part))


def seconds(t: Masked, rest: str, part: str) -> float:
    s = rest.lower().strip()
    if s in ("", "a moment", "a bit", "a little", "a second", "briefly", "for a moment", "for a second"):
        return 1.0
    m = re.fullmatch(r"(?:for\s+)?(?P<n>\d+(?:\.\d+)?|\w+)\s*(?P<u>ms|milliseconds?|s|secs?|seconds?|m|mins?"
                     r"|minutes?)?", s)
    n = (float(m.group("n")) if m.group("n")[0].isdigit() else count(m.group("n"))) if m else None
    if m is None or n is None:
        raise t.error(part, "wait how long? (e.g. 'wait 2 seconds')")
    unit = (m.group("u") or "s").lower()
    seconds = n / 1000 if unit.startswith(("ms", "milli")) else n * 60 if unit[0] == "m" else n
    if seconds > 60:
        raise t.error(part, "waits over 60 seconds are not supported")
    return float(seconds)


_DIRECTIONS: dict[str, ScrollDirection] = {"up": "up", "down": "down", "left": "left", "right": "right"}


def scroll_goal(t: Masked, rest: str, part: str) -> ScrollGoal:
    s, anchor = rest, None
    if m := re.search(r"(?:^|\s+)(?:in|on|within|inside|over)\s+(?P<a>.+)$", s, re.I):
        anchor, s = parse_ref(t, m.group("a"), part), s[: m.start()]
    m = re.fullmatch(r"(?P<d>up|down|left|right)?\s*(?:(?P<n>\w+)\s+times|(?P<w>twice|thrice|once))?\s*"
                     r"(?P<how>a (?:bit|little)|(?:by )?(?:a|one|half a) page|to the (?:bottom|top|end|start))?",
                     s.strip(), re.I)
    n = count(m.group("n") or m.group("w") or "1") if m else None
    if m is None or n is None:
        raise t.error(part, "scroll which way (up, down, left, right) and how many times?")
    how = (m.group("how") or "").lower()
    direction = _DIRECTIONS[(m.group("d") or ("up" if how.endswith(("top", "start")) else "down")).lower()]
    amount = (5.0 if how.startswith("to the") else 0.25 if "page" not in how and how
              else 1.0 if "page" in how and "half" not in how else 0.5)
    return ScrollGoal(direction, n, amount, anchor)


# "drag the item left", "move the shape up", "drag the box to the right", "slide it downwards a bit";
# "to the top / bottom" is a place in a list (moves.py), not a direction
_NUDGE = re.compile(r"^(?:drag(?:\s+and\s+drop)?|move|slide|push|pull|shift|nudge)\s+(?P<s>.+?)\s+"
                    r"(?:(?:to(?:wards)?|over\s+to)\s+the\s+(?P<side>left|right)(?:\s+side)?|(?P<d>left|right|up|down)"
                    r"(?:wards?)?)(?:\s+(?:a\s+(?:bit|little)(?:\s+bit)?|slightly|some(?:\s+distance)?|a\s+few\s+pixels))?$",
                    re.I)
_THING = re.compile(r"(?:the\s+|a\s+|an\s+|that\s+|this\s+)?(?:(?:single|only|one|lone|draggable|movable)\s+)*"
                    r"(?:(?P<c>[\w#]+)(?:[\s-]+colou?red)?\s+)?(?P<n>item|shape|object|thing|box|square|circle|triangle"
                    r"|rectangle|block|piece|ball|element|figure|icon|dot|tile|card|it)$", re.I)


def nudge_goal(t: Masked, clause: str) -> NudgeGoal | None:
    """A drag in a direction, else None: "drag the item left" (the one movable thing drawn),
    "move the red circle up" (the red one), "drag Ada to the right" (a named thing)."""
    from grounding.colors import is_color

    m = _NUDGE.match(" ".join(clause.strip().rstrip(".!").split()))
    if m is None:
        return None
    direction = _DIRECTIONS[(m.group("side") or m.group("d")).lower()]
    thing = m.group("s")
    if (k := _THING.fullmatch(thing)) is not None:
        color = (k.group("c") or "").lower()
        if not color or is_color(color):
            return NudgeGoal(direction, color=color)
    return NudgeGoal(direction, source=parse_ref(t, thing, clause))
