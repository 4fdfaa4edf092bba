"""Skills for the plain sub-goals: click, focus, type, keys, scroll, apps, toggles, and the
choice of an option (checkbox, radio, list item, closed drop-down). Each attempt carries the
postcondition of its sub-goal (`verify.Check`)."""

from __future__ import annotations

import re
from collections.abc import Generator

from grounding.detect import MULTILINE
from guiagent.planning.instructions import (
    BackGoal,
    ClickGoal,
    FocusGoal,
    HomeGoal,
    KeyGoal,
    OpenAppGoal,
    Ref,
    ScrollGoal,
    SelectGoal,
    SetToggleGoal,
    TypeGoal,
    WaitGoal,
    describe_goal,
)
from guiagent.planning.skills import pickers
from guiagent.planning.skills.common import (
    Attempt,
    Notes,
    Seen,
    Steps,
    field_targets,
    named,
    norm,
    nth,
    same_row,
    state,
    targets,
    text_fields,
    toggle,
    visible,
)
from guiagent.planning.skills.interrupt import sole_input
from guiagent.planning.skills.press import pointed_click
from guiagent.planning.skills.verify import Check
from guiagent.schema import (
    Back,
    Click,
    DoubleClick,
    Element,
    Home,
    Key,
    LongPress,
    Modifier,
    Observation,
    OpenApp,
    RightClick,
    Role,
    Scroll,
    Target,
    TypeText,
    Wait,
)

POINTER = {"click": Click, "double": DoubleClick, "right": RightClick, "long": LongPress}
_OPENS = {"tab", "section", "list"}  # clicking these must show something new


def drawn_list(obs: Observation, option: str) -> Element | None:
    """A closed drop-down the detector saw as a box: the only input on screen, or the box
    that shows a value shaped like the option ("5ft 1in" for "5ft 9in")."""
    from grounding.query import lexical_score, normalize

    if (box := sole_input(obs)) is not None:
        return box
    boxes = [e for e in visible(obs) if e.role in (Role.BUTTON, Role.TEXT_FIELD) and e.label]
    scored = [(lexical_score(normalize(option), normalize(e.label))[0], e) for e in boxes]
    best = max(scored, key=lambda t: t[0], default=(0.0, None))
    return best[1] if best[0] >= 0.5 else None


SAVED = Check("saved", "the file to be saved (no error, no unsaved-changes marker in the title)", lags=True)


def saves(keys: tuple[str, ...]) -> bool:
    """The save chord: ctrl+s (cmd+s)."""
    return len(keys) == 2 and keys[0] in ("ctrl", "cmd", "meta") and keys[1] == "s"


def click_check(ref: Ref) -> Check:
    if norm(ref.text) == "save" and ref.role in (None, "button", "icon", "menu"):
        return SAVED
    if ref.role in _OPENS:
        return Check("opened", f"{ref.describe()} to open")
    return Check("acted", f"clicking {ref.describe()} to have an effect")


def simple(goal: ClickGoal | FocusGoal | KeyGoal | ScrollGoal | OpenAppGoal | WaitGoal | BackGoal | HomeGoal,
           seen: Seen) -> Steps:
    obs = seen.obs
    match goal:
        case ClickGoal(target=ref, kind="click") if ref.role == "icon":
            # an icon: pointed at first, its effect checked off the pointer (press.py)
            ts = targets(ref)
            yield from pointed_click(Click(target=ts[0]), ts[0], None, obs, ref.describe())
        case ClickGoal(target=ref, kind=kind):
            el = nth_result(obs, ref) or field_of_kind(ref, obs)
            yield Attempt(tuple(POINTER[kind](target=t) for t in targets(ref, el)), check=click_check(ref))
        case FocusGoal(target=ref):
            ts, _ = field_targets(ref, obs)
            yield Attempt(tuple(Click(target=t) for t in ts), check=Check("acted", f"{ref.describe()} to take focus"))
        case KeyGoal(keys=keys, times=times):
            for i in range(times):
                yield Attempt((Key(keys=keys),), f"{i + 1} of {times}" if times > 1 else "",
                              SAVED if saves(keys) else None)
        case ScrollGoal(direction=d, times=times, amount=amount, anchor=anchor):
            anchors = targets(anchor) if anchor else (None,)
            for i in range(times):
                why = f"{i + 1} of {times}" if times > 1 else ""
                yield Attempt(tuple(Scroll(direction=d, amount=amount, anchor=a) for a in anchors), why)
        case OpenAppGoal(name=name):
            yield Attempt((OpenApp(name=name),), check=Check("opened", f"{name} to open"))
        case WaitGoal(seconds=s):
            yield Attempt((Wait(seconds=s),))
        case BackGoal():
            yield Attempt((Back(),))
        case HomeGoal():
            yield Attempt((Home(),))


def nth_result(obs: Observation, ref: Ref) -> Element | None:
    """"the 2nd search result": the 2nd link below the search field."""
    if ref.ordinal is None or not re.fullmatch(r"(?:search )?results?", norm(ref.text)):
        return None
    fields = text_fields(obs)
    top = fields[-1].bbox[3] if fields else 0
    return nth([e for e in visible(obs) if e.role == Role.LINK and e.bbox[1] >= top], ref.ordinal)


def field_of_kind(ref: Ref, obs: Observation) -> Element | None:
    """"the text area" / "a text input": the (Nth) field of that kind when the screen tells
    multi-line fields (a text area's resize grip) from single-line ones; any field when it
    shows none of that kind. None when `ref` names no kind (the grounder decides)."""
    if ref.role != "field" or ref.text or ref.multiline is None:
        return None
    fields = text_fields(obs)
    kind = [f for f in fields if bool(f.extras.get(MULTILINE)) is ref.multiline]
    return nth(kind or fields, ref.ordinal)


_VALUE_OF = re.compile(r"^(?:the\s+)?(?:value|number|text|entry|content)\s+(?:of|for|in)\s+(?:the\s+)?(?P<x>.+)$", re.I)


def value_of(obs: Observation, label: str) -> str | None:
    """The value a table or form shows for `label`: the text right of it on its row, or the
    rest of its OCR line ("First name Bob")."""
    want = norm(label)
    for e in visible(obs):
        have = norm(e.label)
        if have == want:
            row = [x for x in visible(obs) if x.id != e.id and x.label and same_row(x, e) and x.bbox[0] >= e.bbox[2] - 4]
            if row:
                return min(row, key=lambda x: x.bbox[0]).label.strip()
        elif have.startswith(want + " ") and e.role == Role.TEXT:
            return e.label.strip()[len(label.strip()):].strip(" :")
    return None


def typing(goal: TypeGoal, obs_or_seen: Seen, field_ref: Ref | None = None) -> Attempt:
    """Type into the field the goal names (or `field_ref`, a field chosen by the caller), else
    the focused / first field on screen. Postcondition: the field holds the text (after Enter
    the form may be gone, so only an effect is asked for)."""
    obs = obs_or_seen.obs
    ref = field_ref or goal.field
    if (m := _VALUE_OF.match(goal.text)) and (shown := value_of(obs, m.group("x"))):
        goal = TypeGoal(shown, goal.field, goal.submit)  # "enter the value of First name": read it
    field: Element | None = None
    ts: tuple[Target | None, ...]
    if ref is not None and (field := field_of_kind(ref, obs)) is not None:
        ts, why = targets(ref, field), ""
    elif ref is not None:
        ts, field = field_targets(ref, obs)
        why = ""
    else:
        fields = text_fields(obs)
        focused = next((f for f in fields if f.focused), None)
        if focused is not None or not fields:
            ts, why = (None,), "into the focused field" if focused else "no text field seen; typing as is"
        else:
            field = fields[0]
            ts, why = targets(Ref("", "field", 1 if len(fields) > 1 else None), field), ""
    clear = bool(field is not None and field.value)  # replace what is there, do not append to it
    where = ref.describe() if ref is not None else "the field"
    check = Check("acted", f"typing into {where} to have an effect") if goal.submit \
        else Check("holds", f"{where} to hold {goal.text!r}", text=goal.text, where=field)
    return Attempt(tuple(TypeText(text=goal.text, target=t, submit=goal.submit, clear=clear) for t in ts), why, check)


def set_toggle(goal: SetToggleGoal, seen: Seen, notes: Notes) -> Steps:
    ref, on = goal.target, goal.on
    el = toggle(seen.obs, ref)
    now = state(el) if el is not None else None
    if now is on:
        notes.lines.append(f"skipped '{describe_goal(goal)}': it is already {'on' if on else 'off'}")
        return
    why = "state unknown, clicking it" if now is None else f"it is {'off' if on else 'on'}"
    yield Attempt(tuple(Click(target=t) for t in targets(ref, el)), why,
                  Check("toggled", f"{ref.describe()} to be {'on' if on else 'off'}", on=on, where=el))


def _about_shown(obs: Observation, text: str) -> bool:
    """Some visible text reads as `text` up to OCR confusions ("Alikee" is not "Ashlie")."""
    from grounding.query import lexical_score, normalize

    want = normalize(text)
    return any(lexical_score(want, normalize(e.label))[0] >= 0.75 for e in visible(obs) if e.label)


def text_stack(obs: Observation, roles: tuple[Role, ...] = (Role.TEXT, Role.LIST_ITEM)) -> list[Element]:
    """The tallest stack of left-aligned text lines of one height, top to bottom (a list box's
    visible options, a text area's lines)."""
    texts = [e for e in visible(obs) if e.role in roles and e.label]
    stacks = [sorted((o for o in texts if abs(o.bbox[0] - e.bbox[0]) <= 8 and abs(o.height - e.height) <= 6),
                     key=lambda o: o.bbox[1]) for e in texts]
    return max(stacks, key=len, default=[])


def _list_column(obs: Observation) -> Element | None:
    """The middle entry of the tallest stack of text lines; None when no stack of 3 shows."""
    tallest = text_stack(obs)
    return tallest[len(tallest) // 2] if len(tallest) >= 3 else None


LIST_SCROLLS = 8  # wheel steps per direction through a list box looking for an option


def _scroll_list_to(text: str, column: Element, seen: Seen) -> Generator[Attempt, Seen, Seen]:
    """Scroll the list box down, then up, a notch at a time until `text` shows in it."""
    anchor = Target(point=seen.obs.point_of(column), description="the list")  # ids do not outlive a scroll
    for direction in ("down", "up"):
        for _ in range(LIST_SCROLLS):
            seen = yield Attempt((Scroll(direction=direction, amount=0.05, anchor=anchor),),
                                 f"{text!r} may be further in the list")
            if _about_shown(seen.obs, text):
                return seen
            if seen.changed is False:
                break  # the end of the list this way
    return seen


_PICKED = "picked in "  # Notes.memory key prefix: a list this task has chosen an option of


def select(goal: SelectGoal, seen: Seen, notes: Notes) -> Steps:
    """A checkbox / radio option, an item of an open list, or an option of a closed drop-down
    (focus it, type the option, Enter). Skipped when already selected."""
    obs, option = seen.obs, goal.option
    el = toggle(obs, option)
    if el is not None:
        if state(el) is True:
            notes.lines.append(f"skipped '{describe_goal(goal)}': it is already selected")
            return
        yield Attempt(tuple(Click(target=t) for t in targets(option, el)),
                      check=Check("toggled", f"{option.describe()} to be selected", on=True, where=el))
        return
    boxes = [e for e in visible(obs) if e.role == Role.COMBOBOX]
    if not boxes and goal.in_list is not None and named(obs, option) is None \
            and (arrow := pickers.drawn_arrow(obs)) is not None:
        yield from pickers.dropdown(goal, seen, arrow)  # a box drawn with a ▾: open it, pick, check
        return
    if goal.in_list is not None and goal.in_list.text:
        wanted = norm(goal.in_list.text)
        boxes.sort(key=lambda e: norm(e.name) != wanted)
    elif not boxes and goal.in_list is not None and (box := drawn_list(obs, option.text)) is not None:
        boxes = [box]  # "from the list": a drop-down drawn as a box shows its choice as its name
    shows = (boxes[0].value if boxes[0].role == Role.COMBOBOX else boxes[0].value or boxes[0].name) if boxes else ""
    if boxes and norm(shows or "") == norm(option.text):
        notes.lines.append(f"skipped '{describe_goal(goal)}': it is already selected")
        return
    shown = named(obs, option, exclude=boxes)
    # a list that already holds one of this task's picks is a multi-select one: there a plain
    # click would replace the selection, ctrl+click adds to it
    picked = f"{_PICKED}{goal.in_list.describe()}" if goal.in_list is not None else ""
    mods: tuple[Modifier, ...] = ("ctrl",) if picked in notes.memory else ()
    if picked:
        notes.memory[picked] = shown
    if shown is not None and shown.role in (Role.LIST_ITEM, Role.MENU_ITEM) and state(shown) is True:
        notes.lines.append(f"skipped '{describe_goal(goal)}': it is already selected")
        return
    if shown is None and not boxes and goal.in_list is not None and not _about_shown(obs, option.text) \
            and (column := _list_column(obs)) is not None:
        yield from _scroll_list_to(option.text, column, seen)  # then click it (the grounder finds it)
    chosen = Check("selected", f"{option.text!r} to be chosen", text=option.text, where=boxes[0] if boxes else None)
    if shown is None and boxes:  # a closed drop-down: focus it, type the option, Enter
        desc = f"{goal.in_list.text} drop-down".strip() if goal.in_list and goal.in_list.text else "the drop-down"
        ts = (Target(element=boxes[0].id, description=desc), Target(description=desc))
        yield Attempt(tuple(TypeText(text=option.text, target=t, submit=True) for t in ts),
                      f"{option.text!r} is inside a closed list", chosen)
        return
    yield Attempt(tuple(Click(target=t, modifiers=mods) for t in targets(option)),
                  check=Check("acted", f"{option.text!r} to be chosen"))
