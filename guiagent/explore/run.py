"""The exploration loop: observe -> identify the screen -> offer guarded actions -> choose
(novelty Q or random) -> act -> settle -> observe -> reward -> learn -> collect.

Bounded by steps and seconds. At the depth limit, and after `stuck_limit` actions in a row
that changed nothing, only back (then home) is offered. Sensitive actions never run: every
candidate meets `guiagent.safety.Guard` with `sensitive_action="block"` first. A lost device
ends the run early with what was collected so far.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from devices.base import Device
from guiagent.explore.actions import Candidate, GuardFilter, enumerate_candidates
from guiagent.explore.collector import GroundingCollector
from guiagent.explore.graph import ActionInfo, ExplorationGraph, ScreenNode, VisitKind, signature_of
from guiagent.explore.instructions import screen_title
from guiagent.explore.policy import Outcome, Policy, QConfig, make_policy
from guiagent.safety import Guard, SafetyPolicy
from guiagent.schema import Home, Observation
from guiagent.schema.errors import DeviceDisconnected, DeviceError, DeviceTimeout

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExploreConfig:
    steps: int = 50
    max_seconds: float = 600.0
    max_depth: int = 6
    seed: int = 0
    policy: str = "novelty"  # novelty | random
    q: QConfig = QConfig()
    stuck_limit: int = 3
    settle_timeout: float = 3.0
    settle_quiet: float = 0.15
    match_threshold: float = 0.8
    perception: Literal["auto", "tree", "parser"] = "auto"  # auto: the a11y tree on Android, else + OCR


@dataclass
class ExploreResult:
    policy: str
    seed: int
    steps: int = 0
    screens: int = 0
    templates: int = 0
    edges: int = 0
    records: int = 0
    functions: int = 0
    acted: int = 0  # distinct elements acted on (screen, element action), not back/home/scrolls
    seconds: float = 0.0
    reason: str = "running"
    curve: list[int] = field(default_factory=list)  # screens known after step i (0 = before acting)
    outcomes: dict[str, int] = field(default_factory=dict)
    blocked: dict[str, str] = field(default_factory=dict)  # candidate label -> guard reason
    titles: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StepReport:
    step: int
    action: str
    outcome: Outcome
    screen: ScreenNode
    screens: int


def build_explore_guard(avoid: tuple[str, ...] = (), semantic: bool = True) -> GuardFilter:
    """The guard with sensitive actions blocked (nobody approves during exploration); the
    MiniLM paraphrase matcher on top when installed (labels embedded in one batch per
    screen); `avoid` adds words blocked outright."""
    matcher: Callable[[str, tuple[str, ...]], float] | None = None
    prewarm: Callable[[list[str]], None] | None = None
    if semantic:
        try:
            from grounding import semantic as minilm

            if minilm.available():
                def similarity(text: str, words: tuple[str, ...]) -> float:
                    return float(minilm.similarity(text, words).max())

                def embed(labels: list[str]) -> None:
                    minilm.embed([t for t in labels if len(t) <= 40])

                matcher, prewarm = similarity, embed
        except ImportError:
            matcher = prewarm = None
    guard = Guard(SafetyPolicy(sensitive_action="block", extra_blocked_words=tuple(avoid)), semantic=matcher)
    return GuardFilter(guard, prewarm)


def reset_device(device: Device, quiet: float = 0.15) -> None:
    """Back to a comparable start: a virtual phone resets its whole state; other devices go home."""
    if device.info.resettable:
        device.reset()
    elif device.info.can(Home):
        device.execute(Home())
    device.wait_until_stable(timeout=3.0, quiet=quiet)


class Explorer:
    def __init__(self, device: Device, config: ExploreConfig | None = None, *, policy: Policy | None = None,
                 guard: Guard | GuardFilter | None = None, collector: GroundingCollector | None = None,
                 parser: Any = None,
                 on_step: Callable[[StepReport], None] | None = None) -> None:
        self.device = device
        self.config = config or ExploreConfig()
        self.policy: Policy = policy or make_policy(self.config.policy, self.config.seed, self.config.q)
        if guard is None:
            guard = build_explore_guard()
        self.guard = guard if isinstance(guard, GuardFilter) else GuardFilter(guard)
        self.collector = collector
        self.parser = parser
        perception = self.config.perception
        if parser is None and (perception == "parser" or (perception == "auto" and not device.info.trusts_a11y)):
            from guiagent.runner import build_screen_parser

            self.parser = build_screen_parser(ocr=True)
        self.on_step = on_step
        self.graph = ExplorationGraph(self.config.match_threshold)
        self.result = ExploreResult(policy=self.policy.name, seed=self.config.seed)
        self._pools: dict[str, list[Candidate]] = {}
        self._frame: Any = None  # the last settled frame, when the device returned one
        self._acted: set[tuple[str, str]] = set()

    # -- perception -----------------------------------------------------------------------

    def observe(self) -> Observation:
        # the settled frame is the screen now: no second screenshot for it
        img = self._frame if self._frame is not None else self.device.screenshot()
        self._frame = None
        elements = self.device.ui_tree()
        if self.parser is not None:
            elements = self.parser.parse(img, elements)
        return Observation(screenshot=img, elements=tuple(elements), screen_size=img.size,
                           foreground=self.device.foreground(), device_id=self.device.info.id)

    def _observe_retrying(self) -> Observation:
        try:
            return self.observe()
        except (DeviceDisconnected, DeviceTimeout):
            raise
        except DeviceError as exc:  # a flaky dump: once more after a moment
            log.info("observation failed (%s); retrying once", exc)
            time.sleep(0.3)
            return self.observe()

    def _identify(self, obs: Observation, step: int, depth: int) -> tuple[ScreenNode, VisitKind]:
        sig = signature_of(obs.elements, obs.screenshot, obs.screen_size)
        title = screen_title(obs.elements, obs.screen_size, obs.foreground)
        node, kind = self.graph.visit(sig, step, title=title, foreground=obs.foreground, depth=depth)
        if kind != "known" and self.collector is not None:
            self.result.records += self.collector.add_screen(node, obs)
        candidates = enumerate_candidates(obs, self.device.info.supported)
        allowed, blocked = self.guard.split(candidates, obs)
        for c in allowed:
            node.actions.setdefault(c.key, ActionInfo(group=c.group, label=c.label, escape=c.escape))
        for c in candidates:
            if c.key in blocked:
                node.blocked[c.key] = blocked[c.key]
                self.result.blocked[c.label] = blocked[c.key]
        self._pools[node.id] = allowed
        self.policy.offer(node.id, [(c.key, c.group) for c in self._regular(node, allowed)])
        return node, kind

    def _regular(self, node: ScreenNode, allowed: list[Candidate]) -> list[Candidate]:
        """What a screen offers: its clicks and scrolls and back; only the escapes (back,
        home) at the depth limit or when nothing else is there. A device without back/home
        (a desktop) has no way up, so there the depth limit cannot apply."""
        inner = [c for c in allowed if not c.escape]
        escapes = [c for c in allowed if c.escape]
        if (node.depth >= self.config.max_depth and escapes) or not inner:
            return escapes
        return inner + [c for c in escapes if c.key == "back"]

    # -- the loop -------------------------------------------------------------------------

    def run(self) -> ExploreResult:
        cfg, res = self.config, self.result
        t0 = time.monotonic()
        try:
            obs = self._observe_retrying()
            node, _ = self._identify(obs, 0, 0)
        except DeviceError as exc:
            res.reason = f"device error before the first step: {exc}"
            raise
        res.curve = [len(self.graph.nodes)]
        noop_streak, last_key = 0, ""
        res.reason = f"{cfg.steps} steps done"
        while res.steps < cfg.steps:
            if time.monotonic() - t0 > cfg.max_seconds:
                res.reason = f"time budget of {cfg.max_seconds:g} s used"
                break
            pool = self._regular(node, self._pools[node.id])
            if noop_streak >= cfg.stuck_limit:  # stuck: back, and home when back did nothing
                escapes = [c for c in self._pools[node.id] if c.escape]
                pool = ([c for c in escapes if c.key == "back" and last_key != "back"]
                        or [c for c in escapes if c.key == "home"] or pool)
            if not pool:
                res.reason = "no allowed action on this screen"
                break
            by_key = {c.key: c for c in pool}
            key = self.policy.choose(node.id, [(c.key, c.group) for c in pool], self.graph)
            cand = by_key[key]
            first_try = self.graph.tries(node.id, key) == 0
            res.steps += 1
            if cand.element is not None:
                self._acted.add((node.id, key))
                res.acted = len(self._acted)
            failed = False
            try:
                self.device.execute(cand.action)
                settled = self.device.wait_until_stable(reference=obs.screenshot, timeout=cfg.settle_timeout,
                                                        quiet=cfg.settle_quiet)
                self._frame = settled.last_frame if settled.stable else None
            except (DeviceDisconnected, DeviceTimeout) as exc:
                res.reason = f"device lost: {exc}"
                break
            except DeviceError as exc:
                log.info("step %d: %s failed: %s", res.steps, cand.label, exc)
                failed = True
            try:
                obs2 = self._observe_retrying()
                node2, kind = self._identify(obs2, res.steps, node.depth + 1)
            except DeviceError as exc:
                res.reason = f"device lost: {exc}"
                break
            outcome: Outcome = ("failed" if failed else kind if kind != "known"
                                else "noop" if node2.id == node.id else "known")
            self.graph.add_transition(node.id, key, None if failed else node2.id)
            self.policy.learn(node.id, key, cand.group, outcome, node2.id, self.graph, first_try)
            if (kind != "known" and self.collector is not None and cand.element is not None
                    and node2.title and node2.title != node.title):
                res.functions += int(self.collector.add_function(node, cand.element, obs.screen_size, node2.title))
                res.records = len(self.collector.records)
            res.outcomes[outcome] = res.outcomes.get(outcome, 0) + 1
            noop_streak = noop_streak + 1 if outcome in ("noop", "failed") else 0
            if key == "home" and noop_streak > cfg.stuck_limit:
                noop_streak = 0  # back and home both changed nothing (the start screen): carry on
            last_key = key
            res.curve.append(len(self.graph.nodes))
            self._refresh(t0)
            if self.collector is not None:
                self.collector.flush(self.graph, res.to_json())
            if self.on_step is not None:
                self.on_step(StepReport(res.steps, cand.label, outcome, node2, len(self.graph.nodes)))
            node, obs = node2, obs2
        self._refresh(t0)
        if self.collector is not None:
            self.collector.flush(self.graph, res.to_json())
        return res

    def _refresh(self, t0: float) -> None:
        res = self.result
        res.screens = len(self.graph.nodes)
        res.templates = len(self.graph.templates)
        res.edges = len(self.graph.edges)
        res.seconds = round(time.monotonic() - t0, 2)
        res.titles = [n.title for n in self.graph.nodes.values()]
        if self.collector is not None:
            res.records = len(self.collector.records)


def explore(device: Device, config: ExploreConfig | None = None, *, collector: GroundingCollector | None = None,
            guard: Guard | GuardFilter | None = None,
            on_step: Callable[[StepReport], None] | None = None) -> ExploreResult:
    """Explore `device` from its current screen with `config.policy`; see `Explorer`."""
    return Explorer(device, config, guard=guard, collector=collector, on_step=on_step).run()
