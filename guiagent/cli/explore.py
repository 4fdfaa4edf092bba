"""`guiagent explore`: GUI-Bee style exploration of a device that collects a ScreenSpot-format
grounding set for it, compared against a uniform-random exploration with the same budget."""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from guiagent.schema.errors import ConfigError


def register(cli: Any) -> None:
    p = cli.commands.add_parser(
        "explore", help="explore a device and collect grounding data for it (GUI-Bee)",
        description="Explore a device, preferring actions whose outcome is novel (a novelty Q-value "
                    "policy), and write (screen, instruction, target box) records in ScreenSpot format "
                    "to OUT. Sensitive actions are never performed. A uniform-random exploration with the "
                    "same step budget and seed runs afterwards as the baseline.")
    p.add_argument("--device", default="sim", help="device spec: sim[:SCENARIO] | android[:SERIAL] | desktop | ...")
    p.add_argument("--steps", type=int, default=100, help="actions per exploration (default 100)")
    p.add_argument("--out", type=Path, required=True, help="output folder (images/, screenspot.json, graph.json)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-depth", type=int, default=6, help="go no deeper than this many screens from the start")
    p.add_argument("--max-seconds", type=float, default=1800.0, help="time budget per exploration")
    p.add_argument("--policy", choices=("novelty", "random"), default="novelty", help="policy of the collecting run")
    p.add_argument("--baseline", choices=("random", "none"), default="random",
                   help="compare against this policy, same budget and seed (default random)")
    p.add_argument("--repeats", type=int, default=1,
                   help="compare over this many seeds (SEED..SEED+N-1) and report medians")
    p.add_argument("--epsilon", type=float, default=0.05, help="random-action rate of the novelty policy")
    p.add_argument("--avoid", action="append", default=[], metavar="WORD",
                   help="never act on elements whose label contains WORD (repeatable; on top of the guard's list)")
    p.add_argument("--no-semantic-guard", action="store_true", help="word list only, no MiniLM paraphrase check")
    p.add_argument("--perception", choices=("auto", "tree", "parser"), default="auto",
                   help="auto: the UI tree on Android, tree + OCR elsewhere")
    p.add_argument("--device-opt", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--score", metavar="GROUNDER", help="then score this grounder (text | vlm | openai) on the set")
    p.set_defaults(func=cmd_explore)


def _checkpoints(steps: int, n: int = 10) -> list[int]:
    return sorted({round(i * steps / n) for i in range(n + 1)})


def _at(curve: list[int], step: int) -> int:
    return curve[min(step, len(curve) - 1)] if curve else 0


def cmd_explore(args: argparse.Namespace) -> int:
    from rich.table import Table

    from guiagent.cli._common import _kv, console
    from guiagent.explore.collector import SET_FILE, GroundingCollector
    from guiagent.explore.policy import QConfig
    from guiagent.explore.run import (
        ExploreConfig,
        Explorer,
        ExploreResult,
        StepReport,
        build_explore_guard,
        reset_device,
    )
    from guiagent.registry import build_device

    if args.steps < 1:
        raise ConfigError("--steps must be at least 1")
    if args.repeats < 1:
        raise ConfigError("--repeats must be at least 1")
    if args.max_depth < 1:
        raise ConfigError("--max-depth must be at least 1")
    if not 0.0 <= args.epsilon <= 1.0:
        raise ConfigError("--epsilon must lie in [0, 1]")
    guard = build_explore_guard(tuple(args.avoid), semantic=not args.no_semantic_guard)
    device = build_device(args.device, **_kv(args.device_opt, "--device-opt"))
    source = f"explore:{args.device}"

    def config(policy: str, seed: int) -> ExploreConfig:
        return ExploreConfig(steps=args.steps, max_seconds=args.max_seconds, max_depth=args.max_depth, seed=seed,
                             policy=policy, q=QConfig(epsilon=args.epsilon), perception=args.perception)

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[screens]} screens"), TimeElapsedColumn(), TimeRemainingColumn(),
                        console=console)
    bar = progress.add_task("exploring", total=args.steps, screens=1)

    def on_step(r: StepReport) -> None:
        progress.update(bar, completed=r.step, screens=r.screens)
        if r.outcome in ("new_template", "new_screen"):
            progress.console.print(f"step {r.step:>4}  new screen {r.screen.id} {r.screen.title!r:<28} "
                                   f"({r.screens} screens)  via {r.action}")

    runs: dict[str, list[ExploreResult]] = {args.policy: []}
    try:
        console.print(f"explore {args.device}: {args.steps} steps, policy {args.policy}, seed {args.seed}, "
                      f"max depth {args.max_depth} -> {args.out}")
        collector = GroundingCollector(args.out, source, meta={
            "device": device.info.id, "spec": args.device, "platform": device.info.platform,
            "screen_size": list(device.info.screen_size), "policy": args.policy, "seed": args.seed,
            "steps": args.steps, "max_depth": args.max_depth, "started_at": time.time()})
        try:
            reset_device(device)
            with progress:
                main = Explorer(device, config(args.policy, args.seed), guard=guard, collector=collector,
                                on_step=on_step).run()
        finally:
            collector.close()
        runs[args.policy].append(main)
        console.print(f"{main.reason}: {main.screens} screens, {main.records} records in {main.seconds:.0f} s")
        others = [] if args.baseline == "none" or args.baseline == args.policy else [args.baseline]
        for policy in [*others, args.policy]:
            runs.setdefault(policy, [])
            for i in range(args.repeats):
                if policy == args.policy and i == 0:
                    continue  # the collecting run
                reset_device(device)
                console.print(f"[dim]{policy} exploration, seed {args.seed + i} ...[/]")
                with tempfile.TemporaryDirectory(prefix="explore-baseline-") as tmp:  # counts its records
                    scratch = GroundingCollector(Path(tmp), source)
                    try:
                        runs[policy].append(Explorer(device, config(policy, args.seed + i), guard=guard,
                                                     collector=scratch).run())
                    finally:
                        scratch.close()
    finally:
        device.close()

    table = Table(title=f"exploration of {args.device} ({args.steps} steps"
                        f"{f', medians over {args.repeats} seeds' if args.repeats > 1 else ''})")
    table.add_column("metric")
    for policy in runs:
        table.add_column(policy, justify="right")

    def med(policy: str, pick: Any) -> float:
        return statistics.median(pick(r) for r in runs[policy])

    for name, pick in (("steps", lambda r: r.steps), ("screens discovered", lambda r: r.screens),
                       ("kinds of screen", lambda r: r.templates), ("edges", lambda r: r.edges),
                       ("distinct elements acted on", lambda r: r.acted), ("records kept", lambda r: r.records),
                       ("no-op actions", lambda r: r.outcomes.get("noop", 0)), ("seconds", lambda r: r.seconds)):
        table.add_row(name, *(f"{med(p, pick):g}" for p in runs))
    console.print(table)
    curve = Table(title="novelty curve: screens found vs steps")
    curve.add_column("policy")
    points = _checkpoints(args.steps)
    for s in points:
        curve.add_column(str(s), justify="right")
    for policy in runs:
        curve.add_row(policy, *(f"{med(policy, lambda r, s=s: _at(r.curve, s)):g}" for s in points))
    console.print(curve)
    summary: dict[str, Any] = {"device": args.device, "steps": args.steps, "seed": args.seed,
                               "repeats": args.repeats,
                               "runs": {p: [r.to_json() for r in rs] for p, rs in runs.items()}}
    if len(runs) > 1:
        base = next(p for p in runs if p != args.policy)
        ratio = med(args.policy, lambda r: r.screens) / max(med(base, lambda r: r.screens), 1)
        summary["screens_ratio"] = round(ratio, 3)
        console.print(f"screens discovered, {args.policy} / {base}: [bold]{ratio:.2f}x[/]")
    if main.blocked:
        console.print(f"never performed (guard): {', '.join(sorted(main.blocked))}")
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    console.print(f"grounding set: {args.out / SET_FILE} ({main.records} records); score a grounder on it "
                  f"with --score GROUNDER, or: guiagent eval grounding --set {args.out / SET_FILE} --grounder text")
    if args.score:
        _score(args.out / SET_FILE, args.score, console)
    return 0


def _score(set_file: Path, grounder_name: str, console: Any) -> None:
    from guiagent.eval.grounding_eval import load_set, score
    from guiagent.registry import build_grounder
    from guiagent.runner import build_screen_parser

    records, images = load_set(set_file)
    if not records:
        console.print("no records to score")
        return
    grounder = build_grounder(grounder_name)
    try:
        summary, rows = score(records, images, grounder, build_screen_parser(ocr=True))
    finally:
        grounder.close()
    o = summary["overall"]
    console.print(f"grounder {grounder_name} on {o['n']} targets: {o['accuracy']:.1%} ({o['hits']}/{o['n']})  "
                  + "  ".join(f"{k} {v['accuracy']:.1%}" for k, v in summary["by_type"].items()))
    out = set_file.parent / f"scores-{grounder_name}.json"
    out.write_text(json.dumps({"grounder": grounder_name, "set": str(set_file), "scores": summary,
                               "records": rows}, indent=2))
    console.print(f"scores written to {out}")
