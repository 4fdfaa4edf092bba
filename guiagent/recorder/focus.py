"""Which element received typed text, and what to call an unnamed control (pure: no I/O).

Keystrokes go to the element that had the focus when the FIRST of them arrived. The recorder
learns the focus only from accessibility snapshots, taken asynchronously by another thread;
each walk reads the applications' state at some moment between its start and end. So a
snapshot tells the focus at typing time only if its whole walk lies inside the quiet interval
(t_prev, t_next): after the last input before typing (the click or Tab that put the focus
there) and before the next one (the Tab, Enter or click that moves it away). A walk that
merely STARTED before the Tab may read the focus after it -- the cause of typed text being
attributed to the next widget (a checkbox, a Cancel button).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from grounding.query import CONTROLS
from grounding.text_matcher import label_for
from guiagent.recorder.capture import Snapshot
from guiagent.recorder.session import focused_element
from guiagent.schema import Element

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Found:
    element: Element
    elements: list[Element]  # the snapshot it was found in (for naming it by its label)
    how: str  # "focus", "click", "content", "focus-before", "fallback"


def _key(e: Element) -> tuple[object, ...]:
    """The same widget across snapshots (ids are per snapshot)."""
    return e.extras.get("pid"), e.extras.get("path"), e.role


def _shows_text(snaps: list[Snapshot], t_start: float, text: str) -> Found | None:
    """An editable field whose value came to contain `text` after typing started: direct proof
    of where the keystrokes went (password fields never expose a value)."""
    if not text.strip():
        return None
    had = {_key(e) for s in snaps if s.t1 < t_start for e in s.elements if e.value and text in e.value}
    for s in sorted((s for s in snaps if s.t0 >= t_start), key=lambda s: s.t0):
        for e in s.elements:
            if e.editable and e.value and text in e.value and _key(e) not in had:
                return Found(e, s.elements, "content")
    return None


def typing_target(
    snaps: Iterable[Snapshot], t_prev: float | None, t_start: float, t_next: float, text: str,
    clicked: tuple[Element, list[Element]] | None = None,
) -> Found | None:
    """The element typed text went into, from the evidence in order: the focus in the latest
    snapshot walked entirely inside the quiet interval (the app had the most time to process
    what came before), the editable element clicked right before typing, a field whose value
    shows the text, the focus before typing. An editable element always wins over a
    non-editable one. If any focus candidate is a password field it is returned: a secret is
    never stored as plain text because a snapshot was stale (over-masking is the safe side)."""
    snaps = sorted(snaps, key=lambda s: s.t0)
    lo = float("-inf") if t_prev is None else t_prev
    quiet = [s for s in reversed(snaps) if s.t0 >= lo and s.t1 <= t_next]
    candidates: list[Found] = []
    for s in quiet:
        if (e := focused_element(s.elements)) is not None:
            candidates.append(Found(e, s.elements, "focus"))
    if clicked is not None:
        candidates.append(Found(clicked[0], clicked[1], "click"))
    before = [s for s in snaps if s.t1 < t_start]
    if before and (e := focused_element(before[-1].elements)) is not None:
        candidates.append(Found(e, before[-1].elements, "focus-before"))
    # A click on a field right before typing settles where the keys went (the app handles
    # input in order); without one, all there may be is a walk from before the last input or
    # the first one after typing began, which may have read a later focus.
    suspects = [c for c in candidates if clicked is None or c.how != "focus-before"]
    if not quiet and clicked is None:
        first = next((s for s in snaps if s.t0 >= t_start), None)
        if first is not None and (e := focused_element(first.elements)) is not None:
            suspects.append(Found(e, first.elements, "after"))
    secret = next((c for c in suspects if c.element.password), None)
    if secret is not None:
        return secret
    editable = [c for c in candidates if c.element.editable]
    if editable and editable[0].how != "focus-before":
        return editable[0]
    shown = _shows_text(snaps, t_start, text)
    if shown is not None:
        return shown
    if editable:
        return editable[0]
    if candidates:  # nothing editable anywhere: the focus as it was (a terminal, a canvas)
        return Found(candidates[0].element, candidates[0].elements, "fallback")
    return None


def named(target: Element, elements: list[Element], screen_w: int) -> Element:
    """`target` named after its label when it has no name of its own (a text field whose
    label is a separate widget), by the grounder's own label-to-field layout rule, so that
    "the <label> field" grounds back to it on replay."""
    if target.name or not (target.editable or target.role in CONTROLS):
        return target
    label = label_for(target, elements, screen_w)
    if label is None:
        return target
    log.debug("unnamed %s named %r after its label", target.role.value, label.label)
    return target.model_copy(update={"name": label.label.strip(), "extras": {**target.extras, "name_from": "label"}})
