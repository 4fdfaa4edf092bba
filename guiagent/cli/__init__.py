"""The `guiagent` command line. Each command group lives in its own module with a
`register(cli)` function; this module only wires them together."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from dataclasses import dataclass

from guiagent.schema.errors import GuiAgentError

# Modules under guiagent.cli that add commands (each imports its heavy dependencies lazily).
COMMAND_MODULES = (
    "run", "devices_cmd", "demo", "bench_loop", "simphone", "android_bench", "daemon",
    "record", "dataset", "replay", "bench_record", "evaluate", "eval_miniwob", "train",
    "bench_planners", "bench_models", "explore", "app", "fleet", "bench_daemon",
)


@dataclass
class Cli:
    parser: argparse.ArgumentParser
    commands: argparse._SubParsersAction
    bench: argparse._SubParsersAction
    eval: argparse._SubParsersAction
    train: argparse._SubParsersAction


def build_parser() -> argparse.ArgumentParser:
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
    for name in COMMAND_MODULES:
        importlib.import_module(f"guiagent.cli.{name}").register(cli)
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
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
