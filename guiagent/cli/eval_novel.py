"""`guiagent eval novel`: the NovelScreenSpot-style measurement in one command. Explore an
environment the grounder never saw, keep the screens that are not (near-)duplicates of the
hand-written held-out screens, fine-tune the text grounder on them, and score the held-out
instructions before and after, per instruction kind (+ an HTML report, misses first)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from guiagent.schema.errors import ConfigError


def register(cli: Any) -> None:
    p = cli.eval.add_parser(
        "novel", help="grounding on held-out screens of a novel environment, before/after fine-tuning",
        description="Explore the environment of a hand-written held-out set (assets/novel/ENV.json), fine-tune "
                    "the text grounder on the explored screens that are not held out, and report accuracy on "
                    "the held-out targets before and after, per instruction kind.")
    p.add_argument("--held-out", type=Path, required=True, help="held-out set (e.g. assets/novel/pantry.json)")
    p.add_argument("--out", type=Path, required=True, help="folder for the exploration, model, results, report")
    p.add_argument("--device", help="device spec to explore (default: the set's env, e.g. sim:pantry)")
    p.add_argument("--steps", type=int, default=80, help="exploration steps (default 80)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--explore", type=Path, help="use this exploration folder instead of exploring")
    p.add_argument("--model", type=Path, help="use this fine-tuned model instead of training")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--max-steps", type=int, help="stop training after this many optimizer steps")
    p.add_argument("--ablation", action=argparse.BooleanOptionalAction, default=True,
                   help="also score the MiniLM ranker without fine-tuning (default on)")
    p.set_defaults(func=cmd_novel)


def cmd_novel(args: argparse.Namespace) -> int:
    from rich.table import Table

    from grounding import semantic
    from guiagent.cli._common import console
    from guiagent.eval import grounding_report
    from guiagent.eval.novel import KINDS, by_kind, load_novel, score_novel, training_screens
    from guiagent.explore.collector import load_records
    from guiagent.models.grounder_text_train import pairs_from, train_pairs
    from guiagent.registry import build_grounder

    if args.steps < 1 or args.epochs < 1 or args.batch_size < 1:
        raise ConfigError("--steps, --epochs and --batch-size must be at least 1")
    held = load_novel(args.held_out)
    args.out.mkdir(parents=True, exist_ok=True)
    explore_dir = args.explore or args.out / "explore"
    if args.explore is None:
        _explore(args.device or held.env, explore_dir, args.steps, args.seed)
    kept, excluded = training_screens(explore_dir, held)
    pairs = pairs_from(explore_dir, load_records(explore_dir), kept, seed=args.seed)
    console.print(f"{len(held.items)} held-out targets on {len(held.observations)} screens; training on "
                  f"{len(pairs)} records from {len(kept)} explored screens ({len(excluded)} held-out look-alikes "
                  f"left out: {', '.join(sorted(excluded)) or 'none'})")
    model = args.model
    if model is None:
        if not pairs:
            raise ConfigError("the exploration left nothing to train on (every screen is held out?)")
        model = args.out / "model"
        with _bar("fine-tuning MiniLM") as (progress, task):
            report = train_pairs(pairs, model, epochs=args.epochs, batch_size=args.batch_size,
                                 max_steps=args.max_steps, seed=args.seed,
                                 on_step=lambda s, n, loss: progress.update(task, completed=s, total=n,
                                                                            loss=f"{loss:.3f}"))
        console.print(f"trained {report.steps} steps in {report.seconds:.0f} s: loss {report.first_loss:.3f} -> "
                      f"{report.last_loss:.3f}")
    configs: dict[str, dict[str, Any]] = {"before (rules + MiniLM on labels)": {}}
    if args.ablation:
        configs["MiniLM ranker, not fine-tuned"] = {"model": semantic.model_path()}
    configs["after (fine-tuned)"] = {"model": str(model)}
    runs: dict[str, list[dict[str, Any]]] = {}
    with _bar("scoring held-out targets") as (progress, task):
        progress.update(task, total=len(held.items) * len(configs))
        for name, options in configs.items():
            grounder = build_grounder("text", **options)
            try:
                runs[name] = score_novel(held, grounder, on_item=lambda _r: progress.advance(task))
            finally:
                grounder.close()
    table = {name: by_kind(rows) for name, rows in runs.items()}
    t = Table(title=f"held-out grounding on {held.env} ({len(held.items)} hand-written targets)")
    t.add_column("grounder")
    for kind in (*KINDS, "all"):
        t.add_column(kind, justify="right")
    for name, cells in table.items():
        t.add_row(name, *(f"{c['accuracy']:.0%} ({c['hits']}/{c['n']})" if c["n"] else "-" for c in cells.values()))
    console.print(t)
    before, after = table["before (rules + MiniLM on labels)"], table["after (fine-tuned)"]
    gains = {k: round(100 * ((after[k]["accuracy"] or 0) - (before[k]["accuracy"] or 0)), 1) for k in (*KINDS, "all")}
    console.print("gain after - before (points): " + ", ".join(f"{k} {v:+g}" for k, v in gains.items()))
    (args.out / "results.json").write_text(json.dumps(
        {"env": held.env, "held_out": str(args.held_out), "model": str(model), "train_records": len(pairs),
         "train_screens": sorted(kept), "excluded_screens": sorted(excluded), "table": table, "gain_points": gains,
         "runs": runs}, indent=1))
    report_path = grounding_report.write(
        args.out / "report.html", f"NovelScreenSpot-style: {held.env}", table, runs,
        lambda r: held.observations[r["screen"]].screenshot,
        notes=[f"trained on {len(pairs)} exploration records from {len(kept)} screens; held-out screens "
               f"{', '.join(held.observations)} (hand-written instructions)"])
    console.print(f"results: {args.out / 'results.json'}  report: {report_path}")
    return 0


class _bar:
    """A rich progress bar with ETA over one task (the house style of long commands)."""

    def __init__(self, description: str) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        from guiagent.cli._common import console

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[loss]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                                 console=console)
        self.task = self.progress.add_task(description, total=None, loss="")

    def __enter__(self) -> tuple[Any, Any]:
        self.progress.start()
        return self.progress, self.task

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


def _explore(spec: str, out: Path, steps: int, seed: int) -> None:
    """A novelty exploration of `spec` under the guard (sensitive actions blocked), collecting into `out`."""
    from guiagent.explore.collector import GroundingCollector
    from guiagent.explore.run import ExploreConfig, Explorer, StepReport, build_explore_guard, reset_device
    from guiagent.registry import build_device

    if not spec:
        raise ConfigError("the held-out set names no env: pass --device")
    device = build_device(spec)
    try:
        collector = GroundingCollector(out, f"explore:{spec}", meta={"spec": spec, "seed": seed, "steps": steps})
        with _bar(f"exploring {spec}") as (progress, task):
            progress.update(task, total=steps)

            def on_step(r: StepReport) -> None:
                progress.update(task, completed=r.step, loss=f"{r.screens} screens")

            try:
                reset_device(device)
                Explorer(device, ExploreConfig(steps=steps, seed=seed), guard=build_explore_guard(semantic=False),
                         collector=collector, on_step=on_step).run()
            finally:
                collector.close()
    finally:
        device.close()
