"""Clauses that name things by their colour: "click on the red colored box", "press the green
button", "click the yellow one", "tick every blue square", "select all the shades of red",
"click the #ff8800 tile". A colour word (grounding.colors.COLOR_WORDS) or "#rrggbb" before a
word for a drawn thing (box, square, tile, button, one, circle, ...) or said of it ("the box
that is red", "the square colored blue"). A colour alone ("click Red") stays a name."""

from __future__ import annotations

import re

from grounding.colors import COLOR_WORDS
from guiagent.planning.instructions.goals import ColorGoal

_COLOR = r"(?P<c>" + "|".join(sorted(COLOR_WORDS, key=len, reverse=True)) + r"|#[0-9a-f]{6}|#[0-9a-f]{3})"
_TINT = r"(?:[\s-]+(?:colou?red|tinted|shaded|coloured))?"
_NOUNS = (r"box(?:es)?|squares?|tiles?|buttons?|ones?|circles?|shapes?|items?|blocks?|rectangles?|cells?|swatch(?:es)?"
          r"|dots?|things?|objects?|elements?|patch(?:es)?|cards?|triangles?|areas?|regions?|spots?|marks?|icons?")
_NOUN = rf"(?P<n>{_NOUNS})"
_VERB = (r"(?:(?:please\s+)?(?:(?:find|locate)\s+and\s+)?(?:click|tap|press|push|hit|touch|select|choose|pick|tick|check"
         r"|mark|toggle|highlight)(?:\s+on)?)\s+")
_ALL = r"(?P<all>all(?:\s+of)?|every|each(?:\s+of)?|any)\s+"
_DET = r"(?:the\s+|a\s+|an\s+|that\s+|this\s+)?"
_SHADES = re.compile(rf"^{_VERB}(?:{_ALL})?{_DET}(?:different\s+|various\s+)?(?:shades?|tones?|tints?|hues?|variants?)"
                     rf"\s+of\s+{_COLOR}(?:\s+{_NOUN})?$", re.I)
# "the red colored box", "all the blue squares", "every green one"
_BEFORE = re.compile(rf"^{_VERB}(?:{_ALL})?{_DET}{_COLOR}{_TINT}\s+{_NOUN}$", re.I)
# "the box that is red", "all the squares colored blue", "the one in yellow", "the box with the color red"
_AFTER = re.compile(rf"^{_VERB}(?:{_ALL})?{_DET}{_NOUN}\s+(?:(?:that|which)\s+(?:is|are)\s+(?:colou?red\s+)?"
                    rf"|(?:colou?red|painted|filled(?:\s+with)?|in)\s+|(?:with|of|having)\s+(?:the\s+)?colou?r\s+)"
                    rf"{_COLOR}$", re.I)


def _plural(noun: str) -> bool:
    return noun.lower().endswith("s")  # none of the nouns ends in s when singular


def color_clause(clause: str) -> list[ColorGoal] | None:
    """The colour goal a clause asks for, else None (the ordinary grammar reads it)."""
    s = " ".join(clause.strip().rstrip(".!").split())
    if m := _SHADES.match(s):
        return [ColorGoal(m.group("c").lower(), every=True, shades=True, noun=(m.group("n") or "").lower())]
    m = _BEFORE.match(s) or _AFTER.match(s)
    if m is None:
        return None
    noun = m.group("n").lower()
    every = bool(m.group("all")) or _plural(noun)
    return [ColorGoal(m.group("c").lower(), every=every, noun=noun)]
