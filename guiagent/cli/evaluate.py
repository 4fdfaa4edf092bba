"""`guiagent eval aitw`: a planner on AITW-format data, scored with the AITW action-matching
metric (overall, action-type and text accuracy). Other suites register from their own modules
(`guiagent eval safety` and `guiagent eval fuzz` from their own modules, registered here)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def register(cli: Any) -> None:
    p = cli.eval.add_parser("aitw", help="AITW action matching: overall, action-type and text accuracy")
    p.add_argument("--data", type=Path, required=True, help="AITW export (JSONL/JSON file or folder)")
    p.add_argument("--planner", default="autoui", help="planner name (autoui, dpot, react, ...)")
    p.add_argument("--model-path", help="local checkpoint (Auto-UI checkpoint dir for autoui)")
    p.add_argument("--base-url", help="OpenAI-compatible endpoint for chat-model planners")
    p.add_argument("--model", help="model name at the endpoint")
    p.add_argument("--grounder", help="grounder for description targets (e.g. text)")
    p.add_argument("--limit", type=int, help="evaluate only the first N steps")
    p.add_argument("--json-out", type=Path, help="write the scores and per-step records as JSON")
    p.set_defaults(func=run)
    from guiagent.cli import eval_desktop, eval_fuzz, eval_safety

    eval_safety.register(cli)
    eval_fuzz.register(cli)
    eval_desktop.register(cli)


def run(args: argparse.Namespace) -> int:
    from guiagent.eval.aitw_eval import StepRecord, evaluate_planner, load_eval_steps
    from guiagent.registry import build_grounder, build_planner

    steps = load_eval_steps(args.data)
    options = {k: v for k, v in {"model_path": args.model_path, "base_url": args.base_url,
                                 "model": args.model}.items() if v}
    planner = build_planner(args.planner, **options)
    grounder = build_grounder(args.grounder) if args.grounder else None
    total = min(len(steps), args.limit) if args.limit else len(steps)
    print(f"eval aitw: {total} steps from {args.data}, planner {args.planner}")

    def progress(r: StepRecord) -> None:
        if (r.index + 1) % 50 == 0 or r.index + 1 == total:
            print(f"  {r.index + 1}/{total} steps", flush=True)

    try:
        report, records, usage = evaluate_planner(planner, steps, grounder=grounder, limit=args.limit,
                                                  on_step=progress)
    finally:
        planner.close()
        if grounder is not None:
            grounder.close()
    d = report.to_dict()
    print(f"\n{'metric':<22} {'value':>8}")
    print(f"{'overall (action match)':<22} {d['overall']:>8.2%}")
    print(f"{'action-type accuracy':<22} {d['action_type_accuracy']:>8.2%}")
    print(f"{'text accuracy':<22} {d['text_accuracy']:>8.2%}  (over {d['text_steps']} TYPE steps)")
    print(f"{'steps / no prediction':<22} {d['steps']:>4} / {d['errors']}")
    print(f"\n{'reference type':<16} {'matched':>8} {'total':>6}")
    for kind, (matched, total) in sorted(report.per_type.items()):
        print(f"{kind:<16} {matched:>8} {total:>6}")
    print(f"tokens: {usage.prompt_tokens:,} prompt + {usage.completion_tokens:,} completion in {usage.calls} calls")
    if args.json_out:
        out = {"planner": args.planner, "data": str(args.data), "scores": d,
               "usage": usage.model_dump(), "steps": [r.to_dict() for r in records]}
        args.json_out.write_text(json.dumps(out, indent=2, ensure_ascii=False))
        print(f"written to {args.json_out}")
    return 0
