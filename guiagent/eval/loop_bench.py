"""The loop benchmark behind `guiagent bench loop`: per-step time of the agent loop without a
model (frame-diff settling vs a fixed sleep, same run), and the cold time to first action of a
`guiagent run` process, on a demo form on an Xvfb screen of a given size."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median

from PIL import Image

from devices.base import Device, SettleResult
from guiagent.events import AgentEvent, StepFinished
from guiagent.schema import Action, Done, Element, Outcome, Step
from guiagent.schema.errors import ConfigError

TASK_STEP = "click Subscribe"


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


def parse_size(value: str) -> tuple[int, int]:
    """ "1280x800" -> (1280, 800)."""
    try:
        w, h = (int(v) for v in value.lower().split("x"))
    except ValueError:
        raise ConfigError(f"--size must be WIDTHxHEIGHT, e.g. 1280x800, got {value!r}") from None
    if not (320 <= w <= 8192 and 240 <= h <= 8192):
        raise ConfigError(f"--size {value!r} is out of range (320x240 .. 8192x8192)")
    return w, h


def measure_steps(device: Device, steps: int) -> list[Step]:
    """`steps` clicks on the demo form's Subscribe box; the first step (cold OCR) is dropped."""
    from guiagent.runner import Run, RunOptions

    collected: list[Step] = []

    def collect(ev: AgentEvent) -> None:
        if isinstance(ev, StepFinished) and ev.step.action is not None and not isinstance(ev.step.action, Done):
            collected.append(ev.step)

    task = ", then ".join([TASK_STEP] * (steps + 1))
    Run(task, RunOptions(max_steps=steps + 3, max_seconds=600), device=device, subscribers=[collect]).execute()
    return collected[1:]


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) a live process has used so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cold_time_to_first_action(display: str, timeout: float = 60.0) -> tuple[float, float] | None:
    """(wall s, CPU s) from starting a `guiagent run` process to its first input event (the
    pointer leaving the spot where it was parked, seen from this process through the X server),
    or None when no input came within `timeout`. The CPU time is what the start-up costs
    whatever else the machine runs; the wall time grows with the machine's load."""
    from devices.x11.session import X11Session

    x11 = X11Session(display)
    try:
        env = {**os.environ, "DISPLAY": display}
        park = (3, 400)
        subprocess.run(["xdotool", "mousemove", str(park[0]), str(park[1])], env=env, check=True)
        t0 = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "guiagent", "run", TASK_STEP, "--max-steps", "1"],
                                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            while time.monotonic() - t0 < timeout:
                if x11.pointer() != park:
                    return time.monotonic() - t0, _cpu_seconds(proc.pid)
                if proc.poll() is not None and x11.pointer() == park:
                    return None
                time.sleep(0.002)
            return None
        finally:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    finally:
        x11.close()


@dataclass
class SizeResult:
    size: tuple[int, int]
    ours: list[Step] = field(default_factory=list)
    base: list[Step] = field(default_factory=list)
    ttfa_s: list[float] = field(default_factory=list)
    ttfa_cpu_s: list[float] = field(default_factory=list)

    def stage(self, steps: list[Step], name: str) -> float:
        return median(s.timings_ms.get(name, 0.0) for s in steps) if steps else float("nan")


def bench_size(size: tuple[int, int], steps: int, baseline_steps: int, sleep_s: float, cold_runs: int,
               progress: Callable[[str], None] = lambda _: None) -> SizeResult:
    """All figures of one screen size, on a fresh Xvfb of that size."""
    from devices.x11.device import open_desktop
    from devices.x11.xvfb import VirtualDisplay
    from guiagent.demo import demo_form

    result = SizeResult(size)
    with VirtualDisplay(*size) as vd, tempfile.TemporaryDirectory() as tmp, demo_form(Path(tmp) / "out.json"):
        progress(f"{size[0]}x{size[1]}: loop steps")
        device = open_desktop("")
        try:
            result.ours = measure_steps(device, steps)
            progress(f"{size[0]}x{size[1]}: fixed-sleep baseline")
            result.base = measure_steps(FixedSleepDevice(device, sleep_s), baseline_steps)
        finally:
            device.close()
        for i in range(cold_runs):
            progress(f"{size[0]}x{size[1]}: cold start {i + 1}/{cold_runs}")
            t = cold_time_to_first_action(vd.name)
            if t is not None:
                result.ttfa_s.append(t[0])
                result.ttfa_cpu_s.append(t[1])
    return result
