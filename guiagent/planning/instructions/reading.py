"""Reading text off the screen and using it: "find the 5th word in the paragraph, type it into
the textbox", "type the last word of the text area into the box", "note the 2nd line of the
text, then enter that in the field"; and "enter an item that starts with X" (an autocomplete
that is entered, i.e. submitted).

`reading_clause` reads one clause (None: not one of these, the ordinary grammar reads it);
`link_reads` hands a lone read to the typing that follows it ("..., type that into X")."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import cast

from guiagent.planning.instructions.clauses import Parsed, parse_clause, verb_of
from guiagent.planning.instructions.goals import (
    AutocompleteGoal,
    ClickGoal,
    CopyGoal,
    KeyGoal,
    ReadGoal,
    ReadUnit,
    Ref,
    SubGoal,
    TypeGoal,
)
from guiagent.planning.instructions.phrases import Masked, parse_ref

_WORDS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
          "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
          "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19, "twentieth": 20}
_NTH = (r"(?:\d+\s*(?:st|nd|rd|th)|" + "|".join(_WORDS) + ")")
# "the 5th", "the last", "the very last", "the second to last", "the penultimate", "the 2nd from the end"
_ORDINAL = (rf"(?:the\s+|a\s+)?(?:very\s+)?(?P<o>{_NTH}(?:[\s-]+(?:to|from)[\s-]+(?:the[\s-]+)?(?:last|end))?"
            r"|last|final|penultimate|next[\s-]+to[\s-]+last)")
_UNIT = r"(?P<u>words?|lines?|numbers?)"
_OF = r"(?:in|of|from|inside|within|on|shown in|written in)"
# "the 5th word in the paragraph" / "word number 5 of the text" / "the paragraph's last word"
_READ = re.compile(rf"^(?:{_ORDINAL}\s+{_UNIT}(?P<end>\s+(?:from|to)\s+the\s+(?:end|last|bottom))?"
                   rf"|(?:the\s+)?{_UNIT.replace('?P<u>', '?P<u2>')}\s+(?:number\s+|no\.?\s*|#)(?P<n>\d+))"
                   rf"(?:\s+{_OF}\s+(?P<src>.+))?$", re.I)
_POSSESSIVE = re.compile(rf"^(?P<src>(?:the\s+)?[\w\s-]+?)['’]s\s+{_ORDINAL}\s+{_UNIT}$", re.I)
# a source named by its kind: the paragraph / the text area, with a place word left out
_AREA = re.compile(r"(?:big\s+|large\s+|multi-?line\s+)?(?:text\s*area|text\s*box|box|text\s*field|field|input"
                   r"|editor|document|note)", re.I)
_PARAGRAPH = re.compile(r"(?:paragraph|passage|text(?:\s+block)?|block\s+of\s+text|sentences?|excerpt|quote"
                        r"|description|message|content)", re.I)
_PLACE = re.compile(r"\s+(?:above|below|underneath|here|shown|on\s+(?:the\s+)?(?:left|right|page|screen|top|bottom)"
                    r"|at\s+the\s+(?:top|bottom))$", re.I)
# what "type that into X" types: the value read before it
_PRONOUNS = re.compile(r"^(?:it|that|this|them|the (?:same )?(?:word|line|number|value|answer|result|text)"
                       r"|th(?:at|is) (?:word|line|number|value))$", re.I)
_FIND = re.compile(r"^(?:find|locate|read|note|get|identify|memori[sz]e|remember|look\s+(?:at|for|up))\s+", re.I)
_INTO = ("into|in to|inside", "in", "onto|on", "to")


def ordinal_of(phrase: str) -> int | None:
    """"5th" -> 5, "fifth" -> 5, "last" -> -1, "second to last" -> -2, "3rd from the end" -> -3."""
    s = " ".join(re.sub(r"[\s-]+", " ", phrase.lower()).split())
    if s in ("last", "final"):
        return -1
    if s in ("penultimate", "next to last"):
        return -2
    m = re.fullmatch(rf"(?P<n>{_NTH})(?: (?P<end>(?:to|from) (?:the )?(?:last|end)))?", s)
    if m is None:
        return None
    raw = m.group("n").replace(" ", "")
    n = _WORDS.get(raw) or int(re.sub(r"\D", "", raw))
    if n < 1:
        return None
    if m.group("end"):  # "2nd to last" is the one before the last; "2nd from the end" too
        return -n
    return n


def _unit(word: str) -> ReadUnit:
    w = word.lower().rstrip("s")
    return cast(ReadUnit, w if w in ("word", "line", "number") else "word")


def source_ref(t: Masked, phrase: str, part: str) -> Ref:
    """The text to read from: "the paragraph" (a block of text), "the text area" (a bordered
    box), with an ordinal ("the 2nd paragraph"), else whatever the phrase names."""
    s = _PLACE.sub("", phrase.strip().rstrip(".!?,; ")).strip()
    m = re.fullmatch(rf"(?:the\s+|this\s+|that\s+)?(?:(?P<o>{_NTH}|last)\s+)?(?:(?P<a>{_AREA.pattern})|(?P<p>"
                     rf"{_PARAGRAPH.pattern}))", s, re.I)
    if m is not None:
        n = ordinal_of(m.group("o")) if m.group("o") else None
        return Ref("", "text area" if m.group("a") else "paragraph", n)
    return parse_ref(t, s, part)


def _reading(t: Masked, phrase: str, part: str) -> ReadGoal | None:
    """"the 5th word in the paragraph" -> ReadGoal (no field yet); None when it is not one."""
    phrase = phrase.strip()
    if m := _READ.match(phrase):
        n = int(m.group("n")) if m.group("n") else ordinal_of(m.group("o"))
        if n is not None and m.group("end"):  # "the 4th word from the end"
            n = -abs(n)
        unit = m.group("u") or m.group("u2")
        src = m.group("src") or ""
    elif m := _POSSESSIVE.match(phrase):
        n, unit, src = ordinal_of(m.group("o")), m.group("u"), m.group("src")
    else:
        return None
    if n is None or n == 0:
        raise t.error(part, "which one? (e.g. 'the 3rd word', 'the last word')")
    # no source named: the text on the screen (its main block)
    return ReadGoal(source_ref(t, src, part) if src.strip() else Ref("", "text"), _unit(unit), n)


def reading_clause(t: Masked, clause: str) -> list[Parsed]:
    """One clause: a read ("find the last word in the text area"), a read typed into a field
    ("type the 2nd word of the paragraph into the box"), else the ordinary grammar; an
    autocomplete said with "enter" ("Enter an item that starts with 'An'") is submitted."""
    if (m := _FIND.match(clause)) and (goal := _reading(t, clause[m.end():], clause)) is not None:
        return [goal]
    verb = verb_of(clause)
    if verb is not None and verb[0] in ("type", "copy"):
        rest = verb[1]
        # the destination: "into X" before "in X" before "on X"..., the last one whose left part
        # still reads as a read ("the 2nd word in the text into the answer field")
        for prep in _INTO:
            for d in reversed(list(re.finditer(rf"\s+(?:{prep})\s+(?=\S)", rest, re.I))):
                if (goal := _reading(t, rest[: d.start()], clause)) is not None:
                    return [replace(goal, field=_field(parse_ref(t, rest[d.end():], clause)))]
        if verb[0] == "type" and (goal := _reading(t, rest, clause)) is not None:
            return [replace(goal, field=Ref("", "field"))]  # "enter the last word": into the field
    if verb is not None and verb[0] in ("copy", "paste") and (both := _transfer(t, verb[1], clause)) is not None:
        return both
    parsed = parse_clause(t, clause)
    if re.match(r"(?:enter|submit)\b", clause, re.I) and len(parsed) == 1 \
            and isinstance(auto := parsed[0], AutocompleteGoal):
        return [replace(auto, submit=True)]
    return parsed


_TEXT_OF = re.compile(r"^(?:all\s+)?(?:of\s+)?(?:the\s+)?(?:text|contents?|words?|value)\s+(?:in|of|from|inside)\s+", re.I)


def _transfer(t: Masked, rest: str, part: str) -> list[Parsed] | None:
    """"copy the text from A into B", "paste the contents of A into B": a copy and a paste.
    None when one end is missing or is "it" (the ordinary grammar reads those)."""
    for prep in ("into|in to|onto", "over to|to"):
        if hits := list(re.finditer(rf"\s+(?:{prep})\s+(?=\S)", rest, re.I)):
            src = _TEXT_OF.sub("", rest[: hits[-1].start()]).strip()
            if not src or _PRONOUNS.match(src) or re.fullmatch(r"(?:all\s+)?(?:the\s+)?(?:text|contents?)|all|everything",
                                                              src, re.I):
                return None
            return [CopyGoal(parse_ref(t, src, part)), CopyGoal(_field(parse_ref(t, rest[hits[-1].end():], part)), True)]
    return None


def _field(ref: Ref) -> Ref:
    return ref if ref.role else replace(ref, role="field")


def _submits(goal: SubGoal) -> bool:
    match goal:
        case KeyGoal(keys=("enter",)):
            return True
        case ClickGoal(target=ref):
            return bool(re.fullmatch(r"submit|ok|go|done|enter|send|save|search|continue", ref.text.strip(), re.I))
        case _:
            return False


def link_reads(t: Masked, goals: list[SubGoal]) -> list[SubGoal]:
    """A read with no field takes the typing that follows it when that types "it" / "that"
    ("find the 3rd word, type that into the box"), or a paste ("..., paste it into the box").
    An autocomplete submits itself only when the instruction does not say how."""
    out: list[SubGoal] = []
    for g in goals:
        prev = out[-1] if out else None
        if isinstance(prev, ReadGoal) and prev.field is None:
            if isinstance(g, TypeGoal) and _PRONOUNS.match(g.text.strip()):
                out[-1] = replace(prev, field=g.field or Ref("", "field"), submit=g.submit)
                continue
            if isinstance(g, CopyGoal) and g.paste:
                out[-1] = replace(prev, field=g.target)
                continue
        if isinstance(prev, AutocompleteGoal) and prev.submit and _submits(g):
            out[-1] = replace(prev, submit=False)  # "... and press Submit": said explicitly
        elif isinstance(g, TypeGoal) and _PRONOUNS.match(g.text.strip()) and not isinstance(prev, ReadGoal) \
                and any(isinstance(x, ReadGoal) for x in out):
            raise t.error(t.masked, f"{g.text!r} refers to a value read earlier, but something else came between")
        out.append(g)
    return out


__all__ = ["link_reads", "ordinal_of", "reading_clause", "source_ref"]
