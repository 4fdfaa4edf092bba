"""Pieces shared by the CLI commands: run options from flags, the live step printer, the
terminal approver, a display for commands that open windows."""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guiagent.events import AgentEvent, RunFinished, StepFinished
from guiagent.runner import RunOptions
from guiagent.safety import Approval, approve_all, refuse_all
from guiagent.safety.secrets import Secrets, parse_secret_flags, resolve_secrets
from guiagent.schema import Action, GuardDecision, Observation, Step, describe_action
from guiagent.schema.errors import ConfigError

if TYPE_CHECKING:
    from rich.console import Console


@functools.cache
def get_console() -> Console:
    """rich's Console, built on first use: importing rich is ~40-80 ms of a cold `guiagent run`
    that its first action would otherwise wait for (nothing is printed before a step ends)."""
    from rich.console import Console

    # Piped output (CI logs) gets a readable width instead of rich's 80 columns.
    return Console(highlight=False, width=None if sys.stdout.isatty() else 132)


if TYPE_CHECKING:
    console: Console


def __getattr__(name: str) -> Any:  # `from guiagent.cli._common import console` builds it then
    if name == "console":
        return get_console()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
STAGES = ("capture", "a11y", "parse", "decide", "ground", "guard", "act", "settle")


def add_run_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="desktop", help="desktop | android[:SERIAL] | sim[:SCENARIO] | windows")
    p.add_argument("--planner", default="rule", help="rule (default, no model) | dpot | react | autoui")
    p.add_argument("--grounder", default="text", help="text (default, no model) | vlm | openai")
    p.add_argument("--max-steps", type=int, default=30)
    p.add_argument("--max-seconds", type=float, default=300.0)
    p.add_argument("--out", type=Path, help="write the run as an episode folder (+ report.html) here")
    p.add_argument("--dry-run", action="store_true", help="decide and ground, but do not act")
    p.add_argument("--no-ocr", action="store_true", help="use the accessibility tree only")
    p.add_argument("--allow-app", action="append", default=None, metavar="NAME",
                   help="apps the agent may open (repeatable); others need approval")
    p.add_argument("--base-url", help="OpenAI-compatible endpoint for model planners/grounders")
    p.add_argument("--model", help="model name at that endpoint")
    p.add_argument("--api-key", help="API key (default: $OPENAI_API_KEY)")
    p.add_argument("--model-path", help="local checkpoint directory (transformers / Auto-UI)")
    p.add_argument("--planner-opt", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--grounder-opt", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--device-opt", action="append", default=[], metavar="KEY=VALUE")
    add_secret_flags(p)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--yes", action="store_true", help="approve sensitive actions without asking")
    g.add_argument("--no-input", action="store_true", help="never prompt: refuse sensitive actions")


def add_secret_flags(p: argparse.ArgumentParser, *, what: str = "saved steps and frames") -> None:
    p.add_argument("--secret", action="append", default=[], metavar="NAME=env:VAR|file:PATH",
                   help="a secret the task names as {{NAME}} (repeatable): the device types its value, "
                        "models and every file see only {{NAME}}; never a literal value")
    r = p.add_mutually_exclusive_group()
    r.add_argument("--no-redact", action="store_true",
                   help=f"keep text typed into password fields and their pixels in {what} "
                        "(named secrets are scrubbed anyway)")
    r.add_argument("--redact", action="store_true", help="mask password fields (the default; kept for old scripts)")


def secrets_from_args(args: argparse.Namespace) -> Secrets:
    """The values of --secret, read now; ConfigError for a bad spec, a missing variable or file."""
    return resolve_secrets(parse_secret_flags(args.secret))


def _kv(pairs: list[str], flag: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"{flag} expects KEY=VALUE, got {pair!r}")
        low = value.lower()
        out[key.replace("-", "_")] = True if low == "true" else False if low == "false" else _num(value)
    return out


def _num(value: str) -> Any:
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def run_options(args: argparse.Namespace) -> RunOptions:
    model = {k: v for k, v in (("base_url", args.base_url), ("model", args.model), ("api_key", args.api_key),
                               ("model_path", args.model_path)) if v}
    planner_opts = {**(model if args.planner != "rule" else {}), **_kv(args.planner_opt, "--planner-opt")}
    grounder_opts = {**(model if args.grounder != "text" else {}), **_kv(args.grounder_opt, "--grounder-opt")}
    if args.max_steps < 1:
        raise ConfigError("--max-steps must be at least 1")
    return RunOptions(
        device=args.device, planner=args.planner, grounder=args.grounder,
        planner_options=planner_opts, grounder_options=grounder_opts,
        device_options=_kv(args.device_opt, "--device-opt"), max_steps=args.max_steps,
        max_seconds=args.max_seconds, dry_run=args.dry_run, ocr=not args.no_ocr, out=args.out,
        app_allowlist=frozenset(args.allow_app) if args.allow_app else None,
        redact=not args.no_redact, secrets=secrets_from_args(args),
    )


def terminal_approver(args: argparse.Namespace):  # -> Approver
    if args.yes:
        return approve_all
    if args.no_input or not sys.stdin.isatty():
        return refuse_all

    def ask(action: Action, decision: GuardDecision, observation: Observation) -> Approval:
        get_console().print(f"[bold yellow]approval needed[/]: {describe_action(action)} — {decision.reason}")
        while True:
            answer = get_console().input("approve? [y]es / [s]kip / [n]o, stop: ").strip().lower()
            if answer in ("y", "yes"):
                return "approve"
            if answer in ("s", "skip"):
                return "skip"
            if answer in ("n", "no", "stop"):
                return "stop"

    return ask


class StepPrinter:
    """Prints each step as it happens."""

    def __init__(self) -> None:
        self.steps: list[Step] = []

    def __call__(self, event: AgentEvent) -> None:
        match event:
            case StepFinished(step=s):
                self._print_step(s)
            case RunFinished(result=r):
                color = "green" if r.ok else "red"
                get_console().print(
                    f"[bold {color}]{r.status}[/] after {r.steps} steps in {r.seconds:.1f} s: {r.reason}")
            case _:
                pass

    def _print_step(self, s: Step) -> None:
        self.steps.append(s)
        what = describe_action(s.action) if s.action else "(no action)"
        status = {"ok": "[green]ok[/]", "failed": "[red]failed[/]", "blocked": "[red]blocked[/]",
                  "skipped": "[yellow]skipped[/]"}[s.outcome.status]
        t = s.timings_ms
        times = " ".join(f"{k} {t[k]:.0f}" for k in STAGES if k in t)
        get_console().print(f"step {s.index + 1:>2}  {what:<48} {status}  [dim]{times} ms[/]")
        if s.decision and s.decision.thought:
            get_console().print(f"         [dim]{s.decision.thought}[/]")
        if s.outcome.error:
            get_console().print(f"         [red]{s.outcome.error}[/]")


@contextmanager
def display_for_run(needed: bool = True) -> Iterator[None]:
    """Browsers and desktop pages need an X display: use $DISPLAY, else a virtual one for the run."""
    if not needed or os.environ.get("DISPLAY"):
        yield
        return
    from devices.x11.xvfb import VirtualDisplay

    vd = VirtualDisplay(1280, 800).start()
    try:
        yield
    finally:
        vd.stop()
