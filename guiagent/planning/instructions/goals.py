"""The sub-goals an instruction parses into: a small union of frozen dataclasses."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

_ROLE_DISPLAY = {"radio": "radio button"}


def ordinal_text(n: int) -> str:
    """1 -> "1st", 22 -> "22nd", -1 -> "last"."""
    if n == -1:
        return "last"
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@dataclass(frozen=True)
class Ref:
    """A thing on the screen as the instruction names it: its text, a role word (button,
    field, checkbox, radio, link, tab, switch, icon, item, section, list, image), an ordinal
    (1-based, -1 = last). `describe()` is the phrase handed to the grounder."""

    text: str = ""
    role: str | None = None
    ordinal: int | None = None
    quoted: bool = False
    multiline: bool | None = None  # a field: True "text area", False "text input", None either

    def describe(self, with_role: bool = True) -> str:
        role = self.role if with_role else None
        order = f"{ordinal_text(self.ordinal)} " if self.ordinal is not None else ""
        if role is None:
            return f"the {order}{self.text or 'item'}" if order else self.text
        shown = _ROLE_DISPLAY.get(role, role)
        if not self.text:
            field = "text area" if self.multiline else "text field"
            return f"the {order}{field if role == 'field' else shown}"
        if re.search(rf"\b{shown.split()[0]}", self.text, re.I):  # "Tab #2": the name says it already
            return f"the {order}'{self.text}'" if order else f"'{self.text}'"
        if order:
            return f"the {order}{self.text} {shown}"
        if self.quoted:
            q = '"' if "'" in self.text else "'"
            return f"the {shown} {q}{self.text}{q}"
        return f"{self.text} {shown}"


ClickKind = Literal["click", "double", "right", "long"]


@dataclass(frozen=True)
class ClickGoal:
    target: Ref
    kind: ClickKind = "click"


@dataclass(frozen=True)
class TypeGoal:
    text: str
    field: Ref | None = None  # None: the focused / only / first text field
    submit: bool = False  # press Enter afterwards


@dataclass(frozen=True)
class KeyGoal:
    keys: tuple[str, ...]
    times: int = 1


@dataclass(frozen=True)
class ScrollGoal:
    direction: Literal["up", "down", "left", "right"] = "down"
    times: int = 1
    amount: float = 0.5  # fraction of a screen per scroll
    anchor: Ref | None = None
    to_end: bool = False  # on until nothing moves: "scroll to the bottom of the text area" (skills/scrolling.py)


@dataclass(frozen=True)
class OpenAppGoal:
    name: str


@dataclass(frozen=True)
class WaitGoal:
    seconds: float


@dataclass(frozen=True)
class SetToggleGoal:
    """tick / check / turn on / enable (on=True); untick / uncheck / turn off / disable."""

    target: Ref
    on: bool


@dataclass(frozen=True)
class SelectGoal:
    option: Ref
    in_list: Ref | None = None


@dataclass(frozen=True)
class BackGoal:
    pass


@dataclass(frozen=True)
class HomeGoal:
    pass


@dataclass(frozen=True)
class FocusGoal:
    target: Ref


@dataclass(frozen=True)
class SearchClickGoal:
    """Click `target`; while it is not visible, open the tabs / sections one by one."""

    target: Ref
    container: Literal["tab", "section"]


@dataclass(frozen=True)
class SelectLikeGoal:
    """Tick the options chosen by meaning: for each example, the option closest to it
    ("words similar to big, fast"), or every option of a category ("all the fruits")."""

    examples: tuple[str, ...]
    how: Literal["similar", "category"] = "similar"


@dataclass(frozen=True)
class DragGoal:
    """Drag `source` onto `dest` (a thing on the screen), or to a position of its list
    (`position`: 1 = the top, -1 = the bottom)."""

    source: Ref
    dest: Ref | None = None
    position: int | None = None
    offset: int = 0  # "down by one position": +1 from where it is (position None)


@dataclass(frozen=True)
class AutocompleteGoal:
    """Type `prefix` into an autocomplete field, then pick the suggestion that starts with
    it and ends with `suffix`."""

    prefix: str
    suffix: str = ""
    field: Ref | None = None
    submit: bool = False  # "enter an item that...": submit the form once the field holds it


@dataclass(frozen=True)
class CopyGoal:
    """Copy the text of `source` (select all in it, copy), or paste into `dest` (paste=True)."""

    target: Ref
    paste: bool = False


ReadUnit = Literal["word", "line", "number"]


@dataclass(frozen=True)
class ReadGoal:
    """Read the `ordinal`-th `unit` of the text in `source` (1-based; -1 the last, -2 the one
    before it) and type it into `field` (None: only report it); `submit` presses Enter after."""

    source: Ref
    unit: ReadUnit = "word"
    ordinal: int = 1
    field: Ref | None = None
    submit: bool = False


@dataclass(frozen=True)
class SliderGoal:
    """Move a slider (`target`: its label, None = the only / first one) to `value` ("-2",
    "30%": a percent is a fraction of the track when no value is shown)."""

    value: str
    target: Ref | None = None


@dataclass(frozen=True)
class SpinGoal:
    """Set a spinner (a number field with up / down arrows) to `value`."""

    value: str
    target: Ref | None = None


@dataclass(frozen=True)
class DateTimeGoal:
    """Enter a date ("12/16/2016") or a time ("12:26 AM") into a date / time input, a date
    picker or a text field that takes it."""

    text: str
    kind: Literal["date", "time"]
    field: Ref | None = None


@dataclass(frozen=True)
class WithinGoal:
    """Click `target` inside the item (a post, a row, a card) that shows `anchor`, on
    `count` such items (0 = all of them; 1 = the first)."""

    target: Ref
    anchor: Ref
    count: int = 1
    kind: ClickKind = "click"


@dataclass(frozen=True)
class ComposeGoal:
    """Open the message that shows `anchor` (its sender), press its Reply / Forward control,
    fill the form that appears (`text` into the body of a reply, `to` into the recipient
    field of a forward) and send it."""

    kind: Literal["reply", "forward"]
    anchor: Ref
    text: str = ""
    to: str = ""


@dataclass(frozen=True)
class MenuGoal:
    """Go through a menu: point at (else click) each item of `path` but the last, so that its
    sub-menu shows the next one, then click the last. One item: only open that menu."""

    path: tuple[Ref, ...]

    @property
    def opened_only(self) -> bool:
        return len(self.path) == 1


@dataclass(frozen=True)
class ColorGoal:
    """Click the thing of a colour ("the red box", "the #ff0000 one"), or every thing of it
    (`every`; `shades`: any shade of the colour's hue, light or dark). `color` is a colour
    word or "#rrggbb"; `noun` what the instruction calls the thing ("box", "button")."""

    color: str
    every: bool = False
    shades: bool = False
    noun: str = ""


@dataclass(frozen=True)
class NudgeGoal:
    """Drag a thing a clear distance in a direction ("drag the item left"): `source` named,
    else the one movable thing drawn on the screen (of `color` when one is said)."""

    direction: Literal["up", "down", "left", "right"]
    source: Ref | None = None
    color: str = ""


@dataclass(frozen=True)
class HighlightGoal:
    """Select (highlight) the text of the `ordinal`-th paragraph (1-based, -1 the last)."""

    ordinal: int = 1


@dataclass(frozen=True)
class FinishFormGoal:
    """Press the form's Submit button: implied when an instruction only fills a form and says
    nothing of finishing it (a form is done when it is submitted)."""


SubGoal = (FinishFormGoal | ClickGoal | TypeGoal | KeyGoal | ScrollGoal | OpenAppGoal | WaitGoal | SetToggleGoal
           | SelectGoal | BackGoal | HomeGoal | FocusGoal | SearchClickGoal | SelectLikeGoal | DragGoal
           | AutocompleteGoal | CopyGoal | SliderGoal | SpinGoal | DateTimeGoal
           | WithinGoal | ReadGoal | MenuGoal | ComposeGoal | ColorGoal | NudgeGoal | HighlightGoal)

_CLICK_VERBS = {"click": "click", "double": "double-click", "right": "right-click", "long": "long-press"}


def describe_goal(goal: SubGoal) -> str:
    """A short line for the plan shown to the user."""
    match goal:
        case ClickGoal(target=t, kind=k):
            return f"{_CLICK_VERBS[k]} {t.describe()}"
        case TypeGoal(text=text, field=field, submit=submit):
            into = f" into {field.describe()}" if field else ""
            return f"type {text!r}{into}" + (" and press Enter" if submit else "")
        case KeyGoal(keys=keys, times=n):
            return f"press {'+'.join(keys)}" + (f" {n} times" if n > 1 else "")
        case ScrollGoal(direction=d, times=n, anchor=anchor, to_end=end):
            where = f" in {anchor.describe()}" if anchor else ""
            return f"scroll {d}{where}" + (" to the end" if end else f" {n} times" if n > 1 else "")
        case OpenAppGoal(name=name):
            return f"open {name}"
        case WaitGoal(seconds=s):
            return f"wait {s:g} s"
        case SetToggleGoal(target=t, on=on):
            if t.role in ("checkbox", "radio"):
                verb = ("tick" if on else "untick") if t.role == "checkbox" else ("select" if on else "clear")
                return f"{verb} {t.describe()}"
            return f"turn {'on' if on else 'off'} {t.describe()}"
        case SelectGoal(option=o, in_list=lst):
            return f"select {o.describe()}" + (f" in {lst.describe()}" if lst else "")
        case BackGoal():
            return "go back"
        case HomeGoal():
            return "go home"
        case FocusGoal(target=t):
            return f"focus {t.describe()}"
        case SearchClickGoal(target=t, container=c):
            return f"find and click {t.describe()} (looking through the {c}s)"
        case SelectLikeGoal(examples=ex, how=how):
            words = ", ".join(repr(e) for e in ex)
            return f"select the options similar to {words}" if how == "similar" else f"select all the {words}"
        case AutocompleteGoal(prefix=pre, suffix=suf, field=field):
            into = f" in {field.describe()}" if field else ""
            return f"type {pre!r}{into} and pick the suggestion" + (f" ending with {suf!r}" if suf else "") \
                + (", then submit" if goal.submit else "")
        case MenuGoal(path=path):
            return ("open " if len(path) == 1 else "select ") + " > ".join(r.describe() for r in path)
        case CopyGoal(target=t, paste=paste):
            return f"paste into {t.describe()}" if paste else f"copy the text of {t.describe()}"
        case ReadGoal(source=src, unit=unit, ordinal=n, field=field, submit=submit):
            nth = "last" if n == -1 else f"{ordinal_text(-n)} to last" if n < -1 else ordinal_text(n)
            into = f" and type it into {field.describe()}" if field else ""
            return f"read the {nth} {unit} of {src.describe()}{into}" + (" and press Enter" if submit else "")
        case SliderGoal(value=v, target=t) | SpinGoal(value=v, target=t):
            what = "slider" if isinstance(goal, SliderGoal) else "spinner"
            return f"set {t.describe() if t else 'the ' + what} to {v}"
        case DateTimeGoal(text=text, kind=kind, field=field):
            return f"enter {text!r} as the {kind}" + (f" in {field.describe()}" if field else "")
        case FinishFormGoal():
            return "submit the form (implied: it was filled)"
        case WithinGoal(target=t, anchor=a, count=n, kind=k):
            items = "every item" if n == 0 else "the item" if n == 1 else f"{n} items"
            return f"{_CLICK_VERBS[k]} {t.describe()} in {items} showing {a.describe()}"
        case ComposeGoal(kind=kind, anchor=a, text=text, to=to):
            if kind == "reply":
                return f"reply to the message from {a.describe()} with {text!r}, then send it"
            return f"forward the message from {a.describe()} to {to}"
        case DragGoal(source=src, dest=dest, position=pos, offset=off):
            to = dest.describe() if dest is not None else "the top" if pos == 1 else "the bottom" if pos == -1 \
                else f"position {pos}" if pos is not None else f"{abs(off)} place(s) {'down' if off > 0 else 'up'}"
            return f"drag {src.describe()} to {to}"
        case ColorGoal(color=c, every=every, shades=shades, noun=noun):
            what = f"shades of {c}" if shades else f"{c} {noun or 'things'}" if every else f"the {c} {noun or 'one'}"
            return f"click every one of the {what}" if every else f"click {what}"
        case NudgeGoal(direction=d, source=src, color=c):
            what = src.describe() if src is not None else f"the {c + ' ' if c else ''}item"
            return f"drag {what} {d}"
        case HighlightGoal(ordinal=n):
            return f"highlight the text of the {ordinal_text(n)} paragraph"
