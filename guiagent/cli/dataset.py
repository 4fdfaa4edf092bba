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

    e = sub.add_parser("export", help="export episodes to a Hugging Face dataset, AITW JSONL or plain JSONL")
    e.add_argument("dirs", nargs="+", type=Path, metavar="DIR", help="episode folders or folders of episodes")
    e.add_argument("--format", required=True, choices=["hf", "aitw", "jsonl"])
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
    from guiagent.recorder.export import export

    report = export(args.dirs, args.out, args.format)
    console.print(f"exported {report.steps} {'rows' if args.format == 'hf' else 'examples'} from "
                  f"{report.episodes} episodes to {args.out} ({args.format})")
    for reason, n in sorted(report.skipped.items()):
        console.print(f"  skipped {n} steps: {reason}")
    for path in report.files:
        console.print(f"  {path}")
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
