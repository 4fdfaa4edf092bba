"""Selecting a paragraph's text with the mouse: the paragraphs are the OCR text lines grouped
into blocks (a gap clearly wider than the tightest one between rows starts a new one); the
drag runs from just before the block's first letter to just past its last one, both found
in the pixels (an OCR box may cut a letter off). The postcondition is read from the pixels:
the selection's highlight covers that block (its pixels changed) and no other block's."""

from __future__ import annotations

import statistics

from guiagent.planning.instructions import HighlightGoal, ordinal_text
from guiagent.planning.skills.colors import pixel_point
from guiagent.planning.skills.common import Attempt, Notes, Seen, Steps, reading_order, same_row, visible
from guiagent.schema import Done, Drag, Element, Observation, Role, Target

Box = tuple[int, int, int, int]


def _rows(lines: list[Element]) -> list[list[Element]]:
    rows: list[list[Element]] = []
    for e in reading_order(lines):
        row = next((r for r in rows if same_row(r[0], e)), None)
        if row is None:
            rows.append([e])
        else:
            row.append(e)
    return [sorted(r, key=lambda e: e.bbox[0]) for r in sorted(rows, key=lambda r: r[0].bbox[1])]


def paragraphs(obs: Observation) -> list[list[list[Element]]]:
    """The text blocks of the screen, top to bottom: each a list of rows, each row its OCR
    boxes left to right. A row joins the block above when the gap is about the tightest
    between rows (line spacing, not a paragraph's margin) and they start near the same x."""
    lines = [e for e in visible(obs) if e.role == Role.TEXT and e.label.strip()]
    rows = _rows(lines)
    if not rows:
        return []
    line_h = statistics.median(max(e.height for e in r) for r in rows)
    gaps = [min(e.bbox[1] for e in row) - max(e.bbox[3] for e in prev) for prev, row in zip(rows, rows[1:], strict=False)]
    # the tightest gap is between two lines of one block (or, with none such, between blocks)
    joined = min(gaps, default=0) + 0.3 * line_h
    blocks: list[list[list[Element]]] = [[rows[0]]]
    for prev, row, gap in zip(rows, rows[1:], gaps, strict=False):
        aligned = abs(row[0].bbox[0] - prev[0].bbox[0]) <= line_h * 2
        if gap <= joined and aligned:
            blocks[-1].append(row)
        else:
            blocks.append([row])
    return blocks


def _box(block: list[list[Element]]) -> Box:
    es = [e for r in block for e in r]
    return min(e.bbox[0] for e in es), min(e.bbox[1] for e in es), max(e.bbox[2] for e in es), max(e.bbox[3] for e in es)


def _labels(block: list[list[Element]], obs: Observation) -> bool:
    """The block is the text of a control drawn around it (a button, a field, a link)."""
    x0, y0, x1, y1 = _box(block)
    return any(e.role not in (Role.TEXT, Role.WINDOW, Role.CONTAINER) and e.bbox[0] <= x0 + 2 and e.bbox[1] <= y0 + 2
               and e.bbox[2] >= x1 - 2 and e.bbox[3] >= y1 - 2 for e in visible(obs))


def _ink(obs: Observation, line: Element) -> tuple[int, int]:
    """The first and last columns with ink on `line`'s row, looking a line's height beyond its
    OCR box each way (a box may cut off the first letter or a trailing period)."""
    import numpy as np

    from grounding.shapes import background

    reach = line.height
    x0, x1 = max(0, line.bbox[0] - reach), min(obs.screenshot.width, line.bbox[2] + reach)
    rgb = np.asarray(obs.screenshot.convert("RGB").crop((x0, line.bbox[1], x1, line.bbox[3])), dtype=np.int16)
    if rgb.size == 0:
        return line.bbox[0], line.bbox[2]
    ink = np.nonzero((np.abs(rgb - np.array(background(rgb), dtype=np.int16)) > 60).any(axis=2).any(axis=0))[0]
    if len(ink) == 0:
        return line.bbox[0], line.bbox[2]
    # from the ink inside the box, walk out over gaps no wider than a space
    cols, gap = ink.tolist(), max(4, line.height // 2)
    inside = [c for c in cols if line.bbox[0] - x0 <= c < line.bbox[2] - x0] or cols
    lo, hi = inside[0], inside[-1]
    for c in reversed([c for c in cols if c < lo]):
        if lo - c > gap:
            break
        lo = c
    for c in (c for c in cols if c > hi):
        if c - hi > gap:
            break
        hi = c
    return x0 + lo, x0 + hi + 1


def _change(before: Observation, after: Observation, box: Box) -> float:
    """The share of `box`'s pixels that changed between the frames."""
    import numpy as np

    a = np.asarray(before.screenshot.convert("RGB").crop(box), dtype=np.int16)
    b = np.asarray(after.screenshot.convert("RGB").crop(box), dtype=np.int16)
    return float((np.abs(a - b).max(axis=2) > 24).mean()) if a.shape == b.shape and a.size else 0.0


def highlight(goal: HighlightGoal, seen: Seen, notes: Notes) -> Steps:
    obs = seen.obs
    # a control's label (the Submit button's) or a lone word is no paragraph
    blocks = [b for b in paragraphs(obs) if not _labels(b, obs) and (len(b) > 1 or len(b[0][0].label.split()) > 1)]
    n = goal.ordinal
    if not blocks or not (1 <= n <= len(blocks) or -len(blocks) <= n <= -1):
        yield Attempt((Done(status="impossible", answer=f"there is no {ordinal_text(n)} paragraph: "
                                                        f"{len(blocks)} paragraph(s) on the screen"),))
        return
    block = blocks[n - 1 if n > 0 else n]
    first, last = block[0][0], block[-1][-1]
    # OCR boxes can start inside the first letter or end before a last period: the ink decides
    left, _ = _ink(obs, first)
    _, right = _ink(obs, last)
    start = pixel_point(obs, left - 2, first.center[1])  # just before the first letter (an "i" is thin)
    end = pixel_point(obs, right + max(3.0, last.height / 4), last.center[1])  # past the last one
    text = " ".join(e.label for r in block for e in r)
    after = yield Attempt((Drag(start=Target(point=start, description=f"the start of the {ordinal_text(n)} paragraph"),
                                end=Target(point=end, description=f"the end of the {ordinal_text(n)} paragraph"),
                                duration=0.4),), f"the paragraph reads {text[:40]!r}")
    covered = _change(obs, after.obs, _box(block))
    others = max((_change(obs, after.obs, _box(b)) for b in blocks if b is not block), default=0.0)
    # the highlight must reach the first letter and the last one: their edges changed too
    ends = min(_change(obs, after.obs, (left, first.bbox[1], left + 3, first.bbox[3])),
               _change(obs, after.obs, (right - 3, last.bbox[1], right, last.bbox[3])))
    if covered < 0.15 or others > 0.5 * covered or ends < 0.3:
        yield Attempt((Done(status="impossible", answer=f"the selection does not cover the {ordinal_text(n)} "
                                                        f"paragraph ({covered:.0%} of it changed, {ends:.0%} at its "
                                                        f"first or last letter, {others:.0%} of another)"),))
        return
    notes.lines.append(f"the highlight covers the paragraph ({covered:.0%} of its pixels changed)")
