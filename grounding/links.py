"""Links inside running text, from pixels: an OCR line reads "ultrices nam scelerisque sit"
as one box, but a browser draws its links blue and underlined. The line is split where its ink
turns blue or back, and a blue run is split where its underline breaks (two links side by
side), so that each link becomes its own element."""

from __future__ import annotations

import numpy as np

from grounding.ocr import OcrBox, _split_chars


def split_links(box: OcrBox, rgb: np.ndarray | None) -> list[OcrBox]:
    """Split a line where its ink turns blue or back ("ultrices nam sit" with "nam" a link):
    each link in running text becomes its own box. Needs the engine's character positions."""
    if rgb is None or len(box.chars) < 2 or box.bbox[1] < 0:
        return [box]
    top, bottom = max(0, box.bbox[1]), box.bbox[3]
    blue: list[bool | None] = []
    for a, b in box.chars:
        w = b - a
        crop = rgb[top:bottom, max(0, a + w // 5): max(a + w // 5 + 1, b - w // 5)].reshape(-1, 3).astype(np.int16)
        if len(crop) == 0:
            blue.append(None)
            continue
        bg = np.median(crop, axis=0)
        ink = crop[np.abs(crop - bg).max(axis=1) > 80]
        blue.append(None if len(ink) < 3 or bg.min() < 180 else bool(ink[:, 2].mean() - ink[:, :2].mean(axis=0).max() > 50))
    known = [v for v in blue if v is not None]
    if not any(known) or all(known):
        return [box]
    for i, v in enumerate(blue):  # a character whose colour is unclear follows its left neighbour
        if v is None:
            blue[i] = blue[i - 1] if i else next(x for x in blue if x is not None)
    cuts = [i for i in range(1, len(blue)) if blue[i] != blue[i - 1]]
    parts = _split_chars(box, cuts)
    if not parts:
        return [box]
    runs = [i for i, c in enumerate([0, *cuts]) if blue[c]]  # the blue parts
    return [q for i, p in enumerate(parts) if p.text for q in (_split_underline(p, rgb) if i in runs else [p])]


def _split_underline(box: OcrBox, rgb: np.ndarray) -> list[OcrBox]:
    """Two links side by side ("nam scelerisque") read as one blue run: each has its own
    underline, so the run is cut where the underline breaks."""
    left, top, right, bottom = box.bbox
    crop = rgb[max(0, top + (bottom - top) // 2): bottom + 3, max(0, left): right].astype(np.int16)
    if crop.size == 0 or len(box.chars) < 2:
        return [box]
    blue = (crop[..., 2] - crop[..., :2].max(axis=2)) > 50
    row = blue[int(np.argmax(blue.sum(axis=1)))]
    if row.sum() < 0.6 * (right - left):
        return [box]  # no underline to go by
    padded = np.concatenate([[False], row, [False]]).astype(np.int8)
    starts, ends = np.nonzero(np.diff(padded) == 1)[0], np.nonzero(np.diff(padded) == -1)[0]
    segs = [(a + left, b + left) for a, b in zip(starts, ends, strict=True) if b - a > 3]
    if len(segs) < 2:
        return [box]
    seg_of = [next((k for k, (a, b) in enumerate(segs) if a <= (c0 + c1) / 2 <= b), -1) for c0, c1 in box.chars]
    # cut only at a space: the underline also skips descenders ("scelerisque")
    spaced = [j > 0 and box.text[j - 1].isspace() for j, ch in enumerate(box.text) if not ch.isspace()]
    cuts = [i for i in range(1, len(seg_of)) if seg_of[i] != seg_of[i - 1] and i < len(spaced) and spaced[i]]
    parts = _split_chars(box, cuts) if cuts else None
    return [p for p in parts if p.text] if parts else [box]
