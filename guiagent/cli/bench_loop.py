"""`guiagent bench loop`: per-step overhead of the loop without a model, by stage, against the
common practice of a fixed 1 s sleep after every action (measured in the same run)."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from statistics import median

from PIL import Image
from rich.table import Table

from devices.base import Device, SettleResult
from guiagent.cli._common import STAGES, console
from guiagent.events import AgentEvent, StepFinished
from guiagent.schema import Action, Done, Element, Outcome, Step


class FixedSleepDevice(Device):
    """The baseline: the same device, but 'settle' is a fixed sleep, as many agents do."""

    def __init__(self, inner: Device, sleep_s: float) -> None:
        self.inner, self.sleep_s, self.info = inner, sleep_s, inner.info

    def screenshot(self) -> Image.Image:
        return self.inner.screenshot()

    def ui_tree(self) -> list[Element]:
        return self.inner.ui_tree()

    def foreground(self) -> str | None:
        return self.inner.foreground()

    def execute(self, action: Action) -> Outcome:
        return self.inner.execute(action)

    def wait_until_stable(self, reference: Image.Image | None = None, timeout: float = 3.0, quiet: float = 0.1,
                          poll: float = 0.02, min_wait: float = 0.0, react: float = 0.5) -> SettleResult:
        time.sleep(self.sleep_s)
        return SettleResult(True, True, self.sleep_s, 1, None)


def register(cli) -> None:
    p = cli.bench.add_parser("loop", help="per-step loop overhead without a model vs a fixed 1 s sleep")
    p.add_argument("--steps", type=int, default=12, help="measured steps with frame-diff settling")
    p.add_argument("--baseline-steps", type=int, default=5, help="steps with the fixed-sleep baseline")
    p.add_argument("--sleep", type=float, default=1.0, help="the baseline's post-action sleep (s)")
    p.set_defaults(func=cmd_bench_loop)


def _measure(device: Device, steps: int) -> list[Step]:
    from guiagent.runner import Run, RunOptions

    collected: list[Step] = []

    def collect(ev: AgentEvent) -> None:
        if isinstance(ev, StepFinished) and ev.step.action is not None and not isinstance(ev.step.action, Done):
            collected.append(ev.step)

    task = ", then ".join(["click Subscribe"] * (steps + 1))  # +1: the first step (cold OCR) is dropped
    Run(task, RunOptions(max_steps=steps + 3, max_seconds=600), device=device, subscribers=[collect]).execute()
    return collected[1:]


def cmd_bench_loop(args: argparse.Namespace) -> int:
    from devices.x11.device import open_desktop
    from devices.x11.xvfb import VirtualDisplay
    from guiagent.demo import demo_form

    display = VirtualDisplay.ensure(1280, 800)
    try:
        with tempfile.TemporaryDirectory() as tmp, demo_form(Path(tmp) / "out.json"):
            device = open_desktop("")
            ours = _measure(device, args.steps)
            base = _measure(FixedSleepDevice(device, args.sleep), args.baseline_steps)
            device.close()
    finally:
        if display is not None:
            display.stop()
    if not ours or not base:
        console.print("[red]the benchmark task did not run; is the demo form visible?[/]")
        return 1
    table = Table(title=f"loop overhead per step, ms (screen {ours[0].screen_size[0]}x{ours[0].screen_size[1]}, "
                        f"medians of {len(ours)} / {len(base)} steps)")
    table.add_column("stage")
    table.add_column("frame-diff settle", justify="right")
    table.add_column(f"fixed {args.sleep:g} s sleep", justify="right")
    for stage in (*STAGES, "total"):
        table.add_row(stage, f"{median(s.timings_ms.get(stage, 0) for s in ours):.1f}",
                      f"{median(s.timings_ms.get(stage, 0) for s in base):.1f}")
    console.print(table)
    m_ours = median(s.timings_ms["total"] for s in ours)
    m_base = median(s.timings_ms["total"] for s in base)
    console.print(f"median step: {m_ours:.0f} ms vs {m_base:.0f} ms with a fixed sleep "
                  f"-> ratio {m_ours / m_base:.2f} ({m_base / m_ours:.1f}x faster); goal <= 150 ms per step")
    return 0
