"""Slot filling: one sentence carrying values for several labelled fields, each described by
what it is ("action movies directed by Burris from year 1973" for the fields Genre, Director,
Year; "1973 as the year, Burris for the director"; "the postal code 75001").

Each candidate value scores against each field by the words that describe it: the word
before it ("year 1973", "directed by Burris"), the word after it ("action movies", "1973 as
the year"; not one that opens the next phrase: "Burris from year ..."), matched to the
field's label by stem or by MiniLM meaning, and by the value's own shape (a 4-digit year, an
email). A word that reads more like the label than its neighbour does is the description,
not the value ("movies" in "action movies"). Values then go into fields one-to-one by an
optimal assignment (`grounding.form.assign`), never first-come first-served. The fields and
their labels come from `grounding.form.form_labels`: a label left of, above, below or inside
(a placeholder) its field, decided for the whole form at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from guiagent.planning.instructions import Ref, TypeGoal
from guiagent.planning.skills.common import Attempt, Seen, Steps, norm, text_fields, visible
from guiagent.planning.skills.interrupt import sole_button
from guiagent.planning.skills.verify import Check
from guiagent.schema import Click, Done, Element, Key, Observation, Role, Target, TypeText

_FUNCTION = frozenset(["a", "an", "the", "by", "from", "of", "for", "in", "on", "at", "to", "with", "and", "or", "is",
                       "are", "was", "be", "named", "called", "titled", "as", "that", "which", "who", "whose", "its",
                       "their", "his", "her", "set", "equal", "equals", "should", "must", "=", ":", "-", ",", ";"])
_OPENERS = frozenset({"by", "from", "with", "of", "in", "on", "at", "to", "and", "or", ",", ";"})  # open a phrase
_BREAKS = frozenset({"and", "or", ",", ";"})  # end one
_TOKEN = re.compile(r"\"[^\"]*\"|“[^”]*”|(?<!\w)'[^']*'(?!\w)|[\w@.'/:+-]+|[=:,;]")
_BY = "author director creator maker"  # what "by X" says X is
_MEANING_FLOOR = 0.45  # MiniLM cosine of a describing word and a label that says something
_MIN = 0.3  # below this a value and a field have nothing to do with each other
_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(1[0-9]|20)\d\d"), "year date"),
    (re.compile(r"[^@\s]+@[^@\s]+\.\w+"), "email address"),
    (re.compile(r"\d{1,2}:\d\d(\s*[ap]m)?", re.I), "time"),
    (re.compile(r"\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}"), "date"),
    (re.compile(r"\+?[\d ()-]{7,}"), "phone number"),
    (re.compile(r"-?\d+(\.\d+)?"), "number amount"),
    (re.compile(r"[A-Z][\w'-]+(?:\s+[A-Z][\w'-]+)+"), "full name"),  # "Ada Lovelace": a proper name
)


@dataclass(frozen=True)
class _Span:
    start: int
    end: int  # exclusive
    text: str
    quoted: bool

    @property
    def value_like(self) -> bool:
        """A number, a name, an email, a quoted text: never a word that describes a field."""
        t = self.text
        return self.quoted or any(c.isdigit() for c in t) or "@" in t or (
            t[:1].isupper() and (self.start > 0 or self.end - self.start > 1))


def _tokens(text: str) -> list[tuple[str, bool]]:
    """(token, quoted) pairs; a quoted span is one token, its quotes removed."""
    out = []
    for m in _TOKEN.finditer(text):
        tok = m.group(0)
        if tok[:1] in "\"“'" and len(tok) >= 2:
            out.append((tok[1:-1], True))
        elif tok in (",", ";"):
            out.append((tok, False))
        elif tok.strip("."):
            out.append((tok.rstrip("."), False))
    return [(t, q) for t, q in out if t or q]


def _spans(tokens: list[tuple[str, bool]]) -> list[_Span]:
    """Candidate values: content words, a run of capitalised words as one name ("Ada Lovelace")."""
    out: list[_Span] = []
    i = 0
    while i < len(tokens):
        tok, quoted = tokens[i]
        if not quoted and tok.casefold() in _FUNCTION:
            i += 1
            continue
        j = i + 1
        if not quoted and tok[:1].isupper():
            while j < len(tokens) and not tokens[j][1] and tokens[j][0][:1].isupper():
                j += 1
        out.append(_Span(i, j, " ".join(t for t, _ in tokens[i:j]), quoted))
        i = j
    return out


def _stem(a: str, b: str) -> float:
    """1 for the same word, 0.9 for a shared stem ("directed", "director"), else 0."""
    if a == b:
        return 1.0
    prefix = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return 0.9 if prefix >= 5 or (prefix >= 4 and prefix == min(len(a), len(b))) else 0.0


def _stem_score(label: str, phrase: str) -> float:
    """How much of the label the phrase says, word by word ("first name" is all of First name,
    half of Last name): the mean over the label's words, at least 0.75 of the best word."""
    parts = [w for w in norm(label).split() if w not in _FUNCTION] or norm(label).split()
    said = norm(phrase).split()
    best = [max((_stem(p, w) for w in said), default=0.0) for p in parts]
    if not best or not max(best):
        return 0.0
    return max(sum(best) / len(best), 0.75 * max(best))


def fill_slots(text: str, labels: list[str]) -> dict[int, str]:
    """Field index -> value, for the fields the sentence gives a value for."""
    from grounding import semantic
    from grounding.form import assign

    tokens = _tokens(text)
    spans = _spans(tokens)
    if not labels or not spans:
        return {}
    valued = {i for s in spans if s.value_like for i in range(s.start, s.end)}

    def plain(i: int) -> bool:
        return 0 <= i < len(tokens) and i not in valued and tokens[i][0].casefold() not in _FUNCTION

    def context(s: _Span) -> list[tuple[str, float]]:
        """(describing phrase, weight): the word or two before the value, the word or two
        after it. The word after weighs less when a link word opens a new phrase ("Burris
        from year": the year's), the word before when it is plain and adjacent ("thriller
        films": the head noun "films" describes, "thriller" is the value)."""
        out = []
        i, links = s.start - 1, set()
        while i >= 0 and not tokens[i][1] and tokens[i][0].casefold() in _FUNCTION:
            links.add(tokens[i][0].casefold())
            i -= 1
        if "by" in links and not links & _BREAKS:
            out.append((_BY, 1.0))  # "by Nolan": who made it
        if plain(i):
            w = 0.35 if links & _BREAKS else 0.6 if i == s.start - 1 and not s.value_like else 1.0
            if "by" in links and not tokens[i][0].casefold().endswith(("ed", "en")):
                w = min(w, 0.5)  # "directed by Burris" says what Burris is; "films by Nolan" does not
            out.append((tokens[i][0], w))
            if plain(i - 1):
                out.append((f"{tokens[i - 1][0]} {tokens[i][0]}", w))
        j, links = s.end, set()
        while j < len(tokens) and not tokens[j][1] and tokens[j][0].casefold() in _FUNCTION:
            links.add(tokens[j][0].casefold())
            j += 1
        if plain(j):
            w = 0.35 if links & _OPENERS else 1.0
            out.append((tokens[j][0], w))
            if plain(j + 1):
                out.append((f"{tokens[j][0]} {tokens[j + 1][0]}", w))
        return out

    phrases = sorted({p for s in spans for p, _ in context(s) if " " not in p or p == _BY} |
                     {s.text for s in spans if not s.value_like})
    hints = sorted({h for s in spans for p, h in _SHAPES if p.fullmatch(s.text)})
    sim: dict[tuple[str, str], float] = {}
    for lab in labels:
        if norm(lab) and (phrases or hints):
            got = semantic.similarity(norm(lab), phrases + hints)
            sim.update({(lab, w): float(v) for w, v in zip(phrases + hints, got, strict=True)})

    def cue(phrase: str, lab: str) -> float:
        if phrase == _BY:
            return sim.get((lab, phrase), 0.0)
        if " " in phrase:  # two words count only together ("first name"), else each alone
            label_words = norm(lab).split()
            whole = all(any(_stem(p, w) for p in label_words) for w in norm(phrase).split())
            return _stem_score(lab, phrase) if whole else 0.0
        meaning = sim.get((lab, phrase), 0.0)  # below the floor MiniLM relates most words a little
        return max(_stem_score(lab, phrase), meaning if meaning >= _MEANING_FLOOR else 0.0)

    def score(s: _Span, lab: str) -> float | None:
        own = 0.0 if s.value_like else _stem_score(lab, s.text)  # "genre action": "genre" names the field
        best = max((w * c for word, w in context(s) if (c := cue(word, lab)) > own), default=0.0)
        for p, hint in _SHAPES:
            if p.fullmatch(s.text):
                best = max(best, 0.8 * sim.get((lab, hint), 0.0))
                break
        best *= 1.0 if s.value_like else 0.7  # a plain word is a value only when well described
        return best if best >= _MIN else None

    named = [f for f, lab in enumerate(labels) if norm(lab)]
    table = [[score(s, labels[f]) for s in spans] for f in named]
    out = {named[r]: j for r, j in assign(table).items()}
    # a field whose label could not be read takes what nothing else took: a value first, else
    # the earliest word that describes no value and names no field
    described = {w for j in out.values() for p, _ in context(spans[j]) for w in p.split()}
    left = [j for j, s in enumerate(spans) if j not in out.values() and s.text not in described
            and not any(_stem_score(lab, s.text) >= 0.75 for lab in labels if norm(lab))]
    left.sort(key=lambda j: (not spans[j].value_like, j))
    for f in (f for f, lab in enumerate(labels) if not norm(lab)):
        if left:
            out[f] = left.pop(0)
    return {f: spans[j].text for f, j in out.items()}


def unplaced(text: str, values: dict[int, str]) -> list[str]:
    """The values in `text` (numbers, names, quoted texts) that no field took: a value for a
    field the form does not have."""
    taken = set(values.values())
    return [s.text for s in _spans(_tokens(text)) if s.value_like and s.text not in taken]


def labelled_fields(obs: Observation) -> list[tuple[Element, str]]:
    """Each text field with its label, in reading order: its own (a11y) name, else the text
    that labels it on the form, wherever it stands (`grounding.form.form_labels`); "" for a
    field whose label could not be read."""
    from grounding.form import form_labels

    found = {fl.field.id: fl.label for fl in form_labels(obs, visible(obs)) if fl.label}
    return [(f, found.get(f.id, "")) for f in text_fields(obs)]


def wants_slots(goal: TypeGoal, obs: Observation) -> bool:
    """Values for several fields in one text, aimed at a field no label names: a search with
    no search box, or "fill in the address with the postal code 75001, the country France..."
    on a form whose labels are the parts of the whole."""
    fields = labelled_fields(obs)
    if goal.field is None or len(fields) < 2 or not any(label for _, label in fields):
        return False
    wanted = norm(goal.field.text)
    if goal.field.ordinal is not None or (not wanted and goal.field.role == "field"):
        return False  # "the 2nd text box": a place, not a description
    if wanted == "search":
        from grounding.text_matcher import field_left_of

        shown = visible(obs)
        labelled = any("search" in norm(e.label) and (e.role == Role.TEXT_FIELD or e.editable) for e in shown)
        # a search box is usually unlabelled, named by the Search button on its right
        beside = any("search" in norm(e.label) and field_left_of(e, frozenset({Role.TEXT_FIELD}), shown,
                                                                 obs.screen_size[0]) is not None for e in shown)
        return not (labelled or beside)
    if wanted and any(label and (wanted in norm(label) or norm(label) in wanted) for _, label in fields):
        return False
    # the text gives values for at least two of the fields
    return len(fill_slots(goal.text, [label for _, label in fields])) >= 2


def _relocate(field: Element, obs: Observation) -> Element | None:
    """The same field on a later screen: the input that covers most of where it was (ids
    change when the screen is read again; a focused field's ring changes its box)."""
    def cover(e: Element) -> int:
        a, b = e.bbox, field.bbox
        return max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))

    pool = [e for e in visible(obs) if (e.role == Role.TEXT_FIELD or e.editable) and cover(e) > 0]
    best = max(pool, key=cover, default=None)
    return best if best is not None and cover(best) >= 0.5 * field.width * field.height else None


def slot_fill(goal: TypeGoal, seen: Seen) -> Steps:
    fields = labelled_fields(seen.obs)
    values = fill_slots(goal.text, [label for _, label in fields])
    if lost := unplaced(goal.text, values):
        yield Attempt((Done(status="impossible", answer=f"no field on the form takes {', '.join(map(repr, lost))} "
                            f"(fields: {', '.join(label or '(unlabelled)' for _, label in fields)})"),))
        return
    for f, value in sorted(values.items(), key=lambda t: (fields[t[0]][0].bbox[1], fields[t[0]][0].bbox[0])):
        first, label = fields[f]
        field = _relocate(first, seen.obs) or first
        ref = Ref(label, "field")
        # replace whatever is there: a retry must never append a second copy
        by_id = TypeText(text=value, target=Target(element=field.id, description=ref.describe()), clear=True)
        by_place = TypeText(text=value, target=Target(point=seen.obs.point_of(field), description=ref.describe()),
                            clear=True)
        check = Check("holds", f"{ref.describe()} to hold {value!r}", text=value, where=field)
        seen = yield Attempt((by_id, by_place), f"{value!r} is the {label or 'value left for the unlabelled field'}",
                             check)
    if goal.submit:
        button = sole_button(seen.obs, Ref("submit", "button")) or next(
            (e for e in visible(seen.obs) if e.role == Role.BUTTON and norm(e.label) in ("submit", "search", "go")), None)
        if button is not None:
            yield Attempt((Click(target=Target(element=button.id, description=button.label)),),
                          "the form's button", Check("acted", "submitting the form to have an effect"))
        else:
            yield Attempt((Key(keys=("enter",)),), "submitting the form")


def finish_form(seen: Seen) -> Steps:
    """Submit a filled form through its Submit button; nothing when the screen shows none
    (or several): the instruction never asked for it in words."""
    buttons = [e for e in visible(seen.obs) if e.role == Role.BUTTON and norm(e.label) == "submit"]
    if len(buttons) == 1:
        yield Attempt((Click(target=Target(element=buttons[0].id, description="Submit")),),
                      "a filled form is done when it is submitted", Check("acted", "submitting the form"))


def relabelled(goal: TypeGoal, obs: Observation) -> Element | None:
    """The field the goal names by its label, when the form read as a whole gives that label
    to a field that does not carry it as its name (the parser names a field after the text
    just above it: on a form whose labels stand below their fields, the previous one's)."""
    ref = goal.field
    if ref is None or ref.ordinal is not None or not norm(ref.text) or ref.role not in (None, "field"):
        return None
    wanted = norm(ref.text)
    hits = [f for f, label in labelled_fields(obs) if norm(label) == wanted]
    if len(hits) != 1:
        return None
    named = [f for f in visible(obs) if (f.role == Role.TEXT_FIELD or f.editable) and norm(f.name) == wanted]
    return None if any(f.id == hits[0].id for f in named) else hits[0]  # the name agrees: the grounder finds it


def type_by_label(goal: TypeGoal, seen: Seen) -> Attempt:
    field = relabelled(goal, seen.obs)
    assert field is not None and goal.field is not None
    desc = goal.field.describe()
    where = seen.obs.point_of(field)
    actions = tuple(TypeText(text=goal.text, target=t, submit=goal.submit, clear=bool(field.value))
                    for t in (Target(element=field.id, description=desc), Target(point=where, description=desc)))
    check = Check("acted", f"typing into {desc} to have an effect") if goal.submit \
        else Check("holds", f"{desc} to hold {goal.text!r}", text=goal.text, where=field)
    return Attempt(actions, f"the form's layout gives the label {goal.field.text!r} to this field", check)
