"""What every skill shares: the attempt a skill yields, and how it reads the observation
(visible elements, names, toggles, fields in reading order)."""

from __future__ import annotations

import re
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field

from guiagent.planning.instructions import Ref
from guiagent.planning.skills.verify import Check
from guiagent.schema import Action, Element, Observation, Role, Target

TOGGLES = (Role.CHECKBOX, Role.RADIO, Role.SWITCH)
TOGGLE_ROLE = {"checkbox": Role.CHECKBOX, "radio": Role.RADIO, "switch": Role.SWITCH}
ROLE_OF = {"button": Role.BUTTON, "link": Role.LINK, "tab": Role.TAB, "icon": Role.ICON, "field": Role.TEXT_FIELD,
           "list": Role.COMBOBOX, "item": Role.LIST_ITEM, **TOGGLE_ROLE}


@dataclass(frozen=True)
class Attempt:
    """One action of a skill (then at most one other phrasing of it) and the postcondition
    the planner checks on the next observation before the skill goes on."""

    actions: tuple[Action, ...]
    why: str = ""
    check: Check | None = None


@dataclass(frozen=True)
class Seen:
    """What a skill receives after its attempt ran: the new observation and the element the
    loop grounded the action on (None when it had no target)."""

    obs: Observation
    target: Element | None = None
    changed: bool | None = None


Steps = Generator[Attempt, Seen, None]


@dataclass
class Notes:
    """Lines a skill leaves for the next thought (skipped sub-goals, unverified effects)."""

    lines: list[str] = field(default_factory=list)
    memory: dict[str, Element | None] = field(default_factory=dict)  # e.g. where a copy came from


def words(s: str) -> str:
    return re.sub(r"\W+", " ", s).strip()


def norm(s: str) -> str:
    """Casefolded words; a label of symbols only ("=", "<-") keeps its symbols, so that it
    matches the same symbols and never a blank name."""
    w = words(s.casefold())
    return w if w or not s.strip() else "".join(s.split())


def visible(obs: Observation) -> list[Element]:
    w, h = obs.screen_size
    return [e for e in obs.elements if e.width > 0 and e.height > 0 and e.bbox[0] < w and e.bbox[1] < h
            and e.bbox[2] > 0 and e.bbox[3] > 0]


def reading_order(elements: list[Element]) -> list[Element]:
    return sorted(elements, key=lambda e: (e.bbox[1], e.bbox[0]))


def state(e: Element) -> bool | None:
    return e.checked if e.checked is not None else e.selected


def nth(elements: list[Element], ordinal: int | None) -> Element | None:
    n = ordinal or 1
    ordered = reading_order(elements)
    if n == -1:
        return ordered[-1] if ordered else None
    return ordered[n - 1] if 0 < n <= len(ordered) else None


def named(obs: Observation, ref: Ref, exclude: Sequence[Element] = (), loose: bool = True) -> Element | None:
    """A visible element whose text is `ref.text`: exact up to case first (preferring the
    role asked for), then as whole words with the same case inside a longer text (an OCR
    line; the case keeps "Scelerisque" at the start of a sentence from passing for the link
    "scelerisque"). A name that normalizes to nothing matches nothing."""
    want, skip = norm(ref.text), {e.id for e in exclude}
    if not want:
        return None
    pool = [e for e in visible(obs) if e.id not in skip and e.label]
    exact = [e for e in pool if norm(e.label) == want]
    role = ROLE_OF.get(ref.role or "")
    exact.sort(key=lambda e: e.role != role)
    if exact or not loose:
        return exact[0] if exact else None
    cased = words(ref.text)
    if not cased:
        return None
    return next((e for e in pool if f" {cased} " in f" {words(e.label)} "), None)


def same_row(a: Element, b: Element) -> bool:
    return abs(a.center[1] - b.center[1]) <= max(a.height, b.height) / 2 + 4


def toggle(obs: Observation, ref: Ref) -> Element | None:
    """The checkbox / radio / switch `ref` names: by its own name, else the one on the same
    row as a text with that name (a label next to its box or switch)."""
    toggles = [e for e in visible(obs) if e.role in TOGGLES]
    if not ref.text:
        role = TOGGLE_ROLE.get(ref.role or "")
        return nth([e for e in toggles if role is None or e.role == role], ref.ordinal)
    want = norm(ref.text)
    if not want:
        return None
    if hits := [e for e in toggles if norm(e.label) == want]:
        return hits[0]
    for label in (e for e in visible(obs) if e.role not in TOGGLES and norm(e.label) == want):
        if row := [t for t in toggles if same_row(t, label)]:
            return min(row, key=lambda t: abs(t.center[0] - label.center[0]))
    return None


def text_fields(obs: Observation) -> list[Element]:
    return reading_order([e for e in visible(obs) if e.role == Role.TEXT_FIELD or e.editable])


def targets(ref: Ref, element: Element | None = None) -> tuple[Target, ...]:
    """The target for `ref`, then one other phrasing: without the element id when one was
    resolved here, else without the role word ("Name field" -> "Name")."""
    first = ref.describe()
    if element is not None:
        return Target(element=element.id, description=first), Target(description=first)
    other = ref.describe(with_role=False) if ref.text else ""
    return (Target(description=first),) + ((Target(description=other),) if other and other != first else ())


# what people call an editor's main text area; it rarely carries such a name itself
_DOCUMENT = frozenset({"document", "editor", "text area", "textarea", "text editor", "editing area", "body",
                       "page", "main text", "text body", "file", "buffer", "canvas", "message body"})


def document_area(ref: Ref, obs: Observation) -> Element | None:
    """The largest editable element for "the document" / "the editor" / "the text area" when
    no element is named so (a text editor's main multi-line area is unnamed)."""
    wanted = norm(ref.text)
    if ref.ordinal is not None or wanted not in _DOCUMENT:
        return None
    shown = visible(obs)
    if any(wanted in norm(e.label) for e in shown if e.role != Role.TEXT):
        return None
    editable = [e for e in shown if e.editable or e.role == Role.TEXT_FIELD]
    return max(editable, key=lambda e: e.width * e.height, default=None)


def field_targets(ref: Ref, obs: Observation) -> tuple[tuple[Target, ...], Element | None]:
    """Targets for a text field; "the 2nd text field" is resolved from the fields on screen."""
    if (doc := document_area(ref, obs)) is not None:
        return (Target(element=doc.id, description=ref.describe()),), doc
    fields = text_fields(obs) if not ref.text and ref.role == "field" else []
    focused = [f for f in fields if f.focused] if ref.ordinal is None else []
    # "the text field" among many: the empty one is the input; the others show values (a table)
    empty = [f for f in fields if not f.value] if ref.ordinal is None and len(fields) > 1 else []
    el = focused[0] if focused else empty[0] if empty else nth(fields, ref.ordinal) if fields else None
    return targets(ref, el), el
