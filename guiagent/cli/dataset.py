"""`guiagent dataset export|stats|view|repair`: recorded episodes as training data."""

from __future__ import annotations

import argparse
import json
import webbrowser
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console(highlight=False, soft_wrap=True)


def register(cli: Any) -> None:
    p = cli.commands.add_parser("dataset", help="export, inspect and repair recorded episodes")
    sub = p.add_subparsers(dest="dataset_cmd", metavar="ACTION", required=True)

    e = sub.add_parser("export", help="export episodes to a Hugging Face dataset, AITW JSONL, plain JSONL, "
                                      "chat SFT JSONL (TRL / LLaMA-Factory) or AgentNet-style pyautogui JSONL")
    e.add_argument("dirs", nargs="+", type=Path, metavar="DIR", help="episode folders or folders of episodes")
    e.add_argument("--format", required=True, choices=["hf", "aitw", "jsonl", "sft", "agentnet"])
    e.add_argument("--family", choices=["uitars", "qwen25vl", "showui"],
                   help="sft: the model family whose action format and coordinates the answers use")
    e.add_argument("--max-pixels", type=int, default=28 * 28 * 1280,
                   help="sft qwen25vl: the processor's max_pixels (pixel coordinates are of the resized image)")
    e.add_argument("--out", type=Path, required=True)
    e.set_defaults(func=cmd_export)

    s = sub.add_parser("stats", help="episodes, steps, action types, sources, durations")
    s.add_argument("dirs", nargs="+", type=Path, metavar="DIR")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=cmd_stats)

    v = sub.add_parser("view", help="write each episode's report.html (and open it)")
    v.add_argument("dir", type=Path, metavar="DIR")
    v.add_argument("--open", action="store_true", help="open the report in a browser")
    v.set_defaults(func=cmd_view)

    r = sub.add_parser("repair", help="drop torn step lines and close crashed episodes")
    r.add_argument("dirs", nargs="+", type=Path, metavar="DIR")
    r.set_defaults(func=cmd_repair)


def cmd_export(args: argparse.Namespace) -> int:
    """A progress bar over episodes, then a summary table."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from guiagent.recorder.export import export
    from guiagent.recorder.export_sft import export_agentnet, export_sft
    from guiagent.schema.errors import ConfigError

    if args.format == "sft" and not args.family:
        raise ConfigError("--format sft needs --family uitars|qwen25vl|showui")
    if args.max_pixels < 56 * 56:
        raise ConfigError("--max-pixels must be at least 3136 (56 x 56)")
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=console) as progress:
        bar = progress.add_task(f"export {args.format}", total=None)

        def on_episode(done: int, total: int) -> None:
            progress.update(bar, completed=done, total=total)

        if args.format == "sft":
            report = export_sft(args.dirs, args.out, args.family, max_pixels=args.max_pixels, on_episode=on_episode)
        elif args.format == "agentnet":
            report = export_agentnet(args.dirs, args.out, on_episode=on_episode)
        else:
            report = export(args.dirs, args.out, args.format, on_episode)
    console.print(f"exported {report.steps} {'rows' if args.format == 'hf' else 'examples'} from "
                  f"{report.episodes} episodes to {args.out} ({report.format})")
    t = Table(title=f"dataset export {report.format}", show_header=False)
    t.add_column("what")
    t.add_column("value", justify="right", overflow="fold")
    t.add_row("episodes", str(report.episodes))
    t.add_row("rows" if args.format == "hf" else "samples", str(report.steps))
    for reason, n in sorted(report.skipped.items()):
        t.add_row(f"skipped: {reason}", str(n))
    for path in report.files:
        t.add_row("file", str(path))
    console.print(t)
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from guiagent.recorder.export import dataset_stats

    stats = dataset_stats(args.dirs)
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    t = Table(show_header=False, box=None)
    for key in ("episodes", "steps", "frames", "steps_per_episode_median", "duration_s_median", "duration_s_total"):
        t.add_row(key.replace("_", " "), str(stats[key]))
    for key in ("action_types", "sources", "statuses"):
        t.add_row(key.replace("_", " "), ", ".join(f"{k} {v}" for k, v in stats[key].items()) or "-")
    console.print(t)
    return 0


def cmd_view(args: argparse.Namespace) -> int:
    from guiagent.recorder.episode import list_episodes
    from guiagent.recorder.report import write_report

    paths = [write_report(folder) for folder in list_episodes(args.dir)]
    for p in paths:
        console.print(str(p))
    if not paths:
        console.print(f"no episodes under {args.dir}")
        return 1
    if args.open:
        webbrowser.open(paths[0].resolve().as_uri())
    return 0


def cmd_repair(args: argparse.Namespace) -> int:
    from guiagent.recorder.episode import list_episodes, repair_episode

    for d in args.dirs:
        for folder in list_episodes(d):
            r = repair_episode(folder)
            what = []
            if r.dropped_lines:
                what.append(f"dropped lines {', '.join(map(str, r.dropped_lines))}")
            if r.closed:
                what.append("closed as stopped (interrupted)")
            console.print(f"{folder}: {r.kept_steps} steps, " + ("; ".join(what) if what else "nothing to repair"))
    return 0
