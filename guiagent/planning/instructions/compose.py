"""What to do with a message found by its sender, said in free English: reply to it with a
text, forward it to someone, delete it, star it.

    Find the email by Ada and reply to them with the text "See you".
    Send Bob the message you got from Ada.          Ada's email should be forwarded to Bob.
    Tell Ada "See you" in response to her email.    There is a mail from Ada that needs to be deleted.

People are capitalized words that are not a word of the instruction's own vocabulary. Which
one sent the message and which one receives it is read from the words around each ("from /
by X", "X's", "X sent", "the X email" send; "to Y", "send Y the ...", "Y wants / needs ..."
receive); with two people and one role known, the other has the other role. Nothing is
guessed: a sentence without a message noun (email, mail, message), with a role left unknown,
or with two candidate senders is not this grammar's (None), and the ordinary grammar says
what it cannot read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from guiagent.planning.instructions.goals import ComposeGoal, Ref, SubGoal, WithinGoal
from guiagent.planning.instructions.phrases import PLACEHOLDER, Masked
from guiagent.schema.errors import InstructionNotUnderstood

_MESSAGE = re.compile(r"\b(?:e-?mails?|mails?|messages?|information|inbox|forward)\b", re.I)
_REPLY = re.compile(r"\b(?:repl(?:y|ies|ying)|replay|respond(?:s|ing)?|response|answer|tell|say(?:ing)?|text(?:ing)?"
                    r"|e-?mail|write|send|message|let \w+ know|hi|hello|dear|thanks)\b", re.I)
_FORWARD = re.compile(r"\b(?:forward(?:ed|ing)?|foward|fwd|resend|send|sent|give|copy|receive|recieve|wants|needs|e-?mail"
                      r"|waiting)\b", re.I)
_FORWARDS = re.compile(r"\b(?:forward|foward|fwd|resend)", re.I)
_DELETE = re.compile(r"\b(?:delete[ds]?|remove[ds]?|trash|rid of|throw away|discard|recycl\w*|bin|out of my inbox"
                     r"|don'?t want)\b", re.I)
_STAR = re.compile(r"\b(?:important|imp\w*ant|star(?:red)?|flag(?:ged)?)\b", re.I)
_ALL = re.compile(r"\b(?:all|every|each)\b", re.I)
# capitalized words that are the instruction's own vocabulary, not people
_VOCAB = """
i i'll i'm i'd a an the this that these those it its my me you your he she his her him they them their we our
please find locate search look get go open pull select highlight navigate take copy let make put mark star flag
set save tag change show tell say text email e-mail mail message messages reply replay respond answer write send
forward foward fwd resend give delete remove trash throw get there in if may can could will would should must
need needs want wants first then and also just simply automatically ask remind siri alexa hi hello dear thanks
thank primary inbox important today yesterday tuesday monday wednesday thursday friday saturday sunday ok okay
create email's hey yes to for from by of with at on no new last latest recent most contact contacts app application information emails mails
"""
_WORDS = frozenset(re.findall(r"\S+", _VOCAB))
# a name: one capitalized word, or two when the second is no possessive ("Send Bob Ada's email": two people)
_NAME = re.compile(r"(?-i:[A-Z][\w\-]*)(?:(?:['’]s\b|s['’])|\s(?-i:[A-Z][\w\-]*)\b(?!['’]))?")
_SENDS_BEFORE = re.compile(r"\b(?:from|by|of)\s*$", re.I)
_SENDS_AFTER = re.compile(r"^\s*(?:(?:last|latest|most recent|recent|new|first)\s+)?(?:e-?mails?|mails?|messages?"
                          r"|sent|wrote|has sent|had sent|emailed"
                          r"|wants (?:his|her|their)(?: or (?:his|her))? (?:e-?mails?|mails?|messages?))\b", re.I)
_GETS_BEFORE = re.compile(r"\b(?:to|forward|foward|send|resend|give|email|let|put|make sure|ask)\s*$", re.I)
_ADDRESSED = re.compile(r"\b(?:repl(?:y|ies)|replay|respond|answer|tell|text|e-?mail|write|message|send|say|hi|hello"
                        r"|dear|thanks|let)\s+(?:back\s+)?(?:to\s+)?(?:contact\s+)?$|\bto\s+contact\s+$", re.I)
_FIELD = re.compile(r"\b(?:into|field|box|input|textbox|text area)\b", re.I)
_GETS_AFTER = re.compile(r"^\s*(?:wants|needs|is waiting|must|should|recieves?|receives?|on the list)\b", re.I)


@dataclass
class _Person:
    name: str
    sends: bool = False
    gets: bool = False
    addressed: bool = False  # "reply to X", "tell X", "hi X": the one a reply goes to


def _people(t: Masked) -> list[_Person]:
    """The people the instruction names, in order, one entry per name, with the roles its
    words give them."""
    s = t.masked
    out: dict[str, _Person] = {}
    for m in _NAME.finditer(s):
        raw, start = m.group(0), m.start()
        if " " in raw:
            first, second = raw.split()
            if second.casefold() in _WORDS:  # "Ada Forward ...": the name ends before
                raw = first
            elif first.casefold() in _WORDS:  # "Tell Ada ...": it starts after
                raw, start = second, start + len(first) + 1
        name = re.sub(r"(?:['’]s|s['’])$", "", raw)
        if name.casefold() in _WORDS or PLACEHOLDER.search(raw) or (m.start() > 0 and s[m.start() - 1].isalnum()):
            continue
        before, after = s[:start], s[start + len(raw):]
        p = out.setdefault(name, _Person(name))
        possessive = raw != name
        p.sends |= possessive or bool(_SENDS_BEFORE.search(before)) or bool(_SENDS_AFTER.match(after))
        if not possessive and _GETS_BEFORE.search(before) and not _SENDS_AFTER.match(after):
            p.gets |= bool(re.search(r"\bto\s*$", before, re.I)) or bool(
                re.match(r"^\s*(?:the|a|an|all|any|some|every|this|that|[A-Z][\w\-]*['’]s)\b", after))
        p.gets |= bool(_GETS_AFTER.match(after)) and not _SENDS_BEFORE.search(before) \
            and not _SENDS_AFTER.match(after)
        p.addressed |= bool(_ADDRESSED.search(before)) or bool(re.match(r"^\s*,?\s*\ue000", after))
    return list(out.values())


def _sender(people: list[_Person], reply: bool = False) -> _Person | None:
    """The one person whose message it is: the only one named (for a reply, with a word that
    sends or addresses them), else the only sender."""
    if len(people) == 1:
        p = people[0]
        return p if not reply or p.sends or p.addressed or p.gets else None
    senders = [p for p in people if p.sends and not p.gets]
    return senders[0] if len(senders) == 1 else None


def _forward(people: list[_Person], said: bool) -> tuple[str, str] | None:
    """(sender, recipient) of two people: the recipient's role said, or the sender's with the
    word forward `said` (a capitalized word beside a mere "send" may be no person)."""
    if len(people) != 2:
        return None
    a, b = people
    for x, y in ((a, b), (b, a)):
        if (x.sends and not x.gets and not y.sends and (said or y.gets)) or (y.gets and not y.sends and not x.gets):
            return x.name, y.name
    return None


def message_goals(text: str, *, replies: bool) -> list[SubGoal] | None:
    """The goal of an instruction to reply to / forward (`replies`) or delete / star (not
    `replies`) the message of a person named in it, else None."""
    try:
        t = Masked(text.strip())
    except InstructionNotUnderstood:
        return None
    s = t.masked
    people = _people(t)
    if len(people) > 2:  # a capitalized word no role word stands by is likely a verb ("Pass the ...")
        people = [p for p in people if p.sends or p.gets]
    if not people:
        return None
    quoted = [q for q in t.quotes if q.strip()]
    if replies:
        if quoted and not _FIELD.search(s) and _REPLY.search(PLACEHOLDER.sub(" ", s)) \
                and (who := _sender(people, reply=True)) is not None:
            return [ComposeGoal("reply", Ref(who.name), text=quoted[-1].strip())]
        if not quoted and _MESSAGE.search(s) and _FORWARD.search(s) \
                and (pair := _forward(people, bool(_FORWARDS.search(s)))) is not None:
            return [ComposeGoal("forward", Ref(pair[0]), to=pair[1])]
        return None
    if quoted or not _MESSAGE.search(s) or (who := _sender(people)) is None:
        return None
    count = 0 if _ALL.search(s) else 1
    if _DELETE.search(s):
        return [WithinGoal(Ref("delete", "icon"), Ref(who.name), count)]
    if _STAR.search(s):
        return [WithinGoal(Ref("star", "icon"), Ref(who.name), count)]
    return None


__all__ = ["message_goals"]
