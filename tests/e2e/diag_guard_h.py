"""TEMPORARY diagnostic (helper H2): repeat the desktop guard test, dump observations on a mismatch."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from scripted import ScriptedPlanner
from test_guard_targets import _events, desktop, qt_window  # noqa: F401

from devices.base import Device
from grounding.text_matcher import TextGrounder
from guiagent.agent import Agent, AgentConfig
from guiagent.runner import build_screen_parser
from guiagent.safety import refuse_all
from guiagent.schema import Action, Click, Done, Point, Target

OUT = Path("/tmp/hrepro/diag")


def _pid(out: Path) -> int:
    return -2


def _dump(els) -> list:
    return [(e.id, e.role.value, e.name, e.value, e.bbox, e.clickable, e.source) for e in els]


@pytest.mark.parametrize("n", range(int(os.environ.get("DIAG_N", "4"))))
def test_diag(desktop: Device, qt_window: Path, n: int) -> None:
    OUT.mkdir(exist_ok=True)
    parser = build_screen_parser(ocr=True)
    probe = Agent(desktop, ScriptedPlanner([Done()]), TextGrounder(semantic=False), parser=parser)
    t0 = time.time()
    calls: list = []
    real = type(desktop).ui_tree

    def spy(self=desktop):
        t = time.time()
        tree = real(self)
        calls.append((round(t - t0, 2), round(time.time() - t, 2),
                      [(e.role.value, e.name, e.bbox) for e in tree if e.name in ("Place order", "Help", "Note")]))
        return tree

    desktop.ui_tree = spy  # type: ignore[method-assign]
    obs = probe.observe()
    size = obs.screen_size
    el = next(e for e in obs.elements if e.label == "Place order" and e.clickable)
    left, top, right, bottom = el.bbox
    forms = [Target(element=el.id), Target.described("Place order"), Target(point=obs.point_of(el)),
             Target(point=Point.from_pixels(left + 4, bottom - 4, size))]
    bad = []
    for t in forms:
        agent = Agent(desktop, ScriptedPlanner([Click(target=t), Done()]), TextGrounder(semantic=False),
                      parser=parser, approver=refuse_all, config=AgentConfig(max_steps=3, settle_timeout=1.0))
        agent.run("use the window")
        s = agent.history[0]
        g = s.guard
        if g is None or g.verdict != "ask":
            bad.append({"target": t.model_dump(mode="json"), "guard": g.model_dump(mode="json") if g else None,
                        "error": s.outcome.error if s.outcome else None,
                        "target_el": _dump([s.target_element]) if s.target_element else None,
                        "elements": _dump(s.elements)})
    del desktop.ui_tree
    with open(OUT / "trees.log", "a") as f:
        f.write(json.dumps({"n": n, "bad": len(bad), "calls": calls}) + "\n")
    if bad:
        stamp = f"{int(t0)}-{n}"
        (OUT / f"{stamp}.json").write_text(json.dumps({"probe_el": _dump([el]), "probe": _dump(obs.elements),
                                                       "bad": bad}, indent=1, default=str))
    assert not bad, f"see {OUT}"


@pytest.mark.parametrize("n", range(int(os.environ.get("DIAG_M", "0"))))
def test_diag_a11y_after_paint(desktop: Device, qt_window: Path, n: int) -> None:
    t0 = time.time()
    seen = []
    while time.time() - t0 < 10:
        tree = desktop.ui_tree()
        names = sorted(e.name for e in tree if e.name in ("Place order", "Help", "Note"))
        seen.append((round(time.time() - t0, 3), names))
        if len(names) >= 4:
            break
    with open(OUT / "after_paint.log", "a") as f:
        f.write(json.dumps({"n": n, "seen": seen}) + "\n")
