"""`guiagent bench planners`: prompt tokens per task, D-PoT vs ReAct, as episodes grow."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from guiagent.schema.errors import ConfigError


def _steps(text: str) -> list[int]:
    try:
        values = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--steps takes numbers like 2,5,10, not {text!r}") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError("--steps needs positive step counts")
    return values


def register(cli: Any) -> None:
    p = cli.bench.add_parser("planners", help="tokens sent per task: dpot vs react as steps grow")
    p.add_argument("--steps", type=_steps, default=[2, 5, 10, 15], help="episode lengths (default 2,5,10,15)")
    p.add_argument("--repeats", type=int, default=3, help="runs per length (times are medians)")
    p.add_argument("--elements", type=int, default=20, help="elements on the synthetic screen")
    p.add_argument("--json-out", type=Path, help="write the rows as JSON here")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from guiagent.eval.planner_bench import BenchRow, bench_planners

    if args.repeats < 1 or args.elements < 1:
        raise ConfigError("--repeats and --elements must be at least 1")
    print("planner bench: scripted episodes through the real OpenAI client and a local server;")
    print("prompt tokens billed like OpenAI (text ~chars/4, screenshots by the 512-px tile rule)\n")
    header = (f"{'steps':>5} {'dpot tok/task':>14} {'react tok/task':>15} {'dpot/react':>10} "
              f"{'dpot tok/step 1st->last':>24} {'react tok/step 1st->last':>25} {'dpot s':>7} {'react s':>8}")
    print(header)
    print("-" * len(header))

    def show(r: BenchRow) -> None:
        d, re_ = r.dpot.prompt_per_step, r.react.prompt_per_step
        print(f"{r.steps:>5} {r.dpot.prompt:>14,} {r.react.prompt:>15,} {r.ratio:>10.2f} "
              f"{f'{d[0]:,} -> {d[-1]:,}':>24} {f'{re_[0]:,} -> {re_[-1]:,}':>25} "
              f"{r.dpot_seconds:>7.2f} {r.react_seconds:>8.2f}", flush=True)

    rows = bench_planners(args.steps, repeats=args.repeats, n_elements=args.elements, on_row=show)
    long = [r for r in rows if r.steps >= 10]
    if long:
        worst = max(r.ratio for r in long)
        verdict = "met" if worst <= 0.5 else "NOT met"
        print(f"\ngoal dpot <= 0.5x react at 10+ steps: {verdict} (worst ratio {worst:.2f})")
    if args.json_out:
        args.json_out.write_text(json.dumps([r.to_dict() for r in rows], indent=2))
        print(f"rows written to {args.json_out}")
    return 0
