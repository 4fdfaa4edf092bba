"""Icon memory: what exploration learned about icon-only buttons, found again from pixels alone.

During exploration the a11y tree (and the effect of acting) names an icon that shows no text:
FeatherPad's magnifier is "Find", "Focus/hide search bar". The memory keeps, per name, a few
crops of the icon (trimmed to its drawn pixels, so hover frames and button sizes do not matter)
and the synonyms it was known by. Later, with no a11y tree (Tk, a remote screen, a recording),
"the Find button" is matched to an entry by its words, and the entry's crops are searched for
on the screenshot by normalized cross-correlation (FFT, numpy only): at any position, at the
stored size first and at HiDPI scales when that finds nothing. A peak where another entry's
icon matches better is refused (the Replace icon contains Find's magnifier).

On disk (`save`/`load`): DIR/icons.json (entries: name, synonyms, crop files) + DIR/crops/*.png.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from grounding import semantic
from grounding.base import GroundingResult
from grounding.query import lexical_score, normalize, parse_query
from guiagent.schema import Element, Observation, Role
from guiagent.schema.errors import ConfigError, GroundingError

log = logging.getLogger(__name__)

INDEX = "icons.json"
VERSION = 1
MAX_CROPS = 8  # per entry: states (enabled, disabled, pressed) and themes, not every frame
SCALES = (1.0, 1.25, 1.5, 2.0, 0.8)  # the stored size first; the others for HiDPI screens and zoom
SURE = 0.9  # a correlation this high at the stored size ends the search
SEMANTIC_MARGIN = 0.03
LITERAL = 0.95  # a description naming an icon this well needs no text search first
_SHORTCUT = re.compile(r"\s*\([^()]{1,14}\)\s*$")  # "Next (F3)", "Save (Ctrl+S)"
Box = tuple[int, int, int, int]


def _gray(img: Image.Image | np.ndarray) -> np.ndarray:
    arr = np.asarray(img.convert("RGB") if isinstance(img, Image.Image) else img, dtype=np.float32)
    return arr @ np.array([0.299, 0.587, 0.114], dtype=np.float32) if arr.ndim == 3 else arr


def trim_icon(image: Image.Image, bbox: Box, inset: int = 2, tol: float = 24.0) -> Image.Image | None:
    """The drawn part of the icon inside a button's box: pixels unlike the box's commonest
    colour, a `inset`-pixel rim (hover and focus frames) left out. None when the box is flat."""
    left, top, right, bottom = (int(v) for v in bbox)
    left, top = max(0, left + inset), max(0, top + inset)
    right, bottom = min(image.width, right - inset), min(image.height, bottom - inset)
    if right - left < 4 or bottom - top < 4:
        return None
    region = image.crop((left, top, right, bottom)).convert("RGB")
    g = _gray(region)
    values, counts = np.unique(np.round(g / 8), return_counts=True)
    background = float(values[np.argmax(counts)]) * 8
    ys, xs = np.nonzero(np.abs(g - background) > tol)
    if len(xs) < 6:
        return None
    box = (max(0, int(xs.min()) - 1), max(0, int(ys.min()) - 1),
           min(region.width, int(xs.max()) + 2), min(region.height, int(ys.max()) + 2))
    return region.crop(box)


def base_name(text: str) -> str:
    """A name without its trailing shortcut hint: "Next (F3)" -> "Next"."""
    stripped = _SHORTCUT.sub("", text).strip()
    return stripped or text.strip()


@dataclass
class IconEntry:
    name: str
    synonyms: list[str] = field(default_factory=list)
    crops: list[Image.Image] = field(default_factory=list)

    def words(self) -> list[str]:
        return [self.name, *self.synonyms]


@dataclass(frozen=True)
class IconMatch:
    entry: IconEntry
    bbox: Box
    score: float  # normalized cross-correlation of the pixels, in [-1, 1]
    text_score: float  # how well the description names the entry
    scale: float


class _Screen:
    """One screenshot prepared for many template searches (its spectrum and running sums)."""

    def __init__(self, image: Image.Image) -> None:
        self.gray = _gray(image).astype(np.float64)
        self.h, self.w = self.gray.shape
        self.spectrum = np.fft.rfft2(self.gray)
        pad = np.pad(self.gray, ((1, 0), (1, 0)))
        self.s1 = pad.cumsum(0).cumsum(1)
        self.s2 = (pad * pad).cumsum(0).cumsum(1)

    def _window(self, s: np.ndarray, h: int, w: int) -> np.ndarray:
        return s[h:, w:] - s[:-h, w:] - s[h:, :-w] + s[:-h, :-w]

    def ncc(self, template: np.ndarray) -> np.ndarray | None:
        """Normalized cross-correlation at every position where `template` fits."""
        h, w = template.shape
        if h > self.h or w > self.w or h < 3 or w < 3:
            return None
        tz = template - template.mean()
        tnorm = float(np.sqrt((tz * tz).sum()))
        if tnorm < 1e-3:
            return None
        # circular correlation over the screen's own size is exact wherever the template fits
        corr = np.fft.irfft2(self.spectrum * np.conj(np.fft.rfft2(tz, s=(self.h, self.w))), s=(self.h, self.w))
        corr = corr[: self.h - h + 1, : self.w - w + 1]
        n = h * w
        s1, s2 = self._window(self.s1, h, w), self._window(self.s2, h, w)
        var = np.maximum(s2 - s1 * s1 / n, 0.0)
        flat = var < n * 4.0  # a window of (nearly) one colour matches nothing
        out = corr / (np.sqrt(var) * tnorm + 1e-9)
        out[flat] = 0.0
        return out


def _peaks(score: np.ndarray, h: int, w: int, k: int, floor: float) -> list[tuple[float, int, int]]:
    """Up to `k` best positions at least `floor`, one per template-sized neighbourhood."""
    s = score.copy()
    out = []
    for _ in range(k):
        idx = int(np.argmax(s))
        y, x = divmod(idx, s.shape[1])
        v = float(s[y, x])
        if v < floor:
            break
        out.append((v, x, y))
        s[max(0, y - h // 2): y + h // 2 + 1, max(0, x - w // 2): x + w // 2 + 1] = -1.0
    return out


def _resized(crop: Image.Image, scale: float) -> np.ndarray:
    if scale == 1.0:
        return _gray(crop).astype(np.float64)
    size = (max(3, round(crop.width * scale)), max(3, round(crop.height * scale)))
    return _gray(crop.resize(size, Image.Resampling.BILINEAR)).astype(np.float64)


class IconMemory:
    """Named icon crops: built from (crop, names) pairs, saved to and loaded from a folder."""

    def __init__(self, entries: Iterable[IconEntry] = (), *, min_pixels: float = 0.75,
                 min_text: float = 0.6, semantic_min: float = 0.5, use_semantic: bool | None = None,
                 model: str | None = None) -> None:
        self.entries: list[IconEntry] = list(entries)
        self.min_pixels = min_pixels
        self.min_text = min_text
        self.semantic_min = semantic_min
        self.use_semantic = semantic.available() if use_semantic is None else use_semantic
        self.model = model  # a fine-tuned MiniLM folder (guiagent train grounder --backend text); None: the packaged one
        self._screen: tuple[int, _Screen] | None = None

    # -- building ----------------------------------------------------------------------------
    def entry(self, name: str) -> IconEntry | None:
        key = normalize(name)
        return next((e for e in self.entries if normalize(e.name) == key), None)

    def add(self, name: str, crop: Image.Image, synonyms: Sequence[str] = ()) -> bool:
        """Remember `crop` under `name` (and `synonyms`); False when an equal crop is already kept."""
        name = base_name(name)
        if not normalize(name):
            raise ConfigError("an icon needs a name")
        entry = self.entry(name)
        if entry is None:
            entry = IconEntry(name)
            self.entries.append(entry)
        for s in synonyms:
            s = " ".join(s.split())
            if s and normalize(s) not in {normalize(w) for w in entry.words()}:
                entry.synonyms.append(s)
        crop = crop.convert("RGB")
        g = _gray(crop).astype(np.float64)
        for old in entry.crops:
            if abs(old.width - crop.width) <= 1 and abs(old.height - crop.height) <= 1:
                o = _gray(old.resize(crop.size)).astype(np.float64) if old.size != crop.size else _gray(old)
                a, b = g - g.mean(), o - o.mean()
                if float((a * b).sum() / (np.sqrt((a * a).sum() * (b * b).sum()) + 1e-9)) >= 0.97:
                    return False
        if len(entry.crops) >= MAX_CROPS:
            return False
        entry.crops.append(crop)
        return True

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        (folder / "crops").mkdir(parents=True, exist_ok=True)
        doc: dict[str, Any] = {"version": VERSION, "entries": []}
        for i, e in enumerate(self.entries):
            files = []
            for j, crop in enumerate(e.crops):
                rel = f"crops/{i:03d}_{j}.png"
                crop.save(folder / rel)
                files.append(rel)
            doc["entries"].append({"name": e.name, "synonyms": e.synonyms, "crops": files})
        (folder / INDEX).write_text(json.dumps(doc, indent=1, ensure_ascii=False), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: str | Path, **options: Any) -> IconMemory:
        folder = Path(folder)
        index = folder / INDEX
        if not index.is_file():
            raise ConfigError(f"{folder} is not an icon memory (no {INDEX}); build one with "
                              "`guiagent train icons --data EXPLORE_DIR --out DIR`")
        try:
            doc = json.loads(index.read_text(encoding="utf-8"))
            entries = [IconEntry(str(d["name"]), [str(s) for s in d.get("synonyms", [])],
                                 [Image.open(folder / f).convert("RGB") for f in d["crops"]])
                       for d in doc["entries"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"cannot read the icon memory {folder}: {exc}") from exc
        return cls(entries, **options)

    # -- matching ----------------------------------------------------------------------------
    def named(self, description: str) -> list[tuple[float, IconEntry]]:
        """Entries the description names, best first, with how well (lexical, then semantic)."""
        q = parse_query(description)
        texts = {t for t in (q.text, normalize(description)) if t}
        scored: list[tuple[float, IconEntry]] = []
        for e in self.entries:
            words = [normalize(w) for w in e.words()]
            s = max((lexical_score(t, w)[0] for t in texts for w in words if w), default=0.0)
            scored.append((s, e))
        good = [t for t in scored if t[0] >= self.min_text]
        if not good and self.use_semantic and texts:
            good = self._semantic(q.text or normalize(description))
        good.sort(key=lambda t: -t[0])
        return good

    def _semantic(self, text: str) -> list[tuple[float, IconEntry]]:
        """The entry whose words mean the description ("take back the last edit" -> Undo): only
        one, close enough and clearly closer than any other entry (paraphrases of icon names
        score low, 0.4-0.7 with MiniLM, and so do near misses)."""
        flat = [(i, w) for i, e in enumerate(self.entries) for w in e.words() if normalize(w)]
        try:
            sims = semantic.embedder(self.model).similarity(text, [w for _, w in flat])
        except Exception as exc:  # a broken model must not break lexical matching
            log.warning("semantic icon matching disabled: %s", exc)
            self.use_semantic = False
            return []
        best: dict[int, float] = {}
        for (i, _), sim in zip(flat, sims, strict=True):
            best[i] = max(best.get(i, -1.0), float(sim))
        ranked = sorted(best.items(), key=lambda t: -t[1])
        if not ranked or ranked[0][1] < self.semantic_min:
            return []
        if len(ranked) > 1 and ranked[0][1] - ranked[1][1] < SEMANTIC_MARGIN:
            return []
        return [(ranked[0][1], self.entries[ranked[0][0]])]

    def _prepared(self, image: Image.Image) -> _Screen:
        if self._screen is None or self._screen[0] != id(image):
            self._screen = (id(image), _Screen(image))
        return self._screen[1]

    def _local(self, screen: _Screen, entry: IconEntry, box: Box, scale: float) -> float:
        """`entry`'s best correlation in a small window around `box` (the rival check)."""
        best = -1.0
        pad = 3
        for crop in entry.crops:
            t = _resized(crop, scale)
            h, w = t.shape
            cx, cy = (box[0] + box[2]) // 2, (box[1] + box[3]) // 2
            x0, y0 = max(0, cx - w // 2 - pad), max(0, cy - h // 2 - pad)
            patch = screen.gray[y0: cy + (h + 1) // 2 + pad, x0: cx + (w + 1) // 2 + pad]
            if patch.shape[0] < h or patch.shape[1] < w:
                continue
            win = np.lib.stride_tricks.sliding_window_view(patch, (h, w)).reshape(-1, h, w)
            tz = t - t.mean()
            wz = win - win.mean(axis=(1, 2), keepdims=True)
            den = np.sqrt((wz * wz).sum(axis=(1, 2)) * (tz * tz).sum()) + 1e-9
            best = max(best, float(((wz * tz).sum(axis=(1, 2)) / den).max()))
        return best

    def _search(self, screen: _Screen, entry: IconEntry, text_score: float, named: set[int],
                scales: Sequence[float]) -> IconMatch | None:
        found: list[IconMatch] = []
        for scale in scales:
            for crop in entry.crops:
                t = _resized(crop, scale)
                score = screen.ncc(t)
                if score is None:
                    continue
                h, w = t.shape
                for v, x, y in _peaks(score, h, w, 4, self.min_pixels):
                    found.append(IconMatch(entry, (x, y, x + w, y + h), v, text_score, scale))
            if any(m.score >= SURE for m in found):
                break  # a sure match at this size: the other sizes are for other screens
        found.sort(key=lambda m: -m.score)
        for m in found:
            rivals = [e for e in self.entries if e is not entry and id(e) not in named]
            if all(self._local(screen, r, m.bbox, m.scale) < m.score + 0.03 for r in rivals):
                return m
            log.debug("icon %r at %s is more like another icon", entry.name, m.bbox)
        return None

    def find(self, description: str, image: Image.Image, *, hidpi: bool = True) -> IconMatch | None:
        """The icon `description` names, found on `image`; None when no known icon is named or
        none of the named ones is on the screen."""
        named = self.named(description)
        if not named:
            return None
        screen = self._prepared(image)
        top = named[0][0]
        ids = {id(e) for s, e in named if s >= top - 0.05}  # equally named entries are no rivals
        for s, entry in named:
            if s < top - 0.15:
                break
            m = self._search(screen, entry, s, ids, SCALES if hidpi else (1.0,))
            if m is not None:
                return m
        return None

    # -- the grounder hook ---------------------------------------------------------------------
    def ground(self, description: str, observation: Observation,
               text_ground: Callable[[str, Observation], GroundingResult]) -> GroundingResult:
        """An a11y tree's answer first (its names are the app's own). With no tree, a remembered
        icon the description names literally and that is on the screen; else `text_ground`'s answer
        unless a remembered icon fits the description better than it does."""
        image = observation.screenshot
        tree = any(e.source == "a11y" for e in observation.elements)
        match = self.find(description, image) if image is not None and not tree else None
        if match is not None and match.text_score >= LITERAL:
            return self._result(match, observation)
        result: GroundingResult | None = None
        error: GroundingError | None = None
        try:
            result = text_ground(description, observation)
        except GroundingError as exc:
            error = exc
        if result is not None and result.element is not None and result.element.source == "a11y":
            return result
        if tree and image is not None:
            match = self.find(description, image)
        if match is None or (result is not None and match.text_score < result.score - 0.05):
            if result is not None:
                return result
            assert error is not None
            raise error
        return self._result(match, observation)

    def _result(self, match: IconMatch, observation: Observation) -> GroundingResult:
        el = Element(id=f"icon{self.entries.index(match.entry)}", role=Role.ICON, name=match.entry.name,
                     bbox=match.bbox, source="detector", clickable=True,
                     extras={"icon_score": round(match.score, 3), "icon_scale": match.scale})
        return GroundingResult(point=observation.point_of(el), element=el,
                               score=min(1.0, match.text_score * max(0.0, match.score)), method="icon")


def load(folder: str | Path) -> IconMemory:
    return IconMemory.load(folder)
