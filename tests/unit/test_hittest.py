"""The hit test: which element a point lands on, and which control Enter submits."""

from __future__ import annotations

from PIL import Image

from grounding.text_matcher import TextGrounder
from guiagent.safety.hittest import element_at, ground_action, submit_control
from guiagent.schema import Click, Element, Observation, Point, Role, Swipe, Target

SIZE = (400, 800)


def screen(*elements: Element) -> Observation:
    return Observation(screenshot=Image.new("RGB", SIZE), elements=elements, screen_size=SIZE)


def at(x: float, y: float) -> Point:
    return Point.from_pixels(x, y, SIZE)


WINDOW = Element(id="w", role=Role.WINDOW, name="Delete account - Settings", bbox=(0, 0, 400, 800))
BUTTON = Element(id="b", role=Role.BUTTON, name="Confirm payment", bbox=(20, 100, 380, 160), clickable=True)
OCR_LINK = Element(id="o", role=Role.LINK, name="Continue", bbox=(150, 115, 250, 145), clickable=True, source="ocr")


def test_the_a11y_widget_wins_over_ocr_text_inside_it_and_over_the_window() -> None:
    hit = element_at(screen(WINDOW, BUTTON, OCR_LINK), at(200, 130))
    assert hit is not None and hit.id == "b"  # the disguising OCR "Continue" does not hide the real name
    assert element_at(screen(WINDOW, BUTTON), at(200, 400)) is None  # empty space: the window does not count


def test_an_unnamed_row_is_named_after_the_text_inside_it() -> None:
    row = Element(id="r", role=Role.OTHER, bbox=(0, 300, 400, 380), clickable=True)
    text = Element(id="t", role=Role.TEXT, name="Delete all photos", bbox=(20, 320, 200, 350))
    hit = element_at(screen(row, text), at(350, 340))  # right of the text, still on the row
    assert hit is not None and hit.id == "r" and hit.name == "Delete all photos"


def test_smallest_actionable_then_named_text_then_nearest_text() -> None:
    outer = Element(id="a", role=Role.LIST_ITEM, name="Account", bbox=(0, 200, 400, 280), clickable=True)
    switch = Element(id="s", role=Role.SWITCH, name="Sync", bbox=(320, 220, 380, 260), clickable=True)
    assert (hit := element_at(screen(outer, switch), at(350, 240))) is not None and hit.id == "s"
    label = Element(id="l", role=Role.TEXT, name="Pay now", bbox=(100, 500, 200, 520), source="ocr")
    assert (hit := element_at(screen(label), at(150, 510))) is not None and hit.id == "l"
    assert (hit := element_at(screen(label), at(150, 530))) is not None and hit.id == "l"  # 10 px below it
    assert element_at(screen(label), at(150, 600)) is None  # too far to mean it


def test_submit_control_is_the_forms_submit_button_below_or_right() -> None:
    field = Element(id="f", role=Role.TEXT_FIELD, name="Message", bbox=(20, 400, 300, 440), editable=True)
    above = Element(id="x", role=Role.BUTTON, name="Pay now", bbox=(20, 300, 380, 340))
    right = Element(id="g", role=Role.BUTTON, name="Go", bbox=(310, 400, 380, 440))
    cancel = Element(id="c", role=Role.BUTTON, name="Cancel", bbox=(20, 460, 180, 500))
    order = Element(id="p", role=Role.BUTTON, name="Place order", bbox=(200, 460, 380, 500))
    hit = submit_control(screen(above, field, cancel, order), field)
    assert hit is not None and hit.id == "p"  # Cancel is not a submit word; Pay now lies above
    assert (hit := submit_control(screen(above, field, right, order), field)) is not None and hit.id == "g"
    assert (hit := submit_control(screen(field, cancel), field)) is not None and hit.id == "c"  # the only one
    other = cancel.model_copy(update={"id": "d", "name": "Back", "bbox": (200, 460, 380, 500)})
    assert submit_control(screen(field, cancel, other), field) is None  # two, none submit-ish: unknown


def test_grounding_keeps_the_element_under_a_point() -> None:
    obs = screen(WINDOW, BUTTON)
    action, element, _ = ground_action(Click(target=Target(point=at(30, 110))), obs, TextGrounder(semantic=False))
    assert element is not None and element.id == "b" and action == Click(target=Target(point=at(30, 110)))
    action, element, _ = ground_action(Swipe(start=Target(element="b"), end=Target(point=at(5, 700))), obs,
                                       TextGrounder(semantic=False))
    assert element is not None and element.id == "b"
    assert isinstance(action, Swipe) and action.start.point is not None and action.start.element == "b"
