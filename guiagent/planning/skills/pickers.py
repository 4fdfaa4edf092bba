"""Skills for values picked in a popup: dates and times (typed segment by segment into a
masked input, as text into a text field, or clicked on a calendar), and closed drop-downs
drawn as a box with a ▾ (opened, the option found, clicked). Each reads the result back;
a failure says what the screen shows, never a success it did not see."""

from __future__ import annotations

import re
from dataclasses import dataclass

from guiagent.planning.instructions import DateTimeGoal, SelectGoal
from guiagent.planning.skills.common import Attempt, Seen, Steps, reading_order, same_row, visible
from guiagent.planning.skills.widgets import (
    ARROWS,
    MASK,
    at_point,
    compact,
    fail,
    field_for,
    find_line,
    value_in,
)
from guiagent.schema import Click, DoubleClick, Element, Key, Observation, Role, Target, TypeText, Wait


@dataclass(frozen=True)
class When:
    """A date (year, month, day) or a time (hour 0-23, minute) read from text."""

    parts: tuple[int, ...]


_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def read_time(text: str) -> When | None:
    m = re.search(r"(\d{1,2})\s?[:.]\s?(\d{2})(?:\s?[:.]\s?\d{2})?\s*([ap])?\.?\s?m?", text.strip(), re.I)
    if m is None:
        return None
    h, mi, ap = int(m.group(1)), int(m.group(2)), (m.group(3) or "").lower()
    if ap == "p" and h < 12:
        h += 12
    elif ap == "a" and h == 12:
        h = 0
    return When((h, mi)) if h < 24 and mi < 60 else None


def read_date(text: str) -> When | None:
    t = text.strip().lower()
    if m := re.search(r"(\d{4})\s?[-/.]\s?(\d{1,2})\s?[-/.]\s?(\d{1,2})", t):
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    elif m := re.search(r"(\d{1,2})\s?[/.-]\s?(\d{1,2})\s?[/.-]\s?(\d{2,4})", t):
        mo, d, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
    elif m := re.search(r"([a-z]{3})[a-z]*\.?\s(\d{1,2})(?:st|nd|rd|th)?,?\s(\d{4})", t):
        if m.group(1) not in _MONTH_NAMES:
            return None
        mo, d, y = _MONTH_NAMES.index(m.group(1)) + 1, int(m.group(2)), int(m.group(3))
    elif m := re.search(r"(\d{1,2})(?:st|nd|rd|th)?\s(?:of\s)?([a-z]{3})[a-z]*\.?,?\s(\d{4})", t):
        if m.group(2) not in _MONTH_NAMES:
            return None
        d, mo, y = int(m.group(1)), _MONTH_NAMES.index(m.group(2)) + 1, int(m.group(3))
    else:
        return None
    y += 2000 if y < 100 else 0
    return When((y, mo, d)) if 1 <= mo <= 12 and 1 <= d <= 31 else None


def _keys_for(kind: str, when: When, mask: str) -> str:
    """The digits a segmented input takes, in the order its mask shows ("dd/mm/yyyy")."""
    if kind == "time":
        h, mi = when.parts
        return f"{(h % 12) or 12:02d}{mi:02d}{'P' if h >= 12 else 'A'}"
    y, mo, d = when.parts
    order = [c for c in re.sub(r"[^mdy]", "", mask.lower()) if c] or list("mmddyyyy")
    first = "".join(dict.fromkeys(order))
    seg = {"m": f"{mo:02d}", "d": f"{d:02d}", "y": f"{y:04d}"}
    return "".join(seg[c] for c in first) if sorted(first) == ["d", "m", "y"] else f"{mo:02d}{d:02d}{y:04d}"


def datetime(goal: DateTimeGoal, seen: Seen) -> Steps:
    """Postcondition: the field reads the asked date / time (compared as a date / time, so
    "06:15 AM" is "6:15 am"); a calendar or clock that opened is closed again."""
    obs = seen.obs
    read = read_time if goal.kind == "time" else read_date
    want = read(goal.text)
    field = field_for(obs, goal.field, goal.kind)
    if field is None or want is None:
        yield fail(goal, f"no {goal.kind} field is on the screen" if field is None else f"{goal.text!r} is not a {goal.kind}")
        return
    shows = value_in(obs, field)
    if read(shows) == want:
        return
    # a date / time input draws its segments ("--:-- --", "mm/dd/yyyy") in a box that is no
    # text field to the detector; an empty text field takes the text as written
    masked = bool(MASK.match(shows.strip())) or (field.role == Role.BUTTON and not field.editable)
    if masked:  # typing goes to the segment clicked: its first one, near the left edge
        x = min(field.bbox[0] + max(8, field.height // 3), field.center[0])
        target = at_point(obs, x, field.center[1], f"the {goal.kind} field's first part")
        text = _keys_for(goal.kind, want, shows)
    else:
        target, text = Target(element=field.id, description=f"the {goal.kind} field"), goal.text
    seen = yield Attempt((TypeText(text=text, target=target, clear=not masked),), f"typing {text!r}")
    got = value_in(seen.obs, field)
    if read(got) != want and seen.changed is not False and not got.strip() and _heading(seen.obs) is None:
        # a picker may still be fading in (one whose heading reads already is paged at once)
        seen = yield Attempt((Wait(seconds=0.3),), "the field reads nothing yet")
        got = value_in(seen.obs, field)
    if read(got) != want and goal.kind == "date" and _heading(seen.obs) is not None:
        yield from _calendar(goal, seen, want, field)  # a read-only field with a date picker
        return
    if read(got) != want:
        yield fail(goal, f"the field reads {got!r}" if got.strip() else "the field reads nothing")
        return
    if len(visible(seen.obs)) >= len(visible(obs)) + 5:  # a calendar / clock popped up over the form
        seen = yield Attempt((Key(keys=("escape",)),), "closing the picker that opened")
        if read(value_in(seen.obs, field)) != want:
            yield fail(goal, f"after closing the picker the field reads {value_in(seen.obs, field)!r}")


def _heading(obs: Observation) -> tuple[Element, int, int] | None:
    """A calendar's "December 2016" heading: (element, year, month)."""
    for e in visible(obs):
        m = re.fullmatch(r"([a-z]{3})[a-z]*\.?\s*(\d{4})", e.label.strip().lower())
        if m and m.group(1) in _MONTH_NAMES:
            return e, int(m.group(2)), _MONTH_NAMES.index(m.group(1)) + 1
    return None


def _arrow(obs: Observation, head: Element, back: bool) -> Target:
    """The calendar's previous / next month arrow: an icon on the heading's row beyond its
    end (the detector's button / icon / round glyph), else a point over the first / last
    weekday column (where the arrows sit on the heading's row)."""
    side = [e for e in visible(obs) if e.role != Role.TEXT and e.id != head.id and same_row(e, head)
            and e.width <= 3 * head.height and (e.bbox[2] <= head.bbox[0] if back else e.bbox[0] >= head.bbox[2])]
    what = f"the calendar's {'previous' if back else 'next'} month arrow"
    if side:
        icon = min(side, key=lambda e: e.bbox[0]) if back else max(side, key=lambda e: e.bbox[2])
        return at_point(obs, icon.center[0], icon.center[1], what)
    days = [e for e in visible(obs) if e.bbox[1] > head.bbox[3] and re.fullmatch(r"\d{1,2}", e.label.strip())]
    left = min((e.bbox[0] for e in days), default=head.bbox[0] - 3 * head.height)
    right = max((e.bbox[2] for e in days), default=head.bbox[2] + 3 * head.height)
    return at_point(obs, left + head.height * 0.7 if back else right - head.height * 0.7, head.center[1], what)


def _calendar(goal: DateTimeGoal, seen: Seen, want: When, field: Element) -> Steps:
    """Page the calendar to the month by its arrows, reading the heading after each press
    (a double click pages twice where the calendar counts both clicks: fewer slow looks at a
    full calendar), click the day, read the field back."""
    y, mo, d = want.parts
    double, idle = True, 0  # double clicks until one is seen to page only once; presses that did nothing
    for _ in range(24):
        found = _heading(seen.obs)
        if found is None:
            yield fail(goal, "the calendar closed before the day was chosen")
            return
        head, hy, hm = found
        diff = (y - hy) * 12 + (mo - hm)
        if diff == 0:
            break
        arrow = _arrow(seen.obs, head, diff < 0)
        twice = double and abs(diff) >= 2
        act: Click | DoubleClick = DoubleClick(target=arrow) if twice else Click(target=arrow)
        seen = yield Attempt((act,), f"it shows {head.label.strip()}")
        now = _heading(seen.obs)
        moved = (now[1] - hy) * 12 + (now[2] - hm) if now is not None else 0
        if now is not None and moved == 0 and idle == 0:  # pressed while the calendar faded in
            idle += 1
            continue
        if now is not None and (moved == 0 or (moved > 0) != (diff > 0)):
            yield fail(goal, f"its {'previous' if diff < 0 else 'next'} month arrow did not page it "
                             f"(it shows {now[0].label.strip()})")
            return
        if twice and abs(moved) == 1:
            double = False
    else:
        yield fail(goal, "the calendar never reached the month")
        return
    head = found[0]
    days = reading_order([e for e in visible(seen.obs) if e.bbox[1] > head.bbox[3] and e.label.strip() == str(d)])
    if not days:  # the calendar may still be fading in: look once more
        seen = yield Attempt((Wait(seconds=0.3),), f"day {d} is not readable yet")
        days = reading_order([e for e in visible(seen.obs) if e.bbox[1] > head.bbox[3] and e.label.strip() == str(d)])
    if days:
        day = days[-1] if d >= 15 else days[0]  # a neighbour month's days fill the first / last row
        where: Target | None = Target(element=day.id, description=f"day {d} of the calendar")
    else:
        where = find_line(seen.obs, str(d), head.bbox[3])
    if where is None:
        yield fail(goal, f"day {d} is not readable on the calendar")
        return
    seen = yield Attempt((Click(target=where),))
    for i in range(3):  # the calendar may fade out over a few frames; it must not hide the form
        if _heading(seen.obs) is None or (i == 0 and read_date(value_in(seen.obs, field)) == want):
            break  # closed, or fading out with the day taken (it is gone before the next look ends)
        seen = yield Attempt((Wait(seconds=0.3),) if i < 2 else (Key(keys=("escape",)),), "the calendar is closing")
    got = value_in(seen.obs, field)
    if read_date(got) != want:
        yield fail(goal, f"after picking the day the field reads {got!r}" if got.strip() else "the field reads nothing")


# -- drop-downs drawn as a box with an arrow ------------------------------------------------


def drawn_arrow(obs: Observation) -> Element | None:
    """The ▾ of a closed drop-down (OCR reads it as a glyph: "v", "▾", ...), topmost first."""
    glyphs = [e for e in visible(obs) if e.role in (Role.TEXT, Role.ICON, Role.BUTTON)
              and e.label.strip().lower() in ARROWS and e.height <= 48 and e.width <= 48]
    return min(glyphs, key=lambda e: (e.bbox[1], e.bbox[0]), default=None)


def dropdown(goal: SelectGoal, seen: Seen, arrow: Element) -> Steps:
    """Open the box by its arrow; click the option when the opened list shows it, else
    scroll the list a little, else type the option's text and Enter (a list searches what is
    typed, native or drawn). Postcondition: the closed box shows the option."""
    option = goal.option
    seen = yield Attempt((Click(target=Target(element=arrow.id, description="the drop-down's arrow")),),
                         f"{option.text!r} is inside a closed list")
    if seen.changed is False:
        yield fail(goal, "clicking its arrow opened nothing")
        return
    below = arrow.bbox[3] + arrow.height // 2
    hit = find_line(seen.obs, option.text, below)
    if hit is None:  # type-ahead: the list scrolls to what starts with the typed word
        prefix = option.text.split()[0] if option.text.split() else option.text
        seen = yield Attempt((TypeText(text=prefix),), f"the opened list does not show it; typing {prefix!r}")
        hit = find_line(seen.obs, option.text, below)
    for key in ("up", *["down"] * 6):  # then one option at a time (the match may sit cut off at an edge)
        if hit is not None:
            break
        seen = yield Attempt((Key(keys=(key,)),), f"looking further {key} the list")
        hit = find_line(seen.obs, option.text, below)
    if hit is None:
        yield fail(goal, "the opened list does not show it")
        return
    seen = yield Attempt((Click(target=hit),))
    row = [e for e in visible(seen.obs) if abs(e.center[1] - arrow.center[1]) <= max(arrow.height, 24)]
    if not any(shows(e.label, option.text) for e in row):
        said = ", ".join(repr(e.label) for e in row) or "nothing"
        yield fail(goal, f"after choosing it the drop-down shows {said}")


def shows(label: str, option: str) -> bool:
    """A closed box's text `label` shows `option`: whole, or cut short with an ellipsis
    ("5ft..." for "5ft 9in"); its ▾ glyph is not part of it."""
    text = " ".join(w for w in label.casefold().split() if w not in ARROWS)
    want = " ".join(option.casefold().split())
    if want and re.search(rf"(?:^|\W){re.escape(want)}(?:$|\W)", text):
        return True
    cut = re.match(r"^(.*?)(?:\.{2,}|…)$", text)  # "5ft..." for "5ft 9in", never for "6 ft"
    return bool(cut and len(compact(cut.group(1))) >= 2 and want.startswith(cut.group(1)))
