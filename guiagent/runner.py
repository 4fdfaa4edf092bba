"""Assemble a run from names and options, the same way for the CLI, the app and the daemon."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from devices.base import Device
from grounding.base import Grounder, ScreenParser
from guiagent.agent import Agent, AgentConfig
from guiagent.events import RunResult, Subscriber
from guiagent.planning.base import Planner
from guiagent.registry import build_device, build_grounder, build_planner, check_run
from guiagent.safety import DEFAULT_SENSITIVE_WORDS, Approver, Guard, SafetyPolicy, refuse_all
from guiagent.safety.secrets import NO_SECRETS, ScrubbingParser, Secrets, SecretsDevice, scrubbing_logs
from guiagent.schema import EpisodeMeta, Step
from guiagent.schema.errors import GuiAgentError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOptions:
    device: str = "desktop"
    planner: str = "rule"
    grounder: str = "text"
    planner_options: dict[str, Any] = field(default_factory=dict)
    grounder_options: dict[str, Any] = field(default_factory=dict)
    device_options: dict[str, Any] = field(default_factory=dict)
    max_steps: int = 30
    max_seconds: float = 300.0
    dry_run: bool = False
    ocr: bool = True  # read screen text; off = a11y tree only (minimal installs)
    out: Path | None = None  # episode folder; None = not recorded
    report: bool = True  # write report.html into `out` at the end
    app_allowlist: frozenset[str] | None = None
    sensitive_action: Literal["ask", "block"] = "ask"
    # password fields masked in saved steps and frames (`--no-redact` turns it off); named
    # secrets are scrubbed to their placeholders whatever this says
    redact: bool = True
    secrets: Secrets = NO_SECRETS  # resolved values of the task's `{{name}}` placeholders

    def agent_config(self) -> AgentConfig:
        return AgentConfig(max_steps=self.max_steps, max_seconds=self.max_seconds, dry_run=self.dry_run)

    def with_(self, **changes: Any) -> RunOptions:
        return replace(self, **changes)


def build_screen_parser(ocr: bool = True, trust_a11y: int = 0) -> ScreenParser | None:
    """The perception stack: a11y + OCR + pixel detectors, or a11y only when OCR is off or
    not installed (the daemon on a phone has no onnxruntime). `trust_a11y`: see grounding.parse.ScreenParser."""
    try:
        from grounding.ocr import available as ocr_available
        from grounding.parse import ScreenParser as Perception
    except ImportError as exc:
        log.info("screen parser unavailable (%s); using the a11y tree alone", exc)
        return None
    return Perception(ocr=ocr and ocr_available(), trust_a11y=trust_a11y)


def start_warm_ups(options: RunOptions, device: Device | None = None) -> None:
    """Load the OCR models and the guard's MiniLM in background threads from the start of a run,
    while the device connects and the planner is built: the first observation and the first
    guarded action then find them ready (or nearly). Nothing is skipped: each still waits for
    its model when it needs it."""
    try:
        from grounding import ocr, semantic
    except ImportError:
        return
    if semantic.available():
        semantic.warm_up(DEFAULT_SENSITIVE_WORDS)
    name = (device.info.platform if device is not None else options.device).split(":")[0]
    if options.ocr and ocr.available() and name not in ("android", "sim"):  # phones read their tree
        ocr.default_engine().warm_up()


def build_guard(options: RunOptions) -> Guard:
    """The word list always; the MiniLM matcher on top when it is installed (it catches
    paraphrases such as "Checkout now")."""
    semantic = None
    try:
        from grounding import semantic as minilm

        if minilm.available():
            minilm.warm_up(DEFAULT_SENSITIVE_WORDS)

            def semantic(text: str, words: tuple[str, ...]) -> float:
                return float(minilm.similarity(text, words).max())
    except ImportError:
        pass
    policy = SafetyPolicy(app_allowlist=options.app_allowlist, sensitive_action=options.sensitive_action)
    return Guard(policy, semantic=semantic)


def new_episode_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]


class Run:
    """One task on one device: owns the agent and, when asked, the episode folder."""

    def __init__(
        self,
        task: str,
        options: RunOptions,
        *,
        device: Device | None = None,
        planner: Planner | None = None,
        grounder: Grounder | None = None,
        approver: Approver = refuse_all,
        subscribers: Iterable[Subscriber] = (),
        source: Literal["agent", "human"] = "agent",
    ) -> None:
        self.task, self.options = task, options
        # Every name and option first, so a typo is reported before a device or model starts.
        check_run(options.device, options.device_options if device is None else {},
                  options.planner, options.planner_options if planner is None else {},
                  options.grounder, options.grounder_options if grounder is None else {})
        self._owns_device = device is None
        start_warm_ups(options, device)
        secrets = self.secrets = options.secrets
        # The device types the values of `{{name}}`; planners, models and every sink see placeholders.
        self.device: Device = SecretsDevice(device or build_device(options.device, **options.device_options), secrets)
        try:
            self.planner = planner or build_planner(options.planner, **options.planner_options)
            self.grounder = grounder or build_grounder(options.grounder, **options.grounder_options)
        except BaseException:
            if self._owns_device:
                self.device.close()
            raise
        self.writer = None
        if options.out is not None:
            from guiagent.recorder.episode import EpisodeWriter
            from guiagent.recorder.redact import Redactor

            meta = EpisodeMeta(
                id=new_episode_id(), task=task, source=source, device=self.device.info.id,
                platform=self.device.info.platform, screen_size=self.device.info.screen_size,
                planner=options.planner, grounder=options.grounder,
            )
            redactor = Redactor(mask_passwords=options.redact, blank_password_fields=options.redact, secrets=secrets)
            self.writer = EpisodeWriter(Path(options.out), meta, redactor=redactor)
        # Android's uiautomator tree names what is on screen; OCR then only runs on frames
        # where the tree is (nearly) empty: WebViews, games, FLAG_SECURE screens.
        parser = build_screen_parser(options.ocr, trust_a11y=3 if self.device.info.trusts_a11y else 0)
        self.agent = Agent(
            self.device, self.planner, self.grounder,
            parser=ScrubbingParser(parser, secrets) if parser is not None and secrets else parser,
            guard=build_guard(options), approver=approver,
            config=options.agent_config(), sink=_ScrubbingSink(secrets, self.writer),
        )
        for fn in subscribers:
            self.agent.subscribe(_scrubbed(fn, secrets) if secrets else fn)

    def execute(self) -> RunResult:
        try:
            with scrubbing_logs(self.secrets):
                result = self.secrets.scrub_obj(self.agent.run(self.task))
        except BaseException:
            self._close_writer("failed", "crashed")
            raise
        finally:
            if self._owns_device:
                self.device.close()
        folder = self._close_writer(result.status, result.reason, result.answer, result)
        return replace(result, folder=folder)

    def _close_writer(self, status: Any, reason: str, answer: str | None = None,
                      result: RunResult | None = None) -> str | None:
        if self.writer is None or self.writer.closed:
            return str(self.writer.folder) if self.writer else None
        self.writer.close(status, reason=reason, answer=answer, usage=result.usage if result else None)
        if self.options.report:
            try:
                from guiagent.recorder.report import write_report

                write_report(self.writer.folder)
            except (OSError, GuiAgentError):
                log.exception("could not write the HTML report")
        return str(self.writer.folder)


class _ScrubbingSink:
    """Every step the agent keeps (its history, what subscribers and planners see) holds placeholders;
    the episode writer, when there is one, also masks password fields and frames."""

    def __init__(self, secrets: Secrets, writer: Any) -> None:
        self.secrets, self.writer = secrets, writer

    def add_step(self, step: Step, frame: Any) -> Step:
        if self.writer is not None:
            stored: Step = self.writer.add_step(step, frame)
            return stored
        return self.secrets.scrub_obj(step)


def _scrubbed(fn: Subscriber, secrets: Secrets) -> Subscriber:
    """`fn` fed events with the secrets scrubbed (a model may read a value off the screen)."""
    return lambda event: fn(secrets.scrub_obj(event))


def run_task(task: str, options: RunOptions, **kwargs: Any) -> RunResult:
    return Run(task, options, **kwargs).execute()
