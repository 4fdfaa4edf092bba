"""`guiagent dataset export|stats|view|repair` through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from guiagent.cli import main
from guiagent.recorder import EpisodeWriter, read_episode
from guiagent.schema import Click, EpisodeMeta, Step, Target


def run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code or 0)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for name in ("one", "two"):
        w = EpisodeWriter(tmp_path / "eps" / name, EpisodeMeta(id=name, task=f"task {name}"))
        for i in range(3):
            w.add_step(Step(index=i, action=Click(target=Target.at(0.1 * (i + 1), 0.5))), Image.new("RGB", (40, 30)))
        w.close("success")
    return tmp_path / "eps"


def test_stats_json_and_table(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["dataset", "stats", str(root), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["episodes"] == 2 and stats["steps"] == 6 and stats["action_types"] == {"click": 6}
    assert run(["dataset", "stats", str(root)]) == 0
    assert "click 6" in capsys.readouterr().out


def test_export_each_format(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["dataset", "export", str(root), "--format", "jsonl", "--out", str(tmp_path / "j")]) == 0
    assert len((tmp_path / "j" / "steps.jsonl").read_text().splitlines()) == 6
    assert run(["dataset", "export", str(root), "--format", "aitw", "--out", str(tmp_path / "a")]) == 0
    assert len((tmp_path / "a" / "aitw.jsonl").read_text().splitlines()) == 6
    assert run(["dataset", "export", str(root), "--format", "hf", "--out", str(tmp_path / "h")]) == 0
    assert list((tmp_path / "h" / "data").glob("train-*.parquet"))
    assert "exported 6 rows from 2 episodes" in capsys.readouterr().out


def test_repair_and_view(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ep = root / "one"
    meta = json.loads((ep / "meta.json").read_text())
    meta["status"] = "running"  # as a crashed writer leaves it
    (ep / "meta.json").write_text(json.dumps(meta))
    with open(ep / "steps.jsonl", "ab") as f:
        f.write(b'{"index": 3, "act')
    assert run(["dataset", "repair", str(root)]) == 0
    out = capsys.readouterr().out
    assert "dropped lines 4" in out and "closed as stopped" in out and "two: 3 steps, nothing to repair" in out
    assert read_episode(ep).meta.status == "stopped" and len(read_episode(ep).steps) == 3
    assert run(["dataset", "view", str(root)]) == 0
    assert (ep / "report.html").is_file() and (root / "two" / "report.html").is_file()


def test_bad_input_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["dataset", "stats", str(tmp_path / "missing")]) == 2
    assert "neither an episode nor a folder" in capsys.readouterr().err
