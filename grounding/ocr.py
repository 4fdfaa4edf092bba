"""OCR with RapidOCR (PP-OCR ONNX models that ship in the wheel), plus an incremental reader
that re-reads only the parts of the screen that changed since the last frame.

OCR is the step-latency bottleneck (a 1280x800 frame costs 0.4-0.9 s on 2 cores), so the agent
loop uses `IncrementalOcr`: after an action usually only a small region changed, and reading a
crop costs a fraction of a full frame. When rapidocr/onnxruntime is not installed,
`available()` is False and callers carry on with the accessibility tree alone.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from grounding.regions import _clip, _intersects, _merge, _union, content_regions, tiles
from grounding.regions import dirty_regions as dirty_regions  # re-exported: the OCR's public helper
from guiagent.schema.errors import ConfigError

log = logging.getLogger(__name__)

Box = tuple[int, int, int, int]

# Tuned on this machine (ENVIRONMENT.md): ~35% faster than the defaults, same text.
TUNED_PARAMS: dict[str, Any] = {
    "Det.limit_type": "max",
    "Det.limit_side_len": 960,
    "Global.use_cls": False,
    "Global.log_level": "warning",
}
# OCR reads a checkbox or a radio button as a glyph glued to its label ("□ Kenny"), and a
# text caret or a field border as a bar ("Myron|").
_BOX_GLYPHS = "□■☐☑☒✓✔✗✘○●◯◉◎▢▣|"


def available() -> bool:
    """True when rapidocr and onnxruntime are importable (checked without importing them)."""
    return all(importlib.util.find_spec(m) is not None for m in ("rapidocr", "onnxruntime"))


@dataclass(frozen=True)
class OcrBox:
    """One line (or a segment of a line) of text. `bbox` is (left, top, right, bottom) in
    pixels of the image that was read; `chars` holds the x-span of each non-space character
    when the engine reported them (used to split a line at a widget edge)."""

    text: str
    bbox: Box
    score: float
    chars: tuple[tuple[int, int], ...] = field(default=(), repr=False, compare=False)

    def shifted(self, dx: int, dy: int, scale: float = 1.0) -> OcrBox:
        def sx(v: float) -> int:
            return round(v / scale) + dx

        def sy(v: float) -> int:
            return round(v / scale) + dy

        left, top, right, bottom = self.bbox
        return OcrBox(self.text, (sx(left), sy(top), sx(right), sy(bottom)), self.score,
                      tuple((sx(a), sx(b)) for a, b in self.chars))

    def split_at(self, x: int) -> tuple[OcrBox, OcrBox] | None:
        """Two boxes, left and right of the vertical line at `x`, or None when the line cannot
        be split there (no character positions, or `x` does not fall between characters)."""
        left_n = sum(1 for a, b in self.chars if (a + b) / 2 < x)
        if not self.chars or left_n in (0, len(self.chars)):
            return None
        parts = _split_chars(self, [left_n])
        return (parts[0], parts[1]) if parts else None


def _split_chars(box: OcrBox, cuts: list[int]) -> tuple[OcrBox, ...] | None:
    """Split `box` before the character indices in `cuts` (indices into `chars`)."""
    nonspace = [i for i, c in enumerate(box.text) if not c.isspace()]
    if len(nonspace) != len(box.chars):
        return None  # the engine's characters do not line up with the text: keep the line
    bounds = [0, *cuts, len(box.chars)]
    parts: list[OcrBox] = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        text = box.text[nonspace[a]: nonspace[b - 1] + 1].strip()
        spans = box.chars[a:b]
        parts.append(OcrBox(text, (spans[0][0], box.bbox[1], spans[-1][1], box.bbox[3]), box.score, spans))
    return tuple(parts)


def _clean(box: OcrBox) -> OcrBox | None:
    """Strip checkbox/radio glyphs OCR glued to a label; None when nothing is left."""
    text = box.text.strip()
    lead = len(text) - len(text.lstrip(_BOX_GLYPHS + " "))
    trail = len(text) - len(text.rstrip(_BOX_GLYPHS + " "))
    if not lead and not trail:
        return _tighten(box) if text else None
    core = text[lead: len(text) - trail] if trail else text[lead:]
    if not core.strip():
        return None
    nonspace = [c for c in text if not c.isspace()]
    chars = box.chars
    if len(nonspace) == len(chars):
        lead_n = sum(1 for c in text[:lead] if not c.isspace())
        trail_n = sum(1 for c in text[len(text) - trail:] if not c.isspace()) if trail else 0
        chars = chars[lead_n: len(chars) - trail_n]
        bbox = (chars[0][0], box.bbox[1], chars[-1][1], box.bbox[3])
        return OcrBox(core.strip(), bbox, box.score, chars)
    return OcrBox(core.strip(), box.bbox, box.score, ())


def _tighten(box: OcrBox) -> OcrBox:
    """Cut off a wide stretch at either end of the box that holds no character: the detector
    sometimes boxes a checkbox together with its label while the recognizer reads no glyph."""
    nonspace = sum(1 for c in box.text if not c.isspace())
    if not box.chars or nonspace != len(box.chars):
        return box
    left, top, right, bottom = box.bbox
    slack = 0.4 * (bottom - top)
    first, last = box.chars[0][0], box.chars[-1][1]
    new_left = first if first - left > slack else left
    new_right = last if right - last > slack else right
    if (new_left, new_right) == (left, right):
        return box
    return OcrBox(box.text, (new_left, top, new_right, bottom), box.score, box.chars)


def split_line(box: OcrBox, gap_factor: float = 1.6, height_factor: float = 0.4) -> list[OcrBox]:
    """Split a detected line where characters are far apart: the detector glues neighbouring
    widgets' labels into one line ("Subscribe   Remember me", a menu bar's "File Edit View").
    A space between words of one label is under a character wide; the gap between two menu
    titles or two buttons is about two (measured on GTK, Qt and Tk menu bars). Character boxes
    are noisy, so a gap must beat both the character width and a share of the line height."""
    if len(box.chars) < 2:
        return [box]
    widths = sorted(b - a for a, b in box.chars)
    height = box.bbox[3] - box.bbox[1]
    limit = max(3.0, gap_factor * widths[len(widths) // 2], height_factor * height)
    cuts = [i for i in range(1, len(box.chars)) if box.chars[i][0] - box.chars[i - 1][1] > limit]
    parts = _split_chars(box, cuts) if cuts else None
    return list(parts) if parts else [box]


def _as_rgb(image: Any) -> Image.Image:
    if isinstance(image, Image.Image):
        return image if image.mode == "RGB" else image.convert("RGB")
    if isinstance(image, np.ndarray):
        return Image.fromarray(image).convert("RGB")
    raise ConfigError(f"OCR needs a PIL image or a numpy array, got {type(image).__name__}")


def _import_rapidocr() -> Any:
    """`rapidocr.RapidOCR`, imported and set up for a fast start (grounding.ocr_load)."""
    from grounding.ocr_load import import_rapidocr

    return import_rapidocr()


_warm_lock = threading.Lock()


class OcrEngine:
    """A lazily loaded RapidOCR engine. `read(image, region)` -> list of OcrBox in image
    pixels. Small crops are upscaled before reading: 10-13 px labels read reliably at 2x."""

    def __init__(self, params: dict[str, Any] | None = None, upscale_below: int = 320,
                 min_score: float = 0.5) -> None:
        self.params = {**TUNED_PARAMS, **(params or {})}
        self.upscale_below = upscale_below
        self.min_score = min_score
        self.calls = 0  # engine invocations (one per full frame or crop)
        self.pixels_read = 0
        self._engine: Any = None
        self._lock = threading.Lock()
        self._warming: threading.Thread | None = None
        self._reader_waiting = False

    def _load(self) -> Any:
        if self._engine is None:
            if not available():
                raise ConfigError("OCR needs rapidocr and onnxruntime: pip install 'guiagent[ocr]'")
            from grounding.ocr_load import quiet_rapidocr

            RapidOCR = _import_rapidocr()
            quiet_rapidocr()
            self._engine = RapidOCR(params=dict(self.params))
            log.info("RapidOCR loaded with %s", self.params)
        return self._engine

    def warm_up(self) -> threading.Thread:
        """Import and load the models in a background thread (the import alone costs ~0.7 s of
        CPU), so that it overlaps with the rest of start-up; `read` waits for it. Called again,
        returns the same thread."""
        # not a daemon: a process that ends while onnxruntime/numpy is loading in a daemon thread
        # aborts in native code ("terminate called without an active exception"); exit waits for the load
        with _warm_lock:
            if self._warming is None:
                self._warming = threading.Thread(target=self._warm, name="ocr-warm-up", daemon=False)
                self._warming.start()
            return self._warming

    def _warm(self) -> None:
        with self._lock:
            try:
                engine = self._load()
                if self._reader_waiting:
                    return  # a real read is due now: it warms the models itself, sooner
                # one tiny read: onnxruntime's first run of each model costs far more than the next
                sample = Image.new("RGB", (96, 32), "white")
                ImageDraw.Draw(sample).text((8, 10), "OK 12", fill="black")
                engine(sample)
            except Exception as exc:  # reported again, plainly, by the first read
                log.warning("OCR warm-up failed: %s", exc)

    def read(self, image: Any, region: Box | None = None) -> list[OcrBox]:
        img = _as_rgb(image)
        dx = dy = 0
        if region is not None:
            left, top, right, bottom = _clip(region, img.size)
            if right - left < 2 or bottom - top < 2:
                return []
            img, dx, dy = img.crop((left, top, right, bottom)), left, top
        scale = 2.0 if max(img.size) <= self.upscale_below else 1.0
        if scale != 1.0:
            img = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.BICUBIC)
        self._reader_waiting = True  # tells a warm-up still loading to skip its sample read
        with self._lock:
            engine = self._load()
            self.calls += 1
            self.pixels_read += img.width * img.height
            result = engine(img, return_word_box=True, return_single_char_box=True)
        boxes: list[OcrBox] = []
        for line in _lines(result, self.min_score):
            for part in split_line(line):
                cleaned = _clean(part)
                if cleaned is not None:
                    boxes.append(cleaned.shifted(dx, dy, scale))
        return sort_reading_order(boxes)


def _lines(result: Any, min_score: float) -> Iterable[OcrBox]:
    txts = getattr(result, "txts", None) or ()
    boxes = getattr(result, "boxes", None)
    scores = getattr(result, "scores", None) or ()
    words = getattr(result, "word_results", None) or ()
    if boxes is None:
        return
    for i, (txt, poly, score) in enumerate(zip(txts, boxes, scores, strict=False)):
        if score < min_score or not txt.strip():
            continue
        pts = np.asarray(poly, dtype=float).reshape(-1, 2)
        bbox = (int(pts[:, 0].min()), int(pts[:, 1].min()), int(np.ceil(pts[:, 0].max())),
                int(np.ceil(pts[:, 1].max())))
        chars: tuple[tuple[int, int], ...] = ()
        if i < len(words) and words[i]:
            try:
                spans = [(np.asarray(c, dtype=float).reshape(-1, 2)) for _, _, c in words[i] if c is not None]
                chars = tuple((int(s[:, 0].min()), int(np.ceil(s[:, 0].max()))) for s in spans)
            except (TypeError, ValueError):
                chars = ()
        yield OcrBox(txt.strip(), bbox, float(score), chars)


def sort_reading_order(boxes: list[OcrBox]) -> list[OcrBox]:
    return sorted(boxes, key=lambda b: ((b.bbox[1] + b.bbox[3]) // 2 // 8, b.bbox[0]))


class IncrementalOcr:
    """OCR that remembers the last frame and its text, and re-reads only what changed.

    Cached lines that touch a changed area are dropped and the crop grows to cover them, so a
    line is always read whole. When more than `full_ratio` of the frame changed (or its size
    did), the whole frame is read. `last_mode` ("full" | "incremental" | "cached") and
    `last_regions` say what the last call did.
    """

    def __init__(self, engine: OcrEngine | None = None, cell: int = 32, threshold: int = 24,
                 margin: int = 8, full_ratio: float = 0.5) -> None:
        self.engine = engine or OcrEngine()
        self.cell, self.threshold, self.margin, self.full_ratio = cell, threshold, margin, full_ratio
        self._prev: np.ndarray | None = None
        self._boxes: list[OcrBox] = []
        self.last_mode = ""
        self.last_regions: list[Box] = []

    def reset(self) -> None:
        self._prev, self._boxes = None, []

    def read(self, image: Any) -> list[OcrBox]:
        img = _as_rgb(image)
        gray = np.asarray(img.convert("L"))
        if self._prev is None or self._prev.shape != gray.shape:
            return self._full(img, gray)
        regions = dirty_regions(self._prev, gray, self.cell, self.threshold, self.margin)
        if not regions:
            self.last_mode, self.last_regions, self._prev = "cached", [], gray
            return list(self._boxes)
        regions = self._grow_over_cached(regions, img.size)
        area = sum((r[2] - r[0]) * (r[3] - r[1]) for r in regions)
        if area > self.full_ratio * img.width * img.height:
            return self._full(img, gray)
        kept = [b for b in self._boxes if not any(_intersects(b.bbox, r) for r in regions)]
        fresh = [box for r in regions for box in self.engine.read(img, r)]
        self._boxes = sort_reading_order(kept + fresh)
        self._prev, self.last_mode, self.last_regions = gray, "incremental", regions
        return list(self._boxes)

    def _grow_over_cached(self, regions: list[Box], size: tuple[int, int]) -> list[Box]:
        """Grow each region over every cached line it touches, until nothing changes."""
        while True:
            grown = []
            for r in regions:
                for b in self._boxes:
                    if _intersects(b.bbox, r):
                        r = _union(r, (b.bbox[0] - self.margin, b.bbox[1], b.bbox[2] + self.margin, b.bbox[3]))
                grown.append(_clip(r, size))
            grown = _merge(grown)
            if grown == regions:
                return grown
            regions = grown

    def _full(self, img: Image.Image, gray: np.ndarray) -> list[OcrBox]:
        limit = int(self.engine.params.get("Det.limit_side_len", 960))
        self._boxes = read_content(self.engine, img, gray, limit)
        self._prev, self.last_mode, self.last_regions = gray, "full", [(0, 0, img.width, img.height)]
        return list(self._boxes)


def read_content(engine: OcrEngine, img: Image.Image, gray: np.ndarray, limit: int = 960) -> list[OcrBox]:
    """A whole frame read region by region: only where there is content, each region in tiles
    small enough to be read at full resolution."""
    boxes = [b for region in content_regions(gray) for t in tiles(gray, region, limit) for b in engine.read(img, t)]
    return sort_reading_order(boxes)


_default_engine: OcrEngine | None = None
_default_lock = threading.Lock()


def default_engine() -> OcrEngine:
    """One shared engine per process: loading the models costs ~1 s."""
    global _default_engine
    with _default_lock:
        if _default_engine is None:
            _default_engine = OcrEngine()
        return _default_engine
