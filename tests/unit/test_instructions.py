"""The instruction grammar of the rule planner: exact sub-goal lists, and honest refusals."""

from __future__ import annotations

import pytest

from guiagent.planning.instructions import (
    BackGoal,
    ClickGoal,
    FocusGoal,
    HomeGoal,
    KeyGoal,
    MenuGoal,
    OpenAppGoal,
    Ref,
    ScrollGoal,
    SearchClickGoal,
    SelectGoal,
    SetToggleGoal,
    TypeGoal,
    WaitGoal,
    describe_goal,
    parse_instructions,
)
from guiagent.schema.errors import InstructionNotUnderstood, PlannerError

FIELD = Ref("", "field")

DEMO = [
    ("Type 'Ada Lovelace' into Name, tick Subscribe, then click Submit",
     [TypeGoal("Ada Lovelace", Ref("Name", "field")), SetToggleGoal(Ref("Subscribe", "checkbox"), True),
      ClickGoal(Ref("Submit"))]),
    ("Open Settings and turn on Wi-Fi", [OpenAppGoal("Settings"), SetToggleGoal(Ref("Wi-Fi"), True)]),
    ("press ctrl+s", [KeyGoal(("ctrl", "s"))]),
    ("scroll down 3 times", [ScrollGoal("down", 3)]),
    ("wait 2 seconds", [WaitGoal(2.0)]),
    ('double-click "report.txt"', [ClickGoal(Ref("report.txt", quoted=True), "double")]),
    ("right click the icon", [ClickGoal(Ref("", "icon"), "right")]),
    ("go back", [BackGoal()]),
    ("go home", [HomeGoal()]),
    ('open Notes, type "hello" into the note field and tap Save',
     [OpenAppGoal("Notes"), TypeGoal("hello", Ref("note", "field")), ClickGoal(Ref("Save"))]),
]

MINIWOB = [
    ('Click on the "ok" button.', [ClickGoal(Ref("ok", "button", quoted=True))]),
    ("Click button ONE, then click button TWO.", [ClickGoal(Ref("ONE", "button")), ClickGoal(Ref("TWO", "button"))]),
    ('Click on the link "lorem".', [ClickGoal(Ref("lorem", "link", quoted=True))]),
    ('Close the dialog box by clicking the "x".', [ClickGoal(Ref("x", quoted=True))]),
    ('Click the button in the dialog box labeled "Cancel".', [ClickGoal(Ref("Cancel", "button", quoted=True))]),
    ('Switch between the tabs to find and click on the link "xyz".',
     [SearchClickGoal(Ref("xyz", "link", quoted=True), "tab")]),
    ("Click on Tab #2.", [ClickGoal(Ref("Tab #2", "tab"))]),
    ("Click the button.", [ClickGoal(Ref("", "button"))]),
    ('Click on the "Submit" button.', [ClickGoal(Ref("Submit", "button", quoted=True))]),
    ("Select eRMHk, 5L, vQ and click Submit.",
     [SelectGoal(Ref("eRMHk")), SelectGoal(Ref("5L")), SelectGoal(Ref("vQ")), ClickGoal(Ref("Submit"))]),
    ("Select nothing and click Submit.", [ClickGoal(Ref("Submit"))]),
    ("Select sHg from the list and click Submit.",
     [SelectGoal(Ref("sHg"), Ref("", "list")), ClickGoal(Ref("Submit"))]),
    ('Enter "Ada" into the text field and press Submit.', [TypeGoal("Ada", FIELD), ClickGoal(Ref("Submit"))]),
    ('Enter the password "x7Zq" into both text fields and press submit.',
     [TypeGoal("x7Zq", Ref("", "field", 1)), TypeGoal("x7Zq", Ref("", "field", 2)), ClickGoal(Ref("submit"))]),
    ("Focus into the textbox.", [FocusGoal(FIELD)]),
    ("Focus into the 2nd input box.", [FocusGoal(Ref("", "field", 2))]),
    ('Enter the username "kanesha" and the password "Cl8" into the text fields and press login.',
     [TypeGoal("kanesha", Ref("username", "field")), TypeGoal("Cl8", Ref("password", "field")),
      ClickGoal(Ref("login"))]),
    ('Expand the sections below, to find and click on the link "nunc".',
     [SearchClickGoal(Ref("nunc", "link", quoted=True), "section")]),
    ('Type "xyz" in the textbox and press Enter.', [TypeGoal("xyz", FIELD, submit=True)]),
]

MORE = [
    # quoted values keep spaces and punctuation, separators inside quotes are not splits
    ('Type "a, b and then c. Done; ok!" into the Comment box',
     [TypeGoal("a, b and then c. Done; ok!", Ref("Comment", "field"))]),
    ("type “Grüß Gott” into Greeting", [TypeGoal("Grüß Gott", Ref("Greeting", "field"))]),
    ("type 'Ada's notes' into Title", [TypeGoal("Ada's notes", Ref("Title", "field"))]),
    ("click Ada's profile", [ClickGoal(Ref("Ada's profile"))]),
    ('Find and click the "OK" button', [ClickGoal(Ref("OK", "button", quoted=True))]),
    ('Switch between the tabs to find the link "abc" and click it',
     [SearchClickGoal(Ref("abc", "link", quoted=True), "tab")]),
    ('turn Bluetooth off and uncheck "Remember me"',
     [SetToggleGoal(Ref("Bluetooth"), False), SetToggleGoal(Ref("Remember me", "checkbox", quoted=True), False)]),
    ("disable Airplane mode", [SetToggleGoal(Ref("Airplane mode"), False)]),
    ("tick the box next to Remember me", [SetToggleGoal(Ref("Remember me", "checkbox"), True)]),
    ("check A, B and C", [SetToggleGoal(Ref(x, "checkbox"), True) for x in "ABC"]),
    ("press tab 3 times, then hit enter", [KeyGoal(("tab",), 3), KeyGoal(("enter",))]),
    ("press the Escape key", [KeyGoal(("escape",))]),
    ("press Ctrl + Shift + T", [KeyGoal(("ctrl", "shift", "t"))]),
    ("scroll up to the top", [ScrollGoal("up", 1, 5.0, to_end=True)]),
    ("scroll down in the results list", [ScrollGoal("down", anchor=Ref("results", "list"))]),
    ("wait for 500 ms and then go back", [WaitGoal(0.5), BackGoal()]),
    ("Select Open, Check and click Submit.",
     [SelectGoal(Ref("Open")), SelectGoal(Ref("Check")), ClickGoal(Ref("Submit"))]),
    ("Click Options", [ClickGoal(Ref("Options"))]),
    ("Click the options", [ClickGoal(Ref("", "item"))]),
    ('fill in Email with "a@b.c" and submit', [TypeGoal("a@b.c", Ref("Email", "field"), submit=True)]),
    ('search for "cheap flights"', [TypeGoal("cheap flights", Ref("search", "field"), submit=True)]),
    ("long press the 3rd item", [ClickGoal(Ref("", "item", 3), "long")]),
    ("click the last link", [ClickGoal(Ref("", "link", -1))]),
    ("Please click Save. Then press Home.", [ClickGoal(Ref("Save")), HomeGoal()]),
    ("launch the Calculator app", [OpenAppGoal("Calculator")]),
    ('open the link "About us"', [ClickGoal(Ref("About us", "link", quoted=True))]),
    ("click Terms and Conditions", [ClickGoal(Ref("Terms and Conditions"))]),
    ('click Submit and submit', [ClickGoal(Ref("Submit")), ClickGoal(Ref("Submit", "button"))]),
    ("type hello world into search box", [TypeGoal("hello world", Ref("search", "field"))]),
    ('type "x" and "y" into the fields', [TypeGoal("x", Ref("", "field", 1)), TypeGoal("y", Ref("", "field", 2))]),
    ("click the OK button to close the dialog", [ClickGoal(Ref("OK", "button"))]),
    ('Type "agustina" in all upper case letters in the text input and press Submit.',
     [TypeGoal("AGUSTINA", Ref("", "field", multiline=False)), ClickGoal(Ref("Submit"))]),
    ('type "JERALD" in lowercase into Name', [TypeGoal("jerald", Ref("Name", "field"))]),
    ('Click on a "checkbox" widget.', [ClickGoal(Ref("", "checkbox"))]),
    ('Click on a "text" widget.', [ClickGoal(Ref("", "field", multiline=False))]),
    ('Click on a "textarea" widget.', [ClickGoal(Ref("", "field", multiline=True))]),
    ("Select Alvera>Terza>Ludovika", [MenuGoal((Ref("Alvera"), Ref("Terza"), Ref("Ludovika")))]),
    ("click File > Save As", [MenuGoal((Ref("File"), Ref("Save As")))]),
    ('Use the textbox to enter "Renda" and press "Search".', [TypeGoal("Renda", FIELD), ClickGoal(Ref("Search", quoted=True))]),
    ("press the search key", [KeyGoal(("search",))]),
    ("tick Subscribe, then tick Subscribe again and click Submit now",
     [SetToggleGoal(Ref("Subscribe", "checkbox"), True)] * 2 + [ClickGoal(Ref("Submit"))]),
    ('Check the 1st radio button and enter the number "-5" into the 2nd textbox.',
     [SetToggleGoal(Ref("", "radio", 1), True), TypeGoal("-5", Ref("", "field", 2))]),
]


@pytest.mark.parametrize(("text", "goals"), DEMO + MINIWOB + MORE, ids=[c[0][:40] for c in DEMO + MINIWOB + MORE])
def test_parses_exactly(text: str, goals: list) -> None:
    assert parse_instructions(text) == goals


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("make it pretty", "I can't parse 'make it pretty'"),
        ("", "empty"),
        ("   ", "empty"),
        ("click", "click what?"),
        ("click the Submit button and", "and then what?"),  # cut off: not run half of it
        ("type 'hello", "never closed"),
        ('click the "OK button', "never closed"),
        ("click OK and make coffee", "make coffee"),
        ("wait 5 minutes", "over 60 seconds"),
        ("wait forever", "wait how long"),
        ("scroll sideways", "scroll which way"),
        ("turn the radio", "on or off"),
        ("type into Name", "type what?"),
        ('Enter "a" and "b" and "c" into both fields', "3 texts for 2 fields"),
        ("Switch between the tabs", "look through the tabs for what?"),
        ("browse the pictures", "look through what?"),
        ("click salt and pepper", "I can't parse 'pepper'"),
        ('Switch between the tabs to find the link "abc"', "and then what"),
        ("click it", "refers to nothing"),
        ("press Submit twice", "is not a key"),
        # (autocomplete "an item that starts with ..." and "words similar to ..." are skills now)
        ('Type the word that contains "ab" into Name', "describes the text"),
        ('Select the options matching "x" and click Submit.', "describes the options"),
    ],
)
def test_refuses_with_a_message_naming_the_part(text: str, fragment: str) -> None:
    with pytest.raises(InstructionNotUnderstood) as info:
        parse_instructions(text)
    assert fragment in str(info.value)
    assert isinstance(info.value, PlannerError)


def test_descriptions_are_what_the_grounder_reads() -> None:
    assert Ref("Name", "field").describe() == "Name field"
    assert Ref("Submit", "button").describe() == "Submit button"
    assert Ref("About", "link", quoted=True).describe() == "the link 'About'"
    assert Ref("Ada's", "button", quoted=True).describe() == 'the button "Ada\'s"'
    assert Ref("", "field", 2).describe() == "the 2nd text field"
    assert Ref("", "button").describe() == "the button"
    assert Ref("Tab #2", "tab").describe() == "'Tab #2'"  # quoted: the grounder takes it as a label
    assert Ref("Subscribe", "checkbox").describe() == "Subscribe checkbox"
    assert Ref("Subscribe", "checkbox").describe(with_role=False) == "Subscribe"
    assert Ref("", "radio", -1).describe() == "the last radio button"
    goals = parse_instructions("Type 'Ada' into Name, tick Subscribe, then click Submit")
    assert [describe_goal(g) for g in goals] == [
        "type 'Ada' into Name field", "tick Subscribe checkbox", "click Submit"]
