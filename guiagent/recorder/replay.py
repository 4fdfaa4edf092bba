"""Replay a recorded episode on a live device, grounding every recorded target AGAIN.

A recorded point is only valid for the screen it was recorded on; the element under it is
what the human meant. So each step's target element is looked up on the live screen by its
name (and role) through a grounder (the text grounder by default); the recorded point is used
only when the step has no named element, and the report says so. Per step the report tells
where the live screen diverged from the recording: element not found, element moved, or a
screen that looks very different from the recorded frame.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, assert_never

import numpy as np
from PIL import Image

from guiagent.recorder.episode import read_episode
from guiagent.schema import (
    Action,
    Back,
    Click,
    Done,
    DoubleClick,
    Drag,
    Element,
    Home,
    Hover,
    Key,
    LongPress,
    Observation,
    OpenApp,
    Point,
    RightClick,
    Scroll,
    Step,
    Swipe,
    Target,
    TypeText,
    Wait,
    action_targets,
    describe_action,
    with_targets,
)
from guiagent.schema.errors import DeviceError, GroundingError

log = logging.getLogger(__name__)
OnMissing = Literal["stop", "point", "skip"]


@dataclass
class ReplayStep:
    index: int
    action: str
    method: str  # "element" (re-grounded), "point" (recorded point), "none" (no target)
    element: str | None = None
    found: bool | None = None
    score: float | None = None
    moved: float | None = None  # distance recorded -> live point, fraction of the screen diagonal
    screen_diff: float | None = None  # fraction of thumbnail pixels that differ from the recording
    diverged: bool = False
    notes: list[str] = field(default_factory=list)
    outcome: str = "pending"
    error: str | None = None


@dataclass
class ReplayReport:
    folder: str
    device: str
    steps: list[ReplayStep] = field(default_factory=list)
    completed: bool = False
    stopped_at: int | None = None

    @property
    def diverged(self) -> int:
        return sum(1 for s in self.steps if s.diverged)

    def to_dict(self) -> dict[str, Any]:
        return {"folder": self.folder, "device": self.device, "completed": self.completed,
                "stopped_at": self.stopped_at, "diverged": self.diverged, "steps": [asdict(s) for s in self.steps]}


def screen_difference(a: Image.Image, b: Image.Image) -> float:
    """Fraction of a small grayscale thumbnail's pixels that differ noticeably (0 = same).
    Thumbnails make frames of different sizes comparable and ignore sub-pixel shifts."""
    sa, sb = (np.asarray(f.convert("L").resize((160, 100), Image.Resampling.BILINEAR), dtype=np.int16)
              for f in (a, b))
    return float(np.mean(np.abs(sa - sb) > 12))


def element_description(el: Element) -> str:
    """What to ask the grounder for: the element's name, with its role when that helps."""
    role = el.role.value.replace("_", " ")
    return f"{el.label} {role}" if role not in ("other", "text", "container", "window") else el.label


def _shift(target: Target, dx: float, dy: float) -> Target:
    if target.point is None:
        return target
    return Target(point=Point(x=min(max(target.point.x + dx, 0.0), 1.0), y=min(max(target.point.y + dy, 0.0), 1.0)))


def regrounded(action: Action, old: Point, new: Point, element_id: str | None) -> Action:
    """The action with its primary target moved from `old` to `new` (drags keep their vector)."""
    dx, dy = new.x - old.x, new.y - old.y
    targets = action_targets(action)
    match action:
        case Click() | DoubleClick() | RightClick() | LongPress() | Hover() | Scroll():
            return with_targets(action, [Target(point=new, element=element_id)])
        case Swipe() | Drag():
            return with_targets(action, [Target(point=new, element=element_id), _shift(targets[1], dx, dy)])
        case TypeText() | Key() | OpenApp() | Back() | Home() | Wait() | Done():
            return action
        case _:
            assert_never(action)


def _primary_point(action: Action) -> Point | None:
    match action:
        case Click() | DoubleClick() | RightClick() | LongPress() | Hover() | Scroll() | Swipe() | Drag():
            targets = action_targets(action)
            return targets[0].point if targets else None
        case TypeText() | Key() | OpenApp() | Back() | Home() | Wait() | Done():
            return None
        case _:
            assert_never(action)


class Replayer:
    def __init__(
        self, device: Any, grounder: Any, *, on_missing: OnMissing = "stop", diff_threshold: float = 0.3,
        moved_threshold: float = 0.05, settle_timeout: float = 3.0,
    ) -> None:
        self.device = device
        self.grounder = grounder
        self.on_missing = on_missing
        self.diff_threshold = diff_threshold
        self.moved_threshold = moved_threshold
        self.settle_timeout = settle_timeout

    def observe(self) -> Observation:
        shot = self.device.screenshot()
        try:
            elements = tuple(self.device.ui_tree())
        except DeviceError as exc:
            log.warning("no accessibility tree: %s", exc)
            elements = ()
        return Observation(screenshot=shot, elements=elements, screen_size=shot.size,
                           foreground=self.device.foreground(), device_id=self.device.info.id)

    def run(self, folder: Path) -> ReplayReport:
        folder = Path(folder)
        traj = read_episode(folder)
        report = ReplayReport(str(folder), self.device.info.id)
        for step in traj.steps:
            if step.action is None:
                continue
            rs = self.replay_step(folder, step)
            report.steps.append(rs)
            if rs.outcome in ("stopped", "failed"):
                report.stopped_at = step.index
                return report
        report.completed = True
        return report

    def replay_step(self, folder: Path, step: Step) -> ReplayStep:
        assert step.action is not None
        action: Action = step.action
        rs = ReplayStep(step.index, describe_action(action), "none")
        obs = self.observe()
        if step.frame and (folder / step.frame).is_file():
            with Image.open(folder / step.frame) as recorded:
                rs.screen_diff = round(screen_difference(recorded.convert("RGB"), obs.screenshot), 4)
            if rs.screen_diff > self.diff_threshold:
                rs.diverged = True
                rs.notes.append(f"screen differs from the recording ({rs.screen_diff:.0%} of the thumbnail)")
        el = step.target_element
        old = _primary_point(action)
        if el is not None and el.label:
            rs.element = f"{el.role.value} {el.label!r}"
            try:
                found = self.grounder.ground(element_description(el), obs)
            except GroundingError as exc:
                rs.found, rs.diverged = False, True
                rs.notes.append(f"element not found on the live screen: {exc}")
                if self.on_missing in ("stop", "skip"):
                    rs.outcome = "stopped" if self.on_missing == "stop" else "skipped"
                    return rs
                if old is not None:
                    rs.method = "point"
                    rs.notes.append("fell back to the recorded point")
            else:
                rs.found, rs.score = True, round(found.score, 3)
                if old is not None:
                    rs.method = "element"
                    w, h = obs.screen_size
                    rs.moved = round(math.hypot((found.point.x - old.x) * w, (found.point.y - old.y) * h)
                                     / math.hypot(w, h), 4)
                    if rs.moved > self.moved_threshold:
                        rs.notes.append(f"element moved by {rs.moved:.1%} of the screen diagonal")
                    eid = found.element.id if found.element is not None else None
                    action = regrounded(action, old, found.point, eid)
        elif old is not None:
            rs.method = "point"
            rs.notes.append("no recorded element: using the recorded point")
        t0 = time.monotonic()
        try:
            outcome = self.device.execute(action)
        except DeviceError as exc:
            rs.outcome, rs.error = "failed", str(exc)
            return rs
        rs.outcome = outcome.status
        rs.error = outcome.error
        self.device.wait_until_stable(reference=obs.screenshot, timeout=self.settle_timeout)
        log.debug("replayed step %d in %.0f ms", step.index, (time.monotonic() - t0) * 1000)
        return rs


def replay_episode(folder: Path, device: Any, grounder: Any, **options: Any) -> ReplayReport:
    return Replayer(device, grounder, **options).run(folder)
