"""The anchored-target grammar: a click inside the item (post, row, card, email) that shows a
text, on one, N or all such items, in several phrasings; and what it must leave alone."""

from __future__ import annotations

import pytest

from guiagent.planning.instructions import (
    ClickGoal,
    ComposeGoal,
    Ref,
    SelectGoal,
    WithinGoal,
    describe_goal,
    parse_instructions,
)
from guiagent.schema.errors import InstructionNotUnderstood

SUBMIT = ClickGoal(Ref("Submit"))


@pytest.mark.parametrize(("text", "goals"), [
    ('For the user @kenda, click on the "Retweet" button.',
     [WithinGoal(Ref("Retweet", "button", quoted=True), Ref("@kenda"))]),
    ("In the card of Ada, click Edit", [WithinGoal(Ref("Edit"), Ref("Ada"))]),
    ("On the row containing 'Invoice 12': click the trash icon",
     [WithinGoal(Ref("trash", "icon"), Ref("Invoice 12", quoted=True))]),
    ('Click the "Reply" button on 4 posts by @kasie and then click Submit.',
     [WithinGoal(Ref("Reply", "button", quoted=True), Ref("@kasie"), 4), SUBMIT]),
    ("Press Like on three tweets from @bob, then click Submit",
     [WithinGoal(Ref("Like"), Ref("@bob"), 3), SUBMIT]),
    ("Click Reply on all posts by @lyda", [WithinGoal(Ref("Reply"), Ref("@lyda"), 0)]),
    ("Tap Share on each of the posts written by @ann", [WithinGoal(Ref("Share"), Ref("@ann"), 0)]),
    ("Click the Delete button of the row containing 'Invoice 12'",
     [WithinGoal(Ref("Delete", "button"), Ref("Invoice 12", quoted=True))]),
    ('click the trash icon next to "Alice"', [WithinGoal(Ref("trash", "icon"), Ref("Alice", quoted=True))]),
    ("Find the email by Lyda and click the trash icon to delete it.",
     [WithinGoal(Ref("trash", "icon"), Ref("Lyda"))]),
    ("Locate the message from Maye, then click the star icon to mark it as important",
     [WithinGoal(Ref("star", "icon"), Ref("Maye"))]),
    ("Please find the email from Ada Lovelace and delete it.", [WithinGoal(Ref("delete", "icon"), Ref("Ada Lovelace"))]),
    ("Star every email from Bob, then click Submit", [WithinGoal(Ref("star", "icon"), Ref("Bob"), 0), SUBMIT]),
    ("Find the email sent by Bob and open it", [ClickGoal(Ref("Bob"))]),
    ("Open the message from Bob", [ClickGoal(Ref("Bob"))]),
])
def test_anchored_phrasings(text: str, goals: list[object]) -> None:
    assert parse_instructions(text) == goals


@pytest.mark.parametrize(("text", "goals"), [
    ("Click the 2nd item in the list", None),  # an ordinal in a list: no anchor
    ("Select Apple from the list", [SelectGoal(Ref("Apple"), Ref("", "list"))]),
    ("click Submit", [SUBMIT]),
])
def test_plain_instructions_are_left_to_the_ordinary_grammar(text: str, goals: list[object] | None) -> None:
    parsed = parse_instructions(text)
    assert not any(isinstance(g, WithinGoal) for g in parsed)
    if goals is not None:
        assert parsed == goals


def test_the_plan_line_says_where_and_how_many() -> None:
    goal = WithinGoal(Ref("Reply", "button"), Ref("@kasie"), 4)
    assert describe_goal(goal) == "click Reply button in 4 items showing @kasie"
    assert "every item" in describe_goal(WithinGoal(Ref("Like"), Ref("@x"), 0))


def test_an_anchored_instruction_with_an_unreadable_rest_is_still_refused() -> None:
    with pytest.raises(InstructionNotUnderstood):
        parse_instructions("Find the email by Lyda and frobnicate it")
    # more than a click: not an icon in the row, nor a query, but the compose skill's
    assert parse_instructions("Find the email by Lyda and forward it to Bob") == [ComposeGoal("forward", Ref("Lyda"), to="Bob")]
