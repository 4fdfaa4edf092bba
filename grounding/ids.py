"""Short element ids that stay the same from frame to frame while an element does not move."""

from __future__ import annotations

from collections.abc import Sequence

from guiagent.schema import Element, Role


def norm_text(text: str) -> str:
    return " ".join("".join(c if c.isalnum() else " " for c in text.casefold()).split())


class IdTracker:
    """Short ids ("1", "2", ...) that survive from frame to frame: an element keeps its id when
    an element of the same role (and, for text, the same text) sits at the same place."""

    def __init__(self, tolerance: int = 4) -> None:
        self.tolerance = tolerance
        self._next = 1
        self._prev: list[Element] = []

    def reset(self) -> None:
        self._next, self._prev = 1, []

    def _same(self, a: Element, b: Element, *, any_source: bool = False) -> bool:
        if a.role != b.role or (a.source != b.source and not any_source):
            return False
        if a.role in (Role.TEXT, Role.LINK) and norm_text(a.name) != norm_text(b.name):
            return False
        t = self.tolerance
        return all(abs(x - y) <= t for x, y in zip(a.bbox, b.bbox, strict=True))

    def assign(self, elements: Sequence[Element]) -> list[Element]:
        ordered = sorted(elements, key=lambda e: ((e.bbox[1] + e.bbox[3]) // 2 // 10, e.bbox[0]))
        # same source first; then a widget that another source now reports at the same place
        # (a button found in pixels before the app's a11y tree listed it) keeps its id
        matched: dict[int, str] = {}
        for any_source in (False, True):
            taken = set(matched.values())
            for i, el in enumerate(ordered):
                if i in matched:
                    continue
                match = next((p for p in self._prev if p.id not in taken and
                              self._same(p, el, any_source=any_source)), None)
                if match is not None:
                    matched[i] = match.id
                    taken.add(match.id)
        out = []
        for i, el in enumerate(ordered):
            new_id = matched.get(i)
            if new_id is None:
                new_id = str(self._next)
                self._next += 1
            extras = dict(el.extras)
            if el.source == "a11y" and el.id and el.id != new_id:
                extras.setdefault("a11y_id", el.id)
            out.append(el.model_copy(update={"id": new_id, "extras": extras}))
        self._prev = out
        return out
