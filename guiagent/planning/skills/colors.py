"""Things named by their colour: "click the red box" (the uniform-colour patch the colour word
fits best, grounding.colors), "tick every blue square" / "select all the shades of red" (each
patch of that colour, or of that hue however light or dark, of the size the others share).
Each click is checked on the pixels: the patch it aimed at must look different after it (a
selection mark), else it is said in the thought; a single click whose page changed nowhere
is the planner's ordinary "nothing changed"."""

from __future__ import annotations

import statistics

from guiagent.planning.instructions import ColorGoal, Ref
from guiagent.planning.skills.common import Attempt, Notes, Seen, Steps, named
from guiagent.planning.skills.verify import Check
from guiagent.schema import Click, Done, Observation, Point, Target

_SAME = 4.0  # Lab distance: colours this close are one colour (the best fit ties)


def _changed(before: Observation, after: Observation, box: tuple[int, int, int, int], pad: int = 4) -> bool:
    """The pixels around `box` differ between the two frames (a mark, a border, a new colour)."""
    import numpy as np

    x0, y0, x1, y1 = box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad
    a = np.asarray(before.screenshot.convert("RGB").crop((x0, y0, x1, y1)), dtype=np.int16)
    b = np.asarray(after.screenshot.convert("RGB").crop((x0, y0, x1, y1)), dtype=np.int16)
    return a.shape == b.shape and bool((np.abs(a - b).max(axis=2) > 24).mean() > 0.02)


def pixel_point(obs: Observation, x: float, y: float) -> Point:
    """A point given in screenshot pixels (the screenshot may be scaled from the screen)."""
    return Point.from_pixels(x, y, obs.screenshot.size)


def color_click(goal: ColorGoal, seen: Seen, notes: Notes) -> Steps:
    from grounding.colors import accepts, fit, patches, shade_of

    obs = seen.obs
    found = patches(obs.screenshot)
    word = goal.color
    if goal.every:
        test = shade_of if goal.shades else accepts
        chosen = [p for p in found if test(word, p.rgb)]
        if chosen:  # the tiles of a set share a size: a big panel or a button of the colour is not one
            typical = statistics.median_low(p.size[0] * p.size[1] for p in chosen)
            chosen = [p for p in chosen if typical / 3 <= p.size[0] * p.size[1] <= typical * 3]
    else:
        fits = sorted((fit(word, p.rgb), -p.size[0] * p.size[1], i) for i, p in enumerate(found) if accepts(word, p.rgb))
        chosen = [found[fits[0][2]]] if fits else []
        if len(fits) > 1 and fits[1][0] - fits[0][0] < _SAME and found[fits[1][2]].rgb != chosen[0].rgb:
            notes.lines.append(f"a guess: two things look {word} alike")
    what = f"shades of {word}" if goal.shades else f"{word} {goal.noun or 'thing'}"
    if not chosen:
        if (el := named(obs, Ref(word))) is not None:  # "press the Green button": a name after all
            yield Attempt((Click(target=Target(element=el.id, description=word)),), f"nothing {word} is drawn; "
                          f"clicking what is called {word!r}", Check("acted", f"a click on {word!r}"))
            return
        yield Attempt((Done(status="impossible", answer=f"nothing on the screen looks {word}"),))
        return
    chosen.sort(key=lambda p: (p.bbox[1], p.bbox[0]))
    missed = 0
    for k, p in enumerate(chosen, 1):
        before = seen.obs
        desc = f"the {word} {goal.noun or 'thing'} at {p.bbox[:2]}" if goal.every else f"the {word} {goal.noun or 'thing'}"
        why = f"{what}: {k} of {len(chosen)}, colour rgb{p.rgb}" if goal.every else f"its colour is rgb{p.rgb}"
        seen = yield Attempt((Click(target=Target(point=pixel_point(obs, *p.center), description=desc)),), why,
                             Check("acted", f"a click on {desc}"))
        if seen is not None and not _changed(before, seen.obs, p.bbox):
            missed += 1
    if missed:
        notes.lines.append(f"{missed} of the {len(chosen)} clicks on the {what} showed no change there")
