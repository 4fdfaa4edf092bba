"""Evaluate a planner on AITW-format data with the AITW action-matching metric.

Each step is scored on its own, with the gold history (the data's previous actions), as Auto-UI
and AITW evaluate: the planner sees the goal, the screenshot and the previous actions and its
action is compared with the reference. Data: JSONL/JSON of `guiagent.formats.aitw.AitwEpisodeStep` plus
optional `annotations` (or AITW's `ui_positions`): UI boxes as normalized (top, left, height,
width) for the enlarged-box tap rule.

Predicted targets must end as points: element ids resolve through the observation's elements,
descriptions through a grounder when one is given; otherwise the step scores as a miss with the
reason recorded. A ReAct planner is reset per step (its dialogue cannot be rebuilt from gold
history), so it sees only the current screen plus what its prompt says.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field

from guiagent.eval.aitw_metric import AitwReport, StepScore, score_step
from guiagent.formats.aitw import AitwAction, AitwEpisodeStep, NotRepresentable, from_aitw, to_aitw
from guiagent.planning.base import Planner
from guiagent.schema import Action, Observation, Step, Target, TokenUsage, action_targets, with_targets
from guiagent.schema.errors import GroundingError, PlannerError, PlanParseError

log = logging.getLogger(__name__)


class AitwEvalStep(AitwEpisodeStep):
    annotations: list[tuple[float, float, float, float]] = Field(
        default_factory=list, validation_alias=AliasChoices("annotations", "ui_positions"))


@dataclass
class StepRecord:
    index: int
    goal: str
    reference: AitwAction
    prediction: AitwAction | None
    score: StepScore
    raw: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index, "goal": self.goal,
            "reference": self.reference.model_dump(mode="json"),
            "prediction": self.prediction.model_dump(mode="json") if self.prediction else None,
            "matched": self.score.matched, "type_matched": self.score.type_matched,
            "text_matched": self.score.text_matched, "error": self.score.error, "raw": self.raw,
        }


def load_eval_steps(path: Path) -> list[tuple[AitwEvalStep, Path]]:
    from guiagent.models.autoui_train import load_aitw_steps

    return load_aitw_steps(Path(path), AitwEvalStep)


def _resolve(action: Action, obs: Observation, grounder: Any | None) -> Action:
    targets: list[Target] = []
    for t in action_targets(action):
        if t.point is not None:
            targets.append(t)
        elif t.element:
            element = obs.element(t.element.lstrip("#"))
            if element is None:
                raise GroundingError(f"no element #{t.element.lstrip('#')} on this screen")
            targets.append(t.model_copy(update={"point": obs.point_of(element)}))
        elif grounder is not None:
            targets.append(t.model_copy(update={"point": grounder.ground(t.description or "", obs).point}))
        else:
            raise GroundingError(f"target {t.description!r} is a description and no grounder was given")
    return with_targets(action, targets)


def evaluate_planner(
    planner: Planner,
    steps: list[tuple[AitwEvalStep, Path]],
    *,
    grounder: Any | None = None,
    limit: int | None = None,
    on_step: Callable[[StepRecord], None] | None = None,
) -> tuple[AitwReport, list[StepRecord], TokenUsage]:
    from PIL import Image

    report, records, usage = AitwReport(), [], TokenUsage()
    for i, (step, image_path) in enumerate(steps[:limit] if limit else steps):
        with Image.open(image_path) as im:
            image = im.convert("RGB")
        obs = Observation(screenshot=image, screen_size=image.size)
        history = [Step(index=j, action=from_aitw(a)) for j, a in enumerate(step.previous_actions)]
        planner.reset(step.goal)
        pred: AitwAction | None = None
        error: str | None = None
        raw: str | None = None
        try:
            decision = planner.next(step.goal, obs, history)
            raw, usage = decision.raw, usage + decision.usage
            pred = to_aitw(_resolve(decision.action, obs, grounder))
        except (PlannerError, GroundingError) as exc:
            error = f"{type(exc).__name__}: {exc}"
            raw = exc.raw if isinstance(exc, PlanParseError) else raw
            usage = usage + exc.usage
        except NotRepresentable as exc:
            error = f"{type(exc).__name__}: {exc}"
        score = score_step(pred, step.action, step.annotations, error)
        report.add(score, step.action)
        record = StepRecord(i, step.goal, step.action, pred, score, raw)
        records.append(record)
        if on_step is not None:
            on_step(record)
    return report, records, usage
