"""`guiagent bench planners`: the scripted server's billing and the D-PoT vs ReAct token curve."""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path

import pytest

from guiagent.cli import Cli
from guiagent.eval.scripted_server import image_tokens


def test_image_tokens_follow_the_high_detail_tile_rule() -> None:
    assert image_tokens(512, 512) == 85 + 170  # one tile
    assert image_tokens(1280, 800) == 85 + 170 * 6  # -> 1229x768 -> 3x2 tiles
    assert image_tokens(4096, 1024) == 85 + 170 * 4  # fit 2048 -> 2048x512 -> 4x1 tiles


def test_bench_planners_dpot_flat_and_at_most_half_of_react(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="guiagent")
    commands = parser.add_subparsers(dest="command", required=True)
    subs = {n: commands.add_parser(n).add_subparsers(dest=n, required=True) for n in ("bench", "eval", "train")}
    importlib.import_module("guiagent.cli.bench_planners").register(
        Cli(parser, commands, subs["bench"], subs["eval"], subs["train"]))
    out = tmp_path / "rows.json"
    args = parser.parse_args(["bench", "planners", "--steps", "3,10", "--repeats", "1", "--json-out", str(out)])
    assert args.func(args) == 0
    rows = {r["steps"]: r for r in json.loads(out.read_text())}
    ten = rows[10]
    assert ten["dpot_calls"] == 20 and ten["react_calls"] == 10  # two calls per D-PoT step
    assert ten["ratio_dpot_react"] <= 0.5
    dpot, react = ten["dpot_per_step"], ten["react_per_step"]
    assert max(dpot) < 1.2 * min(dpot)  # flat per step
    assert react[-1] > 5 * react[0]  # the ReAct dialogue grows with every step
    assert rows[3]["ratio_dpot_react"] > ten["ratio_dpot_react"]
    assert "goal dpot <= 0.5x react at 10+ steps: met" in capsys.readouterr().out
