"""Choosing by meaning and moving things: tick the options closest in meaning to examples
("words similar to big, fast") or of a category ("all the fruits"), by MiniLM similarity of
the option labels; drag an item onto another or to a position of its list, or a clear distance
in a direction (checked on the pixels: it must have moved that way)."""

from __future__ import annotations

from dataclasses import dataclass

from guiagent.planning.instructions import DragGoal, NudgeGoal, SelectLikeGoal
from guiagent.planning.skills.common import (
    TOGGLES,
    Attempt,
    Notes,
    Seen,
    Steps,
    named,
    norm,
    reading_order,
    same_row,
    state,
    visible,
)
from guiagent.planning.skills.verify import Check
from guiagent.schema import Click, Done, Drag, Element, Observation, Point, Role, Target


def _labelled_toggles(obs: Observation) -> list[tuple[Element, str]]:
    """Each toggle with its label: its own name, else the text on its row nearest to it."""
    texts = [e for e in visible(obs) if e.role not in TOGGLES and e.label]
    out = []
    for t in reading_order([e for e in visible(obs) if e.role in TOGGLES]):
        label = t.label or min(((abs(x.center[0] - t.center[0]), x.label) for x in texts if same_row(x, t)),
                               default=(0, ""))[1]
        if label:
            out.append((t, label))
    return out


# An example's option must stand out: within UNCLEAR of the best other free option AND weakly
# similar to both (MiniLM barely knows a rare word: "depraved" scores 0.22 against "calm", 0.18
# against "favor"), the choice is a guess, and the skill says so in its thought. (Refusing
# instead, simulated on 300 click-checkboxes-soft word lists: 290 -> 274 right, 10 -> 8 wrong.)
UNCLEAR = 0.05
WEAK = 0.25


@dataclass(frozen=True)
class Picks:
    """The labels to choose, or why the choice cannot be made (`unclear`)."""

    chosen: list[int]
    unclear: str = ""


def pick_by_meaning(examples: tuple[str, ...], labels: list[str], how: str) -> Picks:
    """For "similar" each example gets its own label (one-to-one, the highest total
    similarity, a label never shared), `unclear` when one example's label is not clearly
    closer than the free ones; for a category every label close to it."""
    from grounding import semantic
    from grounding.form import assign

    if not labels:
        return Picks([])
    sims = [[float(v) for v in semantic.similarity(ex, labels)] for ex in examples]
    exact = [[norm(lab) == norm(ex) for lab in labels] for ex in examples]
    if how == "category":
        best = max(max(row) for row in sims)
        return Picks(sorted({i for e, row in enumerate(sims) for i, v in enumerate(row)
                             if exact[e][i] or v >= max(0.3, best - 0.15)}))
    pairs = assign([[2.0 if exact[e][i] else v for i, v in enumerate(row)] for e, row in enumerate(sims)])
    taken = set(pairs.values())
    for e, i in pairs.items():
        if exact[e][i]:
            continue
        rivals = [j for j in range(len(labels)) if j not in taken]
        rival = max(rivals, key=lambda j: sims[e][j], default=None)
        if rival is not None and sims[e][i] - sims[e][rival] < UNCLEAR and sims[e][rival] < WEAK:
            return Picks(sorted(taken), f"no option is clearly closest to {examples[e]!r}: {labels[i]!r} "
                                        f"({sims[e][i]:.2f}) and {labels[rival]!r} ({sims[e][rival]:.2f}) are as close")
    return Picks(sorted(taken))


def select_like(goal: SelectLikeGoal, seen: Seen, notes: Notes) -> Steps:
    boxes = _labelled_toggles(seen.obs)
    if not boxes:
        yield Attempt((Done(status="impossible", answer="there are no options to tick on the screen"),))
        return
    picks = pick_by_meaning(goal.examples, [lab for _, lab in boxes], goal.how)
    if picks.unclear:  # said in the thought, not refused: refusing cost 16 right picks per 2 wrong ones
        notes.lines.append(f"a guess: {picks.unclear}")
    for i in picks.chosen:
        box, label = boxes[i]
        if state(box) is True:
            continue
        ref_desc = f"the checkbox '{label}'"
        yield Attempt((Click(target=Target(element=box.id, description=ref_desc)), Click(target=Target(description=label))),
                      f"{label!r} is closest in meaning", Check("toggled", f"{label!r} to be ticked", on=True, where=box))


def _column(obs: Observation, item: Element) -> list[Element]:
    """The list `item` belongs to: texts of about its height stacked in its column."""
    return reading_order([e for e in visible(obs) if e.role not in (Role.WINDOW, Role.CONTAINER)
                          and e.label and abs(e.bbox[0] - item.bbox[0]) <= 40 and abs(e.height - item.height) <= 20]
                         or [item])


def drag(goal: DragGoal, seen: Seen) -> Steps:
    obs = seen.obs
    src = named(obs, goal.source)
    start = Target(element=src.id, description=goal.source.describe()) if src else Target(
        description=goal.source.describe())
    if goal.dest is not None:
        yield Attempt((Drag(start=start, end=Target(description=goal.dest.describe())),),
                      check=Check("acted", f"{goal.source.describe()} to move onto {goal.dest.describe()}"))
        return
    if src is None:
        yield Attempt((Done(status="impossible", answer=f"{goal.source.describe()} is not on the screen"),))
        return
    col = _column(obs, src)
    here = next((i for i, e in enumerate(col, 1) if e.id == src.id), 1)
    n = here + goal.offset if goal.position is None else len(col) if goal.position == -1 else goal.position
    if not 1 <= n <= len(col):
        yield Attempt((Done(status="impossible", answer=f"the list has {len(col)} items, not {n}"),))
        return
    at = col[n - 1]
    if at.id == src.id:
        return  # already there
    x = at.center[0]
    # drop on the near half of the item now at that place: above it when moving up
    y = at.bbox[1] + at.height // 4 if at.bbox[1] < src.bbox[1] else at.bbox[3] - at.height // 4
    w, h = obs.screen_size
    end = Target(point=Point(x=min(1.0, x / w), y=min(1.0, y / h)), description=f"position {n}")
    yield Attempt((Drag(start=start, end=end, duration=1.0),),
                  f"to where {at.label!r} is now",
                  Check("placed", f"{src.label!r} at position {n}", text=src.label, position=n, where=src))



_STEP = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}


def _movable(obs: Observation, goal: NudgeGoal) -> tuple[tuple[int, int, int, int], tuple[float, float]] | None:
    """The box of the thing to move: the element named, else the drawn thing of the colour
    said, else the largest thing drawn that is no text and no labelled control. With its box
    comes the point to grab: the centre of its pixels (inside a convex shape, even one drawn
    as an outline only)."""
    from grounding.colors import accepts, fit, patches
    from grounding.shapes import things

    if goal.source is not None:
        el = named(obs, goal.source)
        return (el.bbox, el.center) if el is not None else None
    skip = [e.bbox for e in visible(obs) if len(e.label.strip()) >= 2]
    drawn = things(obs.screenshot, skip)
    if goal.color:
        tinted = sorted((fit(goal.color, p.rgb), p.center) for p in patches(obs.screenshot) if accepts(goal.color, p.rgb))
        cx, cy = tinted[0][1] if tinted else (-1.0, -1.0)
        drawn = [t for t in drawn if t.bbox[0] <= cx < t.bbox[2] and t.bbox[1] <= cy < t.bbox[3]]
    return (drawn[0].bbox, drawn[0].center) if drawn else None


def _moved(before: tuple[int, int, int, int], obs: Observation, direction: str) -> float:
    """How far (px) the thing of about `before`'s size now drawn moved in `direction`."""
    from grounding.shapes import things

    size = (before[2] - before[0]) * (before[3] - before[1])
    skip = [e.bbox for e in visible(obs) if len(e.label.strip()) >= 2]
    drawn = [t for t in things(obs.screenshot, skip)
             if 0.5 <= (t.bbox[2] - t.bbox[0]) * (t.bbox[3] - t.bbox[1]) / max(size, 1) <= 2]
    if not drawn:
        return 0.0
    dx, dy = _STEP[direction]
    bx, by = (before[0] + before[2]) / 2, (before[1] + before[3]) / 2
    return max(((t.bbox[0] + t.bbox[2]) / 2 - bx) * dx + ((t.bbox[1] + t.bbox[3]) / 2 - by) * dy for t in drawn)


def nudge(goal: NudgeGoal, seen: Seen, notes: Notes) -> Steps:
    """Drag the thing a clear distance (its own size, 40 px at least, less where something
    else or the screen's edge comes first), then check on the pixels that it moved that way."""
    from grounding.shapes import room

    obs = seen.obs
    found = _movable(obs, goal)
    what = goal.source.describe() if goal.source is not None else f"the {goal.color + ' ' if goal.color else ''}item"
    if found is None:
        yield Attempt((Done(status="impossible", answer=f"{what} is not on the screen"),))
        return
    box, grab = found
    dx, dy = _STEP[goal.direction]
    extent = box[2] - box[0] if dx else box[3] - box[1]
    free = room(obs.screenshot, box, goal.direction)
    far = max(12, min(max(40, extent), free - 4))
    x, y = grab
    w, h = obs.screenshot.size
    start = Point.from_pixels(x, y, (w, h))
    end = Point.from_pixels(x + dx * far, y + dy * far, (w, h))
    after = yield Attempt((Drag(start=Target(point=start, description=what),
                                end=Target(point=end, description=f"{far} px {goal.direction}"), duration=0.5),),
                          f"{what} is at {box}; {free} px free {goal.direction}")
    moved = _moved(box, after.obs, goal.direction)
    if moved < far / 3:
        yield Attempt((Done(status="impossible", answer=f"{what} did not move {goal.direction} "
                                                        f"({moved:.0f} px of {far})"),))
        return
    notes.lines.append(f"{what} moved {moved:.0f} px {goal.direction}")
