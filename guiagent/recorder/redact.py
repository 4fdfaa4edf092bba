"""Privacy: typed secrets never reach disk, configured screen regions are blanked.

A `Redactor` is applied by the episode writer to every step and frame before anything is
written, so the recorder, the agent loop and the exporters share one policy.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from PIL import Image, ImageDraw

from guiagent.schema import Element, Step, TypeText
from guiagent.schema.errors import ConfigError

log = logging.getLogger(__name__)

# Fixed mask: the length of the secret is not kept either.
MASK = "•••"

Region = tuple[int, int, int, int]  # x, y, w, h in screenshot pixels


def parse_region(text: str) -> Region:
    """'x,y,w,h' (pixels) -> a region. Raises ConfigError naming the bad value."""
    parts = [p.strip() for p in text.split(",")]
    try:
        x, y, w, h = (int(float(p)) for p in parts)
    except ValueError as exc:
        raise ConfigError(f"redact region {text!r} must be four numbers x,y,w,h") from exc
    if w <= 0 or h <= 0 or x < 0 or y < 0:
        raise ConfigError(f"redact region {text!r} needs x,y >= 0 and w,h > 0")
    return x, y, w, h


def is_secret_field(element: Element | None) -> bool:
    return element is not None and element.password


@dataclass
class Redactor:
    """What to hide. `regions` are blanked in every saved frame; text typed into a password
    field (the target element, or the focused element of the step) is replaced by MASK;
    password elements' boxes are blanked in frames and their values dropped."""

    regions: list[Region] = field(default_factory=list)
    mask_passwords: bool = True
    blank_password_fields: bool = True
    mask: str = MASK

    @classmethod
    def from_specs(cls, specs: Iterable[str] = (), *, mask_passwords: bool = True) -> Redactor:
        return cls(regions=[parse_region(s) for s in specs], mask_passwords=mask_passwords)

    # -- steps ---------------------------------------------------------------------------

    def secret_target(self, step: Step) -> Element | None:
        """The password field a TypeText of this step goes into, if any."""
        if not self.mask_passwords or not isinstance(step.action, TypeText):
            return None
        if is_secret_field(step.target_element):
            return step.target_element
        target = step.action.target
        if target is not None and target.element:
            el = next((e for e in step.elements if e.id == target.element), None)
            if is_secret_field(el):
                return el
        if target is None and step.target_element is None:
            focused = next((e for e in step.elements if e.focused), None)
            if is_secret_field(focused):
                return focused
        return None

    def redact_step(self, step: Step) -> Step:
        """A copy of `step` with secrets masked (the input step is left untouched)."""
        updates: dict[str, object] = {}
        if self.mask_passwords:
            elements = [_scrub(e) for e in step.elements]
            if any(a is not b for a, b in zip(elements, step.elements, strict=True)):
                updates["elements"] = elements
            if step.target_element is not None and step.target_element.password:
                updates["target_element"] = _scrub(step.target_element)
        if self.secret_target(step) is not None:
            assert isinstance(step.action, TypeText)
            secret = step.action.text
            updates["action"] = step.action.model_copy(update={"text": self.mask})
            if step.decision is not None:
                updates["decision"] = self._scrub_decision(step, secret)
            log.debug("masked text typed into a password field at step %d", step.index)
        return step.model_copy(update=updates) if updates else step

    def _scrub_decision(self, step: Step, secret: str) -> object:
        d = step.decision
        assert d is not None
        action = d.action
        if isinstance(action, TypeText) and action.text == secret:
            action = action.model_copy(update={"text": self.mask})

        def s(text: str) -> str:
            return text.replace(secret, self.mask) if secret else text

        return d.model_copy(update={
            "action": action, "thought": s(d.thought), "subgoal": s(d.subgoal),
            "plan": tuple(s(p) for p in d.plan), "raw": s(d.raw) if d.raw is not None else None,
        })

    # -- frames --------------------------------------------------------------------------

    def boxes_to_blank(self, step: Step | None) -> list[tuple[int, int, int, int]]:
        boxes = [(x, y, x + w, y + h) for x, y, w, h in self.regions]
        if step is not None and self.blank_password_fields:
            for e in [*step.elements, *([step.target_element] if step.target_element else [])]:
                if e.password:
                    boxes.append(e.bbox)
        return boxes

    def redact_frame(self, image: Image.Image, step: Step | None = None) -> Image.Image:
        """A copy of `image` with the regions (and password fields of `step`) filled black."""
        boxes = self.boxes_to_blank(step)
        if not boxes:
            return image
        out = image.copy()
        draw = ImageDraw.Draw(out)
        for left, top, right, bottom in boxes:
            draw.rectangle((left, top, right - 1, bottom - 1), fill="black")
        return out


def _scrub(e: Element) -> Element:
    """A password element without its value (whatever the platform reported in it)."""
    if e.password and e.value:
        return e.model_copy(update={"value": None})
    return e
