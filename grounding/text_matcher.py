"""The embedded grounder: matches a text description against the observation's elements.

"Submit", "the Submit button", "Name field", "the text field next to Name", "Subscribe
checkbox", "the 2nd text box", "the link 'About us'", "x", "#12". Layers, cheapest first:
exact (normalized case/space/punctuation, icon aliases), fuzzy (OCR confusions, edit
similarity, whole-word containment; `grounding.query` reads the description), semantic
(MiniLM cosine, loaded lazily). Role words
filter and boost; ordinals pick among matches; a form control is found from its label by
layout (a field right of or below its label, a checkbox left of its label); `label_for` reads
that rule backwards (the recorder names an unnamed field after its label with it).
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from grounding import semantic
from grounding.base import Grounder, GroundingResult
from grounding.element_text import describe
from grounding.query import CONTROLS, Query, lexical_score, normalize, parse_query, sign_twin
from guiagent.schema import Element, Observation, Role
from guiagent.schema.errors import GroundingError

if TYPE_CHECKING:
    from grounding.icon_memory import IconMemory

log = logging.getLogger(__name__)

_PRIORITY = {Role.BUTTON: 3, Role.LINK: 3, Role.CHECKBOX: 3, Role.RADIO: 3, Role.SWITCH: 3,
             Role.TEXT_FIELD: 3, Role.COMBOBOX: 3, Role.TAB: 3, Role.MENU_ITEM: 3, Role.ICON: 2,
             Role.LIST_ITEM: 2, Role.TEXT: 0}
_SOURCE = {"a11y": 2, "detector": 1, "ocr": 0}


def _role_ok(el: Element, roles: frozenset[Role]) -> bool:
    return el.role in roles or (Role.TEXT_FIELD in roles and el.editable)


def _reading_key(el: Element) -> tuple[int, int]:
    return (el.bbox[1] + el.bbox[3]) // 2 // 10, el.bbox[0]


def _overlap(a0: int, a1: int, b0: int, b1: int) -> float:
    return max(0, min(a1, b1) - max(a0, b0)) / max(1, min(a1 - a0, b1 - b0))


def layout_distance(label: Element, target: Element, direction: str, screen_w: int) -> float | None:
    """How far `target` lies from `label` in `direction` (None when it does not lie there).
    Rows must overlap for left/right, columns (or left edges) for above/below."""
    l0, t0, r0, b0 = label.bbox
    l1, t1, r1, b1 = target.bbox
    lh = max(1, b0 - t0)
    if l1 <= (l0 + r0) / 2 <= r1 and t1 <= (t0 + b0) / 2 <= b1:
        return 0.0  # the label sits inside the target (a placeholder, a caption on a button)
    same_row = _overlap(t0, b0, t1, b1) >= 0.5
    same_col = _overlap(l0, r0, l1, r1) > 0 or abs(l1 - l0) <= 3 * lh
    checks = {
        "right": same_row and l1 >= r0 - 5 and l1 - r0 <= max(0.5 * screen_w, 200),
        "left": same_row and r1 <= l0 + 5 and l0 - r1 <= 3 * lh + 20,
        "below": same_col and t1 >= b0 - 5 and t1 - b0 <= 4 * lh + 40,
        "above": same_col and b1 <= t0 + 5 and t0 - b1 <= 4 * lh + 40,
    }
    gaps = {"right": l1 - r0, "left": (l0 - r1) * 1.2, "below": (t1 - b0) * 1.3 + 5, "above": (t0 - b1) * 1.5 + 5}
    allowed = {"beside": ("right", "left"), "any": tuple(checks)}.get(direction, (direction,))
    dists = [max(0.0, gaps[d]) for d in allowed if checks[d]]
    return min(dists) if dists else None


def _natural_direction(roles: frozenset[Role]) -> str:
    """Where a control sits relative to its label: fields right/below, boxes left."""
    if roles & {Role.CHECKBOX, Role.RADIO}:
        return "beside"
    if Role.SWITCH in roles:
        return "beside"
    return "field"


def _control_distance(label: Element, el: Element, direction: str, screen_w: int) -> float | None:
    if direction == "field":
        ds = [d for d in (layout_distance(label, el, "right", screen_w),
                          layout_distance(label, el, "below", screen_w)) if d is not None]
        return min(ds) if ds else None
    return layout_distance(label, el, direction, screen_w)


def control_near(label: Element, roles: frozenset[Role], direction: str,
                 elements: list[Element], screen_w: int) -> Element | None:
    """The layout rule: the nearest element of `roles` lying `direction` of `label` ("field":
    right of or below it), or None."""
    best: tuple[float, Element] | None = None
    for el in elements:
        if el is label or el.id == label.id or not _role_ok(el, roles):
            continue
        d = _control_distance(label, el, direction, screen_w)
        if d is not None and (best is None or d < best[0]):
            best = (d, el)
    return best[1] if best else None


def field_left_of(button: Element, roles: frozenset[Role], elements: list[Element], screen_w: int) -> Element | None:
    """A field named by the button right of it on its row ("the search field" beside a Search
    button: search boxes carry no label of their own), or None when `button` is not a button."""
    if button.role is not Role.BUTTON or Role.TEXT_FIELD not in roles:
        return None
    near = [(d, el) for el in elements if el.editable and el.id != button.id
            and (d := layout_distance(el, button, "right", screen_w)) is not None]
    return min(near, key=lambda t: t[0])[1] if near else None


def label_for(control: Element, elements: list[Element], screen_w: int) -> Element | None:
    """The static text that names `control` by the same layout rule the grounder follows from
    a label to its control: a text whose nearest control of this kind (in the natural direction)
    is `control`; the nearest such text. None when no label leads to it."""
    roles = frozenset({Role.TEXT_FIELD} if control.editable else {control.role})
    direction = _natural_direction(roles)
    best: tuple[float, Element] | None = None
    for label in elements:
        if label.role != Role.TEXT or not label.label.strip() or label.id == control.id:
            continue
        d = _control_distance(label, control, direction, screen_w)
        if d is None or (best is not None and d >= best[0]):
            continue
        nearest = control_near(label, roles, direction, elements, screen_w)
        if nearest is not None and nearest.bbox == control.bbox and nearest.role == control.role:
            best = (d, label)
    return best[1] if best else None


class TextGrounder(Grounder):
    """Exact, fuzzy and semantic text matching with role, ordinal and layout rules."""

    name = "text"

    def __init__(self, **options: Any) -> None:
        semantic_opt = options.pop("semantic", None)
        self.min_score = float(options.pop("min_score", 0.6))
        self.semantic_min = float(options.pop("semantic_min", 0.65))
        model = options.pop("model", None)  # a fine-tuned matcher (guiagent train grounder --backend text)
        self.model: str | None = str(model) if model else None
        icons = options.pop("icons", None)  # an icon memory folder (guiagent train icons)
        if options:
            log.debug("TextGrounder ignores options %s", sorted(options))
        self.use_semantic = semantic.available() if semantic_opt is None else bool(semantic_opt)
        self.icons: IconMemory | None = None
        if icons:
            from grounding.icon_memory import IconMemory

            self.icons = IconMemory.load(str(icons), use_semantic=self.use_semantic, model=self.model)

    # -- scoring ---------------------------------------------------------------------------
    def _scores(self, text: str, raw: str, elements: list[Element]) -> list[tuple[float, str, Element]]:
        scored = []
        labels = [normalize(e.label) for e in elements]
        twin = sign_twin(raw)
        for el, label in zip(elements, labels, strict=True):
            s, how = lexical_score(text, label)
            if twin is not None and label == twin:
                s, how = max((s, how), (0.92, "sign"))  # "×" for the key labelled "*"
            if el.value and el.name:
                s2, how2 = lexical_score(text, normalize(el.value))
                s, how = max((s, how), (s2 * 0.95, how2))
            if s > 0 and raw and el.label.strip().casefold() == raw.strip().casefold():
                s += 0.01  # written exactly so: beats "Submit." for "Submit"
                if el.label.strip() == raw.strip():
                    s += 0.005  # and in the same case: "Eget" over "eget"
            scored.append((s, how, el))
        best = max((s for s, _, _ in scored), default=0.0)
        if self.use_semantic and text and best < 0.9:
            idx = [i for i, lab in enumerate(labels) if lab]
            try:
                sims = semantic.similarity(text, [labels[i] for i in idx])
            except Exception as exc:  # a broken model must not break lexical grounding
                log.warning("semantic matching disabled: %s", exc)
                self.use_semantic = False
            else:
                one_word = len(text.split()) == 1
                for i, sim in zip(idx, sims, strict=True):
                    # single words of one kind sit close in embedding space ("one"/"two" 0.78,
                    # "ok"/"okay" 0.94): a word for a word needs a near-synonym
                    floor = 0.85 if one_word and len(labels[i].split()) == 1 else self.semantic_min
                    if sim >= max(self.semantic_min, floor) and 0.95 * sim > scored[i][0]:
                        scored[i] = (0.95 * float(sim), "semantic", scored[i][2])
        return scored

    def _rank(self, scored: list[tuple[float, str, Element]], roles: frozenset[Role]) -> list[tuple[float, str, Element]]:
        ranked = []
        for s, how, el in scored:
            if roles:
                s = s + 0.05 if _role_ok(el, roles) else s * 0.8  # capped in _result, not here
            ranked.append((s, how, el))
        ranked.sort(key=lambda t: (-round(t[0], 3), -_PRIORITY.get(t[2].role, 1),
                                   -_SOURCE.get(t[2].source, 0), _reading_key(t[2])))
        return ranked

    # -- main entry ----------------------------------------------------------------------------
    def ground(self, description: str, observation: Observation) -> GroundingResult:
        if self.icons is not None:  # icons learned by exploration, found from pixels when nothing names them
            return self.icons.ground(description, observation, self._ground)
        return self._ground(description, observation)

    def _ground(self, description: str, observation: Observation) -> GroundingResult:
        if not description or not description.strip():
            raise GroundingError("empty description: say what to find, e.g. 'the Submit button'")
        elements = list(observation.elements)
        by_id = self._by_id(description.strip(), observation)
        if by_id is not None:
            return by_id
        if not elements:
            raise GroundingError(f"cannot ground {description!r}: the observation has no elements "
                                 "(was the screen parsed?)")
        q = parse_query(description)
        if self.model is not None and q.ordinal is None and not self._literal(q, elements):
            if q.relation is not None and q.anchor:
                try:  # the layout rule answers a relation it can resolve; the matcher the rest
                    return self._relative(description, q, elements, observation)
                except GroundingError:
                    pass
            return self._learned(description, elements, observation)
        screen_w = observation.screen_size[0]
        if q.relation is not None and q.anchor:
            return self._relative(description, q, elements, observation)
        if not q.text:
            whole = normalize(description)  # "Input" may be a button's label, not a role
            exact = [e for e in elements if whole and normalize(e.label) == whole]  # blank never matches
            if exact:
                return self._result(min(exact, key=_reading_key), 1.0, "exact", observation)
            return self._by_role(description, q, elements, observation)
        ranked = self._rank(self._scores(q.text, q.raw, elements), q.roles)
        top = ranked[0] if ranked else (0.0, "", None)
        if q.roles & CONTROLS and top[2] is not None and not _role_ok(top[2], q.roles):
            # "Name field": the best match is a label; find its control by layout
            result = self._via_label(description, q, ranked, elements, observation, screen_w)
            if result is not None:
                return result
        good = [t for t in ranked if t[0] >= self.min_score]
        if not good:
            raise self._refusal(description, ranked)
        if q.ordinal is not None:
            near_best = sorted((t for t in good if t[0] >= good[0][0] - 0.1), key=lambda t: _reading_key(t[2]))
            pick = self._nth(near_best, q.ordinal, description)
            return self._result(pick[2], pick[0], pick[1], observation)
        s, how, el = good[0]
        return self._result(el, s, how, observation)

    def _literal(self, q: Query, elements: list[Element]) -> bool:
        """The description names an element as written (a label match): the rules answer it."""
        return bool(q.text) and q.relation is None and any(
            lexical_score(q.text, normalize(e.label))[0] >= 0.9 for e in elements)

    def _learned(self, description: str, elements: list[Element], observation: Observation) -> GroundingResult:
        """Rank the targets by the fine-tuned matcher: the description against each element's
        description in its screen (name, role, neighbours, position)."""
        assert self.model is not None
        pool = [e for e in elements if e.role is not Role.TEXT or e.clickable or e.editable] or elements
        texts = [describe(e, elements, observation.screen_size) for e in pool]
        sims = semantic.embedder(self.model).similarity(description, texts)
        best = int(sims.argmax())
        return self._result(pool[best], float(max(0.0, sims[best])), "learned", observation)

    def _via_label(self, description: str, q: Query, ranked: list[tuple[float, str, Element]],
                   elements: list[Element], observation: Observation, screen_w: int) -> GroundingResult | None:
        direction = _natural_direction(q.roles)
        for s, _how, label in ranked[:5]:
            if s < self.min_score * 0.8:  # undo the role penalty: the label is not the control
                break
            if _role_ok(label, q.roles):
                continue
            control = field_left_of(label, q.roles, elements, screen_w) or \
                control_near(label, q.roles, direction, elements, screen_w)
            if control is not None:
                return self._result(control, min(1.0, s / 0.8) * 0.95, "label->field", observation)
            if q.roles & {Role.CHECKBOX, Role.RADIO, Role.SWITCH} and s / 0.8 >= self.min_score:
                # no box drawn next to it: the label itself toggles the control
                return self._result(label, s / 0.8 * 0.85, "label", observation)
        return None

    def _relative(self, description: str, q: Query, elements: list[Element], observation: Observation) -> GroundingResult:
        anchors = [t for t in self._scores(q.anchor, "", elements) if t[0] >= self.min_score]
        if not anchors:
            raise GroundingError(f"cannot ground {description!r}: no element matches the anchor {q.anchor!r}")
        roles = q.roles
        direction = q.relation or "any"
        if roles and direction in ("beside", "any") and not q.text:
            # an a11y field is named after its label: "the field next to Name" is that field
            named = [t for t in anchors if _role_ok(t[2], roles) and t[0] >= 0.95]
            if named:
                s, how, el = max(named, key=lambda t: t[0])
                return self._result(el, s, how, observation)
        # the anchor is a label: prefer plain text over controls that share its words
        anchors.sort(key=lambda t: (-round(t[0], 2), t[2].role != Role.TEXT, _reading_key(t[2])))
        if direction in ("beside", "any") and roles and not roles & {Role.CHECKBOX, Role.RADIO, Role.SWITCH}:
            direction = "field" if roles & CONTROLS else direction
        for s, _how, anchor in anchors[:3]:
            pool = [e for e in elements if e.id != anchor.id and (_role_ok(e, roles) if roles else
                                                                 e.role != Role.TEXT or e.clickable)]
            if q.text:
                pool = [e for e in pool if lexical_score(q.text, normalize(e.label))[0] >= self.min_score]
            control = control_near(anchor, roles or frozenset(e.role for e in pool), direction,
                                         pool, observation.screen_size[0])
            if control is not None:
                return self._result(control, s * 0.95, "label->field", observation)
        raise GroundingError(f"cannot ground {description!r}: found {anchors[0][2].label!r} but no "
                             f"{'/'.join(sorted(r.value for r in roles)) or 'element'} {direction} of it")

    def _by_role(self, description: str, q: Query, elements: list[Element], observation: Observation) -> GroundingResult:
        if not q.roles:
            raise GroundingError(f"cannot ground {description!r}: no label, role or element id in it")
        pool = sorted((e for e in elements if _role_ok(e, q.roles)), key=_reading_key)
        if not pool:
            raise GroundingError(f"cannot ground {description!r}: no "
                                 f"{'/'.join(sorted(r.value for r in q.roles))} on the screen")
        if q.ordinal is None and len(pool) > 1:
            log.debug("%r is ambiguous among %d elements; taking the first", description, len(pool))
        el = self._nth([(1.0, "role", e) for e in pool], q.ordinal or 1, description)[2]
        return self._result(el, 0.9 if q.ordinal or len(pool) == 1 else 0.7, "ordinal" if q.ordinal else "role",
                            observation)

    @staticmethod
    def _nth(items: list[tuple[float, str, Element]], ordinal: int, description: str) -> tuple[float, str, Element]:
        index = ordinal - 1 if ordinal > 0 else len(items) + ordinal
        if not 0 <= index < len(items):
            raise GroundingError(f"cannot ground {description!r}: asked for number {ordinal} "
                                 f"but only {len(items)} match")
        s, _, el = items[index]
        return s, "ordinal", el

    @staticmethod
    def _by_id(description: str, observation: Observation) -> GroundingResult | None:
        m = re.fullmatch(r"(?:#|\[|(?:element|id|mark)(?:\s+#?|\s*#))\s*(\w+)\]?", description, re.IGNORECASE)
        bare = re.fullmatch(r"\d+", description)
        key = m.group(1) if m else (description if bare else None)
        if key is None:
            return None
        el = observation.element(key)
        if el is None:
            if m:
                raise GroundingError(f"no element with id {key!r} on this screen")
            return None
        if bare and any(normalize(e.label) == description for e in observation.elements):
            return None  # "12" is also a label on screen (a date, a page number): match the text
        return GroundingResult(point=observation.point_of(el), element=el, score=1.0, method="id")

    @staticmethod
    def _result(el: Element, score: float, method: str, observation: Observation) -> GroundingResult:
        return GroundingResult(point=observation.point_of(el), element=el, score=min(1.0, score), method=method)

    def _refusal(self, description: str, ranked: list[tuple[float, str, Element]]) -> GroundingError:
        near = ", ".join(f"{el.label[:40]!r} ({el.role.value}, {s:.2f} {how or 'none'})"
                         for s, how, el in ranked[:3] if el.label)
        return GroundingError(f"nothing on the screen matches {description!r} well enough "
                              f"(threshold {self.min_score:.2f}); closest: {near or 'none'}")
