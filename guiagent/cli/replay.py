"""`guiagent replay DIR --device SPEC`: re-run a recorded episode, re-grounding each target."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from guiagent.registry import build_device, build_grounder

# Wide when piped (logs, CI): the table has long notes.
console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)


def register(cli: Any) -> None:
    p = cli.commands.add_parser(
        "replay", help="replay a recorded episode on a device",
        description="Replay an episode: each recorded target element is grounded again on the live screen "
                    "(the recorded point is used only for steps without an element). Reports where the "
                    "live screen diverged from the recording.")
    p.add_argument("dir", type=Path, metavar="DIR", help="episode folder")
    p.add_argument("--device", required=True, help="desktop | android:SERIAL | sim[:SCENARIO]")
    p.add_argument("--device-opt", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--grounder", default="text", help="grounder for recorded elements (default: text)")
    p.add_argument("--on-missing", default="stop", choices=["stop", "point", "skip"],
                   help="when an element is not found: stop (default), use the recorded point, or skip the step")
    p.add_argument("--diff-threshold", type=float, default=0.3,
                   help="screen difference (0..1) above which a step is reported as diverged")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the report as JSON here")
    p.add_argument("--secret", action="append", default=[], metavar="NAME=env:VAR|file:PATH",
                   help="the value typed where the episode holds {{NAME}} (repeatable); never a literal value")
    p.set_defaults(func=cmd_replay)


def cmd_replay(args: argparse.Namespace) -> int:
    from guiagent.cli._common import _kv, secrets_from_args
    from guiagent.recorder.replay import replay_episode
    from guiagent.safety.secrets import SecretsDevice, scrubbing_logs

    secrets = secrets_from_args(args)  # read before the device is built: a bad flag costs nothing
    # An episode holds `{{name}}` where a secret was typed: the wrapper types the value, and
    # the report (printed or written) is scrubbed like every other output.
    device = SecretsDevice(build_device(args.device, **_kv(args.device_opt, "--device-opt")), secrets)
    try:
        grounder = build_grounder(args.grounder)
        with scrubbing_logs(secrets):
            report = secrets.scrub_obj(replay_episode(args.dir, device, grounder, on_missing=args.on_missing,
                                                      diff_threshold=args.diff_threshold))
    finally:
        device.close()
    t = Table(title=f"replay of {args.dir} on {report.device}")
    for col in ("step", "action", "target", "how", "moved", "screen diff", "outcome", "notes"):
        t.add_column(col)
    for s in report.steps:
        style = "red" if s.diverged else None
        t.add_row(str(s.index), s.action, s.element or "-", s.method,
                  "-" if s.moved is None else f"{s.moved:.1%}", "-" if s.screen_diff is None else f"{s.screen_diff:.0%}",
                  s.outcome + (f" ({s.error})" if s.error else ""), "; ".join(s.notes), style=style)
    console.print(t)
    summary = (f"{'completed' if report.completed else f'stopped at step {report.stopped_at}'}; "
               f"{report.diverged} of {len(report.steps)} steps diverged")
    console.print(summary)
    if args.json:
        args.json.write_text(json.dumps(report.to_dict(), indent=2))
        console.print(f"JSON report: {args.json}")
    return 0 if report.completed and not report.diverged else 1
