"""Form filling said in one breath: several values, each with its own description, for the
fields of one form. The sentence becomes one typing sub-goal aimed at "the form"; the slot
filler (`planning.skills.slots`) maps its values to the labelled fields on the screen.

    "Fill in the form: director Burris, year 1973, genre action"
    "Enter 1973 as the year, Burris as the director and action as the genre"
    "Set the year to 1973, the director to Burris and the genre to action"
    "Fill in year: 1973, director: Burris"
    "Type Burris into the director field and 1973 into the year field, then press Go"
    "Log in with username 'ada' and password 'secret1'"
    "Look up thriller films by Nolan released in 2010"

Anything else is left to the ordinary grammar (None).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from guiagent.planning.instructions.goals import (
    AutocompleteGoal,
    DateTimeGoal,
    FinishFormGoal,
    Ref,
    SelectGoal,
    SetToggleGoal,
    SliderGoal,
    SpinGoal,
    SubGoal,
    TypeGoal,
)

_TYPE = r"(?:please\s+)?(?:enter|type|input|put|set|fill\s+in|write)"
_SEND = r"(?:log\s*in|login|sign\s+in|sign\s+up|register|subscribe)"
_LOOK = r"(?:search(?:\s+for)?|look\s+(?:up|for)|find|browse(?:\s+for)?|query)"
# "Fill in the form: director Burris, year 1973", "complete the search fields with ..."
_FORM = re.compile(r"(?:please\s+)?(?:fill(?:\s+(?:in|out))?|complete)\s+(?:(?:the|this|a)\s+)?(?:[\w-]+\s+)?"
                   r"(?:form|fields|details|entries)\s*(?:with|using|:)\s*(?P<rest>.+)$", re.I | re.S)
_TAIL = re.compile(r"(?:,\s*|\s+)(?:and\s+)?then\s+|,\s*(?:and\s+)?(?=(?:press|click|hit|tap|submit)\b)"
                   r"|\s+and\s+(?=(?:press|click|hit|tap|submit)\b)", re.I)
# "X as the year", "X for the director", "X into the year field", "X in the Name box"
_PAIR = re.compile(r"\S+\s+(?:as|for|into|in)\s+(?:the\s+|a\s+)?[\w-]+(?:\s+[\w-]+)?(?:\s+(?:field|box|input))?"
                   r"(?=\s*(?:,|;|\band\b|$))", re.I)
# "the year to 1973" (after "set"), "year: 1973", "year=1973"
_TO_PAIR = re.compile(r"\b[\w-]+\s+to\s+\S+(?=\s*(?:,|;|\band\b|$))", re.I)
_KEYED = re.compile(r"\b[A-Za-z][\w-]*\s*[:=]\s*\S+")
_QUOTED = re.compile(r"\"[^\"]*\"|“[^”]*”|(?<!\w)'[^']*'(?!\w)")
# a typing verb again inside the sentence: clauses that each say their own field ("type 'Ada' into
# First name, type 'ada@x.org' into E-mail") are the ordinary grammar's, not one form goal
_AGAIN = re.compile(rf"(?:[,;]|\band\b|\bthen\b)\s*(?:then\s+)?{_TYPE}\s", re.I)
# "find the email by Ada and forward it to Bob": finding is a step before another action, not a
# query (typed into a search box, that sentence would look done while nothing was forwarded)
_THEN_ACT = re.compile(r"(?:,|\band\b|\bthen\b)\s+(?:then\s+)?(?:forward|reply|respond|send|delete|archive|share"
                       r"|mark|star|flag|remove|move|save|print|download|call|message|add|create|edit|rename|go"
                       r"|click|tap|open|select|type|enter|press|choose|pick|tick|check|copy|paste)\b", re.I)
_FILL = re.compile(r"(?:please\s+)?(?:fill(?:\s+(?:in|out))?|complete)\s+(?P<rest>.+)$", re.I | re.S)
_VALUE = re.compile(r"\"[^\"]+\"|'[^']+'|\b\d[\w/.:-]*|\b\S+@\S+|(?<=\s)[A-Z][\w'-]+(?:\s+[A-Z][\w'-]+)*")


def _values(text: str) -> int:
    return len(_VALUE.findall(" " + text))


def form_fill(instruction: str, parse: Callable[[str], list[SubGoal]]) -> list[SubGoal] | None:
    """The sub-goals of a form-filling sentence, or None when it is not one. `parse` reads the
    tail ("then press Go")."""
    text = instruction.strip().rstrip(".!")
    head, tail = text, ""
    if m := _TAIL.search(text):
        head, tail = text[: m.start()], text[m.end():]
    goal: TypeGoal | None = None
    if m := _FORM.match(head):
        goal = TypeGoal(m.group("rest"), Ref("form", "field"))
    elif (m := re.match(rf"{_TYPE}\s+(?P<rest>.+)$", head, re.I | re.S)) and not _AGAIN.search(m.group("rest")):
        rest = m.group("rest")
        bare = _QUOTED.sub("Q", rest)  # a quoted value is one word: nothing inside it is a pair
        pairs = _TO_PAIR.findall(bare) if re.match(r"(?:please\s+)?set\b", head, re.I) else _PAIR.findall(bare)
        if max(len(pairs), len(_KEYED.findall(bare))) >= 2:  # two values, each said where it goes
            goal = TypeGoal(rest, Ref("form", "field"))
    elif (m := _FILL.match(head)) and len(_KEYED.findall(_QUOTED.sub("Q", m.group("rest")))) >= 2:
        goal = TypeGoal(m.group("rest"), Ref("form", "field"))  # "fill in year: 1973, genre: action"
    elif m := re.match(rf"{_SEND}\s+(?:with|using|as)\s+(?P<rest>.+)$", head, re.I | re.S):
        if _values(m.group("rest")) >= 2:
            goal = TypeGoal(m.group("rest"), Ref("form", "field"), submit=True)
    elif m := re.match(rf"{_LOOK}\s+(?P<rest>.+)$", head, re.I | re.S):
        rest = m.group("rest")
        if _values(rest) >= 2 and not re.search(r"\b(?:click|tap|open|select)\b", rest, re.I) \
                and not _THEN_ACT.search(rest):
            goal = TypeGoal(rest, Ref("search", "field"), submit=True)
    if goal is None:
        return None
    return [goal, *(parse(tail) if tail.strip() else [])]


# goals that put a value into a form
_FILLS = (TypeGoal, SetToggleGoal, SelectGoal, DateTimeGoal, SliderGoal, SpinGoal, AutocompleteGoal)
# what says how (or whether) the form ends
_ENDS = re.compile(r"\b(?:submit\w*|press\w*|click\w*|hit|tap\w*|send|save|search|look|find|log\s*in|login|sign"
                   r"|register|enter\s+key|return\s+key|don'?t|do\s+not|without)\b", re.I)


def finish_form(goals: list[SubGoal], instruction: str) -> list[SubGoal]:
    """`goals`, and the form's submission when they only fill a form and the instruction says
    nothing of how it ends ("Check the 3rd radio button and enter '-3' into the 1st textbox").
    The skill presses a Submit button only when the screen shows one."""
    if not goals or not all(isinstance(g, _FILLS) and not getattr(g, "submit", False) for g in goals):
        return goals
    if _ENDS.search(instruction):
        return goals
    return [*goals, FinishFormGoal()]
