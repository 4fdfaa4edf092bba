"""`guiagent eval desktop` at smoke size: third-party apps (zenity's GTK form, Tk's message box)
driven by the embedded default, judged by what the apps print; their sabotaged twins must end
non-success. The verdict logic is checked on its own too: a success the app does not confirm is a
false success, never a pass."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from guiagent.eval.desktop.apps import judge
from guiagent.eval.desktop.suite import Attempt
from guiagent.eval.desktop.tasks import BY_ID, SMOKE, TASKS, Output

pytestmark = pytest.mark.timeout(600)


def test_the_task_list_covers_the_toolkits_and_every_task_has_a_twin() -> None:
    assert len(TASKS) >= 8 and len(BY_ID) == len(TASKS)
    assert {t.toolkit for t in TASKS} >= {"gtk", "qt", "tk", "chromium"}
    assert len({t.app for t in TASKS}) >= 8
    assert all(t.sabotage.kind in ("hide", "argv", "readonly") for t in TASKS)


def test_verdicts_come_from_the_app_not_the_agent() -> None:
    out = Output("stdout", "Ada|x")
    assert judge(out, "Ada|x") and not judge(out, "Ada|y") and not judge(Output("url", "/a", "endswith"), "")
    said_yes = Attempt("t", "gtk", False, "success", "wrong", "Ada|x", False, 3, 1.0)
    assert said_yes.verdict == "false-success" and not said_yes.passed
    twin_yes = Attempt("t", "gtk", True, "success", "", "Ada|x", False, 3, 1.0)
    assert not twin_yes.passed  # a twin that ends in success fails, whatever the app shows
    assert Attempt("t", "gtk", True, "failed", "", "Ada|x", False, 3, 1.0).passed
    assert not Attempt("t", "gtk", True, "error", "", "Ada|x", False, 0, 1.0).passed  # a broken harness is no pass


def test_eval_desktop_smoke_through_the_cli(xdisplay: object, tmp_path: Path) -> None:
    out = tmp_path / "desk.json"
    proc = subprocess.run([sys.executable, "-m", "guiagent", "eval", "desktop", "--tasks", ",".join(SMOKE),
                           "--json", str(out)], capture_output=True, text=True, timeout=540)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    s = json.loads(out.read_text())
    assert s["tasks"] == len(SMOKE) and s["twins"] == len(SMOKE) and s["errors"] == 0
    seen = {(a["task"], a["twin"]): a for a in s["attempts"]}
    assert seen[("zenity-form", False)]["seen"] == "Ada|ada@example.org"  # zenity printed what it received
    assert seen[("tk-messagebox", False)]["seen"] == "no"
    assert all(a["status"] != "success" for a in s["attempts"] if a["twin"])
