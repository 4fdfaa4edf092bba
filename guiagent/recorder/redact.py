"""Privacy: typed secrets never reach disk, configured screen regions are blanked.

A `Redactor` is applied by the episode writer to every step, frame and meta before anything is
written, so the recorder, the agent loop and the exporters share one policy. Named secrets
(`guiagent.safety.secrets`) are always scrubbed back to their placeholders and the elements that
show them blanked in frames; password masking is on by default (`--no-redact` turns it off).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from PIL import Image, ImageDraw

from guiagent.safety.secrets import NO_SECRETS, Secrets
from guiagent.schema import Element, Step, TypeText
from guiagent.schema.errors import ConfigError
from guiagent.schema.placeholders import only_placeholders

log = logging.getLogger(__name__)

# Fixed mask: the length of the secret is not kept either.
MASK = "•••"

Region = tuple[int, int, int, int]  # x, y, w, h in screenshot pixels
Box = tuple[int, int, int, int]  # left, top, right, bottom


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
    field (the target element, the password element under a point target, or the focused element
    of the step) is replaced by MASK; password elements' boxes are blanked in frames and their
    values dropped. `secrets` are scrubbed everywhere whatever the other switches say, and the
    elements showing one are blanked in frames.

    A field a secret (named, or a password) was typed into stays blanked in the later frames of
    the same app: a recorder's accessibility snapshot may be older than its frame, so the
    elements of a step do not always show what its frame shows. One Redactor per episode."""

    regions: list[Region] = field(default_factory=list)
    mask_passwords: bool = True
    blank_password_fields: bool = True
    mask: str = MASK
    secrets: Secrets = NO_SECRETS
    _typed: list[tuple[str | None, Box]] = field(default_factory=list, init=False, repr=False)

    @classmethod
    def from_specs(cls, specs: Iterable[str] = (), *, mask_passwords: bool = True,
                   secrets: Secrets = NO_SECRETS) -> Redactor:
        return cls(regions=[parse_region(s) for s in specs], mask_passwords=mask_passwords,
                   blank_password_fields=mask_passwords, secrets=secrets)

    @classmethod
    def secrets_only(cls, secrets: Secrets) -> Redactor:
        """`--no-redact`: passwords typed without a placeholder are kept, named secrets still never are."""
        return cls(mask_passwords=False, blank_password_fields=False, secrets=secrets)

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
        if target is not None and target.point is not None and step.screen_size[0] > 0:
            # point-targeted typing: the password field under the point
            x, y = target.point.x * step.screen_size[0], target.point.y * step.screen_size[1]
            hit = [e for e in step.elements if e.password and e.bbox[0] <= x < e.bbox[2] and e.bbox[1] <= y < e.bbox[3]]
            if hit:
                return min(hit, key=lambda e: e.width * e.height)
        if target is None and step.target_element is None:
            focused = next((e for e in step.elements if e.focused), None)
            if is_secret_field(focused):
                return focused
        return None

    def redact_step(self, step: Step) -> Step:
        """A copy of `step` with secrets masked (the input step is left untouched)."""
        self._remember_typed_field(step)
        step = self.secrets.scrub_obj(step)
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
            if only_placeholders(secret):  # a named secret: the placeholder already says nothing
                return step.model_copy(update=updates) if updates else step
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

    def _remember_typed_field(self, step: Step) -> None:
        action = step.action
        if not isinstance(action, TypeText):
            return
        named = self.secrets.shows_secret(action.text) or self.secrets.names_secret(action.text)
        if not named and (self.secret_target(step) is None or not self.blank_password_fields):
            return
        field_el = self.secret_target(step) or _typed_field(step)
        if field_el is not None and (step.foreground, field_el.bbox) not in self._typed:
            self._typed.append((step.foreground, field_el.bbox))

    # -- frames --------------------------------------------------------------------------

    def boxes_to_blank(self, step: Step | None) -> list[tuple[int, int, int, int]]:
        boxes = [(x, y, x + w, y + h) for x, y, w, h in self.regions]
        if step is None:
            return boxes
        for e in [*step.elements, *([step.target_element] if step.target_element else [])]:
            if (e.password and self.blank_password_fields) or self._shows_secret(e):
                boxes.append(e.bbox)
        boxes += [box for app, box in self._typed if app is None or step.foreground in (None, app)]
        return boxes

    def _shows_secret(self, e: Element) -> bool:
        """The element shows a named secret: its value, a fragment, or (already scrubbed) its placeholder."""
        s = self.secrets
        return bool(s) and any(s.shows_secret(t) or s.names_secret(t) for t in (e.name, e.value))

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


def _typed_field(step: Step) -> Element | None:
    """The element a TypeText of `step` went into: its target, the element under its point, or the focused one."""
    if step.target_element is not None:
        return step.target_element
    assert isinstance(step.action, TypeText)
    target = step.action.target
    if target is not None and target.element:
        return next((e for e in step.elements if e.id == target.element), None)
    if target is not None and target.point is not None and step.screen_size[0] > 0:
        x, y = target.point.x * step.screen_size[0], target.point.y * step.screen_size[1]
        hit = [e for e in step.elements if e.bbox[0] <= x < e.bbox[2] and e.bbox[1] <= y < e.bbox[3]]
        return min(hit, key=lambda e: (not e.editable, e.width * e.height)) if hit else None
    return next((e for e in step.elements if e.focused), None)


def _scrub(e: Element) -> Element:
    """A password element without its value (whatever the platform reported in it)."""
    if e.password and e.value:
        return e.model_copy(update={"value": None})
    return e
