"""How a description is read: role words, ordinals, relations, icon aliases, and the
lexical similarity of a description to a label (exact, OCR-folded, edit ratio, containment)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher

from guiagent.schema import Role

# Longest phrases first: "radio button" is a radio, not a button.
ROLE_WORDS: tuple[tuple[str, frozenset[Role]], ...] = tuple(
    (w, frozenset(r)) for w, r in (
        ("radio button", {Role.RADIO}), ("check box", {Role.CHECKBOX}), ("checkbox", {Role.CHECKBOX}),
        ("tick box", {Role.CHECKBOX}), ("text field", {Role.TEXT_FIELD}), ("text box", {Role.TEXT_FIELD}),
        ("textbox", {Role.TEXT_FIELD}), ("text area", {Role.TEXT_FIELD}), ("textarea", {Role.TEXT_FIELD}),
        ("input field", {Role.TEXT_FIELD}), ("input", {Role.TEXT_FIELD}), ("field", {Role.TEXT_FIELD}),
        ("entry", {Role.TEXT_FIELD}), ("box", {Role.TEXT_FIELD}), ("dropdown", {Role.COMBOBOX}),
        ("drop-down", {Role.COMBOBOX}), ("combo box", {Role.COMBOBOX}), ("combobox", {Role.COMBOBOX}),
        ("menu item", {Role.MENU_ITEM}), ("button", {Role.BUTTON}), ("btn", {Role.BUTTON}),
        ("link", {Role.LINK}), ("tab", {Role.TAB}), ("radio", {Role.RADIO}), ("switch", {Role.SWITCH}),
        ("toggle", {Role.SWITCH}), ("icon", {Role.ICON, Role.BUTTON}), ("slider", {Role.SLIDER}),
        ("image", {Role.IMAGE}), ("picture", {Role.IMAGE}), ("label", {Role.TEXT}),
    )
)
CONTROLS = frozenset({Role.TEXT_FIELD, Role.COMBOBOX, Role.CHECKBOX, Role.RADIO, Role.SWITCH})
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
            "eighth": 8, "ninth": 9, "tenth": 10, "last": -1}
# Relation phrase -> directions in which the wanted element may lie from the anchor.
RELATIONS: tuple[tuple[str, str], ...] = (
    ("to the right of", "right"), ("right of", "right"), ("to the left of", "left"), ("left of", "left"),
    ("next to", "beside"), ("beside", "beside"), ("after", "right"), ("below", "below"),
    ("under", "below"), ("beneath", "below"), ("above", "above"), ("near", "any"),
    ("labelled", "any"), ("labeled", "any"), ("for", "any"), ("of", "any"),
)
ALIASES = {
    "close": ("x", "×", "✕", "✖", "✗", "close", "dismiss"),
    "menu": ("≡", "☰", "menu", "hamburger"),
    "more": ("⋮", "⋯", "…", "...", "more", "more options"),
    "back": ("←", "‹", "<", "<-", "back", "navigate up"),
    "search": ("🔍", "search", "magnifier", "magnifying glass"),
    "ok": ("ok", "okay", "o.k."),
    "add": ("+", "add", "plus"),
}
_ALIAS_OF = {v: k for k, vs in ALIASES.items() for v in vs}
_OCR_FOLD = str.maketrans({"0": "o", "1": "l", "i": "l", "|": "l", "!": "l", "5": "s", "8": "b", "2": "z"})
_SIGN_FOLD = str.maketrans({"×": "*", "∗": "*", "⋅": "*", "·": "*", "÷": "/", "∕": "/", "−": "-", "–": "-",
                            "‐": "-", "＋": "+"})
_GENERIC = re.compile(r" (one|element|thing|item|control|widget|something) ")
_VERBS = ("double click", "double-click", "right click", "click on", "tap on", "click", "tap", "press",
          "hit", "push", "select", "choose", "open", "go to")


def normalize(text: str) -> str:
    """Casefolded words: punctuation and repeated spaces removed, icon glyphs named. A label
    of symbols only ("=", "+", "<-", "…") keeps its symbols (spaces dropped): it must match
    the same symbols, never an element whose name is blank. Blank text is ""."""
    raw = unicodedata.normalize("NFKC", text).strip().casefold()
    if raw in _ALIAS_OF:
        return _ALIAS_OF[raw]
    words = re.sub(r"[^\w\s]", " ", raw).split()
    if not words:  # arithmetic signs have typographic twins: "×" is the key labelled "*"
        return "".join(raw.split()).translate(_SIGN_FOLD)
    joined = " ".join(words)
    return _ALIAS_OF.get(joined, joined)


def sign_twin(raw: str) -> str | None:
    """The plain-keyboard sign for a symbol-only label written with a typographic one ("×" ->
    "*", "÷" -> "/", "−" -> "-"), when it differs from its normal form: "×" is also the close
    glyph, so the twin is an extra reading, not a replacement."""
    if not is_symbolic(raw):
        return None
    joined = "".join(unicodedata.normalize("NFKC", raw).split())
    twin = joined.translate(_SIGN_FOLD)
    return twin if twin != joined else None


def is_symbolic(text: str) -> bool:
    """True for a label made only of symbols (no letter or digit), e.g. "=", "×", "<-"."""
    return bool(text.strip()) and not re.search(r"\w", text)


@dataclass(frozen=True)
class Query:
    text: str  # the label part, normalized ("" when only a role/ordinal was given)
    raw: str  # the label part as written
    roles: frozenset[Role]
    ordinal: int | None
    relation: str | None  # direction from the anchor
    anchor: str  # normalized anchor label for relations ("the field next to Name")


def parse_query(description: str) -> Query:
    d = unicodedata.normalize("NFKC", description).strip()
    quoted = re.search(r"[\"'“‘«]([^\"'”’»]+)[\"'”’»]", d)
    label_raw = quoted.group(1).strip() if quoted else ""
    rest = (d[: quoted.start()] + " " + d[quoted.end():]) if quoted else d
    rest = " " + re.sub(r"\s+", " ", rest.casefold()).strip() + " "
    relation, anchor = None, ""
    for phrase, direction in RELATIONS:
        m = re.search(rf" {re.escape(phrase)} (.+)$", rest)
        if m and m.start() > 0:  # "the field next to Name": something must come before
            head = rest[: m.start()] + " "
            if not (any(re.search(rf" {re.escape(w)}s? ", head) for w, _ in ROLE_WORDS) or _GENERIC.search(head)):
                continue  # "Terms of service", "Continue after reading": a label, not a relation
            relation, anchor, rest = direction, m.group(1).strip(), " " + head.strip() + " "
            break
    for verb in _VERBS:
        if rest.startswith(f" {verb} "):
            rest = rest[len(verb) + 1:]
            break
    rest = re.sub(r"^ (the|a|an) ", " ", rest)
    ordinal = None
    m = re.match(r" (\d+)(st|nd|rd|th) ", rest) or re.match(rf" ({'|'.join(ORDINALS)}) ", rest)
    if m:
        ordinal = int(m.group(1)) if m.group(1).isdigit() else ORDINALS[m.group(1)]
        rest = rest[m.end() - 1:]
    roles: frozenset[Role] = frozenset()
    for word, rs in ROLE_WORDS:
        for pattern in (rf" {re.escape(word)}s? $", rf"^ {re.escape(word)}s? "):
            if re.search(pattern, rest):
                roles = rs
                rest = re.sub(pattern, " ", rest)
                break
        if roles:
            break
    if not quoted:
        label_raw = rest.strip()
        at = d.casefold().find(label_raw) if label_raw else -1
        if at >= 0:
            label_raw = d[at: at + len(label_raw)]  # keep the original case
    anchor = re.sub(r"^(the|a|an) ", "", anchor)
    for word, _ in ROLE_WORDS:  # "next to the Name label"
        anchor = re.sub(rf" {re.escape(word)}s?$", "", anchor)
    return Query(normalize(label_raw), label_raw, roles, ordinal, relation, normalize(anchor) if anchor else "")


def lexical_score(query: str, label: str) -> tuple[float, str]:
    """Similarity of two normalized strings in [0, 1] and how it was found."""
    if not query or not label:
        return 0.0, ""
    if query == label:
        return 1.0, "exact"
    fq, fl = query.translate(_OCR_FOLD), label.translate(_OCR_FOLD)
    if fq == fl:
        return 0.95, "fuzzy"
    best = 0.95 * SequenceMatcher(None, fq, fl, autojunk=False).ratio(), "fuzzy"
    qw, lw = fq.split(), fl.split()
    if _contains_words(lw, qw):  # every query word, in order, in a longer label
        best = max(best, (0.7 + 0.25 * len(fq) / len(fl), "contains"))
    elif len(fl) >= 3 and _contains_words(qw, lw):  # a short label inside a wordy query
        best = max(best, (0.55 + 0.35 * len(fl) / len(fq), "contains"))
    return best


def _contains_words(hay: list[str], needle: list[str]) -> bool:
    n = len(needle)
    return 0 < n < len(hay) and any(hay[i: i + n] == needle for i in range(len(hay) - n + 1))
