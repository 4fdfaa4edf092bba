"""The grounding metric and the ScreenSpot-format set written from MiniWoB DOM ground truth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from grounding.base import Grounder, GroundingResult
from guiagent.eval.grounding_eval import load_set, point_in_box, samples_from_dom, score, summarize
from guiagent.schema import Observation, Point
from guiagent.schema.errors import ConfigError, GroundingError, ModelError


def test_point_in_box_counts_edges_and_rejects_outside() -> None:
    box = [10, 20, 30, 40]  # x, y, w, h -> x in [10, 40], y in [20, 60]
    assert point_in_box(10, 20, box) and point_in_box(40, 60, box) and point_in_box(25, 30, box)
    assert not point_in_box(9.9, 30, box) and not point_in_box(25, 60.1, box) and not point_in_box(41, 21, box)


def test_summary_is_per_type_and_per_source() -> None:
    rows = [{"data_type": "text", "data_source": "a", "hit": True, "ms": 1.0},
            {"data_type": "text", "data_source": "a", "hit": False, "ms": 3.0},
            {"data_type": "icon", "data_source": "b", "hit": True, "ms": 2.0}]
    s = summarize(rows)
    assert s["overall"] == {"n": 3, "hits": 2, "accuracy": 0.6667}
    assert s["by_type"]["text"]["accuracy"] == 0.5 and s["by_type"]["icon"]["accuracy"] == 1.0
    assert s["by_source"]["a"]["hits"] == 1 and s["median_ms"] == 2.0


def _d(ref: int, tag: str, text: str, box: tuple[float, float, float, float], parent: int = 3,
       **extra: object) -> dict:
    left, top, width, height = box
    return {"ref": ref, "tag": tag, "text": text, "value": None, "id": "", "classes": "", "left": left, "top": top,
            "width": width, "height": height, "is_leaf": True, "parent": parent, **extra}


DOM = [
    _d(1, "body", "", (0, 0, 780, 210), parent=None, is_leaf=False),
    _d(3, "div", "", (0, 50, 160, 150), parent=1, id="area", is_leaf=False),
    _d(4, "label", "Username", (2, 62, 57, 11)),
    _d(5, "input_text", "", (7, 78, 128, 21)),
    _d(6, "label", "", (2, 110, 60, 11), is_leaf=False),
    _d(7, "input_checkbox", "", (6, 106, 20, 13), parent=6),
    _d(-1, "t", "Kenny", (29, 110, 30, 11), parent=6),
    _d(8, "button", "Submit", (2, 166, 90, 31)),
    _d(9, "span", "nam", (40, 140, 22, 11)),
    _d(10, "span", "nam", (80, 140, 22, 11)),  # the same text twice: ambiguous, left out
    _d(11, "button", "Hidden", (-4909, 84, 27, 11)),  # off-screen
    _d(12, "button", "", (94, 60, 20, 20), classes="ui-button ui-dialog-titlebar-close"),
    _d(13, "t", "running text", (2, 185, 100, 11)),  # plain text is not a target
]


def test_samples_from_dom_name_targets_like_a_user_would() -> None:
    samples = samples_from_dom(DOM, origin_y=50, scale=2.0)
    by_name = {s["instruction"]: s for s in samples}
    assert set(by_name) == {"Submit", "Username field", "Kenny checkbox", "the close button"}
    assert by_name["Submit"]["data_type"] == "text" and by_name["Submit"]["bbox"] == [4, 232, 180, 62]
    assert by_name["Username field"]["data_type"] == "icon" and by_name["Username field"]["bbox"] == [14, 56, 256, 42]
    assert by_name["Kenny checkbox"]["bbox"] == [12, 112, 40, 26]
    assert by_name["the close button"]["data_type"] == "icon"


def test_unlabelled_fields_are_named_by_position() -> None:
    dom = [DOM[1], _d(5, "input_text", "", (7, 60, 128, 21)), _d(6, "input_text", "", (7, 100, 128, 21))]
    names = [s["instruction"] for s in samples_from_dom(dom, origin_y=50, scale=1.0)]
    assert names == ["the 1st text field", "the 2nd text field"]


def _write_set(folder: Path, records: list[dict]) -> None:
    (folder / "images").mkdir(parents=True)
    img = Image.new("RGB", (200, 100), "white")
    img.save(folder / "images" / "s.png")
    (folder / "miniwob_screenspot.json").write_text(json.dumps(records))


def test_load_set_rejects_bad_records(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no grounding set"):
        load_set(tmp_path / "nope")
    _write_set(tmp_path / "a", [{"img_filename": "s.png", "instruction": "x", "bbox": [1, 2, 3]}])
    with pytest.raises(ConfigError, match="record 0"):
        load_set(tmp_path / "a")


class RightHalfGrounder(Grounder):
    """A real (if simple-minded) grounder: "right ..." -> the middle of the right half, else
    the middle of the left half; "nothing" -> refuses."""

    name = "halves"

    def ground(self, description: str, observation: Observation) -> GroundingResult:
        if description == "nothing":
            raise GroundingError("nothing matches")
        return GroundingResult(point=Point(x=0.75 if description.startswith("right") else 0.25, y=0.5))


def test_score_hits_misses_and_refusals(tmp_path: Path) -> None:
    records = [
        {"img_filename": "s.png", "instruction": "right box", "bbox": [100, 0, 100, 100], "data_type": "icon",
         "data_source": "t"},
        {"img_filename": "s.png", "instruction": "left box", "bbox": [100, 0, 100, 100], "data_type": "text",
         "data_source": "t"},
        {"img_filename": "s.png", "instruction": "nothing", "bbox": [0, 0, 200, 100], "data_type": "text",
         "data_source": "t"},
    ]
    _write_set(tmp_path / "set", records)
    loaded, images = load_set(tmp_path / "set")
    summary, rows = score(loaded, images, RightHalfGrounder())
    assert [r["hit"] for r in rows] == [True, False, False]
    assert rows[0]["point"] == [150.0, 50.0] and "nothing matches" in rows[2]["error"]
    assert summary["by_type"]["icon"]["accuracy"] == 1.0 and summary["by_type"]["text"]["accuracy"] == 0.0


class DeadBackendGrounder(Grounder):
    """A grounder whose model endpoint is down: every call fails with ModelError."""

    name = "dead"

    def __init__(self) -> None:
        self.calls = 0

    def ground(self, description: str, observation: Observation) -> GroundingResult:
        self.calls += 1
        raise ModelError("cannot connect to http://127.0.0.1:9/v1")


def test_a_dead_backend_stops_the_run_early(tmp_path: Path) -> None:
    records = [{"img_filename": "s.png", "instruction": f"target {i}", "bbox": [0, 0, 10, 10], "data_type": "text"}
               for i in range(20)]
    _write_set(tmp_path / "set", records)
    loaded, images = load_set(tmp_path / "set")
    grounder = DeadBackendGrounder()
    with pytest.raises(ModelError, match="3 targets in a row"):
        score(loaded, images, grounder)
    assert grounder.calls == 3
