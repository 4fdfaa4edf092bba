"""`guiagent eval miniwob` (the whole agent on MiniWoB++, screen-level) and `guiagent eval
grounding` (a ScreenSpot-format set from MiniWoB screens, and any grounder's score on it)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from guiagent.schema.errors import ConfigError


def register(cli: Any) -> None:
    p = cli.eval.add_parser("miniwob", help="the agent on MiniWoB++ tasks in a real browser, screen-level",
                            description="Run the agent on MiniWoB++ tasks: it reads the task from the screen and "
                                        "acts through the desktop device; the page's reward is the score.")
    p.add_argument("--tasks", default=None, help="comma-separated task names or lists: dev (default), expanded, heldout, frontier, all")
    p.add_argument("--episodes", type=int, default=20, help="episodes per task (seeds SEED..SEED+N-1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("miniwob_results.json"), help="results JSON")
    p.add_argument("--planner", default="rule")
    p.add_argument("--grounder", default="text")
    p.add_argument("--planner-opt", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--grounder-opt", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--base-url", help="OpenAI-compatible endpoint for model planners / grounders")
    p.add_argument("--model", help="model name at that endpoint")
    p.add_argument("--model-path", help="local checkpoint (vlm grounder, autoui planner)")
    p.add_argument("--report", type=Path, help="also write an HTML report here")
    p.add_argument("--utterance-from-obs", action="store_true",
                   help="give the agent MiniWoB's utterance instead of reading it from the screen (reported)")
    p.add_argument("--scale", type=float, default=2.0, help="Chromium device scale factor (default 2)")
    p.add_argument("--max-steps", type=int, default=15)
    p.set_defaults(func=cmd_miniwob)

    g = cli.eval.add_parser("grounding", help="grounding accuracy on a ScreenSpot-format set built from MiniWoB",
                            description="Build (if needed) a ScreenSpot-format grounding set from MiniWoB screens "
                                        "and score a grounder on it: a hit when the point falls in the target box.")
    g.add_argument("--set", type=Path, default=Path("grounding_set"),
                   help="folder of the set (built when missing), or a ScreenSpot-format .json file")
    g.add_argument("--rebuild", action="store_true", help="rebuild the set even when it exists")
    g.add_argument("--tasks", default=None, help="tasks to take screens from (default: the development subset)")
    g.add_argument("--screens", type=int, default=5, help="screens per task")
    g.add_argument("--seed", type=int, default=1000, help="first seed (default apart from eval miniwob's)")
    g.add_argument("--grounder", default="text", help="text | vlm | openai")
    g.add_argument("--grounder-opt", action="append", default=[], metavar="KEY=VALUE")
    g.add_argument("--base-url", help="OpenAI-compatible endpoint (openai grounder)")
    g.add_argument("--model", help="model name at the endpoint")
    g.add_argument("--model-path", help="local checkpoint (vlm grounder)")
    g.add_argument("--out", type=Path, help="scores JSON (default: SET/scores-GROUNDER.json)")
    g.add_argument("--scale", type=float, default=2.0)
    g.set_defaults(func=cmd_grounding)
    from guiagent.cli import eval_novel

    eval_novel.register(cli)


def _tasks(value: str | None) -> tuple[str, ...]:
    from guiagent.eval.miniwob_tasks import DEV_TASKS, TASK_LISTS

    if not value:
        return DEV_TASKS
    tasks: list[str] = []
    for name in (t.strip() for t in value.split(",") if t.strip()):
        tasks.extend(TASK_LISTS.get(name, (name,)))  # a list name (dev, expanded, all) or a task
    if not tasks:
        raise ConfigError("--tasks is empty")
    return tuple(dict.fromkeys(tasks))


def cmd_miniwob(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from guiagent.cli._common import _kv, console, display_for_run
    from guiagent.eval.miniwob import BenchConfig, EpisodeRecord, MiniWoBBench

    if args.episodes < 1:
        raise ConfigError("--episodes must be at least 1")
    tasks = _tasks(args.tasks)
    frames = args.report.parent / f"{args.report.stem}_frames" if args.report else None
    model = {k: v for k, v in (("base_url", args.base_url), ("model", args.model),
                               ("model_path", args.model_path)) if v}
    config = BenchConfig(tasks=tasks, episodes=args.episodes, seed=args.seed, planner=args.planner,
                         grounder=args.grounder,
                         planner_options={**(model if args.planner != "rule" else {}),
                                          **_kv(args.planner_opt, "--planner-opt")},
                         grounder_options={**(model if args.grounder != "text" else {}),
                                           **_kv(args.grounder_opt, "--grounder-opt")},
                         utterance_from_obs=args.utterance_from_obs, max_steps=args.max_steps, scale=args.scale,
                         frames_dir=frames)
    source = "MiniWoB's utterance (--utterance-from-obs)" if args.utterance_from_obs else "the screen (OCR)"
    console.print(f"eval miniwob: {len(tasks)} tasks x {args.episodes} episodes, planner {args.planner}, "
                  f"grounder {args.grounder}, task text from {source}")
    done = {"ok": 0, "n": 0}
    with display_for_run(), Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                              TextColumn("[green]{task.fields[ok]} ok"), TimeElapsedColumn(),
                              console=console) as progress:
        bar = progress.add_task("starting", total=len(tasks) * args.episodes, ok=0)

        def on_task(name: str) -> None:
            progress.update(bar, description=name)

        def on_episode(r: EpisodeRecord) -> None:
            done["n"] += 1
            done["ok"] += int(r.success)
            progress.update(bar, advance=1, ok=done["ok"])
            if not r.success:
                progress.console.print(f"[red]fail[/] {r.task} seed {r.seed}: {r.reason[:160]}")

        bench = MiniWoBBench(config, on_episode=on_episode, on_task=on_task)
        try:
            results = bench.run()
        finally:
            bench.close()
    table = Table(title="MiniWoB++ (screen-level)")
    for col in ("task", "success", "episodes", "median steps", "median step ms", "mean reward"):
        table.add_column(col, justify="left" if col == "task" else "right")
    for name, t in results["tasks"].items():
        rate = t["success_rate"]
        color = "green" if rate >= 0.95 else "yellow" if rate >= 0.7 else "red"
        table.add_row(name, f"[{color}]{rate:.0%}[/]", str(t["episodes"]), f"{t['median_steps'] or 0:g}",
                      f"{t['median_step_ms'] or 0:.0f}", f"{t['mean_reward']:.2f}")
    console.print(table)
    console.print(f"mean success: [bold]{results['mean_success']:.1%}[/] over {len(results['tasks'])} tasks")
    console.print("median latency per step (ms): " + ", ".join(f"{k} {v:.0f}" for k, v in results["latency_ms"].items()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    console.print(f"results written to {args.out}")
    if args.report:
        from guiagent.eval.report_html import write_report

        write_report(results, args.report)
        console.print(f"report written to {args.report}")
    return 0


def cmd_grounding(args: argparse.Namespace) -> int:
    from guiagent.cli._common import _kv, console, display_for_run
    from guiagent.eval.grounding_eval import SET_FILE, build_set, load_set, score
    from guiagent.registry import build_grounder

    # a folder is this command's own set (built when missing); a .json file is any ScreenSpot-format set
    set_file = args.set if args.set.suffix == ".json" else args.set / SET_FILE
    if set_file.parent == args.set and (args.rebuild or not set_file.exists()):
        tasks = _tasks(args.tasks)
        console.print(f"building the grounding set: {len(tasks)} tasks x {args.screens} screens -> {args.set}")
        with display_for_run():
            records = build_set(tasks, args.screens, args.seed, args.set, scale=args.scale)
        console.print(f"{len(records)} targets written to {set_file}")
    records, images = load_set(set_file)
    options = {k: v for k, v in {"base_url": args.base_url, "model": args.model,
                                 "model_path": args.model_path}.items() if v}
    grounder = build_grounder(args.grounder, **options, **_kv(args.grounder_opt, "--grounder-opt"))
    from guiagent.runner import build_screen_parser

    parser = build_screen_parser(ocr=True)
    try:
        summary, rows = score(records, images, grounder, parser)
    finally:
        grounder.close()
    console.print(f"grounder {args.grounder} on {len(records)} targets ({args.set}):")
    console.print(f"  overall {summary['overall']['accuracy']:.1%}  ({summary['overall']['hits']}/{summary['overall']['n']})")
    for kind, cell in summary["by_type"].items():
        console.print(f"  {kind:<6} {cell['accuracy']:.1%}  ({cell['hits']}/{cell['n']})")
    console.print(f"  median {summary['median_ms']} ms per target")
    out = args.out or set_file.parent / f"scores-{args.grounder}.json"
    out.write_text(json.dumps({"grounder": args.grounder, "set": str(set_file), "scores": summary,
                               "records": rows}, indent=2))
    console.print(f"scores written to {out}")
    return 0
