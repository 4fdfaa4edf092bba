"""Clicking an icon so that the click counts, and checking that it did.

Point first, then press: many icons swap their image on hover (a grey heart turns red), and a
press that lands while the hover image is still loading falls on the icon's parent, so the
page sees no click; the hover look alone then passes for an effect (seen on a web list: 4 of
20 "liked" posts were never liked). So the pointer goes to the icon, the screen settles, then
the button goes down.

After the press, a change confined to the icon's own box may still be only its hover look:
the pointer moves off and the icon is compared with how it looked before. Back as it was: the
click did nothing, and it is made once more (nothing toggled, so a repeat cannot undo it);
still nothing, and the skill says so instead of claiming it. Changed (a filled heart, a star):
a toggle, done. A change elsewhere on the screen (a menu, a page, a dialog) is the effect.
"""

from __future__ import annotations

from collections.abc import Generator

import numpy as np

from guiagent.planning.skills.common import Attempt, Seen
from guiagent.planning.skills.pixels import NOISE, Box, changed, grey, px_box
from guiagent.schema import Action, Done, Hover, Observation, Target

_MARGIN = 6  # px around the icon that its hover look may also touch (a ring, a tooltip's edge)


def changed_outside(before: Observation, after: Observation, box: Box) -> bool:
    """Some pixel away from `box` (screenshot px) changed by more than noise."""
    a, b = grey(before), grey(after)
    if a is None or b is None or a.shape != b.shape:
        return True
    moved = np.abs(a - b) > NOISE
    x0, y0, x1, y1 = box
    moved[max(0, y0 - _MARGIN): y1 + _MARGIN, max(0, x0 - _MARGIN): x1 + _MARGIN] = False
    return bool(moved.any())


def _away(obs: Observation, box: Box) -> Target:
    """A spot off the icon to rest the pointer on: above it, else below it."""
    img = obs.screenshot
    h = img.height if img is not None else 1
    w = img.width if img is not None else 1
    y = box[1] - 3 * (box[3] - box[1]) if box[1] > 3 * (box[3] - box[1]) else min(h - 2, box[3] + 3 * (box[3] - box[1]))
    return Target.at(min(0.99, max(0.01, (box[0] + box[2]) / 2 / w)), min(0.99, max(0.01, y / h)))


def pointed_click(click: Action, target: Target, box: Box | None, obs: Observation,
                  what: str) -> Generator[Attempt, Seen, Observation]:
    """Hover `target`, press `click` (a click action on it), check as the module doc says.
    `box`: the icon in screenshot pixels on `obs` (None: what the loop grounds the hover on).
    Returns the last screen."""
    for attempt in range(2):
        seen = yield Attempt((Hover(target=target),), f"pointing at {what} first: its hover look loads before the press")
        if box is None and seen.target is not None:
            box = px_box(obs, seen.target.bbox, cover=True)
        seen = yield Attempt((click,), "" if not attempt else f"{what} did not take the click; once more")
        if box is None or (seen.changed is not False and changed_outside(obs, seen.obs, box)):
            return seen.obs  # the effect shows beyond the icon (or nothing tells where the icon is)
        seen = yield Attempt((Hover(target=_away(obs, box)),), f"moving off {what} to see whether it changed")
        if changed(obs, seen.obs, box) or changed_outside(obs, seen.obs, box):
            return seen.obs  # it stays changed without the pointer: a toggle
    yield Attempt((Done(status="impossible", answer=f"clicking {what} had no effect, twice"),))
    return obs
