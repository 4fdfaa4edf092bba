"""`guiagent bench loop`: per-step time of the loop without a model, by stage, against the common
practice of a fixed 1 s sleep after every action (measured in the same run), and the cold time to
first action of a `guiagent run` process, at each `--size` (a fresh Xvfb per size)."""

from __future__ import annotations

import argparse
import math

from rich.table import Table

from guiagent.cli._common import STAGES, console


def register(cli) -> None:
    p = cli.bench.add_parser("loop", help="per-step loop time vs a fixed 1 s sleep, and cold time to first action")
    p.add_argument("--steps", type=int, default=12, help="measured steps with frame-diff settling")
    p.add_argument("--baseline-steps", type=int, default=5, help="steps with the fixed-sleep baseline")
    p.add_argument("--sleep", type=float, default=1.0, help="the baseline's post-action sleep (s)")
    p.add_argument("--cold-runs", type=int, default=3, help="cold `guiagent run` starts timed per size (0: none)")
    p.add_argument("--size", action="append", default=None, metavar="WxH",
                   help="screen size (repeatable; default 1280x800 and 3840x2160)")
    p.set_defaults(func=cmd_bench_loop)


def _f(v: float) -> str:
    return "-" if math.isnan(v) else f"{v:.1f}"


def cmd_bench_loop(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from guiagent.eval.loop_bench import SizeResult, bench_size, parse_size
    from guiagent.schema.errors import ConfigError

    sizes = [parse_size(s) for s in (args.size or ["1280x800", "3840x2160"])]
    if args.steps < 1 or args.baseline_steps < 1 or args.cold_runs < 0:
        raise ConfigError("--steps and --baseline-steps must be >= 1, --cold-runs >= 0")
    results: list[SizeResult] = []
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        bar = progress.add_task("starting", total=len(sizes))
        for size in sizes:
            results.append(bench_size(size, args.steps, args.baseline_steps, args.sleep, args.cold_runs,
                                      progress=lambda text: progress.update(bar, description=text)))
            progress.update(bar, advance=1)
    if not all(r.ours and r.base for r in results):
        console.print("[red]the benchmark task did not run; is the demo form visible?[/]")
        return 1
    table = Table(title=f"loop time per step, ms (medians of {args.steps} / {args.baseline_steps} steps)")
    table.add_column("stage")
    for r in results:
        table.add_column(f"{r.size[0]}x{r.size[1]} frame-diff", justify="right")
        table.add_column(f"{r.size[0]}x{r.size[1]} fixed {args.sleep:g} s", justify="right")
    for stage in (*STAGES, "total"):
        table.add_row(stage, *[_f(r.stage(steps, stage)) for r in results for steps in (r.ours, r.base)])
    console.print(table)
    summary = Table(title="summary")
    for col in ("screen", "step median", "fixed-sleep step", "ratio", "cold time to first action", "goal"):
        summary.add_column(col, justify="right")
    for r in results:
        ours, base = r.stage(r.ours, "total"), r.stage(r.base, "total")
        ttfa, cpu = sorted(r.ttfa_s), sorted(r.ttfa_cpu_s)
        cold = (f"{ttfa[len(ttfa) // 2]:.2f} s (median of {len(ttfa)}; {ttfa[0]:.2f}-{ttfa[-1]:.2f}), "
                f"CPU {cpu[len(cpu) // 2]:.2f} s" if ttfa
                else ("not measured" if args.cold_runs == 0 else "[red]no action seen[/]"))
        goal = "<= 150 ms, cold <= 2 s" if r.size == (1280, 800) else ("<= 200 ms" if r.size == (3840, 2160) else "")
        summary.add_row(f"{r.size[0]}x{r.size[1]}", f"{ours:.0f} ms", f"{base:.0f} ms",
                        f"{ours / base:.2f} ({base / ours:.1f}x faster)", cold, goal)
    console.print(summary)
    return 0
