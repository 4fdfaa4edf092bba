"""Scroll to an end ("scroll to the bottom of the text area"): wheel over the thing named, a
long way at a time, until a scroll moves nothing there any more. That still frame is the
postcondition: the end was reached, which is seen, not assumed (a page may ask for it, like an
agreement whose buttons wake up only once its text was scrolled through). After MAX_SCROLLS
scrolls that all moved something, the skill says so instead of claiming the end.

What is scrolled: a text area / text input by its kind ("the textarea"); an element by its
name; a label's field ("the agreement" -> the box under "User agreement"); else what the
grounder finds for the words; without a name, the screen (the pointer stays where it is)."""

from __future__ import annotations

from grounding.detect import MULTILINE
from grounding.form import form_labels
from guiagent.planning.instructions import Ref, ScrollGoal
from guiagent.planning.skills.basic import field_of_kind, text_stack
from guiagent.planning.skills.common import Attempt, Seen, Steps, named, norm, nth
from guiagent.planning.skills.pixels import changed, full, px_box
from guiagent.schema import Done, Element, Observation, Role, Scroll, Target

MAX_SCROLLS = 10


def _field_of_label(obs: Observation, label: Element) -> Element | None:
    """The input a text labels ("User agreement" over its text area)."""
    return next((f.field for f in form_labels(obs) if f.text is not None and f.text.id == label.id), None)


def _text_block(obs: Observation) -> Element | None:
    """A text area the detector did not outline (text runs into its corner): the tallest
    stack of three or more text lines, as one element."""
    lines = text_stack(obs, (Role.TEXT,))
    if len(lines) < 3:
        return None
    box = (min(e.bbox[0] for e in lines), lines[0].bbox[1], max(e.bbox[2] for e in lines), lines[-1].bbox[3])
    return Element(id="", role=Role.TEXT, name=" ".join(e.label for e in lines), bbox=box)


def scroll_element(obs: Observation, ref: Ref) -> Element | None:
    """The element `ref` names to scroll (see the module doc); None: ground the words."""
    if ref.role == "field" and ref.multiline and not ref.text:
        # only a multi-line field scrolls: never a one-line input in its place
        areas = [e for e in obs.elements if e.extras.get(MULTILINE)]
        return (nth(areas, ref.ordinal) if areas else None) or _text_block(obs)
    if (field := field_of_kind(ref, obs)) is not None:
        return field
    el = named(obs, ref)
    if el is None and ref.text:  # "the agreement": a word of a label ("User agreement")
        want = f" {norm(ref.text)} "
        el = next((e for e in obs.elements if e.role == Role.TEXT and want in f" {norm(e.label)} "), None)
    if el is not None and el.role == Role.TEXT:
        return _field_of_label(obs, el) or el
    return el


def scroll_to_end(goal: ScrollGoal, seen: Seen) -> Steps:
    obs, ref = seen.obs, goal.anchor
    el = scroll_element(obs, ref) if ref is not None else None
    anchor: Target | None = None
    if el is not None:  # a point: ids need not outlive a scroll
        anchor = Target(point=obs.point_of(el), description=ref.describe() if ref else "")
    elif ref is not None:
        anchor = Target(description=ref.describe())
    where = f" of {ref.describe()}" if ref is not None else ""
    end = "bottom" if goal.direction == "down" else "top" if goal.direction == "up" else goal.direction
    for i in range(MAX_SCROLLS):
        seen = yield Attempt((Scroll(direction=goal.direction, amount=goal.amount, anchor=anchor),),
                             f"towards the {end}{where}" + (f" ({i + 1})" if i else ""))
        if el is None and ref is not None and seen.target is not None:
            el = seen.target  # what the grounder found for the words
            anchor = Target(point=obs.point_of(el), description=anchor.description if anchor else "")
        if obs.screenshot is None or seen.changed is False or not changed(obs, seen.obs, full(obs) if el is None else px_box(obs, el.bbox, cover=True)):
            return  # nothing moved: the end is reached
        obs = seen.obs
    yield Attempt((Done(status="impossible",
                        answer=f"the {end}{where} was not reached: {MAX_SCROLLS} scrolls all moved it"),))
