"""Postconditions: what a sub-goal's action should leave on the screen, checked on the next
observation. A check answers `Verdict.ok` (the effect is seen), `Verdict.failed` (the screen
contradicts it: the field holds other text, the box is not ticked, nothing changed where
something had to) or `Verdict.unseen` (the screen cannot tell, e.g. a password's bullets).
"The screen changed" alone is never enough where a state can be read: a hover highlight is a
change."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Literal

from grounding.query import lexical_score, normalize
from guiagent.schema import Element, Observation, Role

CheckKind = Literal["holds", "toggled", "opened", "selected", "placed", "acted", "saved"]
# a window title's "unsaved changes" marker: "*note.txt - Mousepad", "memo.txt ● - Code", "(modified)"
_MODIFIED = re.compile(r"^\s*[*●•]|[*●•]\s*(?:[-—|]|$)|[(\[](?:modified|changed|unsaved)[)\]]", re.I)
# what an error or alert dialog says
ERROR_WORDS = re.compile(r"\b(?:error|failed|failure|cannot|can't|could not|couldn't|unable|denied|read-only|read only"
                         r"|not permitted|permission|invalid|not allowed|not writable|no space)\b", re.I)
_WINDOWS = (Role.WINDOW,)
SHORT_TEXT = 2  # typed text this short is not confirmed nor contradicted by what OCR reads back
_MASK = re.compile(r"^[\s*•●·∙.…⋯°oO0-]+$")  # a password field's bullets as OCR reads them
# controls whose click cannot be taken back: a retry must never repeat them
IRREVERSIBLE = re.compile(r"\b(?:submit|send|pay|buy|purchase|order|checkout|confirm|delete|remove|post|reply"
                          r"|forward|sign ?(?:in|up)|log ?in|login|book|transfer|save|apply|ok)\b", re.I)


class Verdict(Enum):
    ok = "ok"
    failed = "failed"
    unseen = "unseen"


@dataclass(frozen=True)
class Check:
    """`kind`: holds (the field holds `text`), toggled (the toggle's state is `on`), opened
    (new content appears: a tab, section, list or dialog opened), selected (`text` is now
    shown as chosen), acted (a click whose effect the instruction does not say: only a
    screen that did not change at all contradicts it). `expect` is said in a failure."""

    kind: CheckKind
    expect: str
    text: str = ""
    on: bool | None = None
    where: Element | None = None  # the element the skill resolved (when the loop reports none)
    position: int | None = None  # placed: 1-based place in its list, -1 the last
    lags: bool = False  # the app may show the effect late (a title after a save): re-read once before failing


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _near(target: Element | None, obs: Observation, roles: tuple[Role, ...]) -> list[Element]:
    """Elements of `roles` where `target` was (the nearest first); all of them when the
    target is unknown and there is only one."""
    pool = [e for e in obs.elements if e.role in roles or (Role.TEXT_FIELD in roles and e.editable)]
    if target is None:
        return pool if len(pool) == 1 else []
    hits = [e for e in pool if _overlaps(e.bbox, target.bbox)]
    return sorted(hits, key=lambda e: abs(e.center[0] - target.center[0]) + abs(e.center[1] - target.center[1]))


def _signature(obs: Observation) -> set[tuple[str, str, bool | None, bool | None, object]]:
    return {(e.role.value, normalize(e.label), e.checked, e.selected, e.extras.get("expanded"))
            for e in obs.elements}


def masked(expected: str, seen: str) -> bool:
    """`seen` is a password field's bullets as OCR reads them ("•••", "…", "三"): no letter or
    digit of the typed text's script."""
    if _MASK.match(seen):
        return True
    return expected.isascii() and not any(c.isascii() and c.isalnum() for c in seen)


def matches_text(expected: str, seen: str) -> bool:
    """`seen` (OCR of a field) reads as `expected`: equal up to case and OCR confusions, or
    containing it."""
    want, got = normalize(expected), normalize(seen)
    if not want:
        return not got
    return want in got or lexical_score(want, got)[0] >= 0.75


def evaluate(check: Check, before: Observation, after: Observation, target: Element | None,
             changed: bool | None) -> tuple[Verdict, str]:
    """(verdict, what was seen). `target`: the element the loop grounded the action on."""
    target = target or check.where
    still = changed is False  # the loop's own pixel comparison; None: not measured
    match check.kind:
        case "holds":
            fields = _near(target, after, (Role.TEXT_FIELD,))
            inside = [e for e in after.elements if target is not None and e.role == Role.TEXT
                      and _overlaps(e.bbox, target.bbox)]
            values = [v for v in (*(f.value or "" for f in fields[:1]), *(e.label for e in inside)) if v.strip()]
            if any(matches_text(check.text, v) or masked(check.text, v) for v in values):
                return Verdict.ok, f"it holds {values[0]!r}"
            if values and len(normalize(check.text)) <= SHORT_TEXT:
                # OCR of a character or two (a caret beside them) is no evidence: 'L' reads as '4'
                return Verdict.unseen, f"{values[0]!r} was read, too little to tell {check.text!r} apart"
            if values and len(normalize(values[0])) * 2 >= len(normalize(check.text)):
                return Verdict.failed, f"it holds {values[0]!r}"
            if values:  # a fragment: OCR read part of it, which tells nothing either way
                return Verdict.unseen, f"only {values[0]!r} could be read"
            return (Verdict.failed, "the field looks empty and the screen did not change") if still \
                else (Verdict.unseen, "no text could be read in the field")
        case "toggled":
            boxes = _near(target, after, (Role.CHECKBOX, Role.RADIO, Role.SWITCH))
            state = next((b.checked if b.checked is not None else b.selected for b in boxes
                          if b.checked is not None or b.selected is not None), None)
            if state is check.on:
                return Verdict.ok, f"it is {'on' if state else 'off'}"
            if state is not None:
                return Verdict.failed, f"it is still {'on' if state else 'off'}"
            return (Verdict.failed, "nothing changed") if still else (Verdict.unseen, "its state cannot be read")
        case "opened":
            if still:
                return Verdict.failed, "nothing changed"
            if _signature(before) == _signature(after):
                return Verdict.failed if changed else Verdict.unseen, "nothing new appeared"
            return Verdict.ok, "new content appeared"
        case "selected":
            want = normalize(check.text)
            shown = [e for e in after.elements if want and (normalize(e.value or "") == want or (
                normalize(e.label) == want and (e.selected or e.checked or e.role == Role.COMBOBOX
                                                or (target is not None and _overlaps(e.bbox, target.bbox)))))]
            if shown:
                return Verdict.ok, f"{check.text!r} is shown as chosen"
            return (Verdict.failed, "nothing changed") if still else (Verdict.unseen, "the choice cannot be read")
        case "placed":
            return _placed(check, after)
        case "saved":
            return _saved(before, after)
        case "acted":
            # a click's effect may be invisible (a web button that only records it): no retry,
            # but the planner reports a last step that changed nothing as a failure
            return Verdict.unseen, "nothing on the screen changed" if still else "the screen changed"


def modified(title: str | None) -> bool:
    return bool(title and _MODIFIED.search(title))


def new_alert(first: Observation, now: Observation) -> str | None:
    """What a window or dialog that was not there in `first` says, when it says an error
    ("The document is read-only...", "Could not save"): an action's failure, never a success."""
    old_windows = {normalize(e.label) for e in first.elements if e.role in _WINDOWS}
    if not any(e.role in _WINDOWS and normalize(e.label) not in old_windows for e in now.elements) \
            and now.foreground == first.foreground:
        return None
    old = {e.label for e in first.elements}
    said = [e.label for e in now.elements if e.label and e.label not in old]
    return next((t for t in said if ERROR_WORDS.search(t)), None)


def _titles(obs: Observation) -> list[str]:
    """The foreground title and the windows' names (the foreground is not always known)."""
    return [t for t in (obs.foreground, *(e.label for e in obs.elements if e.role in _WINDOWS)) if t]


def _saved(before: Observation, after: Observation) -> tuple[Verdict, str]:
    """A save: no error dialog, and the title loses its modified marker."""
    if (alert := new_alert(before, after)) is not None:
        return Verdict.failed, f"an error appeared: {alert!r}"
    if still := next((t for t in _titles(after) if modified(t)), None):
        return Verdict.failed, f"the title still shows unsaved changes ({still!r})"
    if any(modified(t) for t in _titles(before)):
        return Verdict.ok, "the title no longer shows unsaved changes"
    return Verdict.unseen, "the title shows no saved state"


def _placed(check: Check, after: Observation) -> tuple[Verdict, str]:
    """The item named `check.text` is at `check.position` of the column it sits in."""
    want = normalize(check.text)
    item = next((e for e in after.elements if normalize(e.label) == want), None)
    if item is None:
        return Verdict.unseen, f"{check.text!r} is not readable"
    col = sorted((e for e in after.elements if e.label and abs(e.bbox[0] - item.bbox[0]) <= 40
                  and abs(e.height - item.height) <= 20), key=lambda e: (e.bbox[1], e.bbox[0]))
    at = col.index(item) + 1
    n = len(col) if check.position == -1 else check.position
    return (Verdict.ok, f"it is at position {at}") if at == n else (Verdict.failed, f"it is at position {at}")
