"""Skills for widgets that hold a number: sliders and spinners, and what the value skills
share (reading a field's value, a number, a line's place on the screen). Each reads the value
back after it acts and goes on until the screen shows what was asked; when it cannot, it ends
the task with `Done(impossible)` saying what it saw. It never claims a value it did not read.

    slider    knob + track from pixels (grounding.detect.detect_sliders); the shown value is
              read before and after a click on the track, which gives the value per pixel;
              then a click where the value should be, then arrow keys for the last steps
    spinner   type the value; a field that refuses typing gets its up / down arrows
"""

from __future__ import annotations

import re

import numpy as np

from grounding.sliders import Slider, true_runs
from guiagent.planning.instructions import Ref, SliderGoal, SpinGoal, describe_goal
from guiagent.planning.skills.common import (
    Attempt,
    Seen,
    Steps,
    norm,
    same_row,
    text_fields,
    visible,
)
from guiagent.planning.skills.interrupt import sole_input
from guiagent.planning.skills.slider_value import number, shown, sliders_in_order
from guiagent.schema import Click, Done, Drag, Element, Key, Observation, Point, Role, Target, TypeText, Wait

ARROWS = frozenset({"v", "▾", "▼", "⌄", "∨", "﹀", "˅", "⏷", "🔽"})

MASK = re.compile(r"^(?:-{1,2}\s?[:/.]\s?-{1,2}|(?:[mdy]{1,4}\s?[/.-]\s?){2}[mdy]{2,4}|hh\s?:\s?mm)", re.I)
_KEY_STEPS = 6  # arrow presses a slider may take after its aimed click


def fail(goal: object, why: str) -> Attempt:
    return Attempt((Done(status="impossible", answer=f"I could not {describe_goal(goal)}: {why}"),),  # type: ignore[arg-type]
                   "giving up")


def at_point(obs: Observation, x: float, y: float, what: str) -> Target:
    w, h = obs.screen_size
    return Target(point=Point.from_pixels(min(max(x, 0), w - 1), min(max(y, 0), h - 1), (w, h)), description=what)


def _near_label(obs: Observation, ref: Ref | None, boxes: list[tuple[int, int, int, int]]) -> int | None:
    """The index of the box `ref` names: on the row of a text with that name, or just below
    it; the ordinal-th one; the first one when `ref` names nothing."""
    if not boxes:
        return None
    if ref is None or not ref.text:
        n = (ref.ordinal if ref is not None else None) or 1
        return (n - 1 if n > 0 else len(boxes) - 1) if -1 <= n <= len(boxes) and n != 0 else None
    want = norm(ref.text)
    labels = [e for e in visible(obs) if e.role == Role.TEXT and want and want in norm(e.label)]
    best: tuple[float, int] | None = None
    for label in labels:
        for i, b in enumerate(boxes):
            dy = (b[1] + b[3]) / 2 - label.center[1]
            dx = max(0, b[0] - label.bbox[2], label.bbox[0] - b[2])
            if abs(dy) <= max(label.height, b[3] - b[1]) or 0 < dy <= 4 * label.height:
                cost = abs(dy) + dx
                best = (cost, i) if best is None or cost < best[0] else best
    return best[1] if best is not None else None


# -- sliders --------------------------------------------------------------------------------


def _slider(obs: Observation, ref: Ref | None) -> Slider | None:
    found = sliders_in_order(obs)
    i = _near_label(obs, ref, [s.track for s in found])
    if i is None and len(found) == 1 and ref is not None and ref.ordinal is None:
        i = 0  # "the volume" with one slider on screen and no text that says so (an icon)
    return found[i] if i is not None else None


def slider(goal: SliderGoal, seen: Seen) -> Steps:
    """Postcondition: the slider shows `goal.value` (or its knob sits at the asked percent
    of the track when it shows no value)."""
    obs = seen.obs
    want = number(goal.value)
    s = _slider(obs, goal.target)
    if s is None:
        if want is not None and not goal.value.endswith("%"):
            yield from spinner(SpinGoal(goal.value, goal.target), seen)  # a number field named so
            return
        yield fail(goal, "no slider (a track with a knob) is on the screen")
        return
    if want is None:
        yield fail(goal, f"{goal.value!r} is not a number")
        return
    y = (s.track[1] + s.track[3]) / 2
    left, right = s.track[0] + 1, s.track[2] - 2
    v0 = shown(obs, s)
    if v0 is None:
        if not goal.value.endswith("%"):
            yield fail(goal, "the slider shows no value, so where it should go cannot be told")
            return
        x = left + (right - left) * want / 100
        seen = yield Attempt((Click(target=at_point(obs, x, y, "the slider's track")),), f"{goal.value} of its track")
        now = _slider(seen.obs, goal.target)
        if now is None or abs(now.fraction - want / 100) > 0.06:
            yield fail(goal, f"the knob is at {now.fraction:.0%} of the track" if now else "the slider is gone")
        return
    if v0 == want:
        return
    # one click far from the knob: two (knob, value) pairs give the value per pixel
    k0 = (s.knob[0] + s.knob[2]) / 2
    x1 = left + (right - left) * (0.75 if s.fraction < 0.5 else 0.25)
    seen = yield Attempt((Click(target=at_point(obs, x1, y, "the slider's track")),), f"it shows {v0:g}; measuring it")
    moved = _slider(seen.obs, goal.target)
    v1 = shown(seen.obs, moved) if moved is not None else None
    if moved is not None and v1 == v0 and abs((moved.knob[0] + moved.knob[2]) / 2 - k0) < 2:
        # a track that ignores clicks: drag the knob there instead
        ky = (s.knob[1] + s.knob[3]) / 2
        seen = yield Attempt((Drag(start=at_point(obs, k0, ky, "the slider's knob"),
                                   end=at_point(obs, x1, ky, "the slider's track")),), "a click did not move it; dragging")
        moved = _slider(seen.obs, goal.target)
        v1 = shown(seen.obs, moved) if moved is not None else None
    if moved is None or v1 is None:
        yield fail(goal, "after a click on its track the slider's value could not be read")
        return
    k1 = (moved.knob[0] + moved.knob[2]) / 2
    if v1 == want:
        return
    if v1 == v0 or abs(k1 - k0) < 2:
        yield fail(goal, f"neither a click on its track nor a drag moved it (it still shows {v1:g})")
        return
    per_px = (v1 - v0) / (k1 - k0)
    x2 = k1 + (want - v1) / per_px
    seen = yield Attempt((Click(target=at_point(seen.obs, min(max(x2, left), right), y, "the slider's track")),),
                         f"it shows {v1:g}; aiming at {goal.value}")
    yield from _nudge(goal, seen, want, per_px > 0)


def _nudge(goal: SliderGoal, seen: Seen, want: float, rising: bool) -> Steps:
    """Arrow keys (the knob has the focus after a click) until the slider shows `want`."""
    last: float | None = None
    for _ in range(_KEY_STEPS + 1):
        s = _slider(seen.obs, goal.target)
        v = shown(seen.obs, s) if s is not None else None
        if v is None:
            yield fail(goal, "its value could not be read" + (f" (last seen {last:g})" if last is not None else ""))
            return
        if v == want:
            return
        if last is not None and v == last:
            yield fail(goal, f"the arrow keys do not move it (it shows {v:g})")
            return
        last = v
        key = "right" if (want > v) == rising else "left"
        seen = yield Attempt((Key(keys=(key,)),), f"it shows {v:g}")
    yield fail(goal, f"it shows {last:g}" if last is not None else "its value could not be read")


# -- spinners -------------------------------------------------------------------------------


def _arrows(obs: Observation, field: Element) -> Element | None:
    """The up / down arrow box drawn at the right end of a spinner's field."""
    pool = [e for e in visible(obs) if e.id != field.id and e.role in (Role.BUTTON, Role.ICON)
            and same_row(e, field) and abs(e.bbox[0] - field.bbox[2]) <= 12 and e.width <= 1.5 * field.height]
    inside = [e for e in visible(obs) if e.id != field.id and e.role in (Role.BUTTON, Role.ICON)
              and field.bbox[0] < e.bbox[0] and e.bbox[2] <= field.bbox[2] + 2 and same_row(e, field)
              and e.width <= field.height and e.bbox[0] > field.center[0]]
    return next(iter(pool or inside), None)


def field_for(obs: Observation, ref: Ref | None, word: str = "") -> Element | None:
    """The field `ref` names (by its label), else one labelled with `word` ("date"), else the
    only input, else the first text field."""
    fields = text_fields(obs)
    if ref is not None and ref.text:
        i = _near_label(obs, ref, [f.bbox for f in fields])
        if i is not None:
            return fields[i]
        want = norm(ref.text)
        if hit := next((f for f in fields if want and want in norm(f.name)), None):
            return hit
    if word and (hit := next((f for f in fields if word in norm(f.name)), None)):
        return hit
    if (only := sole_input(obs)) is not None:
        return only
    # a date / time input shows its format ("mm/dd/yyyy", "--:-- --") and is no text field to the detector
    masked = [e for e in visible(obs) if e.role != Role.TEXT and MASK.match(e.label.strip())]
    return fields[0] if fields else masked[0] if masked else None


def value_in(obs: Observation, box: Element) -> str:
    """What a field shows now: the contents of whatever lies inside its box (a field's value,
    a box's or a text's words; a date input may read as two boxes "02/14/" and "2015"), in
    reading order; else its pixels read without the caret."""
    def inside(e: Element) -> bool:
        return box.bbox[0] - 2 <= e.center[0] <= box.bbox[2] + 2 and box.bbox[1] - 2 <= e.center[1] <= box.bbox[3] + 2

    parts = []
    for e in sorted((e for e in visible(obs) if inside(e)), key=lambda e: e.bbox[0]):
        field = e.role == Role.TEXT_FIELD or e.editable  # its name is a label outside it
        if text := (e.value or "") if field else (e.value or e.name):
            parts.append(text)
    return " ".join(parts) or _read_pixels(obs, box)


def _caretless(crop: np.ndarray) -> np.ndarray:
    """A field's pixels without its caret and focus ring: thin dark columns much taller than
    the glyphs beside them (a digit's stem is as tall as the other digits; a lone "1" stays)."""
    dark = crop.mean(axis=2) < 110
    dark[dark.mean(axis=1) > 0.5] = False  # a border's rows are no text
    if not dark.any():
        return crop
    tall = dark[dark.any(axis=1)].mean(axis=0) > 0.75
    thin = [(a, b) for a, b in true_runs(tall) if b - a <= 8]
    other = dark.copy()
    for a, b in thin:
        other[:, max(0, a - 3): b + 3] = False  # with the antialiased edge of a rounded ring
    rows = np.nonzero(other.any(axis=1))[0]
    glyph = int(rows[-1] - rows[0] + 1) if len(rows) else 0
    out = crop.copy()
    for a, b in thin:
        col = np.nonzero(dark[:, a:b].any(axis=1))[0]
        extent = int(col[-1] - col[0] + 1)
        if glyph >= 0.4 * extent and extent >= 1.3 * glyph:
            out[:, a:b] = 255
    return out


def _read_pixels(obs: Observation, box: Element) -> str:
    """A field's text read from its pixels, without the caret that sticks to the last glyph
    (OCR reads "0|" as nothing)."""
    from PIL import Image

    from grounding.ocr import default_engine

    if obs.screenshot is None:
        return ""
    inset = max(2, min(6, box.height // 6))
    x0, y0, x1, y1 = box.bbox[0] + inset, box.bbox[1] + inset, box.bbox[2] - inset, box.bbox[3] - inset
    if x1 - x0 < 4 or y1 - y0 < 4:
        return ""
    crop = np.asarray(obs.screenshot.convert("RGB").crop((x0, y0, x1, y1)))
    return " ".join(b.text for b in default_engine().read(Image.fromarray(_caretless(crop))))


def _number_in(obs: Observation, field: Element) -> float | None:
    """The number a field shows: the parsed value, else its pixels read without the caret."""
    v = number(value_in(obs, field))
    return v if v is not None else number(_read_pixels(obs, field))


def spinner(goal: SpinGoal, seen: Seen) -> Steps:
    """Postcondition: the field reads `goal.value`. Between arrow clicks a value OCR cannot
    read (a caret glued to it) is counted from the step; the last one must be read."""
    obs = seen.obs
    want = number(goal.value)
    field = field_for(obs, goal.target)
    if field is None or want is None:
        yield fail(goal, "no number field is on the screen" if field is None else f"{goal.value!r} is not a number")
        return
    if _number_in(obs, field) == want:
        return
    arrows = _arrows(obs, field)
    target = Target(element=field.id, description="the spinner's field")
    seen = yield Attempt((TypeText(text=goal.value, target=target, clear=True),), "typing the number")
    last, count, step, looks = _number_in(seen.obs, field), 0, None, 0
    while count < 25:
        if last == want or last is None:
            read = _number_in(seen.obs, field)
            if last is not None and read is not None and (read == want or abs(read) == abs(want) == abs(last)):
                return  # read back (a short number's minus sign may be lost; the count has it)
            if looks >= 2:
                break
            looks += 1  # the caret blinks: read it again in a moment
            seen = yield Attempt((Wait(seconds=0.5),), "its value is not readable yet")
            last = _number_in(seen.obs, field) if last is None else last
            continue
        up = want > last
        if arrows is not None:
            ax, ay = arrows.center[0], arrows.bbox[1] + arrows.height * (0.25 if up else 0.75)
            act: Click | Key = Click(target=at_point(seen.obs, ax, ay, f"the spinner's {'up' if up else 'down'} arrow"))
        else:
            act = Key(keys=("up" if up else "down",))
        seen = yield Attempt((act,), f"it shows {last:g}")
        now, count = _number_in(seen.obs, field), count + 1
        if now == last:
            yield fail(goal, f"its arrows do not change it (it shows {last:g})")
            return
        expected = last + (step if up else -step) if step is not None else None
        if now is None or (expected is not None and now != expected and abs(now) == abs(expected)):
            now = expected  # unreadable, or OCR dropped a short number's minus sign: the count tells
        elif step is None:
            step = abs(now - last)
        last = now
    yield fail(goal, "its value could not be read" if last is None or last == want else f"it shows {last:g}")


# -- lines on the screen ------------------------------------------------------------------


def compact(s: str) -> str:
    return re.sub(r"\W+", "", s.casefold())


def find_line(obs: Observation, text: str, below: int) -> Target | None:
    """Where a line reading `text` is, below y=`below`: an element named so, else a line read
    from the pixels (an opened list is often one element whose name runs all its lines)."""
    from grounding.ocr import default_engine

    want = compact(text)
    hit = next((e for e in visible(obs) if e.bbox[1] >= below and compact(e.label) == want), None)
    if hit is not None:
        return Target(element=hit.id, description=text)
    if obs.screenshot is None:
        return None
    w, h = obs.screen_size
    for box in default_engine().read(obs.screenshot, (0, below, w, h)):
        if compact(box.text) == want:
            return at_point(obs, (box.bbox[0] + box.bbox[2]) / 2, (box.bbox[1] + box.bbox[3]) / 2, text)
    return None
