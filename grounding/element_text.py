"""A textual description of an element in its screen: what a sentence encoder compares an
instruction with when the label alone does not say enough ("the field below Email", "the
button that stores the note").

    "button Save | below Notes | right of Cancel | bottom right"

Role words, the name (or value/hint), state (checked/off), the nearest named neighbour on
each side, the rank among elements of its kind ("second of 3 text fields, last") and coarse
position words. The same function writes the training pairs
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
    """The nearest named element right above/below `el` (columns overlap) or left/right of it
    (rows overlap)."""
    l0, t0, r0, b0 = el.bbox
    best: tuple[float, Element] | None = None
    for o in others:
        if o.id == el.id or not _name(o):
            continue
        l1, t1, r1, b1 = o.bbox
        cols, rows = l1 < r0 and r1 > l0, t1 < b0 and b1 > t0
        ok, gap = {"above": (cols and b1 <= t0 + 4, t0 - b1), "below": (cols and t1 >= b0 - 4, t1 - b0),
                   "left": (rows and r1 <= l0 + 4, l0 - r1), "right": (rows and l1 >= r0 - 4, l1 - r0)}[direction]
        if ok and (best is None or gap < best[0]):
            best = (gap, o)
    return best[1] if best else None


_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth")


def rank(el: Element, elements: Sequence[Element]) -> str:
    """Where `el` comes among the elements of its kind in reading order: "second of 3 text
    fields, last" ("" when it is the only one)."""
    what = role_words(el)
    peers = sorted((o for o in elements if role_words(o) == what and o.width > 0 and o.height > 0),
                   key=lambda o: ((o.bbox[1] + o.bbox[3]) // 20, o.bbox[0]))
    ids = [o.id for o in peers]
    if len(ids) < 2 or el.id not in ids:
        return ""
    i = ids.index(el.id)
    words = f"{_ORDINALS[i]} of {len(ids)} {what}s" if i < len(_ORDINALS) else f"{i + 1}th of {len(ids)} {what}s"
    return f"{words}, last" if i == len(ids) - 1 else words


def describe(el: Element, elements: Sequence[Element], size: tuple[int, int]) -> str:
    """One line describing `el` in its screen (see the module doc)."""
    parts = [f"{role_words(el)} {_name(el)}".strip()]
    if el.checked is not None:
        parts.append("checked" if el.checked else "unchecked")
    desc = str(el.extras.get("description") or "")
    if desc and desc != el.name:
        parts.append(desc[:80])
    # the neighbour above makes `el` "below" it, and so on
    for direction, word in (("above", "below"), ("below", "above"), ("left", "right of"), ("right", "left of")):
        near = _nearest(el, elements, direction)
        if near is not None:
            parts.append(f"{word} {_name(near)}")
    ranked = rank(el, elements)
    if ranked:
        parts.append(ranked)
    parts.append(position_words(el, size))
    return " | ".join(parts)
