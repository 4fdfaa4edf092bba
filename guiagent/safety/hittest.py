"""What an action touches: the element under a point, and what Enter submits.

The guard judges elements, not coordinates, so every target is resolved here whatever form the
planner gave it in (element id, description, point). The observation's elements already merge
the a11y tree, detectors and OCR (grounding.parse); the hit test picks the element that receives
a tap at the point:

1. the smallest *actionable* element holding the point (clickable, editable or a widget role),
   a11y nodes before OCR/detector boxes (a tiny OCR "Continue" inside an a11y button named
   "Confirm payment" must not hide the button's name); whole-screen containers never count;
2. else the smallest named non-container element holding it (static text, an icon);
3. else the nearest named element within a small radius (OCR text next to a mis-aimed tap).

An actionable element with no name of its own (an Android list row whose text is a child) is
named after the text inside it, so the guard reads what a person reads there.
"""

from __future__ import annotations

import re

from grounding.base import Grounder
from guiagent.schema import (
    Action,
    Element,
    Observation,
    Point,
    Role,
    Target,
    TokenUsage,
    action_targets,
    with_targets,
)
from guiagent.schema.errors import GroundingError

_WIDGETS = frozenset({Role.BUTTON, Role.TEXT_FIELD, Role.CHECKBOX, Role.RADIO, Role.SWITCH, Role.LINK, Role.ICON,
                      Role.COMBOBOX, Role.LIST_ITEM, Role.MENU_ITEM, Role.TAB, Role.SLIDER})
_CONTAINERS = frozenset({Role.WINDOW, Role.CONTAINER})
_BIG = 0.5  # an element covering more than this share of the screen is a container, not a target
_CONTENT_LABEL_MAX = 80

# Labels of the control Enter presses in a form (word match, case-insensitive).
SUBMIT_WORDS: tuple[str, ...] = (
    "submit", "send", "ok", "go", "search", "sign in", "log in", "login", "sign up", "register", "continue",
    "next", "done", "save", "apply", "confirm", "pay", "buy", "order", "checkout", "purchase", "post",
    "publish", "reply", "transfer", "create", "update", "enter", "add", "share", "donate",
)
_SUBMIT_RE = re.compile(r"\b(" + "|".join(re.escape(w) for w in SUBMIT_WORDS) + r")\b", re.I)


def _area(e: Element) -> int:
    return max(e.width, 0) * max(e.height, 0)


def _holds(e: Element, x: float, y: float) -> bool:
    left, top, right, bottom = e.bbox
    return left <= x <= right and top <= y <= bottom and e.width > 0 and e.height > 0


def _inside(inner: Element, outer: Element) -> bool:
    cx, cy = inner.center
    return inner is not outer and _holds(outer, cx, cy) and _area(inner) < _area(outer)


def _distance(e: Element, x: float, y: float) -> float:
    left, top, right, bottom = e.bbox
    dx = max(left - x, 0.0, x - right)
    dy = max(top - y, 0.0, y - bottom)
    return float((dx * dx + dy * dy) ** 0.5)


def actionable(e: Element) -> bool:
    return (e.clickable or e.editable or e.role in _WIDGETS) and e.role not in _CONTAINERS


def judged_text(e: Element) -> str:
    """What the guard reads on an element: its name; a field's value is user content, not a label."""
    return e.name if e.editable else e.label


def pixel_of(point: Point, size: tuple[int, int]) -> tuple[float, float]:
    return point.x * size[0], point.y * size[1]


def element_at(observation: Observation, point: Point, radius: float | None = None) -> Element | None:
    """The element a tap at `point` lands on (see the module docstring), None over empty space."""
    x, y = pixel_of(point, observation.screen_size)
    w, h = observation.screen_size
    big = _BIG * w * h
    hits = [e for e in observation.elements if _holds(e, x, y) and _area(e) <= big]
    act = [e for e in hits if actionable(e)]
    if act:
        chosen = min(act, key=lambda e: (e.source != "a11y", _area(e)))
        return _named_by_content(observation, chosen)
    named = [e for e in hits if e.role not in _CONTAINERS and judged_text(e)]
    if named:
        return min(named, key=_area)
    r = radius if radius is not None else max(16.0, 0.03 * min(w, h))
    near = [(d, e) for e in observation.elements
            if e.role not in _CONTAINERS and judged_text(e) and _area(e) <= big and (d := _distance(e, x, y)) <= r]
    return min(near, key=lambda de: (de[0], _area(de[1])))[1] if near else None


def _named_by_content(observation: Observation, el: Element) -> Element:
    if judged_text(el) or el.editable:
        return el
    inner = sorted((e for e in observation.elements if judged_text(e) and _inside(e, el)),
                   key=lambda e: (e.bbox[1], e.bbox[0]))
    text = " ".join(dict.fromkeys(judged_text(e) for e in inner))[:_CONTENT_LABEL_MAX].strip()
    return el.model_copy(update={"name": text}) if text else el


def resolve_target(observation: Observation, target: Target, hint: Element | None = None) -> list[Element]:
    """Every element a target may mean: the one its id names, the one under its point, and the
    grounder's pick (`hint`). Judging all of them makes the verdict independent of the form."""
    found: list[Element] = []
    if target.element:
        by_id = observation.element(target.element.lstrip("#"))
        if by_id is not None:
            found.append(_named_by_content(observation, by_id))
    if target.point is not None:
        under = element_at(observation, target.point)
        if under is not None:
            found.append(under)
    if hint is not None:
        found.append(hint)
    unique: dict[tuple[str, tuple[int, int, int, int]], Element] = {}
    for e in found:
        unique.setdefault((e.id, e.bbox), e)
    return list(unique.values())


def touched(action: Action, observation: Observation | None, hint: Element | None = None) -> list[list[Element]]:
    """For each target of `action` (in `action_targets` order), the elements it touches.
    `hint` is the grounder's element for the first target."""
    targets = action_targets(action)
    if observation is None:
        return [[hint] if i == 0 and hint is not None else [] for i in range(len(targets))]
    return [resolve_target(observation, t, hint if i == 0 else None) for i, t in enumerate(targets)]


def focused_element(observation: Observation | None) -> Element | None:
    """The focused element, a focused editable one first."""
    if observation is None:
        return None
    focused = [e for e in observation.elements if e.focused]
    return next((e for e in focused if e.editable), focused[0] if focused else None)


def describing_text(observation: Observation | None, el: Element) -> list[str]:
    """Text on screen that says what `el` does: named, non-actionable elements beside it (overlapping
    its columns, within 1.5x its height above or below) that mention its label as a whole word --
    "Continue will pay $49.99 now" above a CONTINUE button. Requiring the mention keeps a title or
    an injected comment next to a harmless button from making it sensitive."""
    label = judged_text(el).strip()
    if observation is None or not label or len(label) > 40:
        return []
    mention = re.compile(r"(?<!\w)" + re.escape(label) + r"(?!\w)", re.I)
    left, top, right, bottom = el.bbox
    reach = 1.5 * max(el.height, 1)
    found: list[str] = []
    for e in observation.elements:
        text = judged_text(e)
        if e is el or not text or actionable(e) or e.role in _CONTAINERS or e.bbox == el.bbox:
            continue
        el_left, el_top, el_right, el_bottom = e.bbox
        beside = el_left < right and el_right > left and el_bottom >= top - reach and el_top <= bottom + reach
        if beside and text.strip().lower() != label.lower() and mention.search(text):
            found.append(text)
    return found


def _is_button(e: Element) -> bool:
    if not e.enabled or e.editable or not judged_text(e):
        return False
    return e.role == Role.BUTTON or (e.clickable and e.role in (Role.OTHER, Role.ICON))


def submit_control(observation: Observation, field: Element) -> Element | None:
    """The control Enter in `field` submits: among the buttons of its form (below the field, or on
    its row to the right; the nearest first), the nearest with a submit-ish label, else the only
    one. None when it cannot be told (then the field itself is judged)."""
    w, h = observation.screen_size
    fl, ft, fr, fb = field.bbox
    form: list[tuple[float, Element]] = []
    for e in observation.elements:
        if e is field or not _is_button(e):
            continue
        left, top, right, bottom = e.bbox
        same_row = top < fb and bottom > ft and left >= fr - 4
        below = top >= ft + field.height / 2 and top - fb <= 0.6 * h
        if same_row or below:
            dx = max(fl - right, 0, left - fr)
            form.append((max(top - fb, 0) + dx, e))
    form.sort(key=lambda de: de[0])
    submit = [e for _, e in form if _SUBMIT_RE.search(judged_text(e))]
    if submit:
        return submit[0]
    return form[0][1] if len(form) == 1 else None


def ground_action(action: Action, obs: Observation, grounder: Grounder) -> tuple[Action, Element | None, TokenUsage]:
    """Resolve every target to a point: element ids and descriptions become points, and a point
    keeps the element under it (the guard judges that). Returns the grounded action, the first
    target's element and the tokens the grounder spent (a VLM grounder calls a model)."""
    resolved: list[Target] = []
    first: Element | None = None
    spent = TokenUsage()
    for target in action_targets(action):
        element: Element | None = None
        if target.point is not None:
            element = element_at(obs, target.point)
            resolved.append(target)
        elif target.element:
            element = obs.element(target.element.lstrip("#"))
            if element is None:
                raise GroundingError(f"there is no element #{target.element} on this screen", usage=spent)
            resolved.append(target.model_copy(update={"point": obs.point_of(element), "element": element.id}))
        else:
            try:
                result = grounder.ground(target.description or "", obs)
            except GroundingError as exc:
                raise exc.with_usage(spent + exc.usage) from None
            spent = spent + (result.usage or TokenUsage())
            element = result.element
            resolved.append(target.model_copy(update={"point": result.point,
                                                      "element": element.id if element else None}))
        first = first or element
    return with_targets(action, resolved), first, spent
