"""A textual description of an element in its screen: what a sentence encoder compares an
instruction with when the label alone does not say enough ("the field below Email", "the
button that stores the note").

    "button Save | below Notes | right of Cancel | bottom right"

Role words, the name (or value/hint), state (checked/off), the nearest text above and to the
left, and coarse position words. The same function writes the training pairs
(`guiagent train grounder --backend text`) and the candidates the fine-tuned matcher ranks.
"""

from __future__ import annotations

from collections.abc import Sequence

from guiagent.schema import Element, Role

_ROLE_WORDS = {Role.TEXT_FIELD: "text field", Role.MENU_ITEM: "menu item", Role.LIST_ITEM: "list row",
               Role.COMBOBOX: "dropdown", Role.RADIO: "radio button"}


def role_words(el: Element) -> str:
    if el.editable and el.role is not Role.TEXT_FIELD:
        return "text field"
    if el.role in (Role.TEXT, Role.CONTAINER, Role.OTHER) and el.clickable:
        return "item"
    return _ROLE_WORDS.get(el.role, el.role.value.replace("_", " "))


def _name(el: Element) -> str:
    return " ".join((el.name or el.value or str(el.extras.get("hint") or "")).split())[:60]


def position_words(el: Element, size: tuple[int, int]) -> str:
    x, y = el.center
    w, h = max(1, size[0]), max(1, size[1])
    row = "top" if y < h / 3 else "bottom" if y > 2 * h / 3 else "middle"
    col = "left" if x < w / 3 else "right" if x > 2 * w / 3 else "center"
    return f"{row} {col}"


def _nearest(el: Element, others: Sequence[Element], direction: str) -> Element | None:
    """The nearest named element right above `el` (columns overlap) or left of it (rows overlap)."""
    l0, t0, r0, b0 = el.bbox
    best: tuple[float, Element] | None = None
    for o in others:
        if o.id == el.id or not _name(o):
            continue
        l1, t1, r1, b1 = o.bbox
        if direction == "above":
            ok, gap = (l1 < r0 and r1 > l0 and b1 <= t0 + 4), t0 - b1
        else:
            ok, gap = (t1 < b0 and b1 > t0 and r1 <= l0 + 4), l0 - r1
        if ok and (best is None or gap < best[0]):
            best = (gap, o)
    return best[1] if best else None


def describe(el: Element, elements: Sequence[Element], size: tuple[int, int]) -> str:
    """One line describing `el` in its screen (see the module doc)."""
    parts = [f"{role_words(el)} {_name(el)}".strip()]
    if el.checked is not None:
        parts.append("checked" if el.checked else "unchecked")
    desc = str(el.extras.get("description") or "")
    if desc and desc != el.name:
        parts.append(desc[:80])
    above = _nearest(el, elements, "above")
    if above is not None:
        parts.append(f"below {_name(above)}")
    left = _nearest(el, elements, "left")
    if left is not None:
        parts.append(f"right of {_name(left)}")
    parts.append(position_words(el, size))
    return " | ".join(parts)
