"""`guiagent eval miniwob`: the whole agent on MiniWoB++ tasks, screen-level.

Per episode: MiniWoB starts the task in a real Chromium window on the X display; the harness
finds the task area from pixels (`miniwob_env.locate_task_area`); the agent gets the task
text by OCR of the instruction band drawn at the top of that area (or, only with
`utterance_from_obs`, from the environment, reported as such), then looks at the work area
below the band through the desktop device (mss) and acts on it through the desktop device
(OS input: pyautogui/XTest). It never sees the DOM, the fields or Selenium. The harness reads
MiniWoB's reward from the page after every step; success = raw reward > 0.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from guiagent.eval.miniwob_env import (
    MiniWoBTask,
    TaskArea,
    area_signature,
    configure_browser,
    wait_for_task_area,
)
from guiagent.eval.miniwob_tasks import DEV_TASKS, EXPANDED_TASKS, TASK_LISTS
from guiagent.events import AgentEvent, Observed, StepFinished, Subscriber
from guiagent.schema import Done, Element, describe_action
from guiagent.schema.errors import GuiAgentError

log = logging.getLogger(__name__)
__all__ = ["DEV_TASKS", "EXPANDED_TASKS", "TASK_LISTS", "BenchConfig", "MiniWoBBench", "aggregate"]

STAGES = ("instruction", "capture", "ocr", "detect", "parse", "decide", "ground", "act", "settle", "step")
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "«": '"', "»": '"'})


@dataclass(frozen=True)
class BenchConfig:
    tasks: tuple[str, ...] = DEV_TASKS
    episodes: int = 20
    seed: int = 0
    planner: str = "rule"
    grounder: str = "text"
    planner_options: dict[str, Any] = field(default_factory=dict)
    grounder_options: dict[str, Any] = field(default_factory=dict)
    utterance_from_obs: bool = False  # read the task from the env instead of the screen (reported)
    max_steps: int = 15
    # the agent's time per episode; None: the page's own clock (10 s for most tasks, up to 30 s for
    # some: MiniWoB ends the episode then) plus 2 s, so that the page, not the harness, sets the limit
    max_seconds: float | None = None
    scale: float = 2.0  # Chromium's device scale factor (see miniwob_env)
    ocr_upscale_below: int = 0  # crops smaller than this are upscaled 2x before OCR (0: never)
    frames_dir: Path | None = None  # keep the first frame of every failed episode here


@dataclass
class EpisodeRecord:
    task: str
    seed: int
    success: bool
    raw_reward: float
    reward: float
    steps: int
    seconds: float
    reason: str
    instruction: str  # what the agent was given
    utterance: str  # MiniWoB's own text (harness-side, to diagnose OCR errors; never given to the agent)
    actions: list[str] = field(default_factory=list)
    step_timings: list[dict[str, float]] = field(default_factory=list)
    instruction_ms: float = 0.0
    frame: str | None = None


class TimedParser:
    """A ScreenParser that remembers the OCR / detector split of every parse."""

    def __init__(self, parser: Any) -> None:
        self.parser = parser
        self.timings: list[dict[str, float]] = []

    def parse(self, image: Image.Image, a11y: Sequence[Element]) -> list[Element]:
        out = self.parser.parse(image, a11y)
        self.timings.append(dict(getattr(self.parser, "last_timings_ms", {}) or {}))
        return out


def clean_instruction(lines: Sequence[str]) -> str:
    """OCR lines of the instruction band -> one instruction (typographic quotes made plain)."""
    return " ".join(" ".join(lines).translate(_QUOTES).split())


# Letters whose capital is the small letter drawn bigger: OCR often gets their case wrong
# ("fU" read as "fu"). Their glyph height against the line's x-height and cap height decides.
_SAME_SHAPE = frozenset("cosuvwxzCOSUVWXZ")
_X_HEIGHT = frozenset("aemnr")
_CAP_HEIGHT = frozenset("ABDEFGHKLMNPRTbdhkl0123456789")  # no descenders


def _glyph_boxes(gray: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Connected ink components of a text crop: (left, top, right, bottom)."""
    from grounding.detect import label_runs

    runs = label_runs(gray < np.median(gray) - 60)
    comps: dict[int, list[int]] = {}
    for r, a, b, lab in zip(runs.row, runs.start, runs.end, runs.label, strict=True):
        c = comps.setdefault(int(lab), [int(a), int(r), int(b), int(r) + 1])
        c[0], c[1], c[2], c[3] = min(c[0], int(a)), min(c[1], int(r)), max(c[2], int(b)), max(c[3], int(r) + 1)
    return [(c[0], c[1], c[2], c[3]) for c in comps.values()]


def repair_case(boxes: Sequence[Any], image: Image.Image) -> list[str]:
    """The OCR lines with the case of same-shape letters (c o s u v w x z) decided by their
    height: a glyph as tall as the capitals is a capital. Heights are pooled over all lines (one
    font); a line is left as read when its characters cannot be matched to glyphs."""
    gray = np.asarray(image.convert("L"), dtype=np.int16)
    heights: list[tuple[str, int | None]] = []
    per_line: list[list[int | None]] = []
    for box in boxes:
        letters = [c for c in box.text if not c.isspace()]
        left, top, right, bottom = box.bbox
        x0, y0 = max(0, left - 2), max(0, top - 2)
        comps = _glyph_boxes(gray[y0: bottom + 2, x0: right + 2]) if len(letters) == len(box.chars) else []
        line: list[int | None] = []
        for (a, z), ch in zip(box.chars, letters, strict=False):
            cx, w = (a + z) / 2 - x0, max(1, z - a)
            hit = [c for c in comps if c[0] <= cx < c[2] and c[2] - c[0] <= 1.6 * w]
            h = max(c[3] for c in hit) - min(c[1] for c in hit) if hit else None
            line.append(h)
            heights.append((ch, h))
        per_line.append(line)
    xs = [h for c, h in heights if c in _X_HEIGHT and h]
    caps = [h for c, h in heights if c in _CAP_HEIGHT and h]
    if not xs or not caps or statistics.median(caps) - statistics.median(xs) < 2:
        return [b.text for b in boxes]
    x_h, cap_h = statistics.median(xs), statistics.median(caps)
    out = []
    for box, line in zip(boxes, per_line, strict=True):
        if not line:
            out.append(box.text)
            continue
        hs = iter(line)
        chars = []
        for ch in box.text:
            h = None if ch.isspace() else next(hs)
            if ch in _SAME_SHAPE and h is not None:
                ch = ch.upper() if abs(h - cap_h) < abs(h - x_h) else ch.lower()
            chars.append(ch)
        out.append("".join(chars))
    return out


class InstructionReader:
    """Reads the task text from the instruction band on the screen (OCR + case repair)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def read(self, band: Image.Image) -> str:
        from grounding.colors import with_swatches  # a colour shown as a sample is read as "#rrggbb"

        boxes = self.engine.read(band)
        return clean_instruction(with_swatches(band, [b.bbox for b in boxes], repair_case(boxes, band)))


def _median(xs: Sequence[float]) -> float | None:
    return round(statistics.median(xs), 1) if xs else None


class MiniWoBBench:
    """Runs `config.tasks` x `config.episodes` and aggregates results (see `results`)."""

    def __init__(self, config: BenchConfig, on_episode: Callable[[EpisodeRecord], None] | None = None,
                 on_task: Callable[[str], None] | None = None, *, planner: Any = None,
                 grounder: Any = None, subscribers: Sequence[Subscriber] = ()) -> None:
        """`planner` / `grounder` instances replace the ones `config` names (tests, the app);
        `subscribers` receive every agent event of every episode."""
        self.config = config
        self.subscribers = tuple(subscribers)
        self.on_episode = on_episode
        self.on_task = on_task
        self.records: list[EpisodeRecord] = []
        self._engine: Any = None
        self._grounder: Any = grounder
        self._planner: Any = planner

    # -- parts built once -----------------------------------------------------------------

    def _ocr_engine(self) -> Any:
        if self._engine is None:
            from grounding.ocr import OcrEngine

            self._engine = OcrEngine(upscale_below=self.config.ocr_upscale_below)
        return self._engine

    def _parts(self) -> tuple[Any, Any]:
        from guiagent.registry import build_grounder, build_planner

        if self._planner is None:
            options = dict(self.config.planner_options)
            if self.config.planner == "rule":  # MiniWoB scores a form only once it is submitted
                options.setdefault("submit_forms", True)
            self._planner = build_planner(self.config.planner, **options)
        if self._grounder is None:
            self._grounder = build_grounder(self.config.grounder, **self.config.grounder_options)
        return self._planner, self._grounder

    def warm_up(self) -> None:
        """Load the OCR models (and the grounder's) before any episode clock runs."""
        from guiagent.schema import Observation, Role
        from guiagent.schema.errors import GroundingError

        engine = self._ocr_engine()
        engine.read(Image.new("RGB", (64, 32), "white"))
        _, grounder = self._parts()
        probe = Observation(screenshot=Image.new("RGB", (64, 32), "white"), screen_size=(64, 32),
                            elements=(Element(id="1", role=Role.TEXT, name="warm up", bbox=(0, 0, 30, 10)),))
        try:  # the text grounder loads its sentence model on first use
            grounder.ground("a different phrase", probe)
        except GroundingError:
            pass

    def close(self) -> None:
        for part in (self._planner, self._grounder):
            if part is not None:
                part.close()

    # -- the run ---------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        from devices.x11.device import open_desktop

        configure_browser(self.config.scale)
        self.warm_up()
        screen = open_desktop("", a11y=False)
        try:
            for task in self.config.tasks:
                if self.on_task is not None:
                    self.on_task(task)
                self._run_task(task, screen)
        finally:
            screen.close()
        return self.results()

    def _run_task(self, task: str, screen: Any) -> None:
        try:
            env = MiniWoBTask(task)
        except GuiAgentError as exc:  # an unknown task or a browser that will not start: scored, not fatal
            for i in range(self.config.episodes):
                self._record(EpisodeRecord(task, self.config.seed + i, False, 0.0, 0.0, 0, 0.0, f"harness: {exc}",
                                           "", ""))
            return
        device = None
        area: TaskArea | None = None
        try:
            for i in range(self.config.episodes):
                seed = self.config.seed + i
                try:
                    before = area_signature(screen.screenshot(), area) if area is not None else None
                    obs = env.reset(seed)
                    area_now, _ = wait_for_task_area(screen.screenshot, cached=area, previous=before)
                    if area_now != area or device is None:
                        from devices.x11.device import open_desktop

                        if device is not None:
                            device.close()
                        area = area_now
                        device = open_desktop("", region=area.region(), a11y=False)
                    record = self._episode(env, device, screen, area, seed, str(obs.get("utterance", "")))
                except GuiAgentError as exc:
                    record = EpisodeRecord(task, seed, False, 0.0, 0.0, 0, 0.0, f"harness: {exc}", "", "")
                self._record(record)
        finally:
            if device is not None:
                device.close()
            env.close()

    def _record(self, record: EpisodeRecord) -> None:
        self.records.append(record)
        if self.on_episode is not None:
            self.on_episode(record)

    def _episode(self, env: MiniWoBTask, device: Any, screen: Any, area: TaskArea, seed: int,
                 utterance: str) -> EpisodeRecord:
        from grounding.parse import ScreenParser
        from guiagent.agent import Agent, AgentConfig
        from guiagent.safety import Guard, approve_all

        t0 = time.monotonic()
        t = time.perf_counter()
        if self.config.utterance_from_obs:
            instruction = utterance
        else:
            band = screen.screenshot().crop(area.band)
            instruction = InstructionReader(self._ocr_engine()).read(band)
        instruction_ms = (time.perf_counter() - t) * 1000
        planner, grounder = self._parts()
        parser = TimedParser(ScreenParser(ocr_engine=self._ocr_engine()))
        cfg = self.config
        budget = cfg.max_seconds if cfg.max_seconds is not None else env.clock_seconds() + 2.0
        # MiniWoB is a sandbox page: sensitive-looking buttons ("Delete", "Submit") are approved.
        agent = Agent(device, planner, grounder, parser=parser, guard=Guard(), approver=approve_all,
                      config=AgentConfig(max_steps=cfg.max_steps, max_seconds=budget,
                                         settle_timeout=1.0, stuck_after=3))
        first: list[Image.Image] = []

        def watch(event: AgentEvent) -> None:
            match event:
                case Observed(observation=obs) if not first:
                    first.append(obs.screenshot)
                case StepFinished() if env.outcome().done:
                    agent.request_stop("the episode ended")
                case _:
                    pass

        agent.subscribe(watch)
        for fn in self.subscribers:
            agent.subscribe(fn)
        result = agent.run(instruction)
        out = env.wait_outcome(0.5 if result.status == "success" else 0.1)
        steps = [s for s in agent.history if s.action is not None and not isinstance(s.action, Done)]
        timings = []  # of the steps that acted (the final `done` only looked)
        for s, extra in zip(agent.history, parser.timings, strict=False):
            if s.action is None or isinstance(s.action, Done):
                continue
            merged = {k: v for k, v in s.timings_ms.items() if k in STAGES}
            merged.update({k: v for k, v in extra.items() if k in ("ocr", "detect")})
            merged["step"] = s.timings_ms.get("total", 0.0)
            timings.append(merged)
        if out.success:
            reason = ""
        elif out.done:
            reason = f"page scored {out.raw_reward:g} ({out.reason or 'no reason given'}); agent: {result.reason}"
        else:
            reason = f"the task did not end: agent {result.status}: {result.reason}"
        frame = None
        if not out.success and cfg.frames_dir is not None and first:
            cfg.frames_dir.mkdir(parents=True, exist_ok=True)
            path = cfg.frames_dir / f"{env.task}-{seed}.png"
            first[0].save(path)
            frame = str(path)
        return EpisodeRecord(
            task=env.task, seed=seed, success=out.success, raw_reward=out.raw_reward, reward=out.reward,
            steps=len(steps), seconds=round(time.monotonic() - t0, 3), reason=reason, instruction=instruction,
            utterance=utterance, actions=[describe_action(s.action) for s in agent.history if s.action],
            step_timings=timings, instruction_ms=round(instruction_ms, 1), frame=frame)

    # -- aggregation -----------------------------------------------------------------------

    def results(self) -> dict[str, Any]:
        return aggregate(self.records, self.config)


def aggregate(records: Sequence[EpisodeRecord], config: BenchConfig | None = None) -> dict[str, Any]:
    """results.json: per task success rate, median steps and step latency, failures; the mean
    success over tasks; the median latency of every stage over all steps."""
    tasks: dict[str, Any] = {}
    for name in dict.fromkeys(r.task for r in records):
        rs = [r for r in records if r.task == name]
        k = sum(r.success for r in rs)
        step_ms = [t["step"] for r in rs for t in r.step_timings if "step" in t]
        tasks[name] = {
            "episodes": len(rs), "successes": k, "success_rate": round(k / len(rs), 4),
            "median_steps": _median([r.steps for r in rs]), "median_step_ms": _median(step_ms),
            "median_episode_s": _median([r.seconds for r in rs]),
            "mean_reward": round(statistics.fmean(r.reward for r in rs), 4),
            "instruction_misread": sum(1 for r in rs if r.utterance and r.instruction != r.utterance),
            "failures": [{"seed": r.seed, "reason": r.reason, "instruction": r.instruction,
                          **({"utterance": r.utterance} if r.instruction != r.utterance else {}),
                          "actions": r.actions, **({"frame": r.frame} if r.frame else {})}
                         for r in rs if not r.success],
        }
    latency: dict[str, float | None] = {}
    for stage in STAGES:
        if stage == "instruction":
            values = [r.instruction_ms for r in records if r.instruction_ms]
        else:
            values = [t[stage] for r in records for t in r.step_timings if stage in t]
        if values:
            latency[stage] = _median(values)
    rates = [t["success_rate"] for t in tasks.values()]
    out: dict[str, Any] = {
        "tasks": tasks,
        "mean_success": round(statistics.fmean(rates), 4) if rates else None,
        "latency_ms": latency,
        "instruction_source": "observation" if config and config.utterance_from_obs else "screen",
    }
    if config is not None:
        cfg = asdict(config)
        cfg["frames_dir"] = str(config.frames_dir) if config.frames_dir else None
        cfg["tasks"] = list(config.tasks)
        out["config"] = cfg
    return out
