"""The protocols of the eyes: a Grounder (a text description + the current observation -> a
point) and a ScreenParser (a screenshot + a11y nodes -> the observation's elements).

Grounders never act and never import devices. They raise `GroundingError` when nothing on
the screen matches well enough; they never return a guess dressed up as an answer.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from PIL import Image

from guiagent.schema import Element, Observation, Point
from guiagent.schema import TokenUsage as TokenUsage  # re-exported for backends


@dataclass(frozen=True)
class GroundingResult:
    point: Point
    element: Element | None = None  # the element the point belongs to, when known
    score: float = 1.0  # the grounder's own confidence in [0, 1]
    method: str = ""  # e.g. "exact", "fuzzy", "semantic", "label->field", "vlm"
    usage: TokenUsage | None = None


class Grounder(abc.ABC):
    """Finds what a description refers to on the screen."""

    name: str = "grounder"

    @abc.abstractmethod
    def ground(self, description: str, observation: Observation) -> GroundingResult:
        """Locate `description` in `observation`. Raises GroundingError when not found."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release models and connections."""


class ScreenParser(Protocol):
    """Perception: OCR, pixel detectors and the a11y nodes merged into elements with stable ids
    (grounding.parse.ScreenParser is the implementation)."""

    def parse(self, image: Image.Image, a11y: Sequence[Element]) -> list[Element]: ...
