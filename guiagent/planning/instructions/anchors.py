"""Targets qualified by an anchor: the thing to click inside the item (a post, a row, a card,
an email) that shows some text, on one, N or all such items.

    For the user @kenda, click on the "Retweet" button.
    Click the "Reply" button on 4 posts by @kasie and then click Submit.
    Click Like on every tweet from @bob.
    Find the email by Lyda and click the trash icon to delete it.
    Find the message from Bob and star it.      (a verb that names its icon)
    Click the Delete button of the row containing 'Invoice 12'.
    In the card of Ada, click Edit.

`anchored(text, parse)` returns the sub-goals when the instruction has that shape, else None
(the ordinary grammar reads it). The parts around the anchored click (", then click Submit")
go through `parse`, the ordinary grammar, so nothing is read twice by different rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from guiagent.planning.instructions.compose import message_goals
from guiagent.planning.instructions.goals import ClickGoal, Ref, SubGoal, WithinGoal
from guiagent.planning.instructions.phrases import PLACEHOLDER, Masked
from guiagent.schema.errors import InstructionNotUnderstood

Parse = Callable[[str], list[SubGoal]]

_NOUN = (r"(?:posts?|tweets?|messages?|e-?mails?|mails?|rows?|cards?|items?|entries|entry|comments?|users?"
         r"|accounts?|records?|lines?|tiles?|contacts?|threads?|notifications?|conversations?|people|persons?"
         r"|products?|listings?|reviews?|files?|tasks?)")
_REL = (r"(?:(?:sent|written|posted|authored|shared|made|created) by|by|from|of|for|about|containing|mentioning"
        r"|showing|named|called|labell?ed|titled|with(?: the)?(?: name| title| text| sender| author)?"
        r"|(?:that|which) (?:says?|contains?|mentions?|shows?|is from|is by|has))")
_NUMBERS = {"one": 1, "a": 1, "an": 1, "single": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
            "seven": 7, "eight": 8, "nine": 9, "ten": 10}
_COUNT = r"(?:(?P<n>\d+|one|two|three|four|five|six|seven|eight|nine|ten)|(?P<all>(?:all|each|every one)(?: of)?(?: the)?|every))"
# the anchor: a quoted span, a handle or a word, with at most two more capitalized words ("Ada Lovelace")
_ANCHOR = r"(?P<a>\ue000\d+\ue001|@?\w[\w.@'\-]*(?:\s+(?-i:[A-Z])[\w'\-]*){0,2})"
_ITEM = rf"(?:(?:the|an?|this|that)\s+)?(?:{_COUNT}\s+)?(?:(?P<noun>{_NOUN})\s+)?(?:(?P<rel>{_REL})\s+)?{_ANCHOR}"
_PREP = r"(?P<prep>on|in|of|for|under|inside|within|at|next to|beside|from)"
_CLICK = r"(?:double[- ]click|right[- ]click|click|tap|press|hit|select|choose|push)(?:\s+on)?"

_PLEASE = r"^\s*(?:please\s+)?"
_PREFIX = re.compile(rf"{_PLEASE}(?:for|in|within|inside|on|under|at)\s+{_ITEM}\s*(?:,|:|;|\bthen\b)\s*(?P<rest>.+)$",
                     re.I | re.S)
_FIND = re.compile(rf"{_PLEASE}(?:find|locate|look for|search for|go to|scroll to|pick|spot)\s+{_ITEM}"
                   rf"\s*(?:,\s*)?(?:and\s+)?(?:then\s+)?(?P<rest>.+)$", re.I | re.S)
_SUFFIX = re.compile(rf"\b(?P<verb>{_CLICK})\s+(?P<t>.+?)\s+{_PREP}\s+{_ITEM}(?P<post>(?:\s*[,;.]|\s+and\b|\s+then\b|\s+to\b|\s*$).*)$",
                     re.I | re.S)
# "... and open it", "... and delete it", "star the email from Bob": a verb on the item itself;
# the verbs other than opening name the icon that does it
_VERBS = (r"(?P<verb>open|click(?:\s+on)?|tap(?:\s+on)?|select|view|read|delete|remove|trash|star|like|retweet"
          r"|archive|flag)")  # not reply / forward / share: those go on with more than a click
_IT = re.compile(rf"^\s*{_VERBS}\s+(?:it|them|that one|this one)\b(?P<post>.*)$", re.I | re.S)
_ACT = re.compile(rf"{_PLEASE}{_VERBS}\s+{_ITEM}(?P<post>(?:\s*[,;.]|\s+and\b|\s+then\b|\s*$).*)$", re.I | re.S)
_OPENS = ("open", "click", "tap", "select", "view", "read")
# "find Ada in the contact book and click on their email": a person's entry, then a value of it
_WHO = r"(?P<a>\ue000\d+\ue001|(?-i:[A-Z])[\w'\-]*(?:\s+(?-i:[A-Z])[\w'\-]*)?)"
_THEIR = re.compile(rf"{_PLEASE}(?:find|locate|look up|look for|search for|search|go to|open|pull up)\s+{_WHO}"
                    r"(?:\s+(?:in|on|from|among)\s+(?:the|my|your|this)\s+[\w\s\-]{1,30}?)?\s*,?\s*(?:and\s+)?(?:then\s+)?"
                    rf"(?P<verb>{_CLICK})\s+(?:their|his|her|its|the(?: contact'?s)?)\s+(?P<t>[\w\s\-]+?)"
                    r"(?P<post>(?:\s*[,;.]|\s+and\b|\s+then\b|\s*$).*)$", re.I | re.S)
_PURPOSE = re.compile(r"^\s*(?:in order\s+)?to\s+[^,;]*?(?=$|[,;.]|\band\b|\bthen\b)", re.I)
_LEAD = re.compile(r"^\s*(?:[,;.]\s*)?(?:and\s+)?(?:then\s+)?", re.I)


def _count(m: re.Match[str]) -> int:
    if m.group("all"):
        return 0
    n = m.group("n")
    return 1 if n is None else int(n) if n.isdigit() else _NUMBERS[n.casefold()]


def _requote(t: Masked, s: str) -> str:
    def put(m: re.Match[str]) -> str:
        q = t.quotes[int(m.group(1))]
        return f"'{q}'" if '"' in q else f'"{q}"'
    return PLACEHOLDER.sub(put, s)


def _anchor(t: Masked, m: re.Match[str]) -> Ref:
    raw = m.group("a")
    quoted = t.only_quote(raw)
    return Ref(quoted, quoted=True) if quoted is not None else Ref(raw.rstrip(".'-"))


def _tail(t: Masked, post: str, parse: Parse) -> list[SubGoal]:
    post = _PURPOSE.sub("", _LEAD.sub("", post, count=1), count=1)
    post = _LEAD.sub("", post, count=1).strip(" .")
    return parse(_requote(t, post)) if post else []


def _anchor_is_word(m: re.Match[str]) -> bool:
    """A bare anchor needs a noun or a relation word before it ("the post by @x", "the row
    containing X"), or a handle: "in the list" is no anchor."""
    return bool(m.group("noun") or m.group("rel") or m.group("a").startswith("@") or PLACEHOLDER.match(m.group("a")))


def _within(first: SubGoal, anchor: Ref, count: int) -> SubGoal | None:
    if isinstance(first, ClickGoal):
        return WithinGoal(first.target, anchor, count, first.kind)
    return None


def _act(verb: str, anchor: Ref, count: int) -> SubGoal:
    word = verb.split()[0].casefold()
    return ClickGoal(anchor) if word in _OPENS else WithinGoal(Ref(word, "icon"), anchor, count)


def _on_rest(t: Masked, m: re.Match[str], parse: Parse) -> list[SubGoal] | None:
    """The rest of a "for X, ..." / "find X and ..." instruction: its first click is the
    anchored one."""
    anchor, count, rest = _anchor(t, m), _count(m), m.group("rest")
    if (it := _IT.match(rest)) is not None:
        return [_act(it.group("verb"), anchor, count), *_tail(t, it.group("post"), parse)]
    goals = parse(_requote(t, rest))
    if not goals or (within := _within(goals[0], anchor, count)) is None:
        return None
    return [within, *goals[1:]]


def anchored(text: str, parse: Parse) -> list[SubGoal] | None:
    """The sub-goals of an instruction that clicks something inside an anchored item, else
    None. `parse` reads the other parts (the ordinary grammar). Replying to / forwarding a
    person's message is read first (compose.py: more than a click); deleting / starring it,
    when no click was read."""
    if (goals := message_goals(text, replies=True)) is not None:
        return goals
    try:
        goals = _anchored(Masked(text.strip()), parse)
    except InstructionNotUnderstood:
        goals = None  # not this shape after all: the ordinary grammar says what it cannot read
    return goals if goals is not None else message_goals(text, replies=False)


def _entry_value(t: Masked, parse: Parse) -> list[SubGoal] | None:
    """"Find Ada in the contact book and click on their email": the value of an entry found
    by its name."""
    for pattern in (_THEIR,):
        m = pattern.match(t.masked)
        if m is not None and m.group("a").casefold() not in ("the", "a", "an", "it", "this", "that"):
            kind = _within(ClickGoal(Ref(m.group("t").strip())), _anchor(t, m), 1)
            if kind is not None:
                post = m.group("post")
                post = re.sub(r"^\s*in\s+(?:the|my|your|this)\s+[\w\s\-]{1,30}?(?=$|[,;.])", "", post, flags=re.I)
                return [kind, *_tail(t, post, parse)]
    return None


def _anchored(t: Masked, parse: Parse) -> list[SubGoal] | None:
    s = t.masked
    if (goals := _entry_value(t, parse)) is not None:
        return goals
    for pattern in (_PREFIX, _FIND):
        m = pattern.match(s)
        if m is not None and _anchor_is_word(m) and (pattern is _PREFIX or m.group("noun")) \
                and (goals := _on_rest(t, m, parse)) is not None:
            return goals
    if (m := _ACT.match(s)) is not None and m.group("noun"):
        return [_act(m.group("verb"), _anchor(t, m), _count(m)), *_tail(t, m.group("post"), parse)]
    m = _SUFFIX.search(s)
    if m is None or not (_anchor_is_word(m) or m.group("prep").casefold() in ("next to", "beside")):
        return None
    if m.group("prep").casefold() == "from" and not m.group("noun"):
        return None  # "select Apple from the list": an option of a list, not an anchor
    head = s[:m.start()].rstrip()
    head = re.sub(r"(?:[,;]|\band|\bthen)+\s*$", "", head, flags=re.I).strip()
    click = parse(_requote(t, f"{m.group('verb')} {m.group('t')}"))
    if len(click) != 1 or (within := _within(click[0], _anchor(t, m), _count(m))) is None:
        return None
    before = parse(_requote(t, head)) if head else []
    return [*before, within, *_tail(t, m.group("post"), parse)]


__all__ = ["anchored"]
