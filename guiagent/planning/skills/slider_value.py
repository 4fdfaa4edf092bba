"""Where sliders are and what value each shows: sliders in reading order, and the number
drawn beside one (on its row, else just under or over it). Sliders stacked one over another
with a number between two of them are read the way the whole stack is laid out: the number
belongs to the slider above it when the lowest slider has one under it and the highest none
over it (values under their sliders), and the other way round."""

from __future__ import annotations

import re

from grounding.detect import detect_sliders
from grounding.sliders import Slider
from guiagent.planning.skills.common import visible
from guiagent.schema import Observation, Role

_NUM = re.compile(r"^[-−–]?\s?\d+(?:[.,]\d+)?\s?%?$")
Band = tuple[int, int, int, int]


def number(text: str) -> float | None:
    """"-8", "−2", "30 %", "2.5" -> the number; None for anything else."""
    t = text.strip().replace("−", "-").replace("–", "-").replace(",", ".").replace(" ", "")
    if not _NUM.match(t):
        return None
    return float(t.rstrip("%"))


def sliders_in_order(obs: Observation) -> list[Slider]:
    """The sliders on the screen in reading order: rows top to bottom (tracks whose middles
    lie within a track's height of each other share a row; a knob's box may take in a text
    under it), left to right in a row."""
    found = detect_sliders(obs.screenshot) if obs.screenshot is not None else []
    rows: list[list[Slider]] = []
    for s in sorted(found, key=_mid):
        if rows and abs(_mid(s) - _mid(rows[-1][0])) <= max(s.track[3] - s.track[1], 4):
            rows[-1].append(s)
        else:
            rows.append([s])
    return [s for row in rows for s in sorted(row, key=lambda s: s.track[0])]


def _mid(s: Slider) -> float:
    return (s.track[1] + s.track[3]) / 2


def shown(obs: Observation, s: Slider) -> float | None:
    """The value slider `s` shows: a number on its row (nearest its ends), else the one in
    the band under or over it (up to the next slider) that the stack's layout gives it."""
    if (v := _in_row(obs, s)) is not None:
        return v
    stack = [o for o in sliders_in_order(obs) if _overlaps(o, s)] or [s]
    texts = _texts(obs, stack)
    under, over = _bands(obs, s, stack)
    if len(stack) > 1:
        top = min(stack, key=_mid)
        low = max(stack, key=_mid)
        values_under = _read(texts, _bands(obs, low, stack)[0]) is not None
        labels_over = _read(texts, _bands(obs, top, stack)[1]) is not None
        if values_under and not labels_over:
            return _read(texts, under)
        if labels_over and not values_under:
            return _read(texts, over)
    a, b = _read(texts, under), _read(texts, over)
    return a if a is not None else b


def _texts(obs: Observation, stack: list[Slider]) -> list[tuple[Band, str]]:
    """The numbers around a stack of sliders: parsed text elements, and what the pixels of
    the whole stack (two rows more each side) read (a screen parser can fold a short number
    into a slider's own box; a band cut at a slider's edge can cut a digit's foot off)."""
    from grounding.ocr import default_engine

    texts = [(e.bbox, e.label) for e in visible(obs) if e.role == Role.TEXT and number(e.label) is not None]
    if obs.screenshot is None:
        return texts
    w, h = obs.screen_size
    row_h = max(max(o.track[3] - o.track[1], o.knob[3] - o.knob[1]) for o in stack)
    region = (max(0, min(o.track[0] for o in stack) - row_h), max(0, min(o.track[1] for o in stack) - 2 * row_h),
              min(w, max(o.track[2] for o in stack) + row_h), min(h, max(o.track[3] for o in stack) + 2 * row_h))
    return [(b.bbox, b.text) for b in default_engine().read(obs.screenshot, region)] + texts  # fresh pixels first


def _overlaps(a: Slider, b: Slider) -> bool:
    """Two sliders one over the other (their tracks share columns)."""
    return min(a.track[2], b.track[2]) > max(a.track[0], b.track[0])


def _bands(obs: Observation, s: Slider, stack: list[Slider]) -> tuple[Band, Band]:
    """The boxes just under and just over `s`: its width (and a knob's more at each end),
    down / up to the next slider's track, at most two rows' height."""
    w, h = obs.screen_size
    row_h = max(s.track[3] - s.track[1], s.knob[3] - s.knob[1])
    x0, x1 = max(0, min(s.track[0], s.knob[0]) - row_h), min(w, max(s.track[2], s.knob[2]) + row_h)
    below = min([o.track[1] for o in stack if o.track[1] > s.track[3]] + [s.track[3] + 2 * row_h, h])
    above = max([o.track[3] for o in stack if o.track[3] < s.track[1]] + [s.track[1] - 2 * row_h, 0])
    return (x0, s.track[3] + 1, x1, below), (x0, above, x1, s.track[1] - 1)


def _read(texts: list[tuple[Band, str]], band: Band) -> float | None:
    """The number of a text centred inside `band`."""
    x0, y0, x1, y1 = band
    for (a, b, c, d), text in texts:
        if x0 <= (a + c) / 2 <= x1 and y0 <= (b + d) / 2 <= y1 and (v := number(text)) is not None:
            return v
    return None


def _in_row(obs: Observation, s: Slider) -> float | None:
    """A number on the slider's row, left or right of it (not the knob read as a glyph)."""
    track = s.track
    row_h = max(track[3] - track[1], s.knob[3] - s.knob[1])
    nums = [(e, v) for e in visible(obs) if e.role == Role.TEXT and (v := number(e.label)) is not None
            and not track[0] <= e.center[0] <= track[2] and abs(e.center[1] - _mid(s)) <= row_h / 2 + 2]
    if nums:
        return min(nums, key=lambda ev: max(0, track[0] - ev[0].bbox[2], ev[0].bbox[0] - track[2]))[1]
    w = obs.screen_size[0]
    top, bottom = min(track[1], s.knob[1]) - 6, max(track[3], s.knob[3]) + 6
    left, right = min(track[0], s.knob[0]), max(track[2], s.knob[2])
    right_band = (right + 2, top, min(w, right + 4 * (bottom - top) + 40), bottom)
    left_band = (max(0, left - 4 * (bottom - top) - 40), top, left - 2, bottom)
    for band in (right_band, left_band):
        x0, y0, x1, y1 = band
        if x1 - x0 < 4 or obs.screenshot is None:
            continue
        from grounding.ocr import default_engine

        for box in default_engine().read(obs.screenshot, band):
            if (v := number(box.text)) is not None:
                return v
    return None
