"""Dataset export round trips: HF (read back with `datasets`), AITW, JSONL; stats."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from guiagent.formats.aitw import AitwEpisodeStep, AitwType
from guiagent.recorder import EpisodeWriter, read_episode
from guiagent.recorder.export import dataset_stats, export
from guiagent.schema import (
    Back,
    Click,
    Decision,
    Element,
    EpisodeMeta,
    Key,
    Role,
    Step,
    Swipe,
    Target,
    TypeText,
)
from guiagent.schema.errors import ConfigError


def _frame(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (60, 80, 3), dtype=np.uint8))


@pytest.fixture
def episodes(tmp_path: Path) -> Path:
    root = tmp_path / "eps"
    el = Element(id="n", role=Role.TEXT_FIELD, name="Name", bbox=(1, 2, 30, 12), editable=True)
    a = EpisodeWriter(root / "a", EpisodeMeta(id="ep-a", task="type Ada", source="human", platform="linux"))
    a.add_step(Step(index=0, source="human", action=Click(target=Target.at(0.25, 0.5)), target_element=el,
                    elements=[el], screen_size=(80, 60)), _frame(0))
    a.add_step(Step(index=1, source="human", action=TypeText(text="Ada", submit=True)), _frame(1))
    a.add_step(Step(index=2, source="human", action=Key(keys="ctrl+s")), _frame(2))  # no AITW form
    a.close("success")
    b = EpisodeWriter(root / "b", EpisodeMeta(id="ep-b", task="go back", platform="android"))
    b.add_step(Step(index=0, action=Swipe(start=Target.at(0.5, 0.8), end=Target.at(0.5, 0.2)),
                    decision=Decision(thought="scroll", action=Back())), _frame(3))
    b.add_step(Step(index=1, action=Back()), None)  # no frame
    b.close("failed", reason="x")
    return root


def test_hf_roundtrip_save_to_disk_and_parquet(episodes: Path, tmp_path: Path) -> None:
    import datasets

    out = tmp_path / "hf"
    report = export([episodes], out, "hf")
    assert report.episodes == 2 and report.steps == 5
    shards = sorted((out / "data").glob("*.parquet"))
    assert shards and all(p.name.startswith("train-") for p in shards)
    from_disk = datasets.load_from_disk(str(out / "dataset"))
    from_parquet = datasets.load_dataset("parquet", data_files=[str(p) for p in shards], split="train")
    assert isinstance(from_parquet.features["image"], datasets.Image)
    for ds in (from_disk, from_parquet):
        assert len(ds) == 5
        rows = {(r["episode_id"], r["step"]): r for r in ds}
        for folder in ("a", "b"):
            traj = read_episode(episodes / folder)
            for step in traj.steps:
                row = rows[(traj.meta.id, step.index)]
                assert row["action"] == step.action.model_dump_json()
                assert row["task"] == traj.meta.task
                if step.frame:
                    want = np.asarray(Image.open(episodes / folder / step.frame).convert("RGB"))
                    assert np.array_equal(np.asarray(row["image"].convert("RGB")), want)
                else:
                    assert row["image"] is None
        click = rows[("ep-a", 0)]
        assert (click["x"], click["y"], click["action_type"]) == (0.25, 0.5, "click")
        assert json.loads(click["target_element"])["name"] == "Name"
        assert rows[("ep-a", 1)]["text"] == "Ada"
        assert rows[("ep-b", 0)]["thought"] == "scroll"


def test_aitw_export(episodes: Path, tmp_path: Path) -> None:
    out = tmp_path / "aitw"
    report = export([episodes], out, "aitw")
    lines = [AitwEpisodeStep.model_validate_json(x) for x in (out / "aitw.jsonl").read_text().splitlines()]
    # a: click, type, enter (from submit); ctrl+s skipped. b: swipe; back skipped (no frame).
    assert [ex.action.action_type for ex in lines] == [AitwType.DUAL_POINT, AitwType.TYPE, AitwType.PRESS_ENTER,
                                                       AitwType.DUAL_POINT]
    assert report.skipped == {"no AITW equivalent (key)": 1, "no frame": 1}
    click = lines[0]
    assert click.action.touch_point == (0.5, 0.25)  # (y, x)
    assert click.goal == "type Ada" and click.previous_actions == []
    assert click.future_plan == [AitwType.DUAL_POINT, AitwType.TYPE, AitwType.PRESS_ENTER]
    assert lines[1].action.typed_text == "Ada" and [a.action_type for a in lines[1].previous_actions] == [
        AitwType.DUAL_POINT]
    assert lines[3].action.lift_point == (0.2, 0.5) and lines[3].previous_actions == []
    for ex in lines:
        assert (out / ex.image).is_file()  # relative to OUT, self-contained


def test_jsonl_export_and_stats(episodes: Path, tmp_path: Path) -> None:
    out = tmp_path / "jsonl"
    report = export([episodes, episodes / "a"], out, "jsonl")  # the overlap is exported once
    rows = [json.loads(x) for x in (out / "steps.jsonl").read_text().splitlines()]
    assert report.episodes == 2 and len(rows) == 5
    assert rows[0]["action"] == {"type": "click", "target": {"point": {"x": 0.25, "y": 0.5}, "element": None,
                                                            "description": None}}
    assert rows[0]["image"] == "images/ep-a/000000.png" and (out / rows[0]["image"]).is_file()
    assert Image.open(out / rows[0]["image"]).size == (80, 60)
    back = [r for r in rows if r["action_type"] == "back"]
    assert back[0]["image"] is None
    stats = dataset_stats([episodes])
    assert stats["episodes"] == 2 and stats["steps"] == 5 and stats["frames"] == 4
    assert stats["action_types"] == {"click": 1, "type": 1, "key": 1, "swipe": 1, "back": 1}
    assert stats["sources"] == {"human": 1, "agent": 1} and stats["statuses"] == {"success": 1, "failed": 1}
    assert stats["duration_s_median"] is not None


def test_unknown_format(episodes: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown export format"):
        export([episodes], tmp_path / "x", "csv")


def test_image_bytes_are_the_stored_png(episodes: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    export([episodes], tmp_path / "hf", "hf")
    table = pq.read_table(sorted((tmp_path / "hf" / "data").glob("*.parquet"))[0])
    img = table.column("image")[0].as_py()
    assert img["bytes"][:8] == b"\x89PNG\r\n\x1a\n"
    Image.open(io.BytesIO(img["bytes"])).load()
