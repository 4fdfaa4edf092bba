"""What to call an element, and what kind of grounding target it is.

Instructions follow how people (and ScreenSpot) name targets: "Wi-Fi switch", "open Notes"
(an app icon on a launcher), "the SAVE button", "the Back icon", "PIN field", a list row by its
text. `data_type` is "icon" when the element shows no text of its own (icons, images, the
switch or checkbox beside a label, text fields), else "text". The functional description
learned from a transition ("go to About phone") is GUI-Bee's environment-specific knowledge:
what the element does here, which its label alone does not say.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from grounding.element_text import role_words
from guiagent.explore.graph import is_chrome
from guiagent.explore.positions import positional_instructions
from guiagent.schema import Element, Role

DataType = Literal["text", "icon"]
# literal: the element's own label ("the Save button"); functional: what it does here (its a11y
# description, the screen it led to); positional: where it sits relative to a neighbour's text;
# icon: its kind and state for elements without text of their own ("the unchecked Subscribe checkbox")
InstructionKind = Literal["literal", "functional", "positional", "icon"]

# Roles that are targets even when a tree does not flag them clickable (desktop a11y, OCR).
TARGET_ROLES = frozenset({Role.BUTTON, Role.TEXT_FIELD, Role.CHECKBOX, Role.RADIO, Role.SWITCH, Role.LINK,
                          Role.ICON, Role.COMBOBOX, Role.LIST_ITEM, Role.MENU_ITEM, Role.TAB, Role.SLIDER})
ICON_ROLES = frozenset({Role.ICON, Role.IMAGE, Role.SWITCH, Role.CHECKBOX, Role.RADIO, Role.TEXT_FIELD,
                        Role.SLIDER})
TOGGLE_ROLES = frozenset({Role.SWITCH, Role.CHECKBOX, Role.RADIO})
MAX_NAME = 60
MIN_SIDE = 4  # pixels: smaller boxes are slivers of scrolled-off rows, not targets
_SPACE = re.compile(r"\s+")


def clean(text: str | None) -> str:
    return _SPACE.sub(" ", text or "").strip()


def label_of(e: Element) -> str:
    """The text that names an element: its name; for a field, its hint or shown placeholder."""
    if e.editable or e.role is Role.TEXT_FIELD:
        return clean(e.name or str(e.extras.get("hint") or "") or (e.value or ""))
    return clean(e.name)


def is_target(e: Element) -> bool:
    """An element a grounding record can be about: enabled, actionable, named, not a sliver."""
    if not e.enabled or e.width < MIN_SIDE or e.height < MIN_SIDE:
        return False
    if isinstance(e.extras.get("click_target"), str) and e.role not in TOGGLE_ROLES:
        return False  # a label inside a clickable row: the row is the target (its toggle is one too)
    if not (e.clickable or e.editable or e.role in TARGET_ROLES):
        return False
    name = label_of(e)
    return bool(name) and len(name) <= MAX_NAME


def on_launcher(e: Element, foreground: str | None) -> bool:
    pkg = str(e.extras.get("package") or "") or (foreground or "").partition("/")[0]
    return "launcher" in pkg.lower()


def instruction_for(e: Element, foreground: str | None = None) -> str | None:
    name = label_of(e)
    if not name or len(name) > MAX_NAME:
        return None
    match e.role:
        case Role.SWITCH:
            return f"{name} switch"
        case Role.CHECKBOX:
            return f"{name} checkbox"
        case Role.RADIO:
            return f"{name} radio button"
        case Role.TEXT_FIELD:
            return f"{name} field"
        case Role.BUTTON:
            return f"the {name} button"
        case Role.ICON | Role.IMAGE:
            return f"the {name} icon"
        case Role.LINK:
            return f"the {name} link"
        case Role.TAB:
            return f"the {name} tab"
        case Role.MENU_ITEM:
            return f"{name} menu item"
        case Role.COMBOBOX:
            return f"{name} dropdown"
        case Role.SLIDER:
            return f"{name} slider"
        case Role.TEXT | Role.LIST_ITEM | Role.CONTAINER | Role.WINDOW | Role.OTHER:
            return f"open {name}" if e.editable is False and on_launcher(e, foreground) else name


def data_type_for(e: Element) -> DataType:
    if e.source == "ocr":
        return "text"
    if e.role in ICON_ROLES or "Image" in str(e.extras.get("class") or ""):
        return "icon"
    return "text"


def functional_instruction(title: str) -> str:
    return f"go to {title}"


def functional_instructions(e: Element, title: str) -> list[str]:
    """What acting on `e` was seen to do: it led to the screen titled `title`."""
    what = role_words(e)
    return [functional_instruction(title), f"the {what} that opens {title}"]


def extra_instructions(e: Element, elements: Sequence[Element]) -> list[tuple[InstructionKind, str]]:
    """Positional, functional (from a11y metadata) and icon/state instructions for a target, on top
    of its literal one."""
    out: list[tuple[InstructionKind, str]] = []
    what = role_words(e)
    out.extend(("positional", text) for text in positional_instructions(e, elements, label_of(e)))
    desc = clean(str(e.extras.get("description") or ""))
    if desc and desc.casefold() != label_of(e).casefold() and len(desc) <= MAX_NAME:
        out.append(("functional", f"the {what} that {desc[0].lower()}{desc[1:]}"
                    if desc.split()[0].lower().endswith("s") else f"the {what} for {desc}"))
    if e.role in TOGGLE_ROLES and e.checked is not None:
        out.append(("icon", f"the {'checked' if e.checked else 'unchecked'} {label_of(e)} {what}"))
    elif e.role in (Role.ICON, Role.IMAGE):
        out.append(("icon", f"the {label_of(e)} symbol"))
    return out


def screen_title(elements: Sequence[Element], size: tuple[int, int], foreground: str | None) -> str:
    """The screen's title: the topmost plain text in the top fifth (a toolbar title), else
    the foreground activity's name ("...Launcher" -> "Launcher"), else ""."""
    top = [e for e in elements if not is_chrome(e) and e.role is Role.TEXT and not e.clickable
           and clean(e.name) and e.bbox[1] < size[1] * 0.2 and len(clean(e.name)) <= MAX_NAME]
    if top:
        return clean(min(top, key=lambda e: (e.bbox[1], e.bbox[0])).name)
    if foreground:
        activity = foreground.rpartition("/")[2].rpartition(".")[2]
        name = re.sub(r"Activity$", "", activity)
        return " ".join(re.findall(r"[A-Z][a-z0-9]*|[a-z0-9]+", name)) or name
    return ""


def box_xywh(e: Element, size: tuple[int, int]) -> list[int] | None:
    """[x, y, w, h] of the element clipped to the image, None when too small after clipping."""
    w, h = size
    left, top = max(0, e.bbox[0]), max(0, e.bbox[1])
    right, bottom = min(w, e.bbox[2]), min(h, e.bbox[3])
    if right - left < MIN_SIDE or bottom - top < MIN_SIDE:
        return None
    return [left, top, right - left, bottom - top]


def _cut_off(elements: Sequence[Element]) -> set[str]:
    """Ids of targets whose text is cut by the screen edge or a scrolled list (a grounder
    cannot read what is not shown). A text is cut when much shorter than the median of its
    peers (same role and resource id or class, at least three). A row named by a label inside
    it is judged by that label: a half-visible row whose label shows in full stays."""
    def kind(e: Element) -> tuple[str, str]:
        return e.role.value, str(e.extras.get("resource_id") or e.extras.get("class") or "")

    heights: dict[tuple[str, str], list[int]] = {}
    for e in elements:
        heights.setdefault(kind(e), []).append(e.height)

    def short(e: Element) -> bool:
        peers = sorted(heights[kind(e)])
        return len(peers) >= 3 and e.height < 0.75 * peers[len(peers) // 2]

    labels: dict[str, list[Element]] = {}
    for e in elements:
        row = e.extras.get("click_target")
        if isinstance(row, str) and clean(e.name):
            labels.setdefault(row, []).append(e)
    cut = set()
    for e in elements:
        inner = [c for c in labels.get(e.id, []) if clean(c.name) == clean(e.name)]
        if (all(short(c) for c in inner) if inner else short(e)):
            cut.add(e.id)
    return cut


def _contains(outer: list[int], inner: list[int]) -> bool:
    return (outer[0] <= inner[0] and outer[1] <= inner[1] and outer[0] + outer[2] >= inner[0] + inner[2]
            and outer[1] + outer[3] >= inner[1] + inner[3])


def screen_targets(elements: Sequence[Element], size: tuple[int, int],
                   foreground: str | None = None) -> list[tuple[Element, str, list[int], DataType]]:
    """(element, instruction, [x, y, w, h], data_type) for the targets of one screen.

    An instruction must name one place: when several targets share it, the one whose box
    holds all the others is kept (a row and the label inside it); otherwise none (two "OK"
    buttons are ambiguous without more context)."""
    found: dict[str, list[tuple[Element, str, list[int], DataType]]] = {}
    cut = _cut_off(elements)
    for e in elements:
        if not is_target(e) or e.id in cut:
            continue
        text = instruction_for(e, foreground)
        box = box_xywh(e, size)
        if text is None or box is None:
            continue
        found.setdefault(text.casefold(), []).append((e, text, box, data_type_for(e)))
    out = []
    for group in found.values():
        outer = max(group, key=lambda t: t[2][2] * t[2][3])
        if all(_contains(outer[2], t[2]) for t in group):
            out.append(outer)
    return out
