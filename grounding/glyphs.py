"""OCR lines against the toggles the detector found: a "radio" on a letter of a label is that
letter ("o", "e"), a toggle OCR read as a leading "O" before its label is the toggle (it
stands taller than the label's letters), and such a label starts after its box. Plus the box
arithmetic the screen parser shares."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from grounding.ids import norm_text as _norm
from grounding.ocr import OcrBox
from guiagent.schema import Element, Role

Box = tuple[int, int, int, int]
BOXES = frozenset({Role.CHECKBOX, Role.RADIO, Role.SWITCH})
GLYPHS = frozenset({"o", "0", "□", "○", "◯", "●", "◉", "☐", "☑", "✓", "✔", "v", "d", "q"})


def area(b: Box) -> int:
    return max(0, b[2] - b[0]) * max(0, b[3] - b[1])


def inter(a: Box, b: Box) -> int:
    return max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))


def inside(inner: Box, outer: Box, frac: float = 0.6) -> bool:
    """Most of `inner` lies in `outer` and its centre does."""
    cx, cy = (inner[0] + inner[2]) / 2, (inner[1] + inner[3]) / 2
    return outer[0] <= cx <= outer[2] and outer[1] <= cy <= outer[3] and inter(inner, outer) >= frac * area(inner)


def same_row(a: Box, b: Box) -> bool:
    overlap = min(a[3], b[3]) - max(a[1], b[1])
    return overlap >= 0.5 * min(a[3] - a[1], b[3] - b[1])


def glyph_in_text(det: Element, box: OcrBox, rgb: np.ndarray | None = None) -> bool:
    """The detected box sits on a character of a longer OCR line. The line's first
    "character" is the box itself (a toggle OCR read as "O" before its label) when the box
    stands taller than the rest of the line's ink: a letter "O" is no taller than an "l"."""
    if not inside(det.bbox, box.bbox, 0.7):
        return False
    cx = (det.bbox[0] + det.bbox[2]) / 2
    if len(_norm(box.text)) < 3:
        # a one- or two-letter label: the box on a letter that no toggle reads as ("e") is that letter
        letters = [c for c in box.text if not c.isspace()]
        if len(letters) != len(box.chars) or not any(a <= cx <= b and c.isalnum() and c.casefold() not in GLYPHS
                                                     for c, (a, b) in zip(letters, box.chars, strict=True)):
            return False
        # unless it stands taller than the letters beside it: a box OCR read together with its label
        rest = _ink_height(rgb, (det.bbox[2] + 1, *box.bbox[1:])) if rgb is not None else 0
        return not (rest and det.bbox[3] - det.bbox[1] >= 1.2 * rest)
    if box.chars:
        under = [i for i, (a, b) in enumerate(box.chars) if a <= cx <= b]
        if under == [0] and rgb is not None and (ink := _ink_height(rgb, (det.bbox[2] + 1, *box.bbox[1:]))):
            return det.bbox[3] - det.bbox[1] < 1.2 * ink
        return bool(under)
    w = det.bbox[2] - det.bbox[0]
    return box.bbox[0] + w < cx < box.bbox[2] - w  # no positions: only mid-line counts


def _ink_height(rgb: np.ndarray, box: Box) -> int:
    """The height of the band of inked rows nearest the middle of `box` (gaps of 2 rows or
    less bridged, so an "i"'s dot counts; a neighbour's border further off does not)."""
    crop = rgb[max(0, box[1]): box[3], max(0, box[0]): box[2]].astype(np.int16)
    if crop.size == 0:
        return 0
    bg = np.median(crop.reshape(-1, 3), axis=0)
    rows = np.nonzero((np.abs(crop - bg).max(axis=2) > 80).any(axis=1))[0]
    if not len(rows):
        return 0
    bands = np.split(rows, np.nonzero(np.diff(rows) > 3)[0] + 1)
    mid = crop.shape[0] / 2
    band = min(bands, key=lambda b: 0 if b[0] <= mid <= b[-1] else min(abs(b[0] - mid), abs(b[-1] - mid)))
    return int(band[-1] - band[0] + 1)


def trim_off_boxes(box: OcrBox, dets: Sequence[Element]) -> OcrBox:
    """A label read together with the checkbox before it starts after the checkbox."""
    left, top, right, bottom = box.bbox
    for d in dets:
        if d.role not in BOXES or not same_row(d.bbox, box.bbox) or len(_norm(box.text)) < 3:
            continue
        if left <= d.bbox[2] and d.bbox[0] < right and (d.bbox[0] + d.bbox[2]) / 2 < (left + right) / 2:
            left = max(left, d.bbox[2] + 1)
    if left == box.bbox[0] or left >= right - 3:
        return box
    chars = tuple(c for c in box.chars if c[0] >= left - 2)
    text = box.text
    if box.chars and len(chars) < len(box.chars) and sum(not c.isspace() for c in text) == len(box.chars):
        cut = len(box.chars) - len(chars)  # the toggle was read as a leading glyph ("O vdpn2"): drop it
        seen = 0
        for i, c in enumerate(text):
            seen += not c.isspace()
            if seen == cut:
                text = text[i + 1:].strip()
                break
    return OcrBox(text or box.text, (left, top, right, bottom), box.score, chars)
