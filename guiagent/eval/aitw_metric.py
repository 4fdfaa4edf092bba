"""The AITW action-matching metric, as the AITW release and Auto-UI compute it.

- If either action is not DUAL_POINT, they match iff their types are equal (text is not compared).
- Tap vs swipe: no match.
- Two taps match if one UI-annotation box, enlarged to 2.4x its size around its centre, contains
  both points, or if their (y, x) distance is <= 0.14.
- Two swipes match iff their main axis (the larger of |dy|, |dx|) is the same; the sign is not compared.

Scores (Auto-UI): overall = fraction of steps whose actions match; action-type accuracy = fraction
whose AITW action types are equal; text accuracy = over reference TYPE steps, the actions match and
one typed text contains the other (lowercased).

Points are normalized (y, x) as in AITW; annotation boxes are (top, left, height, width) normalized,
the layout of AITW's `ui_positions`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from guiagent.formats.aitw import AitwAction, AitwType

TAP_MATCH_DISTANCE = 0.14
BOX_ENLARGE = 2.4  # an annotation box grows to 2.4x its height and width around its centre

YX = tuple[float, float]
AnnotationBox = tuple[float, float, float, float]  # (top, left, height, width), normalized


def enlarge_box(box: AnnotationBox, factor: float = BOX_ENLARGE) -> AnnotationBox:
    """AITW's enlargement: top' = max(0, top - (f-1)/2*h), h' = min(1, f*h); same for x."""
    top, left, h, w = box
    grow = (factor - 1.0) / 2.0
    return (max(0.0, top - grow * h), max(0.0, left - grow * w), min(1.0, factor * h), min(1.0, factor * w))


def _inside(yx: YX, box: AnnotationBox) -> bool:
    top, left, h, w = box
    return top <= yx[0] <= top + h and left <= yx[1] <= left + w


def taps_match(a: YX, b: YX, annotations: Iterable[AnnotationBox] = ()) -> bool:
    if math.dist(a, b) <= TAP_MATCH_DISTANCE:
        return True
    return any(_inside(a, big) and _inside(b, big) for big in map(enlarge_box, annotations))


def swipe_axis(touch: YX, lift: YX) -> int:
    """0 when the swipe is mostly vertical (y), 1 when mostly horizontal (x); ties count as y
    (numpy's argmax picks the first)."""
    dy, dx = abs(lift[0] - touch[0]), abs(lift[1] - touch[1])
    return 0 if dy >= dx else 1


def actions_match(pred: AitwAction, ref: AitwAction, annotations: Sequence[AnnotationBox] = ()) -> bool:
    """AITW's check_actions_match."""
    if pred.action_type != AitwType.DUAL_POINT or ref.action_type != AitwType.DUAL_POINT:
        return pred.action_type == ref.action_type
    if pred.is_tap != ref.is_tap:
        return False
    if pred.is_tap:
        return taps_match(pred.touch_point, ref.touch_point, annotations)
    return swipe_axis(pred.touch_point, pred.lift_point) == swipe_axis(ref.touch_point, ref.lift_point)


def text_matches(pred: AitwAction, ref: AitwAction) -> bool:
    p, r = pred.typed_text.strip().lower(), ref.typed_text.strip().lower()
    return p in r or r in p


@dataclass(frozen=True)
class StepScore:
    matched: bool
    type_matched: bool
    text_matched: bool | None  # None when the reference is not a TYPE action
    error: str | None = None  # why there was no prediction (parse error, unrepresentable action)


def score_step(pred: AitwAction | None, ref: AitwAction, annotations: Sequence[AnnotationBox] = (),
               error: str | None = None) -> StepScore:
    """One step. `pred=None` (the planner gave nothing usable) scores as a miss everywhere."""
    is_type = ref.action_type == AitwType.TYPE
    if pred is None:
        return StepScore(False, False, False if is_type else None, error or "no prediction")
    matched = actions_match(pred, ref, annotations)
    text = (matched and text_matches(pred, ref)) if is_type else None
    return StepScore(matched, pred.action_type == ref.action_type, text, error)


@dataclass
class AitwReport:
    steps: int = 0
    matched: int = 0
    type_matched: int = 0
    text_steps: int = 0
    text_matched: int = 0
    errors: int = 0
    per_type: dict[str, list[int]] = field(default_factory=dict)  # ref type -> [matched, total]

    def add(self, score: StepScore, ref: AitwAction) -> None:
        self.steps += 1
        self.matched += score.matched
        self.type_matched += score.type_matched
        self.errors += score.error is not None
        if score.text_matched is not None:
            self.text_steps += 1
            self.text_matched += score.text_matched
        key = ref.action_type.name if ref.action_type != AitwType.DUAL_POINT else (
            "TAP" if ref.is_tap else "SWIPE")
        cell = self.per_type.setdefault(key, [0, 0])
        cell[0] += score.matched
        cell[1] += 1

    @property
    def overall(self) -> float:
        return self.matched / self.steps if self.steps else 0.0

    @property
    def action_type_accuracy(self) -> float:
        return self.type_matched / self.steps if self.steps else 0.0

    @property
    def text_accuracy(self) -> float:
        return self.text_matched / self.text_steps if self.text_steps else 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "steps": self.steps,
            "overall": round(self.overall, 4),
            "action_type_accuracy": round(self.action_type_accuracy, 4),
            "text_accuracy": round(self.text_accuracy, 4),
            "text_steps": self.text_steps,
            "errors": self.errors,
            "per_type": {k: {"matched": m, "total": t} for k, (m, t) in sorted(self.per_type.items())},
        }
