"""`guiagent train icons`: an icon memory from what exploration saw (guiagent.models.icons_build).

Icon-only buttons named by the a11y tree (name, tooltip) and by the observed effect of clicking
them are cropped from the explored frames; the text grounder then finds them from pixels alone
with `--grounder text --grounder-opt icons=DIR` (no a11y tree needed: Tk, remote screens, recordings).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from guiagent.schema.errors import ConfigError


def register(cli: Any) -> None:
    p = cli.train.add_parser("icons", help="an icon memory from exploration folders (icon crops named by a11y)",
                             description="Crop the named icon-only buttons of explored screens into an icon "
                                         "memory the text grounder loads with --grounder-opt icons=DIR.")
    p.add_argument("--data", type=Path, action="append", required=True, metavar="EXPLORE_DIR",
                   help="a `guiagent explore --out` folder (repeatable)")
    p.add_argument("--out", type=Path, required=True, help="icon memory folder to write")
    p.add_argument("--base", type=Path, help="add to this existing icon memory instead of starting empty")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.table import Table

    from guiagent.cli._common import console
    from guiagent.models.icons_build import build_icon_memory, count_screens

    for d in args.data:
        if not d.is_dir():
            raise ConfigError(f"--data {d} is not an exploration folder")
    if args.base is not None and not args.base.is_dir():
        raise ConfigError(f"--base {args.base} does not exist")
    total = count_screens(args.data)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=console) as progress:
        bar = progress.add_task("cropping icons", total=total)
        report = build_icon_memory(args.data, args.out, base=args.base,
                                   on_screen=lambda: progress.advance(bar))
    table = Table(title=f"train icons: {len(report.names)} icons from {report.screens} screens")
    table.add_column("icon")
    table.add_column("crops", justify="right")
    for name, crops in sorted(report.names.items()):
        table.add_row(name, str(crops))
    table.add_row("[b]candidates seen[/b]", str(report.candidates))
    console.print(table)
    console.print(f"icon memory: {args.out}  (use it with --grounder text --grounder-opt icons={args.out})")
    return 0
