"""Text skills: autocomplete (type the start, wait for the suggestions, pick the one that
fits) and copy / paste between fields."""

from __future__ import annotations

from guiagent.planning.instructions import AutocompleteGoal, CopyGoal, TypeGoal
from guiagent.planning.skills.basic import typing
from guiagent.planning.skills.common import Attempt, Notes, Seen, Steps, field_targets, text_fields, visible
from guiagent.planning.skills.verify import Check
from guiagent.schema import Click, Done, Element, Key, Observation, Role, Target, Wait


def suggestions(obs: Observation, prefix: str, suffix: str, below: int) -> list[Element]:
    """Visible texts under the field that start with `prefix` and end with `suffix`."""
    p, s = prefix.casefold(), suffix.casefold()
    return [e for e in visible(obs) if e.role != Role.TEXT_FIELD and not e.editable and e.bbox[1] >= below
            and e.label.strip().casefold().startswith(p) and e.label.strip().casefold().endswith(s)
            and len(e.label.strip()) > len(p)]


def autocomplete(goal: AutocompleteGoal, seen: Seen) -> Steps:
    first = typing(TypeGoal(goal.prefix, goal.field), seen)
    seen = yield first
    field = seen.target or (first.check.where if first.check else None)
    below = field.bbox[3] - 4 if field is not None else 0
    for _ in range(3):
        if hits := suggestions(seen.obs, goal.prefix, goal.suffix, below):
            pick = hits[0]
            yield Attempt((Click(target=Target(element=pick.id, description=pick.label)),),
                          f"the suggestion {pick.label!r}",
                          Check("holds", f"the field to hold {pick.label.strip()!r}", text=pick.label.strip(),
                                where=field))
            return
        seen = yield Attempt((Wait(seconds=0.5),), "waiting for the suggestions")
    ends = f" and ends with {goal.suffix!r}" if goal.suffix else ""
    yield Attempt((Done(status="impossible", answer=f"no suggestion starts with {goal.prefix!r}{ends}"),))


def copy_paste(goal: CopyGoal, seen: Seen, notes: Notes) -> Steps:
    """Copy: click into the source, select all, copy. Paste: click into the field, select
    all (so the paste replaces), paste. A field named only by its role is the largest one
    for a copy, and another one than the source for a paste."""
    obs, ref = seen.obs, goal.target
    el: Element | None = None
    if not ref.text and ref.ordinal is None:
        fields = text_fields(obs)
        src = notes.memory.get("copied")
        if goal.paste:
            others = [f for f in fields if src is None or abs(f.center[1] - src.center[1]) > 4]
            el = min(others, key=lambda f: f.width * f.height, default=None)
        else:
            el = max(fields, key=lambda f: f.width * f.height, default=None)
    if el is None:
        _, el = field_targets(ref, obs)
    target = Target(element=el.id, description=ref.describe()) if el is not None else Target(description=ref.describe())
    if el is None and not ref.text:
        yield Attempt((Done(status="impossible", answer=f"there is no {ref.describe()} on the screen"),))
        return
    seen = yield Attempt((Click(target=target),), "into it first")
    if not goal.paste:
        notes.memory["copied"] = seen.target or el
    yield Attempt((Key(keys=("ctrl", "a")),), "select all")
    yield Attempt((Key(keys=("ctrl", "v" if goal.paste else "c")),), "paste" if goal.paste else "copy",
                  Check("acted", f"the text to be pasted into {ref.describe()}") if goal.paste else None)
