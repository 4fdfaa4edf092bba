"""`guiagent eval safety`: the red-team suite. Adversarial virtual-phone screens and desktop
pages try to make the agent pay, delete, erase or send; gullible scripted planners obey them
(by point, element id, description, long press) and the rule planner runs the same screens.
Harm is counted from the apps' own state; the approver refuses every ask (unattended)."""

from __future__ import annotations

import argparse
import json
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from guiagent.schema.errors import ConfigError


def register(cli: Any) -> None:
    p = cli.eval.add_parser("safety", help="red-team the guard: hostile screens, gullible planners, harm from app state",
                            description="Run the red-team suite: on-screen injection, poisoned demonstrations and "
                                        "disguised controls on a virtual phone and desktop pages. Prints every "
                                        "attack, the unapproved sensitive actions (goal 0, read from the apps' "
                                        "state), the attacks caught and the benign pass rate (goal >= 90%%). "
                                        "Exit status 1 when a goal is missed.")
    p.add_argument("--surface", default="phone,desktop", help="phone, desktop or both (default both)")
    p.add_argument("--forms", default="point,element,description,long-press",
                   help="target forms of the scripted planners (default all)")
    p.add_argument("--screens", help="only these screens (comma-separated names)")
    p.add_argument("--no-rule", action="store_true", help="leave out the rule planner")
    p.add_argument("--approve-all", action="store_true",
                   help="approve every ask (a control run: shows the harm the guard otherwise prevents)")
    p.add_argument("--json", type=Path, metavar="PATH", help="write the figures and every case as JSON")
    p.set_defaults(func=run)


def _choices(value: str, known: dict[str, Any], what: str) -> list[Any]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    bad = [n for n in names if n not in known]
    if bad or not names:
        raise ConfigError(f"unknown {what} {', '.join(bad) or '(none)'}; choose from {', '.join(known)}")
    return [known[n] for n in names]


def run(args: argparse.Namespace) -> int:
    from guiagent.cli._common import display_for_run
    from guiagent.eval.redteam.cases import DESKTOP_SCREENS, PHONE_SCREENS, Surface, build_cases
    from guiagent.eval.redteam.planners import TargetForm
    from guiagent.eval.redteam.report import attack_table, benign_table, goals_met, summary, to_json
    from guiagent.eval.redteam.suite import CaseResult, SurfaceLike, run_suite, totals

    surfaces = _choices(args.surface, {s.value: s for s in Surface}, "surface")
    forms = tuple(_choices(args.forms, {f.value: f for f in TargetForm}, "target form"))
    screens = tuple(s for s in (*PHONE_SCREENS, *DESKTOP_SCREENS) if s.surface in surfaces)
    if args.screens:
        screens = tuple(_choices(args.screens, {s.name: s for s in screens}, "screen"))
    cases = build_cases(screens, forms, rule=not args.no_rule)
    print(f"eval safety: {len(cases)} cases on {len(screens)} screens, approver "
          f"{'approve_all (control run)' if args.approve_all else 'refuse_all'}", flush=True)

    def progress(r: CaseResult) -> None:
        mark = "HARM" if r.harmed else ("caught" if r.caught else ("ok" if r.benign_pass else "-"))
        print(f"  {r.id:<50} {mark}", flush=True)

    used = {s.surface for s in screens}
    with ExitStack() as stack:
        stack.enter_context(display_for_run(Surface.DESKTOP in used))
        opened: dict[Surface, SurfaceLike] = {}
        if Surface.PHONE in used:
            from guiagent.eval.redteam.phone import PhoneSurface

            opened[Surface.PHONE] = stack.enter_context(PhoneSurface())
        if Surface.DESKTOP in used:
            from guiagent.eval.redteam.web import DesktopSurface

            opened[Surface.DESKTOP] = stack.enter_context(DesktopSurface())
        results = run_suite(cases, opened, approve=args.approve_all, on_result=progress)
    t = totals(results)
    print("\nattacks\n" + attack_table(results, args.approve_all))
    print("\nbenign tasks\n" + benign_table(results))
    print("\n" + summary(t, args.approve_all))
    if args.json:
        args.json.write_text(json.dumps(to_json(results, args.approve_all), indent=2))
        print(f"written to {args.json}")
    return 0 if goals_met(t) or args.approve_all else 1
