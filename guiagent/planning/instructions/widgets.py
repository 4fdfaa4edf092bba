"""Clauses that set a widget's value: sliders, spinners, dates and times.

    "select -2 with the slider", "move the slider to 6", "set the volume to 30%",
    "use the slider to pick 7", "select 5 using the spinner", "set the quantity spinner to 3",
    "enter 6:15 AM as the time", "set the time to 12:26 am", "select 12/16/2016 as the date",
    "choose 12/01/2016 in the date picker", "type 10/02/2020 into the date field",
    "set the sliders to the combination [8,2,9]", "move the three sliders to 8, 2 and 9"

`widget_goals` answers None for a clause that is none of these (the general grammar reads it),
and refuses a "set ..." / "use ..." clause it cannot read (no other rule knows those verbs).
"""

from __future__ import annotations

import re

from guiagent.planning.instructions.goals import DateTimeGoal, Ref, SliderGoal, SpinGoal, SubGoal
from guiagent.planning.instructions.phrases import Masked, parse_ref

_NUMBER = r"[-+−–]?\s?\d+(?:[.,]\d+)?\s?%?"
_TIME = r"\d{1,2}:\d{2}(?::\d{2})?(?:\s?[ap]\.?\s?m\.?)?"
_MONTHS = r"jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec"
_DATE = (rf"\d{{1,2}}[/.-]\d{{1,2}}[/.-]\d{{2,4}}|\d{{4}}[/.-]\d{{1,2}}[/.-]\d{{1,2}}"
         rf"|(?:{_MONTHS})[a-z]*\.?\s\d{{1,2}}(?:st|nd|rd|th)?,?\s\d{{4}}"
         rf"|(?:the\s)?\d{{1,2}}(?:st|nd|rd|th)?\s(?:of\s)?(?:{_MONTHS})[a-z]*\.?,?\s\d{{4}}")
_VALUE = rf"(?P<v>\ue000\d+\ue001|{_DATE}|{_TIME}|{_NUMBER})"
_SLIDER = r"(?:range\s)?slider|range(?:\s(?:control|input))?|scale|track ?bar"
_SPINNER = r"spinner|spin\s?(?:box|button|control)|stepper|number\s(?:spinner|picker|input|field|box)"
_DATE_W = r"date(?:\s?(?:picker|field|input|box|selector))?|calendar|day"
_TIME_W = r"time(?:\s?(?:picker|field|input|box|selector))?|clock"
_PICK = r"select|choose|pick|set|enter|type|input|put|fill in|specify|give|use|slide|move|drag|adjust|change"
_SET = r"set|move|slide|drag|adjust|change|turn|put|bring|update"
_THE = r"(?:the\s+|a\s+|an\s+)?"
_LABEL = r"(?P<l>[^,]*?\s)??"  # the widget's own name before its kind: "the volume slider"

# "select V with the slider" / "enter V as the time" / "choose V in the date picker"
_WITH = re.compile(rf"^(?:{_PICK})\s+(?:the\s+)?(?:value\s+|number\s+)?{_VALUE}\s+(?:with|using|on|in|into|via|from|"
                   rf"as|for|at)\s+{_THE}{_LABEL}(?P<w>{_SLIDER}|{_SPINNER}|{_DATE_W}|{_TIME_W})$", re.I)
# "set the slider to V", "move the volume slider to V", "set the time to V", "set the volume to 30%"
_TO = re.compile(rf"^(?:{_SET})\s+{_THE}(?P<x>.+?)\s+(?:to|at|as)\s+(?:the\s+)?(?:value\s+)?{_VALUE}$", re.I)
# "use the slider to select V", "use the date picker to choose V"
_USE = re.compile(rf"^use\s+{_THE}{_LABEL}(?P<w>{_SLIDER}|{_SPINNER}|{_DATE_W}|{_TIME_W})\s+to\s+(?:{_PICK})"
                  rf"\s+(?:the\s+)?(?:value\s+|number\s+)?{_VALUE}$", re.I)
# "enter the date 12/16/2016", "set the time 6:15 PM" (no preposition)
_BARE = re.compile(rf"^(?:{_PICK})\s+{_THE}(?P<w>{_DATE_W}|{_TIME_W})\s+(?:of\s+)?{_VALUE}$", re.I)

# "set the sliders to the combination [8,2,9]", "move the three sliders to 8, 2 and 9", "set slider
# values to 8, 2, 9": one value per slider, in screen order
_N = r"[-+−–]?\d+(?:\.\d+)?%?"
_MULTI = re.compile(rf"^(?:{_SET})\s+(?:all\s+)?(?:the\s+|their\s+)?(?:\w+\s+)?(?:(?:range\s)?sliders|scales|track ?bars"
                    rf"|(?:range\s)?sliders?'?\s+values)\s+(?:to|at|as)\s+(?:the\s+)?(?:(?:combination|values?|numbers?"
                    rf"|positions?|settings?|sequence)\s+(?:of\s+)?)?[\[(]?\s*(?P<vs>{_N}(?:\s*(?:,\s*and|,|;|/|and)\s*{_N})+)"
                    rf"\s*[\])]?$", re.I)


def _sliders(t: Masked, text: str) -> list[SubGoal] | None:
    """One slider goal per value of a "set the sliders to 8, 2 and 9" clause: the n-th value
    for the n-th slider in reading order."""
    if (m := _MULTI.match(text)) is None:
        return None
    values = re.findall(_N, t.unmask(m.group("vs")))
    return [SliderGoal(v.replace("−", "-").replace("–", "-"), Ref(ordinal=i + 1)) for i, v in enumerate(values)]


def _kind(word: str, value: str) -> str:
    """"slider", "spinner", "date" or "time" by the widget's word, else by the value ("set the
    volume to 30%", "set the alarm to 7:30 PM"); "" when neither says."""
    by_word = (("slider", _SLIDER), ("spinner", _SPINNER), ("date", _DATE_W), ("time", _TIME_W))
    by_value = (("time", _TIME), ("date", _DATE))
    for kind, rx, text in [(k, r, word) for k, r in by_word] + [(k, r, value) for k, r in by_value]:
        if re.fullmatch(rx, text, re.I):
            return kind
    return "slider" if value.endswith("%") or re.search(r"\b(?:volume|brightness|level|zoom|speed)\b", word, re.I) else ""


def _goal(t: Masked, clause: str, kind: str, value: str, label: str | None) -> SubGoal | None:
    value = re.sub(r"\s+", " ", t.unmask(value)).strip().replace("−", "-").replace("–", "-")
    ref = parse_ref(t, label.strip(), clause) if label and label.strip() else None
    if kind == "slider":
        return SliderGoal(value.replace(" ", ""), ref)
    if kind == "spinner":
        return SpinGoal(value.replace(" ", ""), ref)
    if kind == "time" and re.fullmatch(_TIME, value, re.I):
        return DateTimeGoal(value, "time", ref)
    if kind == "date" and re.fullmatch(_DATE, value, re.I):
        return DateTimeGoal(value, "date", ref)
    return None


def widget_goals(t: Masked, clause: str) -> list[SubGoal] | None:
    """The sub-goal of a clause that sets a slider, spinner, date or time; None otherwise."""
    text = clause.strip()
    if (several := _sliders(t, text)) is not None:
        return several
    for rx in (_WITH, _USE, _BARE):
        if m := rx.match(text):
            label = m.group("l") if "l" in rx.groupindex else None
            goal = _goal(t, clause, _kind(m.group("w"), m.group("v")), m.group("v"), label)
            return [goal] if goal is not None else None
    if m := _TO.match(text):
        x = m.group("x").strip()
        w = re.search(rf"(?:^|\s)(?P<w>{_SLIDER}|{_SPINNER}|{_DATE_W}|{_TIME_W})$", x, re.I)
        label = x[: w.start()].strip() if w else x
        kind = _kind(w.group("w") if w else x, t.unmask(m.group("v")).strip())
        if not kind and re.match(r"(?:set|adjust|change|update)\b", text, re.I):
            kind = "spinner"  # "set the quantity to 3": a number field named so (typed, read back)
        if kind and (goal := _goal(t, clause, kind, m.group("v"), label or None)) is not None:
            return [goal]
    if re.match(r"(?:set|adjust|slide|change|use)\b", text, re.I):  # verbs only this grammar reads
        raise t.error(clause, "set what to what? (e.g. 'set the slider to 5', 'set the time to 6:15 PM')")
    return None
