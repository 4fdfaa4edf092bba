"""Slot filling: one sentence carrying values for several labelled fields, each described by
what it is ("action movies directed by Burris from year 1973" for the fields Genre, Director,
Year). Each field label finds its cue word in the sentence (the same word, or the nearest in
meaning by MiniLM), the value is the word after the cue (before it when the next word is
another field's cue: "action movies directed"), and a field without a cue takes the
leftover word nearest to its label."""

from __future__ import annotations

import re

from guiagent.planning.instructions import Ref, TypeGoal
from guiagent.planning.skills.basic import typing
from guiagent.planning.skills.common import Attempt, Seen, Steps, norm, text_fields, visible
from guiagent.planning.skills.interrupt import sole_button
from guiagent.planning.skills.verify import Check
from guiagent.schema import Click, Done, Element, Key, Observation, Role, Target, TypeText

_FUNCTION = frozenset(["a", "an", "the", "by", "from", "of", "for", "in", "on", "at", "to", "with", "and", "or", "is", "are", "was", "named", "called", "titled", "as", "that", "which", "who", "whose"])
_LINKS = frozenset({"by", "from", "of", "with", "for", "in", "on"})
_CUE_MIN = 0.5


def _cue_score(label: str, word: str, sim: float) -> float:
    """A word is a label's cue when it is the label, shares its stem ("directed" for
    Director), or is near it in meaning."""
    a, b = norm(label), word.casefold()
    if a == b:
        return 1.0
    prefix = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return max(sim, 0.9 if prefix >= 5 or (prefix >= 4 and prefix == min(len(a), len(b))) else 0.0)


def fill_slots(text: str, labels: list[str]) -> dict[int, str]:
    """Field index -> value, for the fields the sentence gives a value for."""
    from grounding import semantic

    words = [w for w in re.findall(r"[\w@.'/:+-]+", text) if w.strip(".")]
    words = [w.rstrip(".") for w in words]
    content = [i for i, w in enumerate(words) if w.casefold() not in _FUNCTION]
    if not labels or not content:
        return {}
    sims = [[float(v) for v in semantic.similarity(norm(lab), [words[i] for i in content])] for lab in labels]
    pairs = sorted(((_cue_score(lab, words[i], sims[f][k]), f, i) for f, lab in enumerate(labels)
                    for k, i in enumerate(content)), reverse=True)
    cue: dict[int, int] = {}
    for score, f, i in pairs:
        # a number or a capitalised name is a value, never the word that names a field
        value_like = any(c.isdigit() for c in words[i]) or (i > 0 and words[i][:1].isupper())
        if score >= _CUE_MIN and not value_like and f not in cue and i not in cue.values():
            cue[f] = i
    cues = set(cue.values())
    used: set[int] = set()
    out: dict[int, str] = {}

    def free(i: int) -> bool:
        if not (0 <= i < len(words) and i not in cues and i not in used and words[i].casefold() not in _FUNCTION):
            return False
        # "directed by", "written in": a lowercase word that introduces another phrase is no value
        return not (words[i].islower() and i + 1 < len(words) and words[i + 1].casefold() in _LINKS)

    for f, i in sorted(cue.items(), key=lambda t: t[1]):
        own = set(norm(labels[f]).split())  # "postal code 75001": the label's other words are no value
        j = i + 1
        while j < len(words) and (words[j].casefold() in _FUNCTION or words[j].casefold() in own):
            j += 1
        if not free(j):  # the next word names another field: the value stands before the cue
            j = i - 1
            while j >= 0 and words[j].casefold() in _FUNCTION:
                j -= 1
        if free(j):
            used.add(j)
            out[f] = words[j]
    left = [i for i in content if free(i)]
    for f in (f for f in range(len(labels)) if f not in out and left):
        k = max(range(len(left)), key=lambda n: sims[f][content.index(left[n])])
        out[f] = words[left.pop(k)]
    return out


def unplaced(text: str, values: dict[int, str]) -> list[str]:
    """The values in `text` (numbers, capitalised names) that no field took: a value for a
    field the form does not have."""
    words = [w.rstrip(".") for w in re.findall(r"[\w@.'/:+-]+", text) if w.strip(".")]
    taken = set(values.values())
    return [w for i, w in enumerate(words) if w not in taken and w.casefold() not in _FUNCTION
            and (any(c.isdigit() for c in w) or (i > 0 and w[:1].isupper()))]


def labelled_fields(obs: Observation) -> list[tuple[Element, str]]:
    """Each text field with its label: its own name, else the static text that names it by
    layout (a GTK form's entries are unnamed, their labels separate widgets to the left)."""
    from grounding.text_matcher import label_for

    shown = list(visible(obs))
    out = []
    for f in text_fields(obs):
        label = f.name
        if not label.strip() and (t := label_for(f, shown, obs.screen_size[0])) is not None:
            label = t.label
        if label.strip():
            out.append((f, label.strip()))
    return out


def wants_slots(goal: TypeGoal, obs: Observation) -> bool:
    """Values for several fields in one text, aimed at a field no label names: a search with
    no search box, or "fill in the address with the postal code 75001, the country France..."
    on a form whose labels are the parts of the whole."""
    fields = labelled_fields(obs)
    if goal.field is None or len(fields) < 2:
        return False
    wanted = norm(goal.field.text)
    if wanted == "search":
        from grounding.text_matcher import field_left_of

        shown = visible(obs)
        labelled = any("search" in norm(e.label) and (e.role == Role.TEXT_FIELD or e.editable) for e in shown)
        # a search box is usually unlabelled, named by the Search button on its right
        beside = any("search" in norm(e.label) and field_left_of(e, frozenset({Role.TEXT_FIELD}), shown,
                                                                 obs.screen_size[0]) is not None for e in shown)
        return not (labelled or beside)
    if not wanted or any(wanted in norm(label) or norm(label) in wanted for _, label in fields):
        return False
    # the text names at least two of the labels: it carries several values
    return sum(norm(label) in norm(goal.text) for _, label in fields) >= 2


def slot_fill(goal: TypeGoal, seen: Seen) -> Steps:
    fields = labelled_fields(seen.obs)
    values = fill_slots(goal.text, [label for _, label in fields])
    if lost := unplaced(goal.text, values):
        yield Attempt((Done(status="impossible", answer=f"no field on the form takes {', '.join(map(repr, lost))} "
                            f"(fields: {', '.join(label for _, label in fields)})"),))
        return
    for f, value in sorted(values.items()):
        field, label = fields[f]
        ref = Ref(label, "field")
        attempt = typing(TypeGoal(value, ref), seen)
        by_id = TypeText(text=value, target=Target(element=field.id, description=ref.describe()), clear=bool(field.value))
        check = Check("holds", f"{ref.describe()} to hold {value!r}", text=value, where=field)
        seen = yield Attempt((by_id, *attempt.actions), f"{value!r} is the {label}", check)
    if goal.submit:
        button = sole_button(seen.obs, Ref("submit", "button")) or next(
            (e for e in visible(seen.obs) if e.role == Role.BUTTON and norm(e.label) in ("submit", "search", "go")), None)
        if button is not None:
            yield Attempt((Click(target=Target(element=button.id, description=button.label)),),
                          "the form's button", Check("acted", "submitting the form to have an effect"))
        else:
            yield Attempt((Key(keys=("enter",)),), "submitting the form")
