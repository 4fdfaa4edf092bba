"""The screen parser: accessibility nodes + OCR text + pixel detectors -> one list of elements
with short ids that stay the same from frame to frame while an element does not move.

Merging rules (a11y is the richest source, then detectors, then OCR):
- an OCR line that runs across a widget edge ("Email ada@example.com" over a field's left
  border) is split at that edge;
- OCR text inside an a11y node with the same text is dropped, or fills the node's empty name;
- OCR text inside a detected button names it; inside a detected field it is the field's value;
- a detected widget that an a11y node already covers is dropped; a detected checkbox/radio inside
  an a11y checkbox/radio (whose node spans box and label) is that node (its tick fills `checked`);
- a detected checkbox/radio inside a longer OCR line is a glyph, not a widget (dropped); an
  OCR "O" on a detected radio is the radio (the OCR box is dropped);
- checkboxes and radios are named after the text to their right, fields after the label to
  their left or above (the labels stay as text elements too: clicking a label works).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

from grounding import ocr as ocr_mod
from grounding.detect import MULTILINE, DetectorOptions, IncrementalDetector
from grounding.glyphs import BOXES as _BOXES
from grounding.glyphs import GLYPHS as _GLYPHS
from grounding.glyphs import area as _area
from grounding.glyphs import glyph_in_text as _glyph_in_text
from grounding.glyphs import inside as _inside
from grounding.glyphs import inter as _inter
from grounding.glyphs import same_row as _same_row
from grounding.glyphs import trim_off_boxes as _trim_off_boxes
from grounding.ids import IdTracker as IdTracker  # re-exported: part of the parser's API
from grounding.ids import norm_text as _norm
from grounding.links import split_links
from grounding.ocr import IncrementalOcr, OcrBox, OcrEngine
from guiagent.schema import Element, Role

log = logging.getLogger(__name__)

Box = tuple[int, int, int, int]
_WIDGETS = frozenset({Role.BUTTON, Role.TEXT_FIELD, Role.CHECKBOX, Role.RADIO, Role.SWITCH, Role.COMBOBOX,
                      Role.LINK, Role.TAB, Role.MENU_ITEM, Role.LIST_ITEM, Role.ICON, Role.SLIDER})
_ICON_TEXT = frozenset({"x", "×", "✕", "✖", "✗", "+", "-", "−", "<", ">", "‹", "›", "≡", "☰", "⋮", "…"})


def _iou(a: Box, b: Box) -> float:
    i = _inter(a, b)
    return i / max(1, _area(a) + _area(b) - i)


def _centre_in(inner: Box, outer: Box) -> bool:
    cx, cy = (inner[0] + inner[2]) / 2, (inner[1] + inner[3]) / 2
    return outer[0] <= cx <= outer[2] and outer[1] <= cy <= outer[3]


def split_at_widgets(boxes: list[OcrBox], widgets: Sequence[Element]) -> list[OcrBox]:
    """Split OCR lines that run across a widget's left or right edge."""
    out: list[OcrBox] = []
    queue = list(boxes)
    while queue:
        box = queue.pop()
        for w in widgets:
            if not _same_row(box.bbox, w.bbox) or w.role not in _WIDGETS:
                continue
            for x in (w.bbox[0], w.bbox[2]):
                if box.bbox[0] + 3 < x < box.bbox[2] - 3:
                    parts = box.split_at(x)
                    if parts:
                        queue.extend(p for p in parts if p.text)
                        break
            else:
                continue
            break
        else:
            out.append(box)
    return ocr_mod.sort_reading_order(out)


def looks_like_link(rgb: np.ndarray | None, box: Box) -> bool:
    """Blue text on a light background: a hyperlink (the usual default style)."""
    if rgb is None:
        return False
    crop = rgb[max(0, box[1]): box[3], max(0, box[0]): box[2]].reshape(-1, 3).astype(np.int16)
    if len(crop) < 20:
        return False
    bg = np.median(crop, axis=0)
    ink = crop[np.abs(crop - bg).max(axis=1) > 80]
    if len(ink) < 10 or bg.min() < 180:
        return False
    r, g, b = ink.mean(axis=0)
    return bool(b - max(r, g) > 50)


def _ocr_element(box: OcrBox, rgb: np.ndarray | None = None) -> Element:
    link = looks_like_link(rgb, box.bbox)
    return Element(id="", role=Role.LINK if link else Role.TEXT, name=box.text, bbox=box.bbox,
                   clickable=link, source="ocr", extras={"score": round(box.score, 3)})


def merge(a11y: Sequence[Element], boxes: Sequence[OcrBox], detected: Sequence[Element],
          rgb: np.ndarray | None = None) -> list[Element]:
    """Merge the three sources (see the module docstring). Ids are left to the tracker."""
    a11y = list(a11y)
    # a toggle's a11y node spans its box and its label: the box found in pixels is that node
    # (one element, not two); the pixels say whether it is ticked when the node does not
    toggles = [(d, i) for d in detected for i, a in enumerate(a11y)
               if d.role in _BOXES and a.role in _BOXES and _inside(d.bbox, _grow(a.bbox, 2), 0.8)]
    for d, i in toggles:
        if a11y[i].checked is None and d.checked is not None:
            a11y[i] = a11y[i].model_copy(update={"checked": d.checked})
    detected = [d for d in detected if not any(d is t for t, _ in toggles)]
    # detectors: drop what a11y already knows
    dets = [d for d in detected if not any(
        _iou(d.bbox, a.bbox) > 0.5 or (_inside(d.bbox, a.bbox, 0.8) and a.role in _WIDGETS and
                                       _area(a.bbox) < 4 * _area(d.bbox)) for a in a11y)]
    # a "checkbox" or "radio" found on a character of a text line is a glyph ("o", "D", "b")
    dets = [d for d in dets if not (d.role in _BOXES and any(_glyph_in_text(d, b, rgb) for b in boxes))]
    boxes = [_trim_off_boxes(b, dets) for b in boxes]
    boxes = split_at_widgets(list(boxes), [*a11y, *dets])
    # a radio read as "O" by OCR is the radio; an "x" in a small square is a close button
    kept_boxes: list[OcrBox] = []
    for b in boxes:
        small = [d for d in dets if d.role in _BOXES and _inside(b.bbox, _grow(d.bbox, 4), 0.5)]
        short = b.text.strip().casefold()
        if small and len(_norm(b.text) or short) <= 2:
            if short in _ICON_TEXT:
                dets = [d.model_copy(update={"role": Role.BUTTON, "name": b.text.strip(), "checked": None})
                        if d in small else d for d in dets]
            elif short not in _GLYPHS and _norm(b.text) not in _GLYPHS:
                kept_boxes.append(b)
            continue
        kept_boxes.append(b)
    # OCR text inside an element: duplicate, name, or value
    named: dict[int, list[str]] = {}
    valued: dict[int, list[str]] = {}
    pool = [*a11y, *dets]
    texts: list[OcrBox] = []
    for b in kept_boxes:
        if _norm(b.text) and any(_norm(a.name) == _norm(b.text) and _centre_in(b.bbox, a.bbox) for a in a11y):
            continue  # the a11y node says it already (OCR boxes run taller than the glyphs)
        host = _host(b, pool)
        if host is None:
            texts.append(b)
            continue
        i, el = host
        if _norm(b.text) and _norm(b.text) in (_norm(el.name), _norm(el.value or "")):
            continue  # the a11y node says it already
        if el.password:
            continue  # bullets, never a value worth keeping
        if el.role == Role.TEXT_FIELD or el.editable:
            if el.source == "detector" or not el.value:
                valued.setdefault(i, []).append(b.text)
                if not el.extras.get(MULTILINE):
                    continue  # a text area's lines stay readable one by one (the Nth line, the last word)
        elif el.role not in (Role.WINDOW, Role.CONTAINER, Role.OTHER, Role.TEXT) and not el.name:
            named.setdefault(i, []).append(b.text)
            continue
        texts.append(b)
    merged: list[Element] = []
    for i, el in enumerate(pool):
        update: dict[str, Any] = {}
        if i in named:
            update["name"] = " ".join(named[i])
        if i in valued:  # a field's border or caret reads as a bracket or a bar at the ends
            update["value"] = " ".join(valued[i]).strip(" []|")
        merged.append(el.model_copy(update=update) if update else el)
    text_els = [_ocr_element(p, rgb) for b in texts for p in split_links(b, rgb)]
    merged = [_name_from_label(el, text_els + [e for e in merged if e.role == Role.TEXT]) for el in merged]
    return merged + text_els


def _grow(b: Box, m: int) -> Box:
    return b[0] - m, b[1] - m, b[2] + m, b[3] + m


def _host(box: OcrBox, pool: Sequence[Element]) -> tuple[int, Element] | None:
    """The smallest non-text element that holds this OCR line."""
    best: tuple[int, Element] | None = None
    for i, el in enumerate(pool):
        if el.role == Role.TEXT and el.source != "a11y":
            continue
        if _inside(box.bbox, el.bbox, 0.6) and (best is None or _area(el.bbox) < _area(best[1].bbox)):
            best = (i, el)
    return best


def _name_from_label(el: Element, labels: Sequence[Element]) -> Element:
    """Unnamed checkboxes/radios take the text to their right; fields the label to their
    left (same row) or just above."""
    if el.name or el.role not in (_BOXES | {Role.TEXT_FIELD, Role.COMBOBOX}):
        return el
    l0, t0, r0, b0 = el.bbox
    h = b0 - t0
    best: tuple[float, Element] | None = None
    for lab in labels:
        if not lab.name or lab.bbox == el.bbox:
            continue
        lab_l, _, lab_r, lab_b = lab.bbox
        if el.role in _BOXES:
            gap = lab_l - r0
            d: float | None = gap if _same_row(el.bbox, lab.bbox) and -4 <= gap <= 3 * h + 10 else None
        else:
            left = l0 - lab_r if _same_row(el.bbox, lab.bbox) and -4 <= l0 - lab_r <= 4 * h + 40 else None
            above_gap = t0 - lab_b
            # a label above is left-aligned with its field; one further left is likely the label
            # to the left of the field above (OCR boxes run taller than the glyphs)
            above = above_gap * 1.5 + 0.5 * abs(lab_l - l0) if (
                -4 <= above_gap <= 1.2 * h + 6 and abs(lab_l - l0) <= 2 * h and lab_r > l0) else None
            ds = [x for x in (left, above) if x is not None]
            d = min(ds) if ds else None
        if d is not None and (best is None or d < best[0]):
            best = (d, lab)
    if best is None:
        return el
    return el.model_copy(update={"name": best[1].name})


def _pixels_under(img: Image.Image, boxes: Sequence[OcrBox]) -> np.ndarray:
    """The frame as an RGB array, filled only around the text boxes (link colour and underline
    checks look nowhere else): converting a whole 4K frame costs a 25 MB copy per step. The
    rest stays zero pages that are never touched."""
    if not boxes:
        return np.zeros((img.height, img.width, 3), dtype=np.uint8)
    left = max(0, min(b.bbox[0] for b in boxes) - 4)
    top = max(0, min(b.bbox[1] for b in boxes) - 4)
    right = min(img.width, max(b.bbox[2] for b in boxes) + 4)
    bottom = min(img.height, max(b.bbox[3] for b in boxes) + 4)
    if (right - left) * (bottom - top) > 0.5 * img.width * img.height:
        return np.asarray(img)
    rgb = np.zeros((img.height, img.width, 3), dtype=np.uint8)
    if right > left and bottom > top:
        rgb[top:bottom, left:right] = np.asarray(img.crop((left, top, right, bottom)))
    return rgb


def _rgb(image: Any) -> Image.Image:
    if isinstance(image, Image.Image):
        return image.convert("RGB") if image.mode != "RGB" else image
    return Image.fromarray(image).convert("RGB")


class ScreenParser:
    """parse(image, a11y) -> elements; keeps OCR cache and ids between frames.

    Options: `ocr` (read text; silently a11y-only when rapidocr is missing), `detectors`
    (pixel widgets), `incremental` (re-read only changed regions). `last_timings_ms` holds
    "ocr", "detect", "merge", "total" of the last call; `last_ocr_mode` says whether OCR read
    the full frame, only changed regions, or nothing. `trust_a11y=N` (0 = never) skips OCR and
    detectors on frames whose a11y tree already names at least N elements: a complete tree
    (Android's uiautomator) says everything OCR would, at a fraction of the cost.
    """

    def __init__(self, *, ocr: bool = True, detectors: bool = True, incremental: bool = True,
                 ocr_engine: OcrEngine | None = None, detector_options: DetectorOptions | None = None,
                 trust_a11y: int = 0) -> None:
        self.trust_a11y = trust_a11y
        self.ocr = ocr and ocr_mod.available()
        if ocr and not self.ocr:
            log.warning("rapidocr/onnxruntime not installed: parsing with a11y and detectors only")
        self.detectors = detectors
        self.detector_options = detector_options
        engine = ocr_engine or (ocr_mod.default_engine() if self.ocr else None)
        self._engine = engine
        self._incremental = IncrementalOcr(engine) if (self.ocr and incremental and engine) else None
        self._detector = IncrementalDetector(detector_options)
        self.tracker = IdTracker()
        self.last_timings_ms: dict[str, float] = {}
        self.last_ocr_mode = ""
        self._lock = threading.Lock()
        # (image, rgb image, OCR boxes, detected widgets, detect ms, ocr ms) read by `prepare`
        self._prepared: tuple[Any, Image.Image, list[OcrBox], list[Element], float, float] | None = None

    def prepare(self, image: Any) -> None:
        """Read the pixels (OCR, detectors) of `image` now, so that the caller can read the a11y
        tree meanwhile; the next `parse` of the same image object only merges. A no-op when the
        a11y tree may make OCR unnecessary (`trust_a11y`)."""
        if self.trust_a11y:
            return
        with self._lock:
            img = _rgb(image)
            t0 = time.perf_counter()
            boxes = self._read_text(img)
            t1 = time.perf_counter()
            dets = self._detect(img)
            self._prepared = (image, img, boxes, dets, (time.perf_counter() - t1) * 1e3, (t1 - t0) * 1e3)

    def parse(self, image: Any, a11y: Sequence[Element] = ()) -> list[Element]:
        with self._lock:
            t0 = time.perf_counter()
            prepared, self._prepared = self._prepared, None
            if prepared is not None and prepared[0] is image:
                _, img, boxes, dets, detect_ms, ocr_ms = prepared
                t2 = time.perf_counter()
                elements = self.tracker.assign(merge(a11y, boxes, dets, _pixels_under(img, boxes)))
                merge_ms = (time.perf_counter() - t2) * 1e3
                self.last_timings_ms = {"ocr": ocr_ms, "detect": detect_ms, "merge": merge_ms,
                                        "total": ocr_ms + detect_ms + merge_ms}
                return elements
            img = _rgb(image)
            if self.trust_a11y and sum(1 for e in a11y if e.name) >= self.trust_a11y:
                elements = self.tracker.assign(list(a11y))
                self.last_ocr_mode = "skipped (a11y tree)"
                self.last_timings_ms = {"ocr": 0.0, "detect": 0.0, "merge": 0.0,
                                        "total": (time.perf_counter() - t0) * 1e3}
                return elements
            boxes = self._read_text(img)
            t1 = time.perf_counter()
            dets = self._detect(img)
            t2 = time.perf_counter()
            elements = self.tracker.assign(merge(a11y, boxes, dets, _pixels_under(img, boxes)))
            t3 = time.perf_counter()
            self.last_timings_ms = {"ocr": (t1 - t0) * 1e3, "detect": (t2 - t1) * 1e3,
                                    "merge": (t3 - t2) * 1e3, "total": (t3 - t0) * 1e3}
            return elements

    def _detect(self, img: Image.Image) -> list[Element]:
        """Widgets from pixels, re-detected only where the incremental OCR saw a change."""
        if not self.detectors:
            return []
        inc = self._incremental
        if inc is None or self.last_ocr_mode not in ("cached", "incremental"):
            return self._detector.detect(img, None)
        return self._detector.detect(img, list(inc.last_regions))

    def _read_text(self, img: Image.Image) -> list[OcrBox]:
        if not (self.ocr and self._engine is not None):
            self.last_ocr_mode = "off"
            return []
        if self._incremental is not None:
            boxes = self._incremental.read(img)
            self.last_ocr_mode = self._incremental.last_mode
            return boxes
        self.last_ocr_mode = "full"
        return self._engine.read(img)

    def reset(self) -> None:
        """Forget the previous frame (ids restart, OCR re-reads everything)."""
        self.tracker.reset()
        self._detector.reset()
        if self._incremental is not None:
            self._incremental.reset()


_parsers: dict[tuple[bool, bool], ScreenParser] = {}
_parsers_lock = threading.Lock()


def parse_screen(image: Any, a11y: Sequence[Element] = (), *, ocr: bool = True,
                 detectors: bool = True) -> list[Element]:
    """Parse one screenshot with a process-wide parser per option set, so that consecutive
    calls share the OCR cache and keep ids stable. Use `ScreenParser` for separate streams."""
    with _parsers_lock:
        parser = _parsers.get((ocr, detectors))
        if parser is None:
            parser = _parsers[(ocr, detectors)] = ScreenParser(ocr=ocr, detectors=detectors)
    return parser.parse(image, a11y)
