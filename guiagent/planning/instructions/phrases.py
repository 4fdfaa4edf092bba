"""Quotes and noun phrases: the words of an instruction that name things on the screen.

Quoted spans are masked with placeholders first, so that no split and no pattern ever looks
inside them; they come back verbatim as values and names.
"""

from __future__ import annotations

import re

from guiagent.planning.instructions.goals import Ref
from guiagent.schema.errors import InstructionNotUnderstood

_QUOTES = {'"': '"', "“": "”", "„": "“", "'": "'", "‘": "’", "«": "»"}
PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")


class Masked:
    """An instruction with each quoted span replaced by a placeholder."""

    def __init__(self, text: str) -> None:
        self.original = text
        self.quotes: list[str] = []
        out, i = [], 0
        while i < len(text):
            ch = text[i]
            # an apostrophe inside a word ("Ada's", "don’t") is not a quote
            if ch in _QUOTES and not (ch in "'’" and i > 0 and text[i - 1].isalnum()):
                end = self._closing(text, i)
                if end < 0:
                    raise InstructionNotUnderstood(
                        f"I can't parse {text!r}: the quote {ch} opened at character {i + 1} is never closed")
                out.append(f"\ue000{len(self.quotes)}\ue001")
                self.quotes.append(text[i + 1 : end])
                i = end + 1
                continue
            out.append(ch)
            i += 1
        self.masked = "".join(out)

    @staticmethod
    def _closing(text: str, i: int) -> int:
        closer = _QUOTES[text[i]]
        for j in range(i + 1, len(text)):
            if text[j] == closer or (text[i] == "“" and text[j] == "“"):
                if closer in "'’" and j + 1 < len(text) and text[j + 1].isalnum():
                    continue  # "'Ada's book'": that one is an apostrophe
                return j
        return -1

    def unmask(self, s: str) -> str:
        return PLACEHOLDER.sub(lambda m: self.quotes[int(m.group(1))], s)

    def only_quote(self, s: str) -> str | None:
        """The quoted text when `s` is exactly one quoted span."""
        m = PLACEHOLDER.fullmatch(s.strip())
        return self.quotes[int(m.group(1))] if m else None

    def error(self, part: str, why: str) -> InstructionNotUnderstood:
        return InstructionNotUnderstood(f"I can't parse {self.unmask(part).strip()!r}: {why}")


_ROLES: tuple[tuple[str, str], ...] = (
    (r"text ?fields?|text ?box(?:es)?|text ?areas?|text ?inputs?|input ?(?:fields?|box(?:es)?)|inputs?|fields?"
     r"|edit ?box(?:es)?|search ?bar|boxes|box", "field"),
    (r"check ?box(?:es)?", "checkbox"),
    (r"radio(?: ?buttons?)?", "radio"),
    (r"buttons?|btns?", "button"),
    (r"(?:hyper)?links?", "link"),
    (r"tabs?", "tab"),
    (r"switch(?:es)?|toggles?", "switch"),
    (r"icons?", "icon"),
    (r"menu ?items?|options?|items?|entry|entries", "item"),
    (r"sections?|headers?|headings?", "section"),
    (r"drop-?downs?|lists?|combo ?box(?:es)?|select ?box(?:es)?|menus?", "list"),
    (r"images?|pictures?", "image"),
)
_ROLE_RE = "|".join(f"(?P<r{i}>{pat})" for i, (pat, _) in enumerate(_ROLES))
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
             "eighth": 8, "ninth": 9, "tenth": 10, "last": -1}
_NUMBERS = {"a": 1, "an": 1, "one": 1, "once": 1, "two": 2, "twice": 2, "three": 3, "thrice": 3, "four": 4,
            "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}
_DET = re.compile(r"^(?:the|a|an|this|that|your|my|its|their)\s+", re.I)
_PLACE = re.compile(r"\s+(?:(?:in|on|inside|within|at|from|of)\s+the\s+(?:dialog(?:\s+box)?|page|screen|form"
                    r"|window|pop-?up|modal|top|bottom|toolbar|panel|footer)|below|above|here)\b", re.I)
_NAMING = re.compile(r"\b(?:labell?ed|named|called|titled|that says|saying|reading"
                     r"|with (?:the )?(?:text|label|name)|next to|beside|near)\s+(?P<n>.+)$", re.I)
_KIND = re.compile(r"(?:folder|file|directory|node|item|entry|element|thing|one|email|message|post|user|row|word"
                   r"|person|contact|product|page)s?(?:\s+or\s+(?:a\s+)?(?:folder|file|directory|node|item|entry"
                   r"|element|thing|one)s?)?", re.I)
PRONOUN = Ref("it")  # "click it": resolved to the last thing named


def _role_of(m: re.Match[str]) -> str:
    return next(role for i, (_, role) in enumerate(_ROLES) if m.group(f"r{i}"))


_AREA = re.compile(r"\s*text ?areas?\s*", re.I)
_INPUT = re.compile(r"\s*(?:text|(?:text ?)?inputs?(?: ?fields?)?)\s*", re.I)


def field_lines(words: str) -> bool | None:
    """A field's role words -> multi-line (a text area), single-line (a text input), or either."""
    return True if _AREA.fullmatch(words) else False if _INPUT.fullmatch(words) else None


def strip_det(s: str) -> str:
    return _DET.sub("", s.strip()).strip()


def ordinal(word: str) -> int | None:
    w = word.lower()
    if w in _ORDINALS:
        return _ORDINALS[w]
    m = re.fullmatch(r"(\d+)(?:st|nd|rd|th)", w)
    return int(m.group(1)) if m else None


def count(word: str) -> int | None:
    w = word.lower()
    return int(w) if w.isdigit() else _NUMBERS.get(w)


def items(s: str) -> list[str]:
    """'A, B and C' -> [A, B, C] (quoted commas are masked, hence safe)."""
    return [p for p in re.split(r"\s*,\s*(?:and\s+)?|\s+and\s+", s.strip()) if p]


def parse_ref(t: Masked, phrase: str, part: str) -> Ref:
    """A noun phrase -> Ref: "the 'ok' button", "button ONE", "the 2nd input box",
    "the button in the dialog box labeled 'Cancel'", "Tab #2", "the checkbox next to Remember me"."""
    s = re.sub(r"^(?:on|onto|at|upon|into|in)\s+", "", phrase.strip().rstrip(".!?,; "), flags=re.I)
    name: str | None = None
    if m := _NAMING.search(s):
        name, s = m.group("n"), s[: m.start()]
    s = _PLACE.sub("", s).strip()
    bare = strip_det(s)
    determined = bare != s
    s, position = bare, None
    first, _, rest = s.partition(" ")
    if (o := ordinal(first)) is not None and rest:
        position, s, determined = o, rest, True
    if name is None and (m := re.fullmatch(r"(?P<k>\S+)\s+(?:widget|element|control)s?", s, re.I)):
        kind = t.unmask(m.group("k"))  # 'a "checkbox" widget': the quoted word is a kind, not a name
        if (r := re.fullmatch(rf"(?:{_ROLE_RE})", kind, re.I)) or kind.lower() == "text":
            kind_role = _role_of(r) if r else "field"
            return Ref(role=kind_role, ordinal=position,
                       multiline=field_lines(kind) if kind_role == "field" else None)
    role: str | None = None
    role_words = ""
    if m := re.search(rf"(?:^|\s)(?:{_ROLE_RE})$", s, re.I):
        role_words = m.group(0)
        # a bare capitalised role word is a name ("click Options"), "the options" is a role
        if not (m.start() == 0 and not determined and s[:1].isupper() and not name):
            role, s = _role_of(m), s[: m.start()]
    elif m := re.match(rf"(?:{_ROLE_RE})\s+", s, re.I):
        role_words = m.group(0)
        if re.fullmatch(r"#\d+", s[m.end():].strip()):  # "Tab #2" is a name
            role = _role_of(m)
        else:
            role, s = _role_of(m), s[m.end():]
    if name is None:
        name = strip_det(s)
    elif s.strip() and not _KIND.fullmatch(strip_det(s)):  # "the folder or file named X": a kind, fine
        raise t.error(part, f"what is {t.unmask(s.strip())!r} here?")
    quoted = t.only_quote(name)
    text = quoted if quoted is not None else t.unmask(name).strip()
    if quoted is None and text.lower() in {"it", "them", "this", "that"} and role is None:
        return PRONOUN
    if not (text or role or position):
        raise t.error(part, "it does not say what to act on")
    lines = field_lines(role_words) if role == "field" else None
    return Ref(text=text, role=role, ordinal=position, quoted=quoted is not None, multiline=lines)
