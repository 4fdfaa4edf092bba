"""Clauses and verbs: splitting an instruction into clauses and reading each one."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Literal

from guiagent.planning.instructions.goals import (
    AutocompleteGoal,
    BackGoal,
    ClickGoal,
    ClickKind,
    CopyGoal,
    FocusGoal,
    HomeGoal,
    OpenAppGoal,
    Ref,
    SelectGoal,
    SelectLikeGoal,
    SetToggleGoal,
    SubGoal,
    TypeGoal,
    WaitGoal,
)
from guiagent.planning.instructions.menus import menu_goal
from guiagent.planning.instructions.motions import key_or_click, scroll_goal, seconds
from guiagent.planning.instructions.moves import drag_goal
from guiagent.planning.instructions.phrases import (
    PLACEHOLDER,
    Masked,
    count,
    items,
    parse_ref,
    strip_det,
)
from guiagent.planning.instructions.widgets import widget_goals


@dataclass(frozen=True)
class Browse:
    """"switch between the tabs (to find X)": only meaningful with a click that follows."""

    container: Literal["tab", "section"]
    target: Ref | None


@dataclass(frozen=True)
class Submit:
    """A bare "submit" / "enter": Enter after typing, else the Submit button."""


Parsed = SubGoal | Browse | Submit

_VERBS: tuple[tuple[str, str], ...] = (
    (r"(?:submit(?: it| the form)?|enter)$", "submit"),
    (r"(?:switch|go|look|navigate|flip|cycle|click)\s+(?:between|through|across)|browse(?: through)?", "browse"),
    (r"expand|collapse|unfold", "expand"),
    (r"double[- ]?(?:click|tap)(?: on)?", "double"),
    (r"right[- ]?click(?: on)?", "right"),
    (r"long[- ]?(?:press|tap|click)(?: on)?|(?:press|tap|touch) and hold", "long"),
    (r"(?:click|tap) (?:into|in)|focus(?: on| into| in)?|put (?:the )?(?:cursor|focus) (?:in|into|on)", "focus"),
    (r"go back|navigate back|back", "back"),
    (r"go home|go to (?:the )?home(?: ?screen)?|return to (?:the )?home(?: ?screen)?", "home"),
    (r"press|hit", "press"),
    (r"drag(?: and drop)?|move", "drag"),
    (r"copy", "copy"),
    (r"paste", "paste"),
    (r"find and (?:click|tap|press|select)(?: on)?|switch to|(?:click|tap|push|touch)(?: on)?", "click"),
    (r"find|locate|read|note|get|identify|memori[sz]e|remember|look (?:at|for|up)", "find"),
    (r"type|enter|input|write|put|insert|fill(?: in| out)?", "type"),
    (r"search(?: for)?", "search"),
    (r"select|choose|pick|highlight", "select"),  # "highlight": instructions/visual.py reads paragraphs
    (r"turn on|switch on|enable|activate", "on"),
    (r"turn off|switch off|disable|deactivate", "off"),
    (r"tick|check", "tick"),
    (r"untick|uncheck", "untick"),
    (r"turn|switch", "turn"),
    (r"toggle|flip", "toggle"),
    (r"open|launch|start", "open"),
    (r"scroll", "scroll"),
    (r"wait|sleep|pause", "wait"),
    (r"set|adjust|slide|change|use", "set"),  # a widget's value: instructions/widgets.py
)
_VERB_RES = [(re.compile(rf"(?:{pat})(?=$|\s)\s*", re.I), kind) for pat, kind in _VERBS]
_REPEATABLE = {"click", "double", "right", "long", "press"}
_LIST_VERBS = {"select", "on", "off", "tick", "untick", "type", "search", "browse", "expand"}
# "words similar to A, B", "the ones that mean big", "all the items that are fruits"
_BY_MEANING = re.compile(r"^(?:all\s+)?(?:the\s+)?(?:words?|items?|options?|ones?|boxes|checkboxes|entries)?\s*"
                         r"(?:(?P<sim>(?:that are |which are )?(?:similar|related) to|that (?:mean|means)|meaning"
                         r"|synonyms? (?:of|for)|like)|(?P<cat>that are|which are)(?: (?:a |an )?(?:kinds?|types?) of)?)"
                         r"\s+(?P<x>.+)$", re.I)
_NO_OBJECT = {"submit", "back", "home", "scroll", "wait"}
KNOWN = ("click, double-click, right-click, long-press, type, enter, press, select, tick, untick, turn on/off, "
         "open, scroll, wait, go back, go home, focus")
_FILLERS = re.compile(r"^(?:please|first|then|next|now|finally|also|afterwards|after that|and)\b[,\s]*", re.I)
_TRAILERS = re.compile(r"(?:\s+(?:again|now|too|as well|please|once more|right away|immediately))+$", re.I)
_GERUNDS = {"clicking": "click", "tapping": "tap", "pressing": "press", "selecting": "select",
            "choosing": "choose", "typing": "type", "entering": "enter", "ticking": "tick",
            "checking": "check", "hitting": "hit", "scrolling": "scroll", "opening": "open"}
_PURPOSE = re.compile(r"\s+(?:in order\s+)?to\s+(?:close|open|submit|continue|proceed|finish|confirm|dismiss"
                      r"|save|see|view|reveal|show|expand|complete|log|sign|accept|delete|remove|mark|star|archive|flag)\b.*$", re.I)


def verb_of(piece: str) -> tuple[str, str] | None:
    """(verb kind, the rest) when `piece` starts with a verb this grammar knows."""
    for rx, kind in _VERB_RES:
        if m := rx.match(piece):
            return kind, piece[m.end():].strip()
    return None


def _continues(clause: str, piece: str) -> bool:
    """Whether `piece` (no verb of its own) can continue `clause`: any item of a list verb
    ("Select eRMHk, 5L, vQ"); for the others only what looks like part of a name ("click
    Terms and Conditions"), so that "click OK and make coffee" is refused, not merged."""
    verb = verb_of(clause)
    if verb is None:
        return False
    # a name starts with a capital, a digit, a quote or is a symbol ("click 1, 2, +, 7 and =")
    name_like = bool(re.match(r"[A-Z0-9#\ue000]|[^\w\s]+$", piece))
    if verb[0] == "type" and re.search(r"\s(?:into|in|inside|onto)\s", verb[1], re.I):
        return name_like  # its field is named already: "frobnicate the widget" is a clause, not a name
    return verb[0] in _LIST_VERBS or name_like


def _repeats(clause: str, joint: str, piece: str) -> str | None:
    """The same single-target verb again for `piece` when it is a next target of its own: a
    number or a symbol ("click 1, 2, +, 7 and ="), or anything after "then" ("click 6, then ×").
    A list verb keeps its items together; a word name ("click Terms and Conditions") stays one."""
    verb = verb_of(clause)
    if verb is None or verb[0] in _LIST_VERBS or not verb[1] or verb[0] not in _REPEATABLE:
        return None
    if "then" in joint.lower() or re.fullmatch(r"\d+|[^\w\s]+", piece):
        return clause[: len(clause) - len(verb[1])] + piece
    return None


def split_clauses(t: Masked) -> list[str]:
    """The masked text as clauses, each starting with a verb. A piece that does not start
    with a verb (or is a verb missing its object, "Select Open, Check and ...") continues
    the previous clause."""
    clauses: list[str] = []
    for sentence in re.split(r"[.!?]+(?=\s|$)", t.masked):
        if m := re.search(r"(?:^|\s)(?:and|then|and then)\s*$|[,;:]\s*$", sentence, re.I):
            raise t.error(sentence, f"it ends with {m.group().strip()!r}: and then what?")
        parts = re.split(r"(\s*[,;:]\s*|\s+and\s+|\s+then\s+)", sentence)
        for i in range(0, len(parts), 2):
            piece = parts[i].strip()
            while (m := _FILLERS.match(piece)) and m.end() > 0:
                piece = piece[m.end():]
            piece = _TRAILERS.sub("", piece)
            if not piece or re.fullmatch(r"(?:find|locate)", piece, re.I):
                continue  # "Find and click X": the finding is part of clicking
            # "Close the dialog box by clicking the 'x'": the means is the action
            if (m := re.search(r"\bby\s+(\w+ing)\b", piece, re.I)) and m.group(1).lower() in _GERUNDS:
                piece = _GERUNDS[m.group(1).lower()] + piece[m.end():]
            # "Use the textbox to enter 'x'": the tool is where the action goes
            if (m := re.match(r"use\s+(?P<x>.+?)\s+to\s+(?P<v>.+)$", piece, re.I)) and \
                    (v := verb_of(m.group("v"))) is not None and v[0] in ("type", "search"):
                piece = f"{m.group('v')} into {m.group('x')}"
            verb = verb_of(piece)
            starts = verb is not None and (bool(verb[1]) or verb[0] in _NO_OBJECT)
            if not starts and clauses and (again := _repeats(clauses[-1], parts[i - 1], piece)):
                clauses.append(again)  # "click 1, 2, +": one click per key; "click 6, then ×": in turn
            elif not starts and clauses and _continues(clauses[-1], piece):
                clauses[-1] += parts[i - 1] + parts[i].strip()
            elif not starts and verb is not None:
                raise t.error(piece, f"{piece.split()[0].lower()} what?")
            elif not starts:
                raise t.error(piece, f"it does not start with an action I know ({KNOWN})")
            else:
                clauses.append(piece)
    return clauses


def parse_clause(t: Masked, clause: str) -> list[Parsed]:
    if (widget := widget_goals(t, clause)) is not None:
        return list(widget)
    verb = verb_of(clause)
    assert verb is not None
    kind, rest = verb
    match kind:
        case "submit":
            return [Submit()]
        case "back":
            return [BackGoal()]
        case "home":
            return [HomeGoal()]
        case "wait":
            return [WaitGoal(seconds(t, rest, clause))]
        case "scroll":
            return [scroll_goal(t, rest, clause)]
        case "browse" | "expand":
            m = re.match(r"(?:all\s+)?(?:the\s+)?(?:different\s+)?(?P<c>tabs|sections|panels|headers|headings|(?:file\s+)?trees?|folders)\b"
                         r"(?:\s+(?:below|above|on the page))?\s*,?\s*(?:(?:in order\s+)?to\s+(?:find|locate"
                         r"|look for|reach)\b\s*(?P<t>.*))?$", rest, re.I)
            if m:
                target = parse_ref(t, m.group("t"), clause) if m.group("t") else None
                return [Browse("tab" if m.group("c").lower() == "tabs" else "section", target)]
            if kind == "expand":
                return [ClickGoal(parse_ref(t, rest, clause))]
            raise t.error(clause, "look through what? (e.g. 'switch between the tabs to find and click X')")
        case "press":
            return [key_or_click(t, rest, clause)]
        case "click" | "select" | "open" if (menu := menu_goal(t, kind, rest, clause)) is not None:
            return [menu]  # "Select File > Save As", "click Open in the File menu": instructions/menus.py
        case "click" | "double" | "right" | "long":
            click_kind: ClickKind = "click" if kind == "click" else kind
            return [ClickGoal(parse_ref(t, _PURPOSE.sub("", rest), clause), click_kind)]
        case "focus":
            return [FocusGoal(_with_role(parse_ref(t, rest, clause), "field"))]
        case "type" | "search":
            return list(_typing(t, rest, clause, kind == "search"))
        case "drag":
            return [drag_goal(t, rest, clause)]
        case "find":  # "find the email by Ada": open the thing its sender / author names
            m = re.fullmatch(r"(?:the\s+|an?\s+)?(?:email|message|mail|post|tweet|item|entry|row)s?\s+(?:by|from)\s+(?P<x>.+)",
                             rest, re.I)
            if m is None:
                raise t.error(clause, "find what? (say what to click, e.g. 'find and click X')")
            return [ClickGoal(parse_ref(t, m.group("x"), clause))]
        case "copy":  # "copy the text in the textarea", "copy it"
            src = re.sub(r"^(?:all\s+)?(?:the\s+)?(?:text|contents?|words?)\s+(?:in|of|from)\s+", "", rest, flags=re.I)
            return [CopyGoal(parse_ref(t, src, clause))]
        case "paste":  # "paste it into the textbox"
            m = re.match(r"(?:(?:it|that|the text|this)\s+)?(?:into|in|to|onto)\s+(?P<d>.+)$", rest, re.I)
            if m is None:
                raise t.error(clause, "paste it where? (e.g. 'paste it into the textbox')")
            return [CopyGoal(_with_role(parse_ref(t, m.group("d"), clause), "field"), paste=True)]
        case "select" | "on" | "tick" if (m := _BY_MEANING.match(rest)) and t.unmask(m.group("x")).strip():
            words = tuple(t.unmask(w).strip() for w in items(m.group("x")) if t.unmask(w).strip())
            return [SelectLikeGoal(words, "similar" if m.group("sim") else "category")]
        case "select" if m := re.fullmatch(r"(?P<v>\S+)\s+as\s+(?:the\s+)?(?P<f>\w+(?:\s\w+)?)", rest, re.I):
            return [TypeGoal(t.unmask(m.group("v")), Ref(m.group("f"), "field"))]  # "select 12/01/2016 as the date"
        case "select" if m := re.fullmatch(r"(?P<v>\S+)\s+(?:with|using|in|on)\s+(?:the\s+)?(?:number\s+)?"
                                           r"(?P<c>spinner|spin ?box|(?:text ?|input ?)?(?:field|box))", rest, re.I):
            return [TypeGoal(t.unmask(m.group("v")), Ref("", "field"))]  # "select 5 with the spinner": type it
        case "select":
            if re.fullmatch(r"nothing|none|no (?:options?|items?|boxes|checkboxes)", rest, re.I):
                return []  # explicit: leave everything unselected
            in_list = None
            if m := re.search(r"\s+(?:from|in|on|of)\s+(?P<l>(?:the\s+)?(?:\S+\s+)?(?:drop-?down|list|menu"
                              r"|combo ?box|select(?: box)?)\b.*)$", rest, re.I):
                in_list, rest = parse_ref(t, m.group("l"), clause), rest[: m.start()]
            if m := _DESCRIBED.search(rest):
                raise t.error(clause, f"{m.group().strip()!r} describes the options instead of naming them")
            if in_list is not None and in_list.role == "list" and not in_list.text:
                # a drop-down holds one value: "Heard Island and McDonald Islands" is one option
                return [SelectGoal(parse_ref(t, rest, clause), in_list)]
            return [SelectGoal(parse_ref(t, item, clause), in_list) for item in items(rest)]
        case "on" | "off" | "tick" | "untick":
            default = "checkbox" if kind in ("tick", "untick") else None
            return [SetToggleGoal(_toggle_ref(t, item, clause, default), kind in ("on", "tick"))
                    for item in items(rest)]
        case "turn":
            if not (m := re.fullmatch(r"(?P<x>.+?)\s+(?P<s>on|off)", rest, re.I)):
                raise t.error(clause, "turn it on or off?")
            return [SetToggleGoal(_toggle_ref(t, m.group("x"), clause, None), m.group("s").lower() == "on")]
        case "toggle":
            return [ClickGoal(parse_ref(t, rest, clause))]
        case "open":
            ref = parse_ref(t, re.sub(r"\s+(?:app|application|program)$", "", rest, flags=re.I), clause)
            if ref.role in {"link", "tab", "item", "section", "list", "button", "icon"}:
                return [ClickGoal(ref)]
            if ref.role or ref.ordinal:
                raise t.error(clause, "open which app?")
            return [OpenAppGoal(ref.text)]
    raise t.error(clause, f"no rule for the verb {kind!r}")  # pragma: no cover


def _with_role(ref: Ref, role: str) -> Ref:
    return ref if ref.role else replace(ref, role=role)


def _toggle_ref(t: Masked, phrase: str, part: str, default_role: str | None) -> Ref:
    ref = parse_ref(t, phrase, part)
    if ref.role == "field":  # "tick the box next to X"
        return replace(ref, role="checkbox")
    return _with_role(ref, default_role) if default_role else ref


def _split_destination(rest: str, fill: bool) -> tuple[str, str | None]:
    """'"Ada" into the Name field' -> ('"Ada"', 'the Name field'); 'Name with "Ada"' (fill)."""
    if fill and (m := re.match(r"(?P<d>.+?)\s+with\s+(?P<w>.+)$", rest, re.I)):
        return m.group("w"), m.group("d")
    last_quote = max((m.end() for m in PLACEHOLDER.finditer(rest)), default=0)
    for prep in (r"into|in to|inside", r"in", r"onto|on", r"to", r"as"):  # "enter 6:15 as the time"
        hits = [m for m in re.finditer(rf"(?:^|\s+)(?:{prep})\s+", rest, re.I) if m.start() >= last_quote]
        if hits:  # after a quoted value: the first one; in plain text: the last one
            hit = hits[0] if last_quote else hits[-1]
            return rest[: hit.start()], rest[hit.end():]
    return rest, None


_DESCRIBED = re.compile(r"\b(?:similar to|related to|that|which|who|whose|like|matching|starts? with|ends? with"
                        r"|starting with|ending with|begins? with|contains?|containing)\b", re.I)

_LETTER_CASE = re.compile(r"\s+(?:in|using|with)\s+(?:all\s+)?(?:(?P<c>upper|lower)[ -]?case|(?P<cap>capital|block))"
                          r"(?:\s+(?:letters|characters|chars))?(?=\s|$)", re.I)


def _typing(t: Masked, rest: str, part: str, search: bool) -> list[SubGoal]:
    goals = _typing_goals(t, _LETTER_CASE.sub("", rest), part, search)
    if m := _LETTER_CASE.search(rest):  # 'Type "ada" in all upper case letters'
        upper = (m.group("c") or "upper").lower() == "upper"
        goals = [replace(g, text=g.text.upper() if upper else g.text.lower()) if isinstance(g, TypeGoal) else g
                 for g in goals]
    return goals


_AUTOCOMPLETE = re.compile(r"^(?:an?|one|some)\s+(?:\w+\s+)?(?:that|which)\s+(?:starts?|begins?)\s+with\s+(?P<p>\S+)"
                          r"(?:,?\s+and\s+(?:that\s+)?ends?\s+with\s+(?P<s>\S+))?$", re.I)


def _typing_goals(t: Masked, rest: str, part: str, search: bool) -> list[SubGoal]:
    what, dest = _split_destination(rest, part.lower().startswith("fill"))
    if m := _AUTOCOMPLETE.match(what.strip()):  # "an item that starts with 'An' and ends with 'ra'"
        field = _with_role(parse_ref(t, dest, part), "field") if dest else None
        pre, suf = (t.unmask(x or "").strip() for x in (m.group("p"), m.group("s")))
        return [AutocompleteGoal(pre, suf, field)]
    values: list[tuple[str, Ref | None]] = []  # (text, the field its label names)
    for item in items(what) if PLACEHOLDER.search(what) else [what]:
        if (q := PLACEHOLDER.search(item)) is None:
            values.append((t.unmask(item).strip(), None))
            continue
        if item[q.end():].strip():
            raise t.error(part, f"what is {t.unmask(item[q.end():].strip())!r}?")
        label = re.sub(r"\b(?:text|word|words|value|phrase|string|number)$", "", strip_det(item[: q.start()])).strip()
        if m := _DESCRIBED.search(label):
            raise t.error(part, f"{m.group()!r}: this describes the text instead of giving it; quote the exact text")
        values.append((t.quotes[int(q.group(1))], Ref(t.unmask(label), "field") if label else None))
    if not values or not values[0][0]:
        raise t.error(part, "type what?")
    if dest is None:
        default = Ref("search", "field") if search else None
        return [TypeGoal(text, field or default, search) for text, field in values]
    m = re.fullmatch(r"(?:(?P<both>both)|all|(?:the\s+)?(?P<n>two|three|four|\d+)|the)\s+(?:(?:text|input)\s*)?"
                     r"(?:fields|boxes|textboxes|inputs|areas)", dest.strip(), re.I)
    if m is None:
        field = _with_role(parse_ref(t, dest, part), "field")
        return [TypeGoal(text, field, search) for text, _ in values]
    n = 2 if m.group("both") else count(m.group("n")) if m.group("n") else None
    if len(values) == 1 and n:  # "into both text fields": the same text into each
        return [TypeGoal(values[0][0], Ref("", "field", i + 1)) for i in range(n)]
    if n is not None and n != len(values):
        raise t.error(part, f"{len(values)} texts for {n} fields")
    if len(values) == 1:
        raise t.error(part, "into how many fields?")
    return [TypeGoal(text, field or Ref("", "field", i + 1)) for i, (text, field) in enumerate(values)]
