"""Colours from pixels: naming a colour with the basic colour words, and finding the
uniform-colour patches (tiles, boxes, buttons, shapes) a screen shows. numpy + PIL only.

Two questions, two rules:
- `fit(word, rgb)`: how far a colour is from what a word names (CIE Lab distance to the
  word's prototypes, 0 = exact); `accepts(word, rgb)` says whether the word applies at all
  (the colour's family by hue, saturation and value, or a prototype close by).
- `shade_of(word, rgb)`: "a shade of red" is any colour of red's hue family, light or dark
  (pale pink and maroon are shades of red); only grey / black / white go by lightness.
"""

from __future__ import annotations

import colorsys
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from grounding.pixels import Box, components, edge_map, label_runs, to_rgb_array

RGB = tuple[int, int, int]

# word -> (its hue family, prototypes): CSS / X11 colours that the word covers
_WORDS: dict[str, tuple[str, tuple[RGB, ...]]] = {
    "red": ("red", ((255, 0, 0), (220, 20, 60), (178, 34, 34), (205, 92, 92), (220, 53, 69))),
    "crimson": ("red", ((220, 20, 60),)),
    "maroon": ("red", ((128, 0, 0),)),
    "orange": ("orange", ((255, 165, 0), (255, 140, 0), (255, 127, 80))),
    "yellow": ("yellow", ((255, 255, 0), (255, 215, 0), (240, 230, 140))),
    "gold": ("yellow", ((255, 215, 0),)),
    "olive": ("yellow", ((128, 128, 0), (107, 142, 35))),
    "green": ("green", ((0, 128, 0), (0, 255, 0), (34, 139, 34), (50, 205, 50), (40, 167, 69), (144, 238, 144))),
    "lime": ("green", ((0, 255, 0), (50, 205, 50))),
    "cyan": ("cyan", ((0, 255, 255), (0, 206, 209))),
    "aqua": ("cyan", ((0, 255, 255),)),
    "turquoise": ("cyan", ((64, 224, 208),)),
    "teal": ("cyan", ((0, 128, 128),)),
    "blue": ("blue", ((0, 0, 255), (0, 0, 139), (30, 144, 255), (65, 105, 225), (0, 123, 255), (135, 206, 250))),
    "navy": ("blue", ((0, 0, 128),)),
    "purple": ("purple", ((128, 0, 128), (148, 0, 211), (138, 43, 226), (153, 50, 204))),
    "violet": ("purple", ((238, 130, 238), (148, 0, 211), (138, 43, 226))),
    "indigo": ("purple", ((75, 0, 130),)),
    "lavender": ("purple", ((230, 230, 250), (181, 126, 220))),
    "magenta": ("magenta", ((255, 0, 255),)),
    "fuchsia": ("magenta", ((255, 0, 255),)),
    "pink": ("pink", ((255, 192, 203), (255, 105, 180), (255, 20, 147), (255, 182, 193))),
    "brown": ("brown", ((165, 42, 42), (139, 69, 19), (160, 82, 45), (210, 105, 30), (128, 64, 0))),
    "black": ("black", ((0, 0, 0),)),
    "white": ("white", ((255, 255, 255),)),
    "gray": ("gray", ((128, 128, 128), (169, 169, 169), (105, 105, 105), (211, 211, 211), (108, 117, 125))),
    "grey": ("gray", ((128, 128, 128), (169, 169, 169), (105, 105, 105), (211, 211, 211), (108, 117, 125))),
    "silver": ("gray", ((192, 192, 192),)),
}
COLOR_WORDS = frozenset(_WORDS)
_ACHROMATIC = frozenset({"black", "white", "gray"})
# the hue families by hue angle (degrees): where each one starts, in order around the circle
_HUES: tuple[tuple[float, str], ...] = ((0, "red"), (15, "orange"), (45, "yellow"), (70, "green"), (165, "cyan"),
                                        (195, "blue"), (255, "purple"), (290, "magenta"), (330, "red"))
_CLOSE = 22.0  # Lab distance under which a colour passes for a prototype of the word
_HEX = re.compile(r"#(?P<h>[0-9a-f]{6}|[0-9a-f]{3})", re.I)
_RGB_FN = re.compile(r"rgb\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*\)", re.I)


def parse_color(spec: str) -> RGB | None:
    """An exact colour given as "#ff0000", "#f00" or "rgb(255, 0, 0)"; None for a word."""
    if m := _HEX.fullmatch(spec.strip()):
        h = m.group("h")
        h = "".join(c * 2 for c in h) if len(h) == 3 else h
        return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)
    if m := _RGB_FN.fullmatch(spec.strip()):
        r, g, b = (min(255, int(v)) for v in m.groups())
        return r, g, b
    return None


def is_color(spec: str) -> bool:
    return spec.lower() in _WORDS or parse_color(spec) is not None


def lab(rgb: RGB) -> tuple[float, float, float]:
    """sRGB (0-255) -> CIE L*a*b* (D65)."""
    lin = [((c / 255 + 0.055) / 1.055) ** 2.4 if c / 255 > 0.04045 else c / 255 / 12.92 for c in rgb]
    x = (0.4124 * lin[0] + 0.3576 * lin[1] + 0.1805 * lin[2]) / 0.95047
    y = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    z = (0.0193 * lin[0] + 0.1192 * lin[1] + 0.9505 * lin[2]) / 1.08883
    f = [v ** (1 / 3) if v > 0.008856 else 7.787 * v + 16 / 116 for v in (x, y, z)]
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def distance(a: RGB, b: RGB) -> float:
    la, lb = lab(a), lab(b)
    return float(sum((p - q) ** 2 for p, q in zip(la, lb, strict=True)) ** 0.5)


def hue_family(rgb: RGB) -> str:
    """The colour's family by hue alone ("red" for pale pink and maroon alike); black, white
    or gray when it has next to no hue."""
    h, s, v = colorsys.rgb_to_hsv(*(c / 255 for c in rgb))
    chroma = s * v
    if chroma < 0.05 or (v < 0.12):
        return "black" if v < 0.25 else "white" if v > 0.9 and s < 0.06 else "gray"
    deg = h * 360
    return next(name for start, name in reversed(_HUES) if deg >= start)


def family(rgb: RGB) -> str:
    """The basic colour word a person would use: the hue family, with pink (light, soft red
    or magenta) and brown (dark orange or red) told apart."""
    base = hue_family(rgb)
    h, s, v = colorsys.rgb_to_hsv(*(c / 255 for c in rgb))
    if base in ("red", "magenta") and v > 0.85 and s < 0.6:
        return "pink"
    if base in ("orange", "red") and v < 0.7 and s > 0.35 and (base == "orange" or v < 0.5):
        return "brown"
    return base


def fit(word: str, rgb: RGB) -> float:
    """How far `rgb` is from what `word` names (Lab distance to its nearest prototype, or to
    the exact colour a "#rrggbb" gives); lower is better."""
    exact = parse_color(word)
    if exact is not None:
        return distance(exact, rgb)
    return min(distance(p, rgb) for p in _WORDS[word.lower()][1])


def accepts(word: str, rgb: RGB) -> bool:
    """Whether `word` can name `rgb` at all: the colour's family is the word's (purple and
    magenta stand for each other, as do pink and red's light end), or a prototype is close."""
    exact = parse_color(word)
    if exact is not None:
        return distance(exact, rgb) < _CLOSE * 2
    fam, want = family(rgb), _WORDS[word.lower()][0]
    kin = {want, *({"purple": ("magenta",), "magenta": ("purple", "pink"), "pink": ("magenta",)}.get(want, ()))}
    return fam in kin or fit(word, rgb) < _CLOSE


def shade_of(word: str, rgb: RGB) -> bool:
    """`rgb` is a shade of `word`: its hue family is the word's, however light or dark."""
    exact = parse_color(word)
    want = hue_family(exact) if exact is not None else _WORDS[word.lower()][0]
    if want in ("pink", "brown"):  # shades of pink / brown: their own family
        return family(rgb) == want
    return hue_family(rgb) == want


@dataclass(frozen=True)
class Patch:
    """A uniform-colour region: its box (left, top, right, bottom; right/bottom exclusive),
    its colour (the median of its pixels) and how much of its box it fills."""

    bbox: Box
    rgb: RGB
    fill: float

    @property
    def center(self) -> tuple[float, float]:
        return (self.bbox[0] + self.bbox[2]) / 2, (self.bbox[1] + self.bbox[3]) / 2

    @property
    def size(self) -> tuple[int, int]:
        return self.bbox[2] - self.bbox[0], self.bbox[3] - self.bbox[1]


def patches(image: Any, min_side: int = 6, min_fill: float = 0.45, tol: int = 12) -> list[Patch]:
    """The uniform-colour regions of `image` that could be a tile, a box, a button or a
    shape: connected pixels with no colour edge between them (`tol` per channel), at least
    `min_side` px each way, filling `min_fill` of their box, neither the page background
    (the largest region, touching the border) nor a quarter of the screen or more. Text
    strokes are too thin to pass."""
    rgb = to_rgb_array(image)
    h, w = rgb.shape[:2]
    runs = label_runs(~edge_map(rgb, tol))
    if len(runs.row) == 0:
        return []
    c = components(runs, w, h)
    cw, ch = c.x1 - c.x0, c.y1 - c.y0
    keep = (cw >= min_side) & (ch >= min_side) & (c.area >= min_fill * cw * ch) & (cw * ch < 0.25 * w * h)
    out = []
    for k in np.nonzero(keep)[0]:
        # the colour from one interior point per run: the runs' middles
        sel = c.index == k
        ys, xs = runs.row[sel], (runs.start[sel] + runs.end[sel]) // 2
        r, g, b = (int(v) for v in np.median(rgb[ys, xs].astype(np.int16), axis=0))
        out.append(Patch((int(c.x0[k]), int(c.y0[k]), int(c.x1[k]), int(c.y1[k])), (r, g, b),
                         round(float(c.area[k]) / float(cw[k] * ch[k]), 3)))
    return out


def hex_of(rgb: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def with_swatches(image: Any, boxes: list[Box], texts: list[str]) -> list[str]:
    """OCR lines (`texts`, read in `boxes`) with the colour samples drawn among their words
    put in as "#rrggbb" where they stand: an instruction that shows a colour instead of
    naming it ("Click on the ■ colored box"). A sample is a uniform square more than half as
    tall as the line it sits on (a letter's counter is smaller); when OCR read its border as a
    stray mark ("the 1"), that mark is dropped. The lines come back in reading order."""
    if not boxes:
        return texts
    tall = sorted(b[3] - b[1] for b in boxes)[len(boxes) // 2]
    items: list[tuple[Box, str]] = list(zip(boxes, texts, strict=True))
    for p in patches(image, min_side=max(4, round(0.55 * tall)), min_fill=0.9):
        w, h = p.size
        on_row = any(min(p.bbox[3], b[3]) - max(p.bbox[1], b[1]) > h / 2 for b in boxes)
        if not (0.6 <= w / h <= 1.6 and h <= 1.5 * tall and on_row):
            continue
        for i, (box, text) in enumerate(items[: len(boxes)]):
            if _overlaps(p.bbox, box):  # the sample's edge read as a mark at that end of the line
                end = r"\s+\S{1,2}$" if p.center[0] > (box[0] + box[2]) / 2 else r"^\S{1,2}\s+"
                items[i] = ((box[0], box[1], min(box[2], p.bbox[0]), box[3]) if end[0] != "^" else
                            (max(box[0], p.bbox[2]), box[1], box[2], box[3]), re.sub(end, "", text))
        items.append((p.bbox, hex_of(p.rgb)))
    if len(items) == len(boxes):
        return texts  # no sample: the lines as read
    rows: list[list[tuple[Box, str]]] = []
    for box, text in sorted(items, key=lambda it: it[0][1]):
        row = next((r for r in rows if min(r[0][0][3], box[3]) - max(r[0][0][1], box[1]) > 0), None)
        if row is None:
            rows.append([(box, text)])
        else:
            row.append((box, text))
    return [" ".join(t for _, t in sorted(r, key=lambda it: it[0][0])) for r in rows]
