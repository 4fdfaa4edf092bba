"""The whole GUI-Bee flow at small size, on the virtual phone's `pantry` scenario (never used in
development): explore -> leave out the hand-written held-out screens and their look-alikes ->
fine-tune MiniLM (`train grounder --backend text`) -> score the held-out targets before/after
per instruction kind, with the HTML report. Through the real adb server (ADB_LIBUSB=0)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from guiagent.cli import main
from guiagent.eval.novel import load_novel
from guiagent.registry import build_grounder

adbutils = pytest.importorskip("adbutils")
ROOT = Path(__file__).resolve().parents[2]
HELD = ROOT / "assets" / "novel" / "pantry.json"


def test_explore_train_and_measure_on_a_novel_environment(tmp_path: Path) -> None:
    subprocess.run([adbutils.adb_path(), "start-server"], capture_output=True, timeout=20,
                   env={**os.environ, "ADB_LIBUSB": "0"})  # a no-op when it runs; never kill-server here
    out = tmp_path / "novel"
    with pytest.raises(SystemExit) as done:
        # small: 14 exploration steps, 2 optimizer steps of 4 pairs, no untuned-ranker ablation
        main(["eval", "novel", "--held-out", str(HELD), "--out", str(out), "--steps", "14",
              "--batch-size", "4", "--max-steps", "2", "--no-ablation"])
    assert done.value.code == 0
    res = json.loads((out / "results.json").read_text())
    held = load_novel(HELD)
    # no held-out screen (nor a look-alike) was trained on
    titles = {json.loads(f.read_text())["screen"]: json.loads(f.read_text())["title"]
              for f in (out / "explore" / "screens").glob("*.json")}
    assert not {titles[s] for s in res["train_screens"]} & set(held.titles.values())
    assert {titles[s] for s in res["excluded_screens"]} <= set(held.titles.values())
    records = [json.loads(line) for line in (out / "explore" / "screenspot.jsonl").read_text().splitlines()]
    assert {"literal", "functional", "positional", "icon"} <= {r["instruction_kind"] for r in records}
    before, after = res["table"]["before (rules + MiniLM on labels)"], res["table"]["after (fine-tuned)"]
    assert after["all"]["n"] == len(held.items) >= 40
    assert after["literal"]["accuracy"] >= before["literal"]["accuracy"]
    assert after["functional"]["accuracy"] >= before["functional"]["accuracy"] + 0.15
    page = (out / "report.html").read_text()
    assert set(res["table"]) == {"before (rules + MiniLM on labels)", "after (fine-tuned)"}
    assert page.count("data:image/png;base64,") == 2 * len(held.items) and "misses of" in page

    # the same data through `train grounder --backend text`; the directory loads as a grounder option
    model = tmp_path / "model"
    with pytest.raises(SystemExit) as trained:
        main(["train", "grounder", "--backend", "text", "--data", str(out / "explore"), "--out", str(model),
              "--max-steps", "1", "--batch-size", "2"])
    assert trained.value.code == 0 and (model / "modules.json").exists()
    grounder = build_grounder("text", model=str(model))
    obs = held.observations["timer"]
    hit = grounder.ground("the field under Minutes", obs)
    assert hit.element is not None and hit.element.editable
