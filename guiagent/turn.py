"""The first half of a loop turn (guiagent.agent): observe the screen, then decide and ground one action."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from devices.base import Device
from grounding.base import Grounder, ScreenParser
from guiagent.planning.base import Planner
from guiagent.safety.hittest import ground_action
from guiagent.schema import Action, Decision, Element, Observation, Step, TokenUsage, describe_action
from guiagent.schema.errors import GroundingError, InstructionNotUnderstood, ModelError, PlannerError

log = logging.getLogger("guiagent.agent")  # the loop's logger: these lines were always logged as the agent's


def ms_since(t: float) -> float:
    """Milliseconds since `t` (a time.perf_counter() reading), rounded for the step's timings."""
    return round((time.perf_counter() - t) * 1000, 2)


def observe(device: Device, parser: ScreenParser | None, pool: ThreadPoolExecutor | None,
            timings: dict[str, float]) -> Observation:
    """Capture, then read the a11y tree in `pool` while the parser reads the pixels (OCR,
    detectors: `prepare`), then merge. `a11y` times only the wait left after parsing."""
    t = time.perf_counter()
    image = device.screenshot()
    timings["capture"] = ms_since(t)
    prepare = getattr(parser, "prepare", None)
    pending = pool.submit(device.ui_tree) if prepare is not None and pool is not None else None
    t = time.perf_counter()
    if prepare is not None:
        prepare(image)
    timings["parse"] = ms_since(t)
    t = time.perf_counter()
    a11y = pending.result() if pending is not None else device.ui_tree()
    timings["a11y"] = ms_since(t)
    t = time.perf_counter()
    elements = parser.parse(image, a11y) if parser is not None else list(a11y)
    timings["parse"] += ms_since(t)
    return Observation(screenshot=image, elements=tuple(elements), screen_size=image.size,
                       foreground=device.foreground(), device_id=device.info.id)


def decide_and_ground(planner: Planner, grounder: Grounder, task: str, obs: Observation, history: Sequence[Step],
                      retries: int, timings: dict[str, float]) -> tuple[Decision, Action, Element | None, TokenUsage]:
    """(decision, grounded action, its element, grounding tokens), re-asking the planner up to
    `retries` times with the error fed back. Tokens spent by rejected attempts are counted:
    planning ones in the decision's usage, and on failure the raised error carries everything
    spent in this step (`SpentTokensError.usage`)."""
    feedback: str | None = None
    planning, grounding = TokenUsage(), TokenUsage()
    timings["decide"] = timings["ground"] = 0.0
    for attempt in range(retries + 1):
        t = time.perf_counter()
        try:
            decision = planner.next(task, obs, history, feedback)
        except InstructionNotUnderstood:
            raise
        except (PlannerError, ModelError) as exc:  # PlanParseError included: fed back, then retried
            timings["decide"] += ms_since(t)
            planning = planning + exc.usage  # tokens spent on a rejected reply still count
            feedback = f"your last answer was rejected: {exc}"
            log.info("decision %d rejected: %s", attempt, exc)
            if attempt == retries:
                raise PlannerError(f"no valid decision after {attempt + 1} tries: {exc}",
                                   usage=planning + grounding) from exc
            continue
        timings["decide"] += ms_since(t)
        planning = planning + decision.usage
        t = time.perf_counter()
        try:
            action, element, spent = ground_action(decision.action, obs, grounder)
        except GroundingError as exc:
            timings["ground"] += ms_since(t)
            grounding = grounding + exc.usage
            feedback = f"could not find the target of {describe_action(decision.action)}: {exc}"
            log.info("grounding %d failed: %s", attempt, exc)
            if attempt == retries:
                raise exc.with_usage(planning + grounding) from None
            continue
        timings["ground"] += ms_since(t)
        grounding = grounding + spent
        return decision.model_copy(update={"usage": planning}), action, element, grounding
    raise AssertionError("unreachable")
