"""Pixel detectors for widgets that carry no text of their own: text fields, checkboxes, radio
buttons, buttons and sliders. numpy + PIL only, no model, no site-specific constants.

How: an edge map (a pixel differs from its right or lower neighbour by more than a threshold,
both pixels marked) is split into 8-connected components (run-length labelling, vectorized).
A widget outline is one component; its *outer profile* (leftmost/rightmost pixel per row,
topmost/bottommost per column) says whether it is a box, a rounded box or a circle, and
ignores whatever is drawn inside (a tick, a dot, a label). The pixels inside then give the
role (light and mostly empty: a field; filled with centred content: a button) and the
checked state (a mark inside: checked).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from PIL import Image

from grounding.faces import faces
from grounding.field_marks import caret, grip, luma
from grounding.pixels import (
    Box,
    DetectorOptions,
    Outline,
    Runs,
    box_outline,
    edge_map,
    label_runs,
    to_rgb_array,
)
from grounding.sliders import Slider, slider_of
from guiagent.schema import Element, Role

log = logging.getLogger(__name__)


def outlines(runs: Runs, opts: DetectorOptions, width: int) -> list[Outline]:
    """Components whose size could be a widget, with their outer profiles."""
    if len(runs.row) == 0:
        return []
    labels = runs.label
    uniq, inv = np.unique(labels, return_inverse=True)
    k = len(uniq)
    x0 = np.full(k, np.iinfo(np.int64).max)
    y0 = np.full(k, np.iinfo(np.int64).max)
    x1 = np.zeros(k, dtype=np.int64)
    y1 = np.zeros(k, dtype=np.int64)
    np.minimum.at(x0, inv, runs.start)
    np.minimum.at(y0, inv, runs.row)
    np.maximum.at(x1, inv, runs.end)
    np.maximum.at(y1, inv, runs.row + 1)
    cw, ch = x1 - x0, y1 - y0
    keep = (cw >= opts.box_min) & (ch >= opts.box_min) & (ch <= opts.button_max_h) & (
        cw <= opts.max_width_frac * width)
    result: list[Outline] = []
    order = np.argsort(inv, kind="stable")
    bounds = np.searchsorted(inv[order], np.arange(k + 1))
    for c in np.nonzero(keep)[0]:
        idx = order[bounds[c]: bounds[c + 1]]
        bx0, by0, bw, bh = int(x0[c]), int(y0[c]), int(cw[c]), int(ch[c])
        rows, st, en = runs.row[idx] - by0, runs.start[idx] - bx0, runs.end[idx] - bx0
        left = np.full(bh, bw, dtype=np.int64)
        right = np.full(bh, -1, dtype=np.int64)
        np.minimum.at(left, rows, st)
        np.maximum.at(right, rows, en - 1)
        top = np.full(bw, bh, dtype=np.int64)
        bottom = np.full(bw, -1, dtype=np.int64)
        # columns covered by each run: expand runs to pixels (components here are small)
        lengths = en - st
        cols = np.repeat(st, lengths) + (np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths))
        prow = np.repeat(rows, lengths)
        np.minimum.at(top, cols, prow)
        np.maximum.at(bottom, cols, prow)
        left[right < 0] = -1
        top[bottom < 0] = -1
        result.append(Outline((bx0, by0, bx0 + bw, by0 + bh), left, right, top, bottom))
    return result


def _straight(profile: np.ndarray, target: int, lo: float, hi: float, tol: float) -> bool:
    """True when the middle part [lo, hi) of a profile stays within `tol` px of `target`."""
    n = len(profile)
    part = profile[int(n * lo): max(int(n * lo) + 1, int(np.ceil(n * hi)))]
    if len(part) == 0 or (part < 0).any():
        return False
    return bool((np.abs(part - target) <= tol).mean() >= 0.9)


def is_box(o: Outline, round_frac: float = 0.3) -> bool:
    """A (possibly rounded) rectangle: straight sides over their middle part."""
    w, h = o.w, o.h
    tol = max(1.5, 0.06 * min(w, h))
    lo, hi = round_frac, 1 - round_frac
    # for wide pills, skip the rounded ends on the top and bottom edges
    clo = min(0.45, max(lo, (h / 2) / w)) if w > 1.5 * h else lo
    return (_straight(o.left, 0, lo, hi, tol) and _straight(o.right, w - 1, lo, hi, tol)
            and _straight(o.top, 0, clo, 1 - clo, tol) and _straight(o.bottom, h - 1, clo, 1 - clo, tol))


def _corner_gap(o: Outline) -> float:
    """Mean distance from the bbox corners to the nearest outline pixel: ~0 for a square,
    ~0.41 r for a circle of radius r."""
    h = o.h
    ys = np.arange(h, dtype=float)
    gaps = []
    for prof, flip in ((o.left, False), (o.right, True)):
        ok = prof >= 0
        x = (o.w - 1 - prof) if flip else prof
        gaps.append(np.hypot(x[ok], ys[ok]).min(initial=h))
        gaps.append(np.hypot(x[ok], (h - 1 - ys)[ok]).min(initial=h))
    return float(np.mean(gaps))


def is_circle(o: Outline) -> bool:
    w, h = o.w, o.h
    if abs(w - h) > max(2, 0.15 * w):
        return False
    r = (w + h) / 4
    cy = (h - 1) / 2
    ys = np.arange(h)
    half = np.sqrt(np.clip(r * r - (ys - cy) ** 2, 0, None))
    expect_left = (w - 1) / 2 - half + 0.5
    rows = (np.abs(ys - cy) < 0.8 * r) & (o.left >= 0) & (o.right >= 0)
    if rows.sum() < 0.6 * h:
        return False
    err = np.abs(o.left[rows] - expect_left[rows])
    # both sides round: an "e" or a "c" is round on its left only
    err_right = np.abs(o.right[rows] - (w - 1 - expect_left[rows]))
    return bool(err.mean() <= max(1.5, 0.15 * r) and err_right.mean() <= max(1.5, 0.15 * r)
                and max(err.max(), err_right.max()) <= max(1.25, 0.2 * r) and _corner_gap(o) >= 0.28 * r)


def _checked(rgb: np.ndarray, o: Outline, circle: bool) -> bool:
    """A mark inside the outline (tick, cross, dot, or a fill with a light tick)."""
    x0, y0, x1, y1 = o.bbox
    crop = luma(rgb[y0:y1, x0:x1].astype(np.float32))
    h, w = crop.shape
    if circle:
        yy, xx = np.mgrid[0:h, 0:w]
        r = (w + h) / 4
        inner = crop[np.hypot(yy - (h - 1) / 2, xx - (w - 1) / 2) < r - max(2.5, 0.3 * r)]  # off the ring's antialiasing
    else:
        m = max(2, int(round(0.18 * min(w, h))))
        inner = crop[m: h - m, m: w - m].ravel()
    if inner.size < 4:
        return False
    lo, hi = np.percentile(inner, [5, 95])
    return bool(hi - lo > 70)


@dataclass(frozen=True)
class Face:
    """What `_content_box` reads inside an outline: the dominant fill colour, the bbox of the
    pixels that differ from it, the share of the interior the fill covers, the number of text
    lines, whether a line runs across the whole interior (a border between two widgets, not
    text), and whether a text area's resize grip sits in its corner."""

    fill: tuple[float, ...]
    content: Box | None
    coverage: float
    lines: int
    ruled: bool
    grip: bool = False


def _content_box(rgb: np.ndarray, box: Box, inset: int) -> Face:
    x0, y0, x1, y1 = box
    crop = rgb[y0 + inset: y1 - inset, x0 + inset: x1 - inset].astype(np.int16)
    if crop.size == 0:
        return Face((255.0, 255.0, 255.0), None, 1.0, 0, False)
    flat = crop.reshape(-1, 3)
    q = (flat // 8).astype(np.int32)
    keys = (q[:, 0] << 10) | (q[:, 1] << 5) | q[:, 2]
    vals, counts = np.unique(keys, return_counts=True)
    mode_key = vals[counts.argmax()]
    fill = flat[keys == mode_key].mean(axis=0)
    diff = np.abs(crop - fill).max(axis=2) > 40
    coverage = float(1 - diff.mean())
    if (corner := grip(diff)) is not None:
        diff[corner[1]:, corner[0]:] = False  # a text area's resize grip is no content
    tall = np.concatenate([[False], diff.mean(axis=0) > 0.6, [False]]).astype(np.int8)
    starts, ends = np.nonzero(np.diff(tall) == 1)[0], np.nonzero(np.diff(tall) == -1)[0]
    if len(starts) == 1 and caret(crop, diff, starts[0], ends[0]) and min(fill) >= 245:
        diff[:, starts[0]: ends[0]] = False  # a (black) text caret in a white field is not content
    # text as tall as the field: its strokes ("1", "l") are tall bands too; the last band, thin,
    # dark and with nothing right of it, is the caret after the typed text
    if len(starts) > 1 and caret(crop, diff, starts[-1], ends[-1]) and min(fill) >= 245 \
            and not diff[:, ends[-1]:].any():
        diff[:, starts[-1]: ends[-1]] = False
    fill_rgb = tuple(float(v) for v in fill)
    if not diff.any():
        return Face(fill_rgb, None, coverage, 0, False, corner is not None)
    rows, cols = np.nonzero(diff.any(axis=1))[0], np.nonzero(diff.any(axis=0))[0]
    content = (x0 + inset + int(cols[0]), y0 + inset + int(rows[0]),
               x0 + inset + int(cols[-1]) + 1, y0 + inset + int(rows[-1]) + 1)
    busy = np.concatenate([[False], diff.any(axis=1), [False]]).astype(np.int8)
    lines = int((np.diff(busy) == 1).sum())  # bands of rows holding content
    ruled = bool((diff.mean(axis=1) > 0.9).any() or (diff.mean(axis=0) > 0.9).any())
    return Face(fill_rgb, content, coverage, lines, ruled, corner is not None)


MULTILINE = "multiline"  # Element.extras key: a text field that holds several lines (a text area)
Kind = tuple[Role, bool | None, bool]  # role, checked, multi-line (a text area)


def _classify(rgb: np.ndarray, o: Outline, opts: DetectorOptions) -> Kind | None:
    w, h = o.w, o.h
    square = abs(w - h) <= max(2, 0.15 * max(w, h))
    if square and opts.box_min <= w <= opts.box_max and opts.box_min <= h <= opts.box_max:
        if is_circle(o):
            return Role.RADIO, _checked(rgb, o, circle=True), False
        if is_box(o, round_frac=0.25) and _corner_gap(o) < 0.28 * (w + h) / 4:
            return Role.CHECKBOX, _checked(rgb, o, circle=False), False
        return None
    if h < opts.field_min_h or w < opts.field_min_w or not is_box(o):
        return None
    face = _content_box(rgb, o.bbox, inset=max(2, min(4, h // 6)))
    fill, content, lines = face.fill, face.content, face.lines
    if face.coverage < 0.5 or face.ruled:
        return None  # busy inside (an image, a panel), or two widgets glued together
    x0, _, x1, _ = o.bbox
    if content is None:
        left_gap, right_gap, one_line = 0.0, float(w), True
    else:
        left_gap, right_gap = content[0] - x0, x1 - content[2]
        one_line = lines <= 1 and content[3] - content[1] <= 0.75 * h
    neutral_light = min(fill) >= 200 and max(fill) - min(fill) <= 40
    if face.grip and neutral_light and w >= 1.5 * h and left_gap < right_gap:
        return Role.TEXT_FIELD, None, True  # a resizable text area: empty or its text from the left
    if neutral_light and h <= opts.field_max_h and w >= 1.8 * h and left_gap < 0.5 * right_gap and one_line:
        return Role.TEXT_FIELD, None, False  # light, empty or left-aligned text: an input
    if neutral_light and h <= opts.field_max_h and w >= 1.5 * h and one_line and (
            content is None or left_gap < 0.25 * right_gap):
        return Role.TEXT_FIELD, None, False  # a narrow input (a number box): empty, or its text at the left
    centred = content is not None and abs(left_gap - right_gap) < 0.15 * w + 2
    # a tinted face with two or three centred lines ("Click / Me!") is a button too
    if centred and (one_line or (max(fill) < 250 and 2 <= lines <= 3)) and h <= opts.button_max_h:
        return Role.BUTTON, None, False
    return None


def _area(b: Box) -> int:
    return (b[2] - b[0]) * (b[3] - b[1])


def _inter(a: Box, b: Box) -> int:
    return max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))


def _iou(a: Box, b: Box) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def detect_widgets(image: Any, options: DetectorOptions | None = None) -> list[Element]:
    """Text fields, checkboxes, radio buttons, buttons and sliders found from pixels alone.

    Elements get `source="detector"`, ids "d1", "d2", ... (the screen parser renumbers them),
    no name (the parser names them from OCR), and `checked` for checkboxes and radios."""
    opts = options or DetectorOptions()
    rgb = to_rgb_array(image)
    edges = edge_map(rgb, opts.edge_threshold)
    found: list[tuple[Role, bool | None, Box]] = []
    areas: set[Box] = set()  # multi-line text fields
    knobs: list[Box] = []
    bars: list[Box] = []  # sliders, track and knob
    for o in outlines(label_runs(edges), opts, rgb.shape[1]):
        if (slider := slider_of(o)) is not None:
            knobs.append(slider.knob)
            bars.append(o.bbox)
            found.append((Role.SLIDER, None, o.bbox))
            continue
        kind = _classify(rgb, o, opts)
        if kind is not None:
            found.append((kind[0], kind[1], o.bbox))
            if kind[2]:
                areas.add(o.bbox)
    # a slider's knob (its focus ring drawn inside it) is no checkbox
    found = [f for f in found if f[0] not in (Role.CHECKBOX, Role.RADIO) or not any(
        k[0] - 4 <= f[2][0] and k[1] - 4 <= f[2][1] and f[2][2] <= k[2] + 4 and f[2][3] <= k[3] + 4 for k in knobs)]
    outlined = [f[2] for f in found if f[0] in (Role.TEXT_FIELD, Role.BUTTON)]
    for box in faces(edges, opts):  # widgets the outlines missed (glued to their neighbours)
        if any(_inter(box, b) >= 0.5 * _area(box) for b in bars):
            continue  # a stretch of a slider's track
        if any(_iou(box, b) > 0.5 or _inter(box, b) >= 0.9 * _area(box) for b in outlined):
            continue  # found already, or a part of one found (a caret splits a field's face)
        kind = _classify(rgb, box_outline(box), opts)
        if kind is not None and kind[0] in (Role.TEXT_FIELD, Role.BUTTON):
            found.append((kind[0], kind[1], box))
            if kind[2]:
                areas.add(box)
    # A focus ring or a double border outlines the same widget twice: keep the inner one.
    # But a radio's dot (or a filled tick) inside a ring is a mark, not a widget: keep the ring.
    found.sort(key=lambda f: _area(f[2]))
    kept: list[tuple[Role, bool | None, Box]] = []
    for f in found:
        twins = [k for k in kept if _iou(f[2], k[2]) > 0.6 or (_contains(f[2], k[2]) and f[0] == k[0])]
        marks = [k for k in twins if f[0] in (Role.RADIO, Role.CHECKBOX) and _area(k[2]) < 0.5 * _area(f[2])]
        if marks and len(marks) == len(twins):
            kept = [k for k in kept if k not in marks] + [f]
        elif not twins:
            kept.append(f)
    # an outline around two or more buttons / fields is a group of them (glued buttons)
    hosts = [k[2] for k in kept if k[0] in (Role.BUTTON, Role.TEXT_FIELD)]
    groups = [h for h in hosts if sum(_contains(h, o, slack=10_000) for o in hosts if o != h) >= 2]
    kept = [k for k in kept if k[2] not in groups]
    # a "radio" or "checkbox" inside a button or a field is a glyph of its text ("O" of "OK",
    # a password dot): toolkits never draw toggles inside those
    hosts = [h for h in hosts if h not in groups]
    kept = [k for k in kept if k[0] not in (Role.RADIO, Role.CHECKBOX)
            or not any(_contains(h, k[2], slack=10_000) for h in hosts)]
    kept.sort(key=lambda f: (f[2][1] // 8, f[2][0]))
    elements = []
    for i, (role, checked, box) in enumerate(kept, 1):
        editable = role == Role.TEXT_FIELD
        elements.append(Element(id=f"d{i}", role=role, bbox=box, checked=checked, editable=editable,
                                clickable=True, source="detector",
                                extras={MULTILINE: True} if box in areas else {}))
    return elements


def _contains(outer: Box, inner: Box, slack: int = 8) -> bool:
    """`outer` holds `inner` and is at most `slack` px bigger on every side (a focus ring)."""
    return (0 <= inner[0] - outer[0] <= slack and 0 <= inner[1] - outer[1] <= slack
            and 0 <= outer[2] - inner[2] <= slack and 0 <= outer[3] - inner[3] <= slack)


class IncrementalDetector:
    """`detect_widgets` that keeps the last frame's widgets and re-detects only inside the
    regions that changed (the incremental OCR's regions): on a 4K screen a full pass costs
    hundreds of ms, a changed button a few. Each region grows over the cached widgets it
    touches (a widget is always detected whole) plus a margin for its outline."""

    def __init__(self, options: DetectorOptions | None = None, margin: int = 6) -> None:
        self.options = options or DetectorOptions()
        self.margin = margin
        self._widgets: list[Element] | None = None
        self._size: tuple[int, int] | None = None
        self.last_mode = ""

    def reset(self) -> None:
        self._widgets, self._size = None, None

    def detect(self, image: Any, changed: list[Box] | None) -> list[Element]:
        """`changed`: regions that differ from the previous frame ([] = none, None = unknown:
        the whole frame is read)."""
        size = image.size if isinstance(image, Image.Image) else (image.shape[1], image.shape[0])
        if changed is None or self._widgets is None or self._size != size:
            self._widgets, self._size, self.last_mode = detect_widgets(image, self.options), size, "full"
            return list(self._widgets)
        if not changed:
            self.last_mode = "cached"
            return list(self._widgets)
        kept = [w for w in self._widgets if not any(_inter(w.bbox, r) for r in changed)]
        fresh: list[Element] = []
        for r in changed:
            grown = r
            for w in self._widgets:
                if _inter(w.bbox, r):
                    grown = (min(grown[0], w.bbox[0]), min(grown[1], w.bbox[1]),
                             max(grown[2], w.bbox[2]), max(grown[3], w.bbox[3]))
            m = self.margin
            x0, y0 = max(0, grown[0] - m), max(0, grown[1] - m)
            x1, y1 = min(size[0], grown[2] + m), min(size[1], grown[3] + m)
            if x1 - x0 < self.options.box_min or y1 - y0 < self.options.box_min:
                continue
            # the width limit for bars is a fraction of the screen, not of the crop
            opts = replace(self.options, max_width_frac=self.options.max_width_frac * size[0] / (x1 - x0))
            # crop before converting: a whole 4K frame as an array is a 25 MB copy
            crop = image.crop((x0, y0, x1, y1)) if isinstance(image, Image.Image) else image[y0:y1, x0:x1]
            for w in detect_widgets(crop, opts):
                b = (w.bbox[0] + x0, w.bbox[1] + y0, w.bbox[2] + x0, w.bbox[3] + y0)
                if any(_inter(b, c) for c in changed) and not any(_iou(b, f.bbox) > 0.6 for f in fresh):
                    fresh.append(w.model_copy(update={"bbox": b}))
        widgets = sorted(kept + fresh, key=lambda w: (w.bbox[1] // 8, w.bbox[0]))
        self._widgets = [w.model_copy(update={"id": f"d{i}"}) for i, w in enumerate(widgets, 1)]
        self.last_mode = "incremental"
        return list(self._widgets)


def detect_sliders(image: Any, options: DetectorOptions | None = None) -> list[Slider]:
    """Horizontal sliders (track + knob) from pixels alone, top to bottom."""
    opts = options or DetectorOptions()
    rgb = to_rgb_array(image)
    found = [s for o in outlines(label_runs(edge_map(rgb, opts.edge_threshold)), opts, rgb.shape[1])
             if (s := slider_of(o)) is not None]
    return sorted(found, key=lambda s: (s.track[1], s.track[0]))
