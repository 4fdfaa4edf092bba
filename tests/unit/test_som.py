"""Set-of-marks rendering and the compact element listing for prompts."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from grounding import ocr
from grounding.som import ROLE_COLORS, describe_element, describe_elements, draw_marks, tag_boxes
from guiagent.schema import Element, Role


def _elements() -> list[Element]:
    return [
        Element(id="1", role=Role.BUTTON, name="Submit", bbox=(40, 60, 140, 90), clickable=True),
        Element(id="2", role=Role.TEXT_FIELD, name="Email", value="ada@example.com", bbox=(40, 120, 300, 150),
                editable=True, focused=True),
        Element(id="3", role=Role.CHECKBOX, name="Subscribe", bbox=(40, 180, 56, 196), checked=True),
        Element(id="14", role=Role.TEXT_FIELD, name="Password", value="hunter2", bbox=(40, 220, 300, 250),
                password=True, editable=True),
        Element(id="15", role=Role.TEXT, name="A very long paragraph " * 10, bbox=(320, 60, 600, 200)),
        Element(id="16", role=Role.LINK, name="Help", bbox=(320, 220, 360, 236), enabled=False),
    ]


def test_marks_are_drawn_on_a_copy_in_role_colours() -> None:
    base = Image.new("RGB", (640, 300), (255, 255, 255))
    marked = draw_marks(base, _elements())
    assert marked.size == base.size and marked is not base
    assert base.getpixel((40, 60)) == (255, 255, 255)  # the input is untouched
    arr = np.asarray(marked)
    # box outlines in their role colours
    assert tuple(arr[75, 40]) == ROLE_COLORS[Role.BUTTON]
    assert tuple(arr[135, 40]) == ROLE_COLORS[Role.TEXT_FIELD]
    assert tuple(arr[188, 40]) == ROLE_COLORS[Role.CHECKBOX]
    # far from every box and tag nothing changed
    assert (arr[270:300, 400:640] == 255).all()
    # a filled tag of the button's colour sits just above its top-left corner
    tag = arr[40:60, 40:70].reshape(-1, 3)
    assert (tag == ROLE_COLORS[Role.BUTTON]).all(axis=1).sum() > 50


def test_tags_do_not_cover_each_other() -> None:
    crowded = [Element(id=str(i), role=Role.BUTTON, name=f"b{i}", bbox=(20 + 6 * i, 40, 80 + 6 * i, 70))
               for i in range(1, 6)]
    tags = tag_boxes(crowded, (300, 150), font_size=12)
    assert sorted(tags) == ["1", "2", "3", "4", "5"]
    boxes = list(tags.values())
    for i, a in enumerate(boxes):
        assert 0 <= a[0] < a[2] <= 300 and 0 <= a[1] < a[3] <= 150
        for b in boxes[i + 1:]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)
    # the first tag takes the natural spot: just above the top-left corner
    assert tags["1"][0] == 26 and tags["1"][3] == 40
    marked = np.asarray(draw_marks(Image.new("RGB", (300, 150), "white"), crowded, font_size=12))
    for x0, y0, _, _ in boxes:  # each tag is filled with the role colour
        assert (marked[y0 + 1, x0 + 1] == ROLE_COLORS[Role.BUTTON]).all()


@pytest.mark.skipif(not ocr.available(), reason="rapidocr not installed")
def test_ids_are_readable_by_ocr() -> None:
    from grounding.ocr import OcrEngine

    els = [Element(id=str(n), role=Role.BUTTON, name="", bbox=(60 + 150 * i, 80, 160 + 150 * i, 120))
           for i, n in enumerate((7, 23, 105))]
    marked = draw_marks(Image.new("RGB", (520, 200), (250, 250, 250)), els, font_size=16)
    texts = {b.text for b in OcrEngine().read(marked)}
    assert {"7", "23", "105"} <= texts, texts


def test_describe_elements_lists_id_role_name_state_bbox() -> None:
    text = describe_elements(_elements())
    lines = text.splitlines()
    assert lines[0] == '[1] button "Submit" @(40,60,140,90)'
    assert lines[1] == '[2] text_field "Email" value="ada@example.com" (focused) @(40,120,300,150)'
    assert lines[2] == '[3] checkbox "Subscribe" (checked) @(40,180,56,196)'
    assert "hunter2" not in text and 'value="•••••••" (password)' in lines[3]
    assert len(lines[4]) < 120 and lines[4].endswith("@(320,60,600,200)") and "…" in lines[4]
    assert lines[5] == '[16] link "Help" (disabled) @(320,220,360,236)'
    short = describe_elements(_elements(), bbox=False, limit=2)
    assert short.splitlines() == ['[1] button "Submit"', '[2] text_field "Email" value="ada@example.com" (focused)',
                                  "... 4 more elements not shown"]
    assert describe_element(Element(id="9", role=Role.RADIO, bbox=(0, 0, 5, 5), checked=False),
                            bbox=False) == "[9] radio (unchecked)"
