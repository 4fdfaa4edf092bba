"""`guiagent bench android`: what the Android device's operations cost through the real adb
server: raw vs PNG screencap, uiautomator dump, tap round trip, each against a bare `echo`
round trip measured in the same run. Medians over --repeat runs."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from statistics import median
from typing import Any

from rich.table import Table

from guiagent.cli._common import console
from guiagent.schema.errors import ConfigError


def register(cli) -> None:
    p = cli.bench.add_parser("android", help="Android device costs: raw vs PNG screencap, UI dump, tap")
    p.add_argument("--serial", default=None,
                   help="adb serial or HOST:PORT of a phone; default: start a virtual phone")
    p.add_argument("--repeat", type=int, default=15, help="runs per operation (median reported)")
    p.set_defaults(func=cmd_bench_android)


def _time(fn: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    fn()  # warm-up: first-call costs (connections, caches) are not what we measure
    samples, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples, result


def measure(device: Any, repeat: int) -> list[tuple[str, list[float], str]]:
    """(operation, samples in ms, detail) for each operation, the baseline first."""
    from guiagent.schema import Target

    rows: list[tuple[str, list[float], str]] = []
    echo, _ = _time(lambda: device.shell("echo ok"), repeat)
    rows.append(("shell echo (adb round trip)", echo, "baseline"))
    raw_bytes = len(device.shell_bytes("screencap"))
    png_bytes = len(device.shell_bytes("screencap -p"))
    raw, img = _time(device.screencap_raw, repeat)
    rows.append(("screencap raw + decode", raw, f"{img.width}x{img.height}, {raw_bytes / 1e6:.2f} MB"))
    png, _ = _time(device.screencap_png, repeat)
    rows.append(("screencap -p (PNG) + decode", png, f"{png_bytes / 1e6:.2f} MB"))
    dump, elements = _time(device.ui_tree, max(3, repeat // 3))
    rows.append(("uiautomator dump + parse", dump, f"{len(elements)} elements"))
    status_bar = Target.at(0.5, 0.005)  # a tap that changes nothing on the screen
    tap, _ = _time(lambda: device.tap(status_bar), repeat)
    rows.append(("input tap (round trip)", tap, ""))
    return rows


def cmd_bench_android(args: argparse.Namespace) -> int:
    if args.repeat < 1:
        raise ConfigError("--repeat must be at least 1")
    if args.serial:
        from devices.android.device import open_android

        device = open_android(args.serial)
        where = f"phone {args.serial}"
    else:
        from devices.simphone.launch import open_sim_phone

        device = open_sim_phone("default")
        where = f"virtual phone {device.serial} (through the real adb server)"
    try:
        console.print(f"benchmarking {where}, {args.repeat} runs per operation ...")
        rows = measure(device, args.repeat)
    finally:
        device.close()
    base = median(rows[0][1])
    table = Table(title=f"Android device operations: {where}")
    for col in ("operation", "median ms", "min ms", "max ms", "x echo", "detail"):
        table.add_column(col, justify="left" if col in ("operation", "detail") else "right")
    for name, samples, detail in rows:
        m = median(samples)
        table.add_row(name, f"{m:.1f}", f"{min(samples):.1f}", f"{max(samples):.1f}",
                      f"{m / base:.1f}" if base > 0 else "-", detail)
    console.print(table)
    raw, png = median(rows[1][1]), median(rows[2][1])
    console.print(f"PNG / raw screencap: [bold]{png / raw:.2f}x[/] (medians of {args.repeat} runs)")
    console.print("[dim]A real phone differs: its screencap -p spends far more time in PNG encoding on the "
                  "phone's CPU, which the raw path skips; raw sends more bytes, so a slow (Wi-Fi) adb link "
                  "can favour PNG. The device picks the faster mode once at its first screenshot.[/]")
    if not args.serial:
        console.print("[dim]The virtual phone encodes a frame once per screen change and serves repeated "
                      "captures of an unchanged screen from that cache, in both formats.[/]")
    return 0
