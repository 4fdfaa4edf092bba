"""Acting on a message or an entry found by a person's name: the grammar over phrasings that
are not any benchmark's template, what it must leave alone, and the compose skill's steps
(open, Reply / Forward, fill, send once) and an entry's value beside its label, on drawn
screens."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw

from guiagent.planning.instructions import ComposeGoal, Ref, WithinGoal, describe_goal, parse_instructions
from guiagent.planning.skills import Notes, Seen, run_goal
from guiagent.planning.skills.entries import next_page, value_of
from guiagent.schema import Click, Done, Element, Observation, Role, TypeText
from guiagent.schema.errors import InstructionNotUnderstood

SIZE = (320, 400)


@pytest.mark.parametrize(("text", "goal"), [
    ("Open the message Ada Byron sent me and answer it with 'On my way'", ComposeGoal("reply", Ref("Ada Byron"), "On my way")),
    ('Respond to the mail from Grace with "Thanks, got it."', ComposeGoal("reply", Ref("Grace"), "Thanks, got it.")),
    ("Write back to Linus: 'Merged.'", ComposeGoal("reply", Ref("Linus"), "Merged.")),
    ("Pass the e-mail from Ken along to Dennis by forwarding it", ComposeGoal("forward", Ref("Ken"), to="Dennis")),
    ("Could you send Barbara the message that Edsger wrote?", ComposeGoal("forward", Ref("Edsger"), to="Barbara")),
    ("Margaret needs the email from Alan.", ComposeGoal("forward", Ref("Alan"), to="Margaret")),
    ("Forward Tim's latest mail to Vint", ComposeGoal("forward", Ref("Tim"), to="Vint")),
    ("Get rid of the message Donald sent.", WithinGoal(Ref("delete", "icon"), Ref("Donald"))),
    ("Mark the mail from Barbara as important, please", WithinGoal(Ref("star", "icon"), Ref("Barbara"))),
    ("Look up Frances in the address book, then tap her phone number",
     WithinGoal(Ref("phone number"), Ref("Frances"))),
    ("Search for John in the directory and click his email address", WithinGoal(Ref("email address"), Ref("John"))),
])
def test_paraphrases_parse_to_the_flow(text: str, goal: object) -> None:
    assert parse_instructions(text) == [goal]


@pytest.mark.parametrize("text", [
    "Type 'hello' into the Name field",  # a quote and a capitalized word: no message, no reply
    "Click Reply on all posts by @lyda",  # the anchored click, not a reply to be written
    "Press Send",
])
def test_other_instructions_are_not_messages(text: str) -> None:
    assert not any(isinstance(g, ComposeGoal) for g in parse_instructions(text))


def test_an_unclear_recipient_is_refused() -> None:
    with pytest.raises(InstructionNotUnderstood):  # two people, neither said to receive it
        parse_instructions("Forward Ken and Dennis the email")
    assert describe_goal(ComposeGoal("forward", Ref("Ken"), to="Dennis")) == "forward the message from Ken to Dennis"


# ------------------------------------------------------------------ the skill on drawn screens

def _el(eid: str, name: str, box: tuple[int, int, int, int], role: Role = Role.TEXT) -> Element:
    return Element(id=eid, role=role, name=name, bbox=box, source="ocr")


def _screen(draw: str, *elements: Element) -> Observation:
    img = Image.new("RGB", SIZE, "white")
    d = ImageDraw.Draw(img)
    for e in elements:  # the text's ink, so that screens differ where their texts do
        d.rectangle((e.bbox[0], e.bbox[1] + 8, e.bbox[0] + 6 * len(e.name), e.bbox[3] - 8), fill="black")
    if draw == "list":
        for y in (60, 120):
            d.line((0, y, SIZE[0], y), fill="grey")
    if draw == "form":  # a back arrow at the near end of the top bar, a paper plane at the far end
        d.polygon([(20, 20), (32, 10), (32, 30)], fill="grey")
        d.polygon([(280, 10), (305, 20), (280, 30), (286, 20)], fill="grey")
    return Observation(screenshot=img, elements=tuple(elements), screen_size=SIZE)


INBOX = _screen("list", _el("a", "Ada", (8, 10, 60, 40)), _el("b", "Bob", (8, 70, 60, 100)))
MESSAGE = _screen("view", _el("s", "Bob", (8, 50, 60, 70)), _el("r", "Reply", (60, 300, 120, 320)),
                  _el("f", "Forward", (180, 300, 260, 320)))
TO, SUBJECT = _el("t", "to:", (4, 50, 40, 80)), _el("j", "subject: Lunch", (4, 90, 170, 120))


def test_forward_opens_the_message_fills_the_recipient_and_sends_once() -> None:
    steps = run_goal(ComposeGoal("forward", Ref("Bob"), to="Carol"), Seen(INBOX), Notes())
    first = next(steps)
    assert isinstance(first.actions[0], Click) and first.actions[0].target.element == "b"
    press = steps.send(Seen(MESSAGE, changed=True))
    assert press.actions[0].target.element == "f"  # type: ignore[union-attr]
    form = _screen("form", TO, SUBJECT)
    typing = steps.send(Seen(form, changed=True)).actions[0]
    assert isinstance(typing, TypeText) and typing.text == "Carol" and typing.target is not None
    assert typing.target.point is not None and typing.target.point.x * SIZE[0] > TO.bbox[2]  # right of "to:"
    filled = _screen("form", _el("t", "to: Carol", (4, 50, 110, 80)), SUBJECT)
    send = steps.send(Seen(filled, changed=True))
    assert isinstance(send.actions[0], Click) and send.actions[0].target.point is not None
    assert send.actions[0].target.point.x > 0.8 and "Send" in (send.actions[0].target.description or "")
    with pytest.raises(StopIteration):
        steps.send(Seen(INBOX, changed=True))


def test_reply_types_below_the_header_and_a_form_that_never_opens_is_reported() -> None:
    steps = run_goal(ComposeGoal("reply", Ref("Bob"), text="Sure"), Seen(MESSAGE), Notes())
    assert next(steps).actions[0].target.element == "r"  # type: ignore[union-attr]  # already open: no click on it
    form = _screen("form", _el("t", "to: Bob", (4, 50, 90, 80)), SUBJECT)
    typing = steps.send(Seen(form, changed=True)).actions[0]
    assert isinstance(typing, TypeText) and typing.target is not None and typing.target.point is not None
    assert typing.target.point.y * SIZE[1] > SUBJECT.bbox[3]  # the body, under the header lines

    steps = run_goal(ComposeGoal("reply", Ref("Bob"), text="Sure"), Seen(MESSAGE), Notes())
    next(steps)
    end = steps.send(Seen(MESSAGE, changed=False)).actions[0]  # pressing Reply changed nothing
    assert isinstance(end, Done) and end.status == "impossible" and "no form" in (end.answer or "")


def test_a_value_is_the_text_beside_its_label_and_the_pager_is_found() -> None:
    card = _screen("card", _el("n", "Ada", (4, 10, 80, 40)), _el("p", "Phone:", (10, 60, 80, 80)),
                   _el("pv", "555-0100", (90, 60, 200, 80), Role.LINK), _el("e", "Email: ada@x.org", (10, 90, 200, 110)),
                   _el("g", "≥", (150, 300, 170, 330), Role.LINK))
    phone = value_of(card, Ref("phone number"), lambda e: True)
    assert phone is not None and phone.element == "pv"
    mail = value_of(card, Ref("email"), lambda e: True)  # read as one line: a point on the value's part
    assert mail is not None and mail.point is not None and mail.point.x * SIZE[0] > 10 + 190 * 6 / 16
    assert value_of(card, Ref("address"), lambda e: True) is None
    pager = next_page(card)
    assert pager is not None and pager.element == "g"


def test_a_links_underline_is_no_border_between_items() -> None:
    from guiagent.planning.skills.within import items

    img = Image.new("RGB", SIZE, "white")
    d = ImageDraw.Draw(img)
    d.line((90, 143, 300, 143), fill="blue", width=2)  # under the link "ada@x.org" only
    d.line((0, 250, SIZE[0], 250), fill="grey")  # the border after the card
    card = Observation(screenshot=img, screen_size=SIZE, elements=(
        _el("n", "Ada", (4, 10, 80, 40)), _el("e", "Email:", (10, 120, 86, 147)),
        _el("ev", "ada@x.org", (88, 120, 300, 147), Role.LINK), _el("a", "Address:", (10, 160, 110, 180))))
    (card_item,) = items(card, Ref("Ada"))
    assert (card_item.band.top, card_item.band.bottom) == (0, 250)  # "Address:" is still Ada's
