"""An icon is pointed at before it is pressed, and a press whose only trace is the icon's own
hover look is not taken for an effect: the pointer moves off, the icon is compared with how it
looked, and a click that did nothing is made once more, then reported, never claimed."""

from __future__ import annotations

from PIL import Image, ImageDraw

from guiagent.planning.rule import RulePlanner
from guiagent.schema import Click, Done, Element, Hover, Observation, Outcome, Role, Step

SIZE = (400, 300)
STAR = Element(id="s", role=Role.ICON, name="star", bbox=(100, 100, 120, 120))


def frame(icon: str = "grey", elsewhere: bool = False) -> Observation:
    img = Image.new("RGB", SIZE, "white")
    d = ImageDraw.Draw(img)
    d.rectangle(STAR.bbox, fill=icon)
    if elsewhere:
        d.rectangle((200, 200, 300, 260), fill="black")  # a menu opened
    return Observation(screenshot=img, elements=(STAR,), screen_size=SIZE)


def run(frames: list[Observation]) -> list[object]:
    p, acts = RulePlanner(), []
    for i, o in enumerate(frames):
        hist = [Step(index=i - 1, target_element=STAR, outcome=Outcome(screen_changed=True))] if i else []
        acts.append(p.next("click the star icon", o, hist).action)
        if isinstance(acts[-1], Done):
            break
    return acts


def test_a_click_that_only_hovered_is_made_again_then_reported() -> None:
    # before; hovered (red); pressed, still only red; pointer off: grey again -> once more
    frames = [frame(), frame("red"), frame("red"), frame(), frame("red"), frame("red"), frame()]
    acts = run(frames)
    assert [type(a) for a in acts] == [Hover, Click, Hover, Hover, Click, Hover, Done]
    assert isinstance(acts[-1], Done) and acts[-1].status == "impossible"


def test_a_toggle_stays_changed_off_the_pointer() -> None:
    acts = run([frame(), frame("red"), frame("red"), frame("gold"), frame("gold")])
    assert [type(a) for a in acts] == [Hover, Click, Hover, Done]
    assert isinstance(acts[-1], Done) and acts[-1].status == "success"


def test_an_effect_beyond_the_icon_is_the_effect() -> None:
    acts = run([frame(), frame("red"), frame("red", elsewhere=True), frame("red", elsewhere=True)])
    assert [type(a) for a in acts] == [Hover, Click, Done]
    assert isinstance(acts[-1], Done) and acts[-1].status == "success"
