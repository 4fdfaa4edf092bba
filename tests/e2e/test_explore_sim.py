"""Exploration of the virtual phone through the REAL adb server and adbutils (ADB_LIBUSB=0).

Never kills the adb server (other engineers share it); every phone opened here is
disconnected again (closing the device does it; the killed CLI run's serial is disconnected
by hand)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from waiting import wait_until

from guiagent.eval.grounding_eval import load_set
from guiagent.explore.collector import GroundingCollector
from guiagent.explore.run import ExploreConfig, Explorer, ExploreResult, build_explore_guard, reset_device
from guiagent.registry import build_device
from guiagent.safety import Guard, SafetyPolicy

adbutils = pytest.importorskip("adbutils")
ROOT = Path(__file__).resolve().parents[2]
APPS = {"Settings", "Notes", "Contacts", "Wallet"}
FAST = {"settle_quiet": 0.05}  # the virtual phone renders synchronously: no animation to wait out


def adb(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ADB_LIBUSB": "0"}
    return subprocess.run([adbutils.adb_path(), *args], capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    adb("start-server")  # a no-op when it runs; never kill-server here
    device = build_device("sim")
    try:
        yield device
    finally:
        device.close()


@pytest.fixture(scope="module")
def guard() -> Any:
    return build_explore_guard(semantic=False)  # the word list; the MiniLM paraphrase check is opt-in here


@pytest.fixture(scope="module")
def explored(sim: Any, guard: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[ExploreResult, Path, Any]:
    """One novelty exploration of the default scenario, 40 steps, with the collector on."""
    out = tmp_path_factory.mktemp("explore")
    reset_device(sim, 0.05)
    launcher_xml = sim.sim_phone.dump_xml()  # the phone's own dump of the start screen
    collector = GroundingCollector(out, "explore:sim", meta={"device": sim.info.id})
    explorer = Explorer(sim, ExploreConfig(steps=40, seed=0, max_depth=4, **FAST), guard=guard, collector=collector)
    try:
        result = explorer.run()
    finally:
        collector.close(explorer.graph, explorer.result.to_json())
    return result, out, launcher_xml


def test_exploration_reaches_every_app(explored: tuple[ExploreResult, Path, Any]) -> None:
    result, out, _ = explored
    assert result.steps == 40 and result.reason == "40 steps done"
    assert set(result.titles) >= APPS, result.titles
    assert result.screens >= 9 and result.templates >= 6
    assert result.curve[0] == 1 and result.curve[-1] == result.screens and len(result.curve) == 41
    assert all(a <= b for a, b in zip(result.curve, result.curve[1:], strict=False))
    graph = json.loads((out / "graph.json").read_text())
    assert len(graph["nodes"]) == result.screens and len(graph["edges"]) == result.edges
    assert sum(n["visits"] for n in graph["nodes"]) == 41  # the start + one observation per step
    assert sum(e["tries"] for e in graph["edges"]) == 40
    wallet = next(n for n in graph["nodes"] if n["title"] == "Wallet")
    assert wallet["secure"] and wallet["image"] is None  # FLAG_SECURE: black frame, no records from it


def test_records_follow_the_screenspot_format(explored: tuple[ExploreResult, Path, Any]) -> None:
    result, out, _ = explored
    records, images = load_set(out / "screenspot.json")  # the grounding evaluator's own loader
    assert len(records) == result.records >= 25
    assert images == out / "images"
    keys = set()
    for r in records:
        assert set(r) >= {"img_filename", "instruction", "bbox", "data_type", "data_source"}
        assert r["data_type"] in ("text", "icon") and r["data_source"] == "explore:sim"
        assert isinstance(r["instruction"], str) and r["instruction"].strip()
        assert all(isinstance(v, int) for v in r["bbox"])
        keys.add((r["instruction"].casefold(), tuple(r["bbox"])))
    assert len(keys) == len(records)  # deduplicated
    texts = {r["instruction"]: r for r in records}
    assert {"open Settings", "open Notes", "open Contacts", "open Wallet"} <= set(texts)
    assert texts["open Notes"]["data_type"] == "text" and texts["the Back icon"]["data_type"] == "icon"
    assert any(r["kind"] == "function" and r["instruction"] == "go to Settings" for r in records)
    lines = (out / "screenspot.jsonl").read_text().splitlines()
    assert len(lines) == len(records)


def test_record_boxes_match_the_ui_tree_and_lie_inside_the_image(explored: tuple[ExploreResult, Path, Any]) -> None:
    _, out, launcher_xml = explored
    records = json.loads((out / "screenspot.json").read_text())
    for r in records:
        img = Image.open(out / "images" / r["img_filename"])
        x, y, w, h = r["bbox"]
        assert w > 0 and h > 0 and x >= 0 and y >= 0 and x + w <= img.size[0] and y + h <= img.size[1]
        assert max(img.convert("L").getextrema()) > 8  # a real frame, not a black one
        screen = json.loads((out / "screens" / f"{r['screen']}.json").read_text())
        element = next(e for e in screen["elements"] if e["id"] == r["element"])
        left, top, right, bottom = element["bbox"]
        assert [left, top, right - left, bottom - top] == r["bbox"]
    # the start screen's boxes against the phone's own uiautomator dump (not our parser's reading)
    bounds = {tuple(int(v) for v in m) for m in re.findall(r'bounds="\[(\d+),(\d+)\]\[(\d+),(\d+)\]"', launcher_xml)}
    start = [r for r in records if r["screen"] == "s0000"]
    assert len(start) >= 7
    for r in start:
        x, y, w, h = r["bbox"]
        assert (x, y, x + w, y + h) in bounds, r


def notes_with_delete(tmp_path: Path) -> Path:
    """The default scenario cut to launcher + Notes, with a "Delete all notes" button."""
    sc = json.loads((ROOT / "assets" / "scenarios" / "default.json").read_text())
    sc["apps"] = [a for a in sc["apps"] if a["package"] in ("com.android.launcher3", "com.example.notes")]
    sc["state"] = {**sc["state"], "notes_deleted": False}
    notes = next(a for a in sc["apps"] if a["package"] == "com.example.notes")
    notes["screens"]["notes"]["widgets"].insert(2, {"type": "button", "id": "delete_all", "text": "Delete all notes",
                                                    "on_tap": [{"set": {"notes_deleted": True}}]})
    path = tmp_path / "notes_delete.json"
    path.write_text(json.dumps(sc))
    return path


def test_sensitive_elements_are_never_clicked(tmp_path: Path, guard: Any) -> None:
    adb("start-server")
    device = build_device(f"sim:{notes_with_delete(tmp_path)}")
    try:
        phone = device.sim_phone
        cfg = ExploreConfig(steps=14, seed=0, max_depth=3, **FAST)
        result = Explorer(device, cfg, guard=guard).run()
        assert "Notes" in result.titles
        assert phone.state["notes_deleted"] is False
        assert any("delete all notes" in label.casefold() for label in result.blocked), result.blocked
        # the control: the same exploration with a guard that knows no sensitive words taps it
        phone.reset()
        lax = Guard(SafetyPolicy(sensitive_words=("zzz-none",), sensitive_action="block"))
        Explorer(device, cfg, guard=lax).run()
        assert phone.state["notes_deleted"] is True
    finally:
        device.close()


def test_a_killed_run_leaves_a_readable_set(tmp_path: Path) -> None:
    adb("start-server")
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "guiagent", "explore", "--device", "sim", "--steps", "500", "--out", str(out),
           "--baseline", "none", "--no-semantic-guard"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "ADB_LIBUSB": "0"})
    serial = None
    try:
        def explored_enough() -> bool:
            nonlocal serial
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            try:
                graph = json.loads((out / "graph.json").read_text())
            except (OSError, json.JSONDecodeError):  # not written yet (it is replaced atomically)
                graph = {}
            serial = graph.get("meta", {}).get("device") or serial
            return graph.get("summary", {}).get("steps", 0) >= 8 and len(graph.get("nodes", [])) >= 3

        wait_until(explored_enough, timeout=180, what="8 explored steps over 3 screens in graph.json")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        if serial:
            adb("disconnect", serial)
    assert proc.returncode == -signal.SIGKILL
    records, images = load_set(out / "screenspot.json")  # a complete JSON list, not a torn one
    assert len(records) >= 7  # at least the start screen's targets
    for r in records:
        Image.open(images / r["img_filename"]).verify()  # every named image is a complete PNG
    logged = {(r["instruction"], tuple(r["bbox"])) for r in load_records_log(out)}
    assert {(r["instruction"], tuple(r["bbox"])) for r in records} <= logged
    assert json.loads((out / "graph.json").read_text())["summary"]["steps"] >= 8


def load_records_log(out: Path) -> list[dict[str, Any]]:
    """The append-only log, without a last line torn by the kill."""
    rows = []
    for line in (out / "screenspot.jsonl").read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return rows


def test_depth_limit_keeps_exploration_shallow(sim: Any, guard: Any) -> None:
    reset_device(sim, 0.05)
    explorer = Explorer(sim, ExploreConfig(steps=12, seed=4, max_depth=1, **FAST), guard=guard)
    result = explorer.run()
    depths = [n.depth for n in explorer.graph.nodes.values()]
    assert max(depths) == 1 and result.screens >= 3  # apps opened, nothing inside them
    assert not any(n.title in ("About phone", "Ada Lovelace") for n in explorer.graph.nodes.values())


def test_cli_prints_the_comparison_with_random(tmp_path: Path) -> None:
    adb("start-server")
    out = tmp_path / "cli"
    cmd = [sys.executable, "-m", "guiagent", "explore", "--device", "sim", "--steps", "10", "--out", str(out),
           "--seed", "2", "--no-semantic-guard"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=240,
                          env={**os.environ, "ADB_LIBUSB": "0", "COLUMNS": "160"})
    assert done.returncode == 0, done.stderr
    assert "screens discovered" in done.stdout and "novelty / random" in done.stdout
    summary = json.loads((out / "summary.json").read_text())
    novelty, random_ = summary["runs"]["novelty"][0], summary["runs"]["random"][0]
    assert novelty["steps"] == random_["steps"] == 10 and novelty["seed"] == random_["seed"] == 2
    assert summary["screens_ratio"] == pytest.approx(round(novelty["screens"] / random_["screens"], 3))
    assert len(load_set(out / "screenspot.json")[0]) == novelty["records"] > 0
