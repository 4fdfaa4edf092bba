"""The shared vocabulary: validation at creation, JSON round trips, helpers."""

from __future__ import annotations

import json

import pytest
from PIL import Image
from pydantic import ValidationError

from guiagent.schema import (
    ACTION_ADAPTER,
    ACTION_TYPES,
    Back,
    Click,
    Decision,
    Done,
    DoubleClick,
    Drag,
    Element,
    EpisodeMeta,
    Home,
    Hover,
    Key,
    LongPress,
    Observation,
    OpenApp,
    Point,
    RightClick,
    Role,
    Scroll,
    Step,
    Swipe,
    Target,
    TokenUsage,
    Trajectory,
    TypeText,
    Wait,
    action_targets,
    describe_action,
    with_targets,
)

P = Target.at(0.25, 0.75)
ONE_OF_EACH = [
    Click(target=P), DoubleClick(target=Target(element="7")), RightClick(target=Target.described("icon")),
    LongPress(target=P, duration=1.5), TypeText(text="Ada Lovelace — ünï 漢字", target=Target.described("Name"),
                                                submit=True),
    Key(keys=("ctrl", "s")), Scroll(direction="down", amount=1.0, anchor=P), Swipe(start=P, end=Target.at(0.25, 0.1)),
    Drag(start=P, end=Target.at(0.9, 0.9)), OpenApp(name="Settings"), Back(), Home(), Wait(seconds=0.5),
    Done(status="impossible", answer="no such button"), Hover(target=Target(element="3", description="File")),
]


def test_every_action_type_has_a_model_and_round_trips_through_json() -> None:
    assert sorted(a.type for a in ONE_OF_EACH) == sorted(ACTION_TYPES)
    for action in ONE_OF_EACH:
        text = json.dumps(ACTION_ADAPTER.dump_python(action, mode="json"), ensure_ascii=False)
        assert ACTION_ADAPTER.validate_json(text) == action


def test_a_hover_has_one_target_and_reads_like_a_click_without_the_press() -> None:
    hover = ACTION_ADAPTER.validate_python({"type": "hover", "target": {"description": "File"}})
    assert isinstance(hover, Hover) and action_targets(hover) == [Target.described("File")]
    assert with_targets(hover, [P]) == Hover(target=P) and describe_action(hover) == "hover 'File'"
    with pytest.raises(ValidationError):
        ACTION_ADAPTER.validate_python({"type": "hover"})  # no target


def test_points_are_normalized_and_validated() -> None:
    with pytest.raises(ValidationError):
        Point(x=1.2, y=0.5)
    with pytest.raises(ValidationError):
        Target()
    assert Point.from_pixels(640, 400, (1280, 800)) == Point(x=0.5, y=0.5)
    assert Point(x=1.0, y=1.0).to_pixels((1280, 800)) == (1279, 799)  # clamped inside the screen


def test_key_chords_are_normalized_and_checked() -> None:
    assert Key(keys="Ctrl+Shift+T").keys == ("ctrl", "shift", "t")
    assert Key(keys="Return").keys == ("enter",)
    assert Key(keys=["CMD", "q"]).chord == "meta+q"
    with pytest.raises(ValidationError, match="unknown key"):
        Key(keys="hyper+x")
    with pytest.raises(ValidationError, match="only the last key"):
        Key(keys=("a", "ctrl"))


def test_actions_are_frozen_and_validated_at_creation() -> None:
    c = Click(target=P)
    with pytest.raises(ValidationError):
        c.target = Target.at(0, 0)  # type: ignore[misc]
    with pytest.raises(ValidationError):
        Scroll(direction="sideways")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        ACTION_ADAPTER.validate_python({"type": "teleport"})


def test_targets_helpers_cover_every_action() -> None:
    for action in ONE_OF_EACH:
        targets = action_targets(action)
        replaced = with_targets(action, [Target.at(0.5, 0.5)] * len(targets))
        assert all(t.point == Point(x=0.5, y=0.5) for t in action_targets(replaced))
        assert describe_action(action)


def test_element_and_observation() -> None:
    e = Element(id="3", role=Role.BUTTON, name="OK", bbox=(110, 20, 10, 40))
    assert e.bbox == (10, 20, 110, 40) and e.center == (60, 30)
    obs = Observation(screenshot=Image.new("RGB", (200, 100)), elements=(e,), screen_size=(200, 100))
    assert obs.element("3") is e and obs.point_of(e) == Point(x=0.3, y=0.3)
    assert "screenshot" not in obs.model_dump()


def test_trajectory_round_trip_with_usage() -> None:
    step = Step(index=0, decision=Decision(action=Click(target=P), thought="t", usage=TokenUsage(prompt_tokens=3)),
                action=Click(target=P), elements=[Element(id="1", bbox=(0, 0, 1, 1))])
    traj = Trajectory(meta=EpisodeMeta(id="x", task="do it"), steps=[step])
    again = Trajectory.model_validate_json(traj.model_dump_json())
    assert again == traj
    assert (TokenUsage(prompt_tokens=1, completion_tokens=2, calls=1) + TokenUsage(prompt_tokens=3)).total == 6
