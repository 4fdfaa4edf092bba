"""`guiagent eval fuzz`: generated malformed and hostile model replies through the real loop.

The replies are served by the scripted OpenAI-compatible server to the real ReAct / D-PoT /
Auto-UI planners and the VLM grounder, driving the real Agent on virtual phones behind the adb
server at `--adb-port` (start one with `adb start-server`). Prints crashes, hangs, the cases whose
requirement did not hold, and the failed-step messages grouped; exits 1 unless all three are 0."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def register(cli: Any) -> None:
    p = cli.eval.add_parser("fuzz", help="malformed / hostile model replies through the real loop (0 crashes)")
    p.add_argument("--cases", type=int, default=1000, help="how many replies to generate (default 1000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--phones", type=int, default=3, help="virtual phones run side by side (default 3)")
    p.add_argument("--adb-port", type=int, default=5037, help="the adb server the phones register with")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the counts as JSON here")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from guiagent.eval.fuzz import format_report, fuzz_phones, run_fuzz
    from guiagent.eval.fuzz_cases import generate_cases
    from guiagent.schema.errors import ConfigError

    if args.cases < 1 or args.phones < 1:
        raise ConfigError("--cases and --phones must be at least 1")
    cases = generate_cases(seed=args.seed, n=args.cases)
    with fuzz_phones(args.phones, args.adb_port) as devices:
        report = run_fuzz(cases, devices)
    print(format_report(report))
    counts = {"cases": len(report.results), "crashes": len(report.crashes), "hangs": len(report.hangs),
              "problems": len(report.failing), "seed": args.seed, "seconds": round(report.seconds, 1)}
    if args.json:
        args.json.write_text(json.dumps(counts, indent=2))
    return 0 if counts["crashes"] == counts["hangs"] == counts["problems"] == 0 else 1
