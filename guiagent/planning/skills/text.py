"""Text skills: autocomplete (type the start, wait for the suggestions, pick the one that
fits, then submit when asked) and copy / paste between a text region and a field."""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from guiagent.planning.instructions import AutocompleteGoal, CopyGoal, Ref, TypeGoal
from guiagent.planning.skills.basic import typing
from guiagent.planning.skills.common import Attempt, Notes, Seen, Steps, field_targets, text_fields, visible
from guiagent.planning.skills.read import Region, field_at, field_text, find_region, overlap, reads_back
from guiagent.planning.skills.verify import Check, matches_text
from guiagent.schema import Click, Done, Element, Key, Observation, Point, Role, Target, Wait

_SUBMIT = re.compile(r"^(?:submit|ok|go|enter|done|search|send|save|continue|next)$", re.I)
Shown = tuple[str, tuple[str, ...]]  # an element as it showed: its id and its texts
_WAITS = 8  # looks at the screen for the suggestions, ~0.25 s apart
_DOWNS = 12  # Down presses through a list that runs off the screen


def _shown(e: Element) -> tuple[str, ...]:
    """What an element shows: its value (a box the detector took for a field, named after a
    label above it), else its name."""
    return tuple(t.strip() for t in dict.fromkeys((e.value or "", e.name)) if t.strip())


_LOOKALIKE = str.maketrans({"i": "l", "1": "l", "|": "l", "0": "o"})


def _fold(s: str) -> str:
    """Up to case and the letters OCR confuses ("lles" read as "Iles", "O" as "0")."""
    return s.casefold().translate(_LOOKALIKE)


def _fits(text: str, prefix: str, suffix: str) -> bool:
    t = _fold(text)
    return len(t) >= len(prefix) and t.startswith(_fold(prefix)) and t.endswith(_fold(suffix))


def suggestions(obs: Observation, prefix: str, suffix: str, field: Element | None,
                old: frozenset[Shown] = frozenset()) -> list[tuple[str, Element]]:
    """(text, element) of what shows under the field that starts with `prefix` and ends with
    `suffix` (up to case), top down; an item wrapped over two lines ("Marshall" / "Islands",
    closer than the items are to each other) is read whole. The field itself and what showed
    before the typing (`old`: a "Submit" is no suggestion, nor a list left open) are left out."""
    below = field.bbox[3] - max(4, field.height // 3) if field is not None else 0
    pool = sorted((e for e in visible(obs) if e.bbox[1] >= below and _shown(e) and (e.id, _shown(e)) not in old
                   and (field is None or overlap(e.bbox, field.bbox) <= 0.6)), key=lambda e: (e.bbox[1], e.bbox[0]))
    starts = [e for e in pool if any(_fold(t).startswith(_fold(prefix)) for t in _shown(e))]
    pitch = sorted(b.bbox[1] - a.bbox[1] for a, b in zip(starts, starts[1:], strict=False))
    hits = []
    for i, e in enumerate(pool):
        texts = list(_shown(e))
        nxt = pool[i + 1] if i + 1 < len(pool) else None
        if pitch and nxt is not None and abs(nxt.bbox[0] - e.bbox[0]) <= e.height \
                and 0 < nxt.bbox[1] - e.bbox[1] < 0.85 * pitch[len(pitch) // 2]:
            texts.append(f"{texts[0]} {_shown(nxt)[0]}")  # the item goes on on the next line
        if fit := next((t for t in texts if _fits(t, prefix, suffix)), None):
            hits.append((fit, e))
    return hits


def listed(obs: Observation, prefix: str, field: Element | None, old: frozenset[Shown] = frozenset()) -> bool:
    """Whether a list of suggestions shows under the field (anything starting with `prefix`)."""
    return bool(suggestions(obs, prefix, "", field, old))


def submit_control(obs: Observation) -> Element | None:
    """The button that submits the form: the only one named like a submit, else the only
    button on the screen."""
    buttons = [e for e in visible(obs) if e.role == Role.BUTTON]
    named = [b for b in buttons if _SUBMIT.match(b.label.strip())]
    return named[0] if len(named) == 1 else buttons[0] if len(buttons) == 1 else None


def _holds(pick: str, shown: str, prefix: str) -> bool:
    """The field reads as the pick: the same up to OCR slips ("FJji" for "Fiji") when that
    reading is nearer the pick than the typed prefix, or a part of it (a long name in a
    narrow field) that is more than the prefix."""
    a, b, p = (re.sub(r"\W+", "", _fold(x)) for x in (pick, shown, prefix))
    if b == a:
        return True
    if not b or b == p:  # still (only) what was typed
        return False
    near = SequenceMatcher(None, a, b).ratio()
    if near >= 0.75 and near > SequenceMatcher(None, p, b).ratio():
        return True
    return b in a and len(b) >= len(p) + 3


def autocomplete(goal: AutocompleteGoal, seen: Seen) -> Steps:
    """Type the start; look until the suggestions show; click the one that fits, or, when it
    is not in sight (a long list runs off the screen), walk the list with the Down key until
    the field shows one that fits and take it with Enter. Then submit when asked, and only
    once the field is read holding the pick."""
    old = frozenset((e.id, _shown(e)) for e in seen.obs.elements)
    first = typing(TypeGoal(goal.prefix, goal.field), seen)
    seen = yield first
    field = seen.target or (first.check.where if first.check else None)
    if field is None and (fields := text_fields(seen.obs)):
        field = next((f for f in fields if f.focused), fields[0])
    ends = f" and ends with {goal.suffix!r}" if goal.suffix else ""
    hits: list[tuple[str, Element]] = []
    for _ in range(_WAITS):  # the list comes when the page has answered: look until it shows
        hits = suggestions(seen.obs, goal.prefix, goal.suffix, field, old)
        if hits or listed(seen.obs, goal.prefix, field, old):
            break
        seen = yield Attempt((Wait(seconds=0.25),), "waiting for the suggestions")
    text = ""
    if hits:
        text, pick = hits[0]
        seen = yield Attempt((Click(target=Target(element=pick.id, description=text)),), f"the suggestion {text!r}",
                             Check("holds", f"the field to hold {text!r}", text=text, where=field))
    elif listed(seen.obs, goal.prefix, field, old):
        last = ""
        for i in range(_DOWNS):
            seen = yield Attempt((Key(keys=("down",)),), f"suggestion {i + 1}: the one that fits is not in sight")
            shown = field_text(seen.obs, field)
            if _fits(shown, goal.prefix, goal.suffix):
                text = shown
                seen = yield Attempt((Key(keys=("enter",)),), f"take {shown!r}",
                                     Check("holds", f"the field to hold {shown!r}", text=shown, where=field))
                break
            if shown == last and i:
                break  # the end of the list
            last = shown
        if not text:
            yield Attempt((Key(keys=("escape",)),), "close the list: nothing in it fits")
    if not text:
        yield Attempt((Done(status="impossible", answer=f"no suggestion starts with {goal.prefix!r}{ends}"),))
        return
    ok, holds, seen = yield from reads_back(text, field, seen, lambda want, got: _holds(want, got, goal.prefix))
    if not ok:  # never claim it without reading it there
        said = f"it holds {holds!r}" if holds.strip() else "its text could not be read"
        yield Attempt((Done(status="impossible", answer=f"picked {text!r}, but {said}"),))
        return
    if goal.submit:
        button = submit_control(seen.obs)
        if button is not None:
            yield Attempt((Click(target=Target(element=button.id, description=button.label or "Submit")),),
                          "submit the form", Check("acted", "the form to be submitted"))
        else:
            yield Attempt((Key(keys=("enter",)),), "submit the form")


def _point(obs: Observation, box: tuple[int, int, int, int], description: str) -> Target:
    w, h = obs.screen_size
    x, y = (box[0] + box[2]) / 2 / max(1, w), (box[1] + box[3]) / 2 / max(1, h)
    return Target(point=Point(x=min(1.0, x), y=min(1.0, y)), description=description)


def _generic(ref: Ref) -> bool:
    """Named only by its kind ("the text area", "the textbox"), not by a label."""
    return not ref.text and ref.ordinal is None


def _source(ref: Ref, obs: Observation) -> tuple[Target, tuple[int, int, int, int], str] | None:
    """Where to copy from: the text region the phrase names (a text area is the framed text
    that holds the most), its box and what it shows."""
    region: Region | None = None
    if not ref.text:  # "the text area", "the 2nd text area": the framed text (the Nth of them)
        region = find_region(Ref("", "text area", ref.ordinal), obs)
    if region is not None:
        el = region.field
        target = Target(element=el.id, description=ref.describe()) if el is not None \
            else _point(obs, region.box, ref.describe())
        return target, region.box, region.text
    fields = text_fields(obs)
    if _generic(ref) and fields:  # no text read anywhere: the largest field
        el = max(fields, key=lambda f: f.width * f.height)
        return Target(element=el.id, description=ref.describe()), el.bbox, el.value or ""
    targets, found = field_targets(ref, obs)
    if found is not None:
        return targets[0], found.bbox, found.value or ""
    return (targets[0], (0, 0, 0, 0), "") if ref.text else None


def overlaps_text(copied: str, shown: str) -> bool | None:
    """Whether a field's visible text is part of the copied text (a long text shows only one
    end of it): True / False, None when either is unknown."""
    a, b = (re.sub(r"\W+", "", x.casefold()) for x in (copied, shown))
    if not a or not b:
        return None
    if b in a or a in b or matches_text(copied, shown):
        return True
    m = SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b))
    return m.size >= min(len(a), len(b)) * 0.6


def copy_paste(goal: CopyGoal, seen: Seen, notes: Notes) -> Steps:
    """Copy: click into the source, select all, copy. Paste: click into the field, select all
    (so that the paste replaces), paste, and read the field back."""
    obs, ref = seen.obs, goal.target
    if not goal.paste:
        src = _source(ref, obs)
        if src is None:
            yield Attempt((Done(status="impossible", answer=f"there is no {ref.describe()} on the screen"),))
            return
        target, box, shown = src
        notes.memory["copied"] = Element(id="copied", role=Role.TEXT_FIELD, bbox=box, value=shown)
        yield Attempt((Click(target=target),), "into it first")
        yield Attempt((Key(keys=("ctrl", "a")),), "select all")
        yield Attempt((Key(keys=("ctrl", "c")),), "copy")
        return
    copied = notes.memory.get("copied")
    el: Element | None = None
    if _generic(ref):  # another field than the source: the empty one, else the smallest
        others = [f for f in text_fields(obs) if copied is None or overlap(f.bbox, copied.bbox) < 0.5]
        el = min(others, key=lambda f: (bool(f.value), f.width * f.height), default=None)
    if el is None:
        _, el = field_targets(ref, obs)
    if el is None and not ref.text:
        yield Attempt((Done(status="impossible", answer=f"there is no {ref.describe()} to paste into"),))
        return
    target = Target(element=el.id, description=ref.describe()) if el is not None else Target(description=ref.describe())
    seen = yield Attempt((Click(target=target),), "into it first")
    field = seen.target or el
    yield Attempt((Key(keys=("ctrl", "a")),), "select all, so that the paste replaces what it holds")
    for attempt in range(2):
        seen = yield Attempt((Key(keys=("ctrl", "v")),), "paste")
        if field_at(seen.obs, field) is None:
            notes.lines.append(f"the paste into {ref.describe()} could not be read back")
            return
        shown = field_text(seen.obs, field)
        if shown:  # a long text shows one end only: a mismatch is noted, not failed
            if overlaps_text(copied.value or "" if copied else "", shown) is False:
                notes.lines.append(f"{ref.describe()} shows {shown!r}, which could not be matched to the copied text")
            return
        if attempt == 0:
            yield Attempt((Click(target=target),), "the field still looks empty: into it again")
    yield Attempt((Done(status="impossible", answer=f"pasted into {ref.describe()}, but it still looks empty"),))
