"""Going through a menu: "File > Save As", "Open in the File menu".

Each item of the path but the last is pointed at first (the pointer moves there; a
sub-menu opens on hover, and on a web menu a click on a parent item may already count as
choosing it); the skill then waits, bounded, for the next item to show. Only when pointing
showed nothing new at all is the item clicked (a menu bar title opens on a click). The last
item is clicked when it is there, by name; its effect is the postcondition.
"""

from __future__ import annotations

from guiagent.planning.instructions import MenuGoal, Ref
from guiagent.planning.skills.aim import aim
from guiagent.planning.skills.common import Attempt, Seen, Steps, named, norm, targets, visible
from guiagent.planning.skills.verify import Check
from guiagent.schema import Click, Hover, Observation, Target, Wait

WAITS = 3  # looks (0.3 s apart) for a sub-menu that opens late, before going on without it
PAUSE = 0.3


def aims(obs: Observation, ref: Ref) -> tuple[Target, ...]:
    """Where to point for `ref`: on its words inside a longer OCR label, else its element
    (then the description once more)."""
    if (spot := aim(obs, ref)) is not None:
        return spot, Target(description=ref.describe())
    return targets(ref, named(obs, ref, loose=False))


def _labels(obs: Observation) -> set[str]:
    return {norm(e.label) for e in visible(obs) if e.label}


def shows(obs: Observation, ref: Ref) -> bool:
    """`ref` can be read on the screen: by its name, inside a longer label, or nearly so."""
    from grounding.query import lexical_score, normalize

    want = normalize(ref.text)
    return named(obs, ref) is not None or aim(obs, ref, cut=False) is not None or any(
        lexical_score(want, normalize(e.label))[0] >= 0.85 for e in visible(obs) if e.label)


def through_menu(goal: MenuGoal, seen: Seen) -> Steps:
    obs, path = seen.obs, goal.path
    for i, ref in enumerate(path):
        if i + 1 == len(path) and not goal.opened_only:
            yield Attempt(tuple(Click(target=t) for t in aims(obs, ref)), "the last item of the menu path",
                          Check("acted", f"choosing {ref.describe()} to have an effect"))
            return
        nxt = path[i + 1] if i + 1 < len(path) else None
        if nxt is not None and shows(obs, nxt):
            continue  # its sub-menu is open already
        before, ts = _labels(obs), aims(obs, ref)
        if nxt is not None:
            # a device without a pointer (a phone) refuses the hover: nothing opens, so the item is clicked
            seen = yield Attempt(tuple(Hover(target=t) for t in ts), f"pointing at {ref.describe()} to open its sub-menu")
            obs = seen.obs
            for _ in range(WAITS):  # a sub-menu may open a moment after the pointer arrives
                if shows(obs, nxt):
                    break
                seen = yield Attempt((Wait(seconds=PAUSE),), f"waiting for {nxt.describe()} to show")
                obs = seen.obs
            if shows(obs, nxt) or _labels(obs) - before:  # something opened: the next step looks for it
                continue
            why = f"pointing at {ref.describe()} showed nothing new; clicking it"
        else:
            why = f"opening {ref.describe()}"
        seen = yield Attempt(tuple(Click(target=t) for t in ts), why,
                             Check("opened", f"{ref.describe()} to open"))
        obs = seen.obs
