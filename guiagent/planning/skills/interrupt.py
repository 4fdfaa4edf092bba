"""Interruptions: a popup or dialog that appears mid-task is dismissed with its least
privileged control (Close, Cancel, Not now, ...; never Allow, Accept, OK, Pay), and the
sub-goal it interrupted is resumed. The dismissal is an ordinary Click, judged by the guard.
And the form's sole button: "press login" on a form whose only button says "OK"."""

from __future__ import annotations

import re

from guiagent.planning.instructions import Ref
from guiagent.planning.skills.common import norm, visible
from guiagent.planning.skills.verify import new_alert
from guiagent.schema import Element, Observation, Point, Role, Target

# least privileged first; nothing that grants, accepts, confirms or pays is ever here
DISMISS = ("close", "x", "×", "✕", "✖", "cancel", "not now", "no thanks", "no, thanks", "maybe later", "later",
           "dismiss", "skip", "no", "deny", "don't allow", "do not allow", "block")
_RANK = {norm(w): i for i, w in enumerate(DISMISS)}
_SUBMIT_LIKE = re.compile(r"^(?:submit|log ?in|login|sign ?in|search|send|go|continue|next|done|save|ok|enter)$", re.I)
_CLICKABLE = (Role.BUTTON, Role.LINK, Role.ICON, Role.MENU_ITEM)


def interruption(first: Observation | None, now: Observation) -> Element | None:
    """The control that dismisses a popup which was not there when the task began."""
    if first is None or new_alert(first, now) is not None:
        return None  # an error dialog is the outcome of an action, not a popup to wave away
    before = {norm(e.label) for e in first.elements}
    # a button whose border the detector missed reads as text: still the popup's control
    new = [e for e in visible(now) if e.role in (*_CLICKABLE, Role.TEXT) and norm(e.label) in _RANK
           and norm(e.label) not in before]
    return min(new, key=lambda e: _RANK[norm(e.label)], default=None)


def sole_button(obs: Observation, ref: Ref, first: Observation | None = None) -> Element | None:
    """The only button on screen, when `ref` names a form's submit action ("press login")
    that no element is called: the form's own button, whatever it says, and one that was
    there when the task began (never a popup's)."""
    if not _SUBMIT_LIKE.match(ref.text.strip()) or ref.role not in (None, "button"):
        return None
    # a caption is a few words: a "button" that reads as a sentence is a card or a post
    buttons = [e for e in visible(obs) if e.role == Role.BUTTON and len(e.label.split()) <= 3]
    if len(buttons) != 1:
        return None
    if first is not None and norm(buttons[0].label) not in {norm(e.label) for e in first.elements}:
        return None
    return buttons[0]


def sole_input(obs: Observation) -> Element | None:
    """The only control on screen a value can go into (a field, a drop-down, or a date /
    time input drawn as a box), leaving out the buttons that submit."""
    pool = [e for e in visible(obs) if e.role in (Role.TEXT_FIELD, Role.COMBOBOX) or e.editable
            or (e.role == Role.BUTTON and not _SUBMIT_LIKE.match(e.label.strip()))]
    # a part drawn inside another (the calendar icon of a date input) is that one
    pool = [e for e in pool if not any(o is not e and _inside(e, o) for o in pool)]
    return pool[0] if len(pool) == 1 else None


def _inside(a: Element, b: Element) -> bool:
    return b.bbox[0] - 2 <= a.bbox[0] and b.bbox[1] - 2 <= a.bbox[1] and a.bbox[2] <= b.bbox[2] + 2 \
        and a.bbox[3] <= b.bbox[3] + 2 and a.width * a.height < b.width * b.height


_MASKED = re.compile(r"^(?:[mdy]{1,4}[/.-]){2}|^-+:-+|^hh:mm|^$", re.I)


def first_segment(el: Element, obs: Observation, default: Target) -> Target:
    """A date / time input draws its format ("mm/dd/yyyy", "--:-- --") or nothing: typing goes
    to the segment clicked, so click its first segment, near the left edge."""
    if not _MASKED.match(el.label.strip()):
        return default
    w, h = obs.screen_size
    x = min(el.bbox[0] + max(8, el.height // 3), el.center[0])
    return Target(point=Point(x=min(1.0, x / w), y=min(1.0, el.center[1] / h)), description=default.description)
