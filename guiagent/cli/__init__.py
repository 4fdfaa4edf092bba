"""The `guiagent` command line. Each command group lives in its own module with a
`register(cli)` function; this module only wires them together."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from dataclasses import dataclass

from guiagent.schema.errors import GuiAgentError

# The module under guiagent.cli that adds each command (each imports its heavy dependencies
# lazily). A command line that names one of these builds only that module's parser: building all
# of them costs ~0.2 s of CPU, which `guiagent run` would spend before its first action.
COMMANDS: dict[tuple[str, ...], str] = {
    ("run",): "run", ("devices",): "devices_cmd", ("demo",): "demo", ("sim-phone",): "simphone",
    ("daemon",): "daemon", ("record",): "record", ("dataset",): "dataset", ("replay",): "replay",
    ("explore",): "explore", ("app",): "app", ("fleet",): "fleet",
    ("bench", "loop"): "bench_loop", ("bench", "android"): "android_bench", ("bench", "record"): "bench_record",
    ("bench", "planners"): "bench_planners", ("bench", "models"): "bench_models", ("bench", "daemon"): "bench_daemon",
    ("eval", "aitw"): "evaluate", ("eval", "safety"): "evaluate", ("eval", "fuzz"): "evaluate",
    ("eval", "desktop"): "evaluate", ("eval", "miniwob"): "eval_miniwob", ("eval", "grounding"): "eval_miniwob",
    ("eval", "novel"): "eval_miniwob", ("train", "autoui"): "train", ("train", "grounder"): "train",
    ("train", "icons"): "train",
}
COMMAND_MODULES = tuple(dict.fromkeys(COMMANDS.values()))


def modules_for(argv: list[str]) -> tuple[str, ...]:
    """The command modules a command line needs: the one its command names, else all of them."""
    words = [a for a in argv if not a.startswith("-")][:2]
    for n in (1, 2):
        if (module := COMMANDS.get(tuple(words[:n]))) is not None:
            return (module,)
    return COMMAND_MODULES


@dataclass
class Cli:
    parser: argparse.ArgumentParser
    commands: argparse._SubParsersAction
    bench: argparse._SubParsersAction
    eval: argparse._SubParsersAction
    train: argparse._SubParsersAction


def build_parser(modules: tuple[str, ...] = COMMAND_MODULES) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="guiagent", description="A GUI automation agent.")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    bench = commands.add_parser("bench", help="benchmarks (medians and ratios)").add_subparsers(
        dest="bench", metavar="BENCH", required=True)
    ev = commands.add_parser("eval", help="evaluations (MiniWoB++, grounding, AITW)").add_subparsers(
        dest="eval", metavar="SUITE", required=True)
    tr = commands.add_parser("train", help="train models on recorded data").add_subparsers(
        dest="train", metavar="MODEL", required=True)
    cli = Cli(parser, commands, bench, ev, tr)
    for name in modules:
        importlib.import_module(f"guiagent.cli.{name}").register(cli)
    return parser


def main(argv: list[str] | None = None) -> None:
    from grounding.warm import start_for_argv

    args_in = sys.argv[1:] if argv is None else argv
    start_for_argv(args_in)  # `run`: models load while the CLI builds
    parser = build_parser(modules_for(args_in))
    args = parser.parse_args(args_in)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        code = args.func(args)
    except GuiAgentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        code = 130
    raise SystemExit(code or 0)
