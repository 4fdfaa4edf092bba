"""A window paints before its app registers on the a11y bus (measured here: a Qt window's first
frame was on screen while AT-SPI did not list it yet, ~0.02 s after its first paint). A target taken
from that first, pixels-only observation must name the same widget once the tree lists it: the
element keeps its id, and the guard judges the real button behind it."""

from __future__ import annotations

from pathlib import Path

from scripted import ScriptedPlanner
from test_guard_targets import desktop, qt_window  # noqa: F401 - fixtures
from waiting import wait_until

from devices.base import Device
from grounding.text_matcher import TextGrounder
from guiagent.agent import Agent, AgentConfig
from guiagent.runner import build_screen_parser
from guiagent.safety import refuse_all
from guiagent.schema import Click, Done, Element, Target


class _NotRegisteredYet:
    """The desktop, whose a11y tree does not list anything on the first read."""

    def __init__(self, dev: Device) -> None:
        self._dev, self.reads = dev, 0

    def ui_tree(self) -> list[Element]:
        self.reads += 1
        return [] if self.reads == 1 else self._dev.ui_tree()

    def __getattr__(self, name: str) -> object:
        return getattr(self._dev, name)


def test_an_id_seen_before_the_a11y_tree_listed_the_window_still_names_its_button(
        desktop: Device, qt_window: Path) -> None:  # noqa: F811
    dev = _NotRegisteredYet(desktop)
    parser = build_screen_parser(ocr=True)
    first = Agent(dev, ScriptedPlanner([Done()]), TextGrounder(semantic=False), parser=parser).observe()  # type: ignore[arg-type]
    seen = next(e for e in first.elements if e.label == "Place order" and e.clickable)
    assert seen.source != "a11y"  # found in pixels: the tree was withheld
    wait_until(lambda: any(e.name == "Place order" for e in desktop.ui_tree()), what="Qt's a11y tree listing the window")
    agent = Agent(dev, ScriptedPlanner([Click(target=Target(element=seen.id)), Done()]),  # type: ignore[arg-type]
                  TextGrounder(semantic=False), parser=parser, approver=refuse_all,
                  config=AgentConfig(max_steps=3, settle_timeout=1.0))
    agent.run("use the window")
    step = agent.history[0]
    assert step.target_element is not None and step.target_element.source == "a11y"
    assert step.target_element.id == seen.id and step.target_element.label == "Place order"
    assert step.guard is not None and (step.guard.verdict, step.guard.rule) == ("ask", "sensitive-word")
