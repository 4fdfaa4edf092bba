"""Reply to or forward a message found by its sender: open it, press its Reply / Forward
control, fill the form that appears, send it.

Each step checks what it should leave: the message view opened (the screen changed and still
shows the sender), the control is found by its text or, failing that, by the icon that
depicts it (`grounding.icon_names`), the form appeared (a "to:" / "subject:" header), the
field holds the typed text (a "holds" postcondition). The recipient field is the space right
of the form's "to:" label, the body the space below its header lines (such fields are often
drawn without a border: pixels and OCR, no a11y). Send is the form's "Send" text, else the
icon at the far end of the form's top bar (where compose forms put it; the near end holds
back / close). Sending is a submit: it is never repeated (its description says "send", which
the planner never retries).
"""

from __future__ import annotations

import re
from collections.abc import Generator

from grounding.icon_names import best_icon, icon_candidates
from grounding.query import normalize
from guiagent.planning.instructions import ComposeGoal, Ref
from guiagent.planning.skills.aim import word_point
from guiagent.planning.skills.common import (
    Attempt,
    Notes,
    Seen,
    Steps,
    named,
    reading_order,
    text_fields,
    visible,
)
from guiagent.planning.skills.pixels import changed, full, point_at, px_box
from guiagent.planning.skills.verify import Check, matches_text
from guiagent.planning.skills.within import reveal, shows
from guiagent.schema import Click, Done, Element, Observation, Point, Role, Scroll, Target, TypeText

_CONTROL = {"reply": ("Reply", "Respond"), "forward": ("Forward", "Fwd")}
# a form's header label: "to:", "subject: Lunch", or a bare "To" / "Subject" beside its field
_HEADER = re.compile(r"^\s*(?P<name>to|recipients?|cc|bcc|subject|subj|re)\s*(?::(?P<rest>.*))?$", re.I)
_TO = ("to", "recipient", "recipients")


def _give_up(why: str) -> Attempt:
    return Attempt((Done(status="impossible", answer=why),))


def _control(obs: Observation, kind: str, icons: bool) -> Target | None:
    """The Reply / Forward control: its word, else (`icons`: in the message view) its icon."""
    for word in _CONTROL[kind]:
        el = named(obs, Ref(word))
        if el is None:
            continue
        if el.label.strip().casefold() != word.casefold() and (spot := word_point(el, word, obs)) is not None:
            return Target(point=spot, description=f"the {word} control")
        return Target(element=el.id, description=f"the {word} control")
    img = obs.screenshot
    if not icons or img is None:
        return None
    texts = [px_box(obs, e.bbox) for e in visible(obs) if sum(c.isalnum() for c in e.label) >= 2]
    box = best_icon(img, icon_candidates(img, full(obs), texts), kind)
    return Target(point=point_at(obs, box), description=f"the {_CONTROL[kind][0]} icon") if box else None


def _headers(obs: Observation) -> list[Element]:
    return sorted((e for e in visible(obs) if _HEADER.match(e.label)), key=lambda e: e.bbox[1])


def _field(obs: Observation, kind: str) -> tuple[Element, Point] | None:
    """Where to type: right of the "to:" label (forward), or below the header lines (reply).
    The field as an element (its box, for the postcondition) and the point to click."""
    heads = _headers(obs)
    w, h = obs.screen_size
    if kind == "forward":
        to = next((e for e in heads if _HEADER.match(e.label).group("name").casefold() in _TO), None)  # type: ignore[union-attr]
        if to is None:  # no "to:" label: a drawn field, the first empty one
            empty = [f for f in text_fields(obs) if not f.value]
            return (empty[0], Point.from_pixels(*empty[0].center, obs.screen_size)) if empty else None
        box = (to.bbox[2], to.bbox[1], w, to.bbox[3])
        at = Point.from_pixels(min(w - 1, to.bbox[2] + max(8, to.height)), to.center[1], obs.screen_size)
    else:
        if not heads:  # no header lines: the largest editable area is the body
            body = max(text_fields(obs), key=lambda f: f.width * f.height, default=None)
            return (body, Point.from_pixels(*body.center, obs.screen_size)) if body is not None else None
        last = heads[-1]
        top = last.bbox[3] + 2
        box = (0, top, w, min(h, top + 6 * last.height))
        at = Point.from_pixels(last.bbox[0] + 2 * last.height, min(h - 1, top + last.height), obs.screen_size)
    return Element(id="compose-field", role=Role.TEXT_FIELD, bbox=box, editable=True, source="detector"), at


def _send(obs: Observation) -> Target | None:
    """The form's Send: its word, else the far icon of the bar above the form's header."""
    el = named(obs, Ref("Send"), loose=False)
    if el is not None:
        return Target(element=el.id, description="the Send button")
    heads, img = _headers(obs), obs.screenshot
    if not heads or img is None:
        return None
    bar = px_box(obs, (0, 0, obs.screen_size[0], heads[0].bbox[1]))
    texts = [px_box(obs, e.bbox) for e in visible(obs) if sum(c.isalnum() for c in e.label) >= 2]
    icons = icon_candidates(img, bar, texts)
    far = [b for b in icons if (b[0] + b[2]) / 2 > 0.6 * img.width]
    return Target(point=point_at(obs, max(far, key=lambda b: b[2])), description="the Send icon") if far else None


def _lines(obs: Observation, field: Element) -> str:
    return " ".join(e.label for e in reading_order(visible(obs)) if e.label and e.id != field.id
                    and field.bbox[0] <= e.center[0] < field.bbox[2] and field.bbox[1] <= e.center[1] < field.bbox[3])


def _reads(obs: Observation, field: Element) -> bool:
    return bool(_lines(obs, field).strip() or (field.value or "").strip())


def _holds(obs: Observation, field: Element, text: str) -> str | None:
    """None when the field reads as `text` (its lines joined: a body wraps) or only a
    fragment of it could be read; else what it reads."""
    read = _lines(obs, field) or next((f.value or "" for f in text_fields(obs) if f.id == field.id), "")
    if not read.strip() or matches_text(text, read) or len(normalize(read)) * 2 < len(normalize(text)):
        return None
    return read


def _opened(before: Observation, after: Seen, anchor: Ref) -> bool:
    return after.changed is not False and changed(before, after.obs, full(before)) \
        and any(shows(e, anchor) for e in visible(after.obs))


def compose(goal: ComposeGoal, seen: Seen, notes: Notes) -> Steps:
    """Open the message from `goal.anchor`, press Reply / Forward, fill, send."""
    obs = seen.obs
    who = goal.anchor.describe()
    if _control(obs, goal.kind, icons=False) is None or not any(shows(e, goal.anchor) for e in visible(obs)):
        found = yield from reveal(goal.anchor, obs)
        if found is None:
            yield _give_up(f"no message on the screen shows {who}")
            return
        obs, item = found
        click = Click(target=Target(element=item.anchor.id, description=who))
        after = yield Attempt((click,), f"opening the message from {who}")
        if not _opened(obs, after, goal.anchor):
            after = yield Attempt((click,), "the message did not open: clicking it once more")
            if not _opened(obs, after, goal.anchor):
                yield _give_up(f"clicking the message from {who} did not open it")
                return
        obs = after.obs
    control = yield from _find_control(goal, obs)
    if control is None:
        yield _give_up(f"the message from {who} shows no {_CONTROL[goal.kind][0]} control")
        return
    obs, target = control
    after = yield Attempt((Click(target=target),), f"pressing {target.description}")
    if _field(after.obs, goal.kind) is None:
        yield _give_up(f"pressing {target.description} opened no form with a "
                       f"{'recipient field' if goal.kind == 'forward' else 'message body'}")
        return
    obs = after.obs
    field = _field(obs, goal.kind)
    assert field is not None
    el, at = field
    text = goal.to if goal.kind == "forward" else goal.text
    where = "the recipient field" if goal.kind == "forward" else "the message body"
    typing = TypeText(text=text, target=Target(point=at, description=where))
    after = yield Attempt((typing,), f"typing into {where}")
    if not _reads(after.obs, el):
        notes.lines.append(f"no text could be read in {where} after typing")
    elif (read := _holds(after.obs, el, text)) is not None:  # it reads otherwise: typed again over it, once
        after = yield Attempt((typing.model_copy(update={"clear": True}),), f"{where} reads {read!r}: typing again")
        if (read := _holds(after.obs, el, text)) is not None:
            yield _give_up(f"expected {where} to hold {text!r}, but it holds {read!r}")
            return
    send = _send(after.obs)
    if send is None:
        yield _give_up("the form shows no Send control")
        return
    yield Attempt((Click(target=send),), "sending it", Check("acted", "the message to be sent"))


def _find_control(goal: ComposeGoal, obs: Observation) -> Generator[Attempt, Seen, tuple[Observation, Target] | None]:
    """The Reply / Forward control of the open message, scrolling the view down (a long
    message pushes it below the fold) a few times at most."""
    for _ in range(4):
        if (target := _control(obs, goal.kind, icons=True)) is not None:
            return obs, target
        w, h = obs.screen_size
        after = yield Attempt((Scroll(direction="down", amount=0.3, anchor=Target(
            point=Point.from_pixels(w / 2, h / 3, obs.screen_size), description="the message")),),
            f"the {_CONTROL[goal.kind][0]} control may be below the fold")
        if after.changed is False or not changed(obs, after.obs, full(obs)):
            return None
        obs = after.obs
    return None
