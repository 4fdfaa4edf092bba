"""Reading text on the screen and using it: the Nth / last word (line, number) of a paragraph
or a text area, typed into a field.

A text region is a block of OCR lines: the lines inside a drawn border (a text area: a
bordered box around several lines, found from pixels) or, outside any border, lines that
follow each other closely (a paragraph). A detected field that shows text is one too. Words
come in reading order, punctuation stripped. A framed region whose text runs to its bottom
edge may scroll: for the last words it is scrolled to its end (the wheel over it, again until
its text stops changing), for a word past what shows, page by page."""

from __future__ import annotations

import re
from collections.abc import Callable, Generator
from dataclasses import dataclass, replace

from guiagent.planning.instructions import ReadGoal, Ref, TypeGoal, describe_goal
from guiagent.planning.skills.basic import typing
from guiagent.planning.skills.common import Attempt, Notes, Seen, Steps, norm, text_fields, visible
from guiagent.planning.skills.verify import matches_text
from guiagent.schema import Done, Element, Observation, Point, Role, Scroll, Target, TypeText, Wait

Box = tuple[int, int, int, int]
_TEXT_ROLES = (Role.TEXT, Role.LINK)


@dataclass(frozen=True)
class Region:
    box: Box
    lines: tuple[str, ...]
    framed: bool = False  # inside a drawn border
    field: Element | None = None  # the detected field it is, if any
    line_h: int = 0  # median line height, px
    text_bottom: int = 0  # the bottom of its last line, px
    ink_below: bool = False  # marks under the last line read: a line cut by the frame's edge

    @property
    def text(self) -> str:
        return " ".join(self.lines)

    def cut(self) -> bool:
        """The text reaches the bottom edge of its frame: more may be hidden below."""
        if not self.framed or self.field is not None or not self.lines:
            return False
        return self.ink_below or self.box[3] - self.text_bottom < max(8.0, self.line_h * 0.9)


def _inside(p: tuple[float, float], b: Box) -> bool:
    return b[0] <= p[0] <= b[2] and b[1] <= p[1] <= b[3]


def _iou(a: Box, b: Box) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix * iy
    return ix * iy / union if union else 0.0


def frames(obs: Observation, min_w: int = 60, min_h: int = 30) -> list[Box]:
    """Bordered rectangles at least `min_w` x `min_h` px drawn on the screen (the widget
    detector's outlines, without its height limit), smallest first."""
    from grounding.detect import is_box, outlines
    from grounding.pixels import DetectorOptions, edge_map, label_runs, to_rgb_array

    rgb = to_rgb_array(obs.screenshot)
    h, w = rgb.shape[:2]
    # a text area may span nearly the whole width of a narrow page; one that touches both
    # sides of the screen is a bar or the window itself
    opts = DetectorOptions(box_min=min(min_w, min_h), button_max_h=h, max_width_frac=1.0)
    found = [o.bbox for o in outlines(label_runs(edge_map(rgb, opts.edge_threshold)), opts, w)
             if o.w >= min_w and o.h >= min_h and not (o.bbox[0] <= 0 and o.bbox[2] >= w) and is_box(o)]
    return sorted(found, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))


@dataclass(frozen=True)
class _Line:
    box: Box
    text: str


def _lines(elements: list[Element]) -> list[_Line]:
    """Text elements joined into visual lines (pieces of one row, left to right), top down."""
    rows: list[list[Element]] = []
    for e in sorted(elements, key=lambda e: (e.center[1], e.bbox[0])):
        row = rows[-1] if rows else None
        if row and abs(e.center[1] - row[0].center[1]) <= min(e.height, row[0].height) / 2:
            row.append(e)
        else:
            rows.append([e])
    out = []
    for row in rows:
        row.sort(key=lambda e: e.bbox[0])
        box = (min(e.bbox[0] for e in row), min(e.bbox[1] for e in row),
               max(e.bbox[2] for e in row), max(e.bbox[3] for e in row))
        out.append(_Line(box, " ".join(e.label.strip() for e in row)))
    return out


def _ink(obs: Observation, frame: Box, region: Region) -> bool:
    """Dark marks between the last line read and the frame's bottom edge (its border and the
    resize grip in the corner left out): the top of a line the frame cuts, which OCR skips."""
    import numpy as np

    inset = 4
    box = (frame[0] + inset, region.text_bottom + 2, frame[2] - max(inset, region.line_h), frame[3] - inset)
    if box[2] <= box[0] or box[3] <= box[1]:
        return False
    gray = np.asarray(obs.screenshot.convert("L").crop(box), dtype=np.int16)
    return bool(gray.size) and bool(((np.median(gray) - gray) > 80).mean() > 0.002)


def _region(lines: list[_Line], box: Box | None, framed: bool) -> Region:
    heights = sorted(ln.box[3] - ln.box[1] for ln in lines)
    hull = (min(ln.box[0] for ln in lines), min(ln.box[1] for ln in lines),
            max(ln.box[2] for ln in lines), max(ln.box[3] for ln in lines))
    return Region(box or hull, tuple(ln.text for ln in lines), framed, None, heights[len(heights) // 2], hull[3])


def _paragraphs(lines: list[_Line]) -> list[list[_Line]]:
    """Lines that follow each other closely and overlap horizontally: one block each."""
    blocks: list[list[_Line]] = []
    for ln in lines:
        last = blocks[-1][-1] if blocks else None
        h = ln.box[3] - ln.box[1]
        if last is not None and ln.box[1] - last.box[3] <= 0.6 * h \
                and ln.box[0] < last.box[2] and last.box[0] < ln.box[2]:
            blocks[-1].append(ln)
        else:
            blocks.append([ln])
    return blocks


def _grip(e: Element, frame: Box, height: int) -> bool:
    """A mark or two in the bottom-right corner of a frame: its resize grip as OCR reads it."""
    return len(e.label.strip()) <= 2 and frame[2] - e.bbox[2] <= height and frame[3] - e.bbox[3] <= height


def regions(obs: Observation) -> list[Region]:
    """The text regions of the screen in reading order: framed text, paragraphs, and fields
    that show text."""
    texts = [e for e in visible(obs) if e.role in _TEXT_ROLES and e.label.strip()]
    out: list[Region] = []
    for frame in frames(obs) if texts else []:
        inner = [e for e in texts if _inside(e.center, frame)]
        if inner:
            h = sorted(e.height for e in inner)[len(inner) // 2]
            if words := [e for e in inner if not _grip(e, frame, h)]:
                region = _region(_lines(words), frame, True)
                out.append(replace(region, ink_below=_ink(obs, frame, region)))
            texts = [e for e in texts if e not in inner]
    out.extend(_region(block, None, False) for block in _paragraphs(_lines(texts)))
    for f in visible(obs):
        if (f.role == Role.TEXT_FIELD or f.editable) and (f.value or "").strip():
            # an a11y value holds all of its lines, shown or not
            lines = tuple(ln.strip() for ln in (f.value or "").splitlines() if ln.strip())
            out.append(Region(f.bbox, lines, True, f, f.height, f.bbox[3]))
    return sorted(out, key=lambda r: (r.box[1], r.box[0]))


def find_region(ref: Ref, obs: Observation, exclude: Box | None = None) -> Region | None:
    """The region `ref` names: "the text area" (framed first), "the paragraph" (unframed
    first), "the text" (any); the Nth in reading order, else the one with the most text; a
    named one is the region holding that text or the one right below it."""
    pool = [r for r in regions(obs) if exclude is None or _iou(r.box, exclude) < 0.5]
    if ref.text and ref.role not in ("text area", "paragraph", "text"):
        want = norm(ref.text)
        if hits := [r for r in pool if want and want in norm(r.text)]:
            return min(hits, key=lambda r: len(r.text))
        labels = [e for e in visible(obs) if norm(e.label) == want]
        below = [r for r in pool for lab in labels if r.box[1] >= lab.bbox[3] - 4 and want not in norm(r.text)]
        return min(below, key=lambda r: r.box[1], default=None)
    framed = [r for r in pool if r.framed]
    loose = [r for r in pool if not r.framed]
    match ref.role:
        case "text area" | "field":
            pool = framed or loose
        case "paragraph":
            pool = loose or framed
        case _:
            pass
    if ref.ordinal is not None:
        ordered = pool if ref.ordinal > 0 else pool[::-1]
        k = abs(ref.ordinal) - 1
        return ordered[k] if k < len(ordered) else None
    return max(pool, key=lambda r: len(r.text), default=None)


def units(text_lines: tuple[str, ...], unit: str) -> list[str]:
    """The words (punctuation stripped), numbers or lines of a text, in reading order."""
    if unit == "line":  # an a11y text may hold several lines in one element
        return [ln.strip() for block in text_lines for ln in block.splitlines() if ln.strip()]
    text = " ".join(text_lines)
    if unit == "number":
        return [m.group().rstrip(".,") for m in re.finditer(r"[-+]?\d+(?:[.,]\d+)*", text)]
    words = (re.sub(r"^\W+|\W+$", "", tok) for tok in text.split())
    return [w for w in words if w]


def pick(items: list[str], n: int) -> str | None:
    """The `n`-th (1-based; -1 the last) of `items`, None when there are not that many."""
    k = n - 1 if n > 0 else len(items) + n
    return items[k] if 0 <= k < len(items) else None


def merge_lines(seen_lines: list[str], new: tuple[str, ...]) -> list[str] | None:
    """The lines read so far continued by those after a scroll (which repeat some of the last
    ones); None when the two do not overlap (the scroll went too far to follow)."""
    a, b = [norm(x) for x in seen_lines], [norm(x) for x in new]
    for k in range(min(len(a), len(b)), 0, -1):
        if a[-k:] == b[:k]:
            return seen_lines + list(new[k:])
    return None


def _again(region: Region, obs: Observation) -> Region | None:
    """The same region on a new screen (by place)."""
    best = max(regions(obs), key=lambda r: _iou(r.box, region.box), default=None)
    return best if best is not None and _iou(best.box, region.box) >= 0.5 else None


def _scroll_at(region: Region, obs: Observation, amount: float) -> Scroll:
    w, h = obs.screen_size
    cx, cy = (region.box[0] + region.box[2]) / 2, (region.box[1] + region.box[3]) / 2
    return Scroll(direction="down", amount=amount,
                  anchor=Target(point=Point(x=min(1.0, cx / w), y=min(1.0, cy / h)), description="the text"))


def overlap(a: Box, b: Box) -> float:
    """The part of the smaller box that the two share."""
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy / small if small > 0 else 0.0


def field_at(obs: Observation, field: Element | None) -> Element | None:
    """The field on a new screen: the text field where it was."""
    if field is None:
        return None
    near = [f for f in text_fields(obs) if overlap(f.bbox, field.bbox) > 0.6]
    return max(near, key=lambda f: overlap(f.bbox, field.bbox), default=None)


def field_text(obs: Observation, field: Element | None) -> str:
    """What the field shows on a new screen: its value, with any OCR piece read apart inside
    it ("Fi" + "ji"), left to right."""
    now = field_at(obs, field)
    if now is None:
        return ""
    pieces = [now] + [e for e in visible(obs) if e.role == Role.TEXT and e.label.strip() and _inside(e.center, now.bbox)]
    return " ".join((e.value or "") if e is now else e.label for e in sorted(pieces, key=lambda e: e.bbox[0])).strip()


Reading = Generator[Attempt, Seen, tuple[bool, str, Seen]]


def reads_back(text: str, field: Element | None, seen: Seen,
               accept: Callable[[str, str], bool] = matches_text) -> Reading:
    """(whether the field reads `text`, what it shows, the last screen). A blinking caret
    glued to the last letter reads as another letter ("Nunc|" as "Nund"): a misread is read
    again, twice, a blink phase apart, before it counts."""
    shown = ""
    for i in range(3):
        shown = field_text(seen.obs, field)
        if accept(text, shown):
            return True, shown, seen
        if i < 2:
            seen = yield Attempt((Wait(seconds=0.3),), f"the field reads {shown!r}: reading it again")
    return False, shown, seen


def _typed(value: str, goal: ReadGoal, seen: Seen, notes: Notes) -> Steps:
    """Type the value; then the field must read it (re-read past a caret; typed once more
    when it shows other text; a field that shows nothing readable is noted, not failed)."""
    attempt = typing(TypeGoal(value, goal.field, goal.submit), seen)
    if goal.submit:  # after Enter the form may be gone: the typing's own check (an effect)
        yield attempt
        return
    for again in (False, True):
        seen = yield replace(attempt, check=None) if not again else Attempt(
            tuple(a.model_copy(update={"clear": True}) if isinstance(a, TypeText) else a
                  for a in attempt.actions), "typing it once more")
        field = seen.target or (attempt.check.where if attempt.check else None)
        ok, shown, seen = yield from reads_back(value, field, seen)
        if ok:
            return
        if len(norm(shown)) * 2 < len(norm(value)):  # nothing or a fragment: the screen cannot tell
            notes.lines.append(f"could not read {value!r} back in the field (it shows {shown!r})")
            return
    yield Attempt((Done(status="impossible", answer=f"typed {value!r}, but the field reads {shown!r}"),))


def read_text(goal: ReadGoal, seen: Seen, notes: Notes) -> Steps:
    """Find the region, scroll it as far as the wanted item needs, pick the item, type it."""
    what = describe_goal(goal)
    region = find_region(goal.source, seen.obs)
    if region is None:
        yield Attempt((Done(status="impossible", answer=f"there is no {goal.source.describe() or 'text'} "
                                                        "on the screen to read"),))
        return
    lines = list(region.lines)
    for _ in range(6):  # the wheel over the text until it shows what is wanted
        items = units(tuple(lines), goal.unit)
        if not region.cut() or (goal.ordinal > 0 and pick(items, goal.ordinal) is not None):
            break
        page = max(0.05, 0.8 * (region.box[3] - region.box[1]) / max(1, seen.obs.screen_size[1]))
        seen = yield Attempt((_scroll_at(region, seen.obs, 5.0 if goal.ordinal < 0 else page),),
                             "to its end" if goal.ordinal < 0 else "to read further")
        after = _again(region, seen.obs)
        if after is None or [norm(x) for x in after.lines] == [norm(x) for x in (region.lines)]:
            break  # it does not scroll (any more): what shows is all there is
        if goal.ordinal < 0:
            lines = list(after.lines)
        elif (merged := merge_lines(lines, after.lines)) is not None:
            lines = merged
        else:
            yield Attempt((Done(status="impossible", answer=f"could not {what}: the text jumped too far "
                                                            "while scrolling to follow it"),))
            return
        region = after
    value = pick(units(tuple(lines), goal.unit), goal.ordinal)
    if value is None:
        have = len(units(tuple(lines), goal.unit))
        yield Attempt((Done(status="impossible", answer=f"could not {what}: it has {have} {goal.unit}(s)"),))
        return
    if goal.field is None:
        notes.lines.append(f"{what}: {value!r}")
        return
    yield from _typed(value, goal, seen, notes)


__all__ = ["Region", "field_at", "field_text", "find_region", "frames", "merge_lines", "overlap", "pick", "read_text", "reads_back",
           "regions", "units"]
