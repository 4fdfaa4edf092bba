"""`guiagent bench record`: how fast the desktop recorder keeps up with input.

On Xvfb (started when no display is usable) with the demo form and a private AT-SPI bus, a
driver sends synthetic X input with xdotool at a fixed rate (clicks on the form's widgets,
typed words, Tab, wheel notches) while the recorder runs. Reported per configuration,
medians over repeats: sustained steps/s, event-to-frame latency (how long before the event
its paired frame was grabbed: median, p95), event-to-disk latency, bytes per step, and
events dropped (driven actions missing from the episode + raw events lost). The baseline,
measured in the same run, is the recorder with frames but without the a11y tree.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from guiagent.schema import assets
from guiagent.schema.errors import ConfigError, DeviceError

console = Console(highlight=False, width=140)


def register(cli: Any) -> None:
    p = cli.bench.add_parser("record", help="recorder throughput and latency under synthetic input")
    p.add_argument("--rate", type=float, default=10.0, help="driven actions per second (default %(default)s)")
    p.add_argument("--actions", type=int, default=60, help="actions per repeat (default %(default)s)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--fps", type=float, default=15.0, help="recorder frame rate (default %(default)s)")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    p.set_defaults(func=cmd_bench_record)


def _script(widgets: dict[str, list[int]], n: int) -> list[tuple[str, list[str]]]:
    """n driven actions: (expected action type, xdotool arguments)."""

    def c(name: str) -> tuple[int, int]:
        x, y, w, h = widgets[name]
        return x + w // 2, y + h // 2

    nx, ny = c("Name")
    cycle: list[tuple[str, list[str]]] = [
        ("click", ["mousemove", str(nx), str(ny), "click", "1"]),
        ("type", ["type", "--delay", "8", "abc"]),
        ("key", ["key", "Tab"]),
        ("click", ["mousemove", *map(str, c("Subscribe")), "click", "1"]),
        ("click", ["mousemove", *map(str, c("Pro")), "click", "1"]),
        ("scroll", ["mousemove", str(nx), str(ny + 150), "click", "5"]),
        ("click", ["mousemove", *map(str, c("Free")), "click", "1"]),
        ("scroll", ["click", "4"]),
    ]
    return [cycle[i % len(cycle)] for i in range(n)]


def _drive(script: list[tuple[str, list[str]]], rate: float) -> float:
    """Feed the actions to ONE `xdotool -` process (it runs each line as it arrives), so the
    offered rate is not limited by spawning a process per action."""
    proc = subprocess.Popen(["xdotool", "-"], stdin=subprocess.PIPE, text=True)
    assert proc.stdin is not None
    t0 = time.monotonic()
    try:
        for i, (_, args) in enumerate(script):
            delay = t0 + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            proc.stdin.write(" ".join(args) + "\n")
            proc.stdin.flush()
    finally:
        proc.stdin.close()
        proc.wait(30)
    return time.monotonic() - t0


def _one(device: Any, widgets: dict[str, list[int]], args: argparse.Namespace, a11y: bool, tmp: Path) -> dict[str, Any]:
    from guiagent.recorder.desktop import DesktopOptions, DesktopRecorder
    from guiagent.recorder.episode import EpisodeWriter, read_episode
    from guiagent.schema import EpisodeMeta

    folder = Path(tempfile.mkdtemp(dir=tmp))
    writer = EpisodeWriter(folder / "ep", EpisodeMeta(id=folder.name, task="bench", source="human"))
    rec = DesktopRecorder(writer, device=device, options=DesktopOptions(fps=args.fps, a11y=a11y))
    rec.start()
    script = _script(widgets, args.actions)
    try:
        driven_s = _drive(script, args.rate)
        rec.wait_idle(quiet=1.0, timeout=60)
    finally:
        stats = rec.stop()
        writer.close("success")
    traj = read_episode(folder / "ep")
    got: list[str] = [s.action.type for s in traj.steps if s.action]
    want = [t for t, _ in script]
    missing = sum(max(0, want.count(t) - got.count(t)) for t in set(want))
    size = sum(p.stat().st_size for p in (folder / "ep").rglob("*") if p.is_file())
    s = stats.summary()
    shutil.rmtree(folder, ignore_errors=True)
    return {
        "steps": len(got), "expected": len(want), "match": got == want,
        "offered_per_s": len(want) / driven_s, "steps_per_s": len(got) / driven_s,
        "frame_age_ms_median": s["frame_age_ms_median"], "frame_age_ms_p95": s["frame_age_ms_p95"],
        "store_ms_median": s["store_latency_ms_median"], "store_ms_p95": s["store_latency_ms_p95"],
        "work_ms_median": s["work_ms_median"], "bytes_per_step": size / max(1, len(got)), "dropped": missing + int(s["dropped_events"]),
    }


def cmd_bench_record(args: argparse.Namespace) -> int:
    from devices.x11.xvfb import VirtualDisplay
    from guiagent.recorder.a11y_bus import A11yBus

    if args.rate <= 0 or args.actions < 2 or args.repeats < 1:
        raise ConfigError("--rate must be > 0, --actions >= 2, --repeats >= 1")
    if shutil.which("xdotool") is None:
        raise DeviceError("xdotool is not installed (apt-get install xdotool)")
    vd = VirtualDisplay.ensure()
    bus = A11yBus().start() if A11yBus.available() else None
    files = ExitStack()  # keeps the demo form a real file while it runs
    form = subprocess.Popen([sys.executable, str(files.enter_context(assets.demo_form_path())),
                             "--geometry", "100,100,520,360"], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            text=True, env={**os.environ, "QT_ACCESSIBILITY": "1"})
    results: dict[str, list[dict[str, Any]]] = {"frames + a11y": [], "frames only (baseline)": []}
    try:
        widgets = _ready(form)
        from devices.x11.device import open_desktop

        device = open_desktop("")
        try:
            if bus is not None:
                _wait_tree(device)
            with tempfile.TemporaryDirectory() as tmp:
                for _ in range(args.repeats):  # interleaved, so load drifts hit both alike
                    results["frames + a11y"].append(_one(device, widgets, args, True, Path(tmp)))
                    results["frames only (baseline)"].append(_one(device, widgets, args, False, Path(tmp)))
        finally:
            device.close()
    finally:
        form.terminate()
        form.wait(10)
        files.close()
        if bus is not None:
            bus.stop()
        if vd is not None:
            vd.stop()
    return _print(results, args)


def _ready(form: subprocess.Popen[str]) -> dict[str, list[int]]:
    assert form.stderr is not None
    for line in form.stderr:
        if line.startswith("{") and '"ready"' in line:
            return json.loads(line)["widgets"]
    raise DeviceError("the demo form did not start")


def _wait_tree(device: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(e.name == "Submit" for e in device.ui_tree()):
            return
        time.sleep(0.1)
    console.print("[yellow]warning: the demo form's a11y tree did not show up; a11y numbers are frames only[/]")


def _print(results: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> int:
    def med(runs: list[dict[str, Any]], key: str) -> float:
        return float(statistics.median(r[key] for r in runs))

    t = Table(title=f"bench record: {args.actions} actions at {args.rate:g}/s, {args.fps:g} fps, "
                    f"medians of {args.repeats} repeats")
    for col in ("configuration", "offered/s", "recorded steps/s", "frame age ms (med / p95)",
                "to disk ms (med / p95)", "work ms/step (capacity/s)", "KB/step", "dropped", "sequence ok"):
        t.add_column(col)
    for name, runs in results.items():
        work = med(runs, "work_ms_median")
        t.add_row(name, f"{med(runs, 'offered_per_s'):.2f}", f"{med(runs, 'steps_per_s'):.2f}",
                  f"{med(runs, 'frame_age_ms_median'):.1f} / {med(runs, 'frame_age_ms_p95'):.1f}",
                  f"{med(runs, 'store_ms_median'):.0f} / {med(runs, 'store_ms_p95'):.0f}",
                  f"{work:.1f} ({1000 / work:.0f})",
                  f"{med(runs, 'bytes_per_step') / 1024:.0f}", f"{max(r['dropped'] for r in runs)}",
                  f"{sum(r['match'] for r in runs)}/{len(runs)}")
    console.print(t)
    full, base = results["frames + a11y"], results["frames only (baseline)"]
    ratio = med(full, "steps_per_s") / med(base, "steps_per_s")
    console.print(f"steps/s with a11y vs baseline: x{ratio:.2f}; to-disk latency x"
                  f"{med(full, 'store_ms_median') / max(med(base, 'store_ms_median'), 1e-9):.2f}")
    ok = (med(full, "steps_per_s") >= 0.95 * min(args.rate, med(full, "offered_per_s"))
          and all(r["dropped"] == 0 and r["match"] for r in full))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0 if ok else 1
