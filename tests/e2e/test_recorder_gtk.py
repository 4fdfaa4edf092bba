"""Recording a third-party GTK form (Debian's zenity) on Xvfb with real X input (xdotool) and
the real AT-SPI tree. Its text fields have no accessible name: each label is a separate widget
to the left. The typed steps must name the field after its label (the grounder's layout rule),
even when a Tab moves the focus on (to the next field, to the Cancel button) right after the
last letter. zenity prints the submitted values, which proves what the app received."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from waiting import wait_until

from guiagent.recorder import EpisodeWriter, read_episode
from guiagent.recorder.a11y_bus import A11yBus
from guiagent.recorder.desktop import DesktopOptions, DesktopRecorder
from guiagent.schema import Click, Element, EpisodeMeta, Key, Role, TypeText

pytestmark = pytest.mark.skipif(shutil.which("xdotool") is None or shutil.which("zenity") is None,
                                reason="xdotool or zenity is not installed (scripts/install-sysdeps.sh)")
LABELS = ("First name", "E-mail")


def xdo(*args: str) -> None:
    subprocess.run(["xdotool", *args], check=True, timeout=20)


def click_on(el: Element) -> None:
    x, y = el.center
    xdo("mousemove", str(int(x)), str(int(y)), "click", "1")


@pytest.fixture(scope="module")
def a11y(xdisplay: Any) -> Iterator[A11yBus]:
    if not A11yBus.available():
        pytest.skip("AT-SPI is not installed (scripts/install-sysdeps.sh)")
    with A11yBus() as bus:
        yield bus


@pytest.fixture
def desktop(a11y: Any) -> Iterator[Any]:
    from devices.x11.device import open_desktop

    dev = open_desktop("")
    try:
        yield dev
    finally:
        dev.close()


@pytest.fixture
def zenity(a11y: Any) -> Iterator[subprocess.Popen[str]]:
    env = {k: v for k, v in os.environ.items() if k != "NO_AT_BRIDGE"}  # GTK's a11y bridge stays on
    env["GDK_BACKEND"] = "x11"
    proc = subprocess.Popen(
        ["zenity", "--forms", "--title=Sign up", "--text=Join the list", "--separator=|",
         *(f"--add-entry={label}" for label in LABELS)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)


def field_right_of(label: Element, elements: list[Element]) -> Element:
    """The test's own reading of the form: the text field on the label's row (not the rule
    under test, which also looks below a label and checks the inverse)."""
    y = label.center[1]
    row = [e for e in elements if e.role == Role.TEXT_FIELD and e.bbox[1] <= y < e.bbox[3] and e.bbox[0] >= label.bbox[2]]
    assert len(row) == 1, row
    return row[0]


def form_widgets(desktop: Any, pid: int) -> dict[str, Element]:
    def ready() -> dict[str, Element] | None:
        tree = [e for e in desktop.ui_tree() if e.extras.get("pid") == pid]
        labels = {e.name: e for e in tree if e.role == Role.TEXT and e.name in LABELS}
        ok = next((e for e in tree if e.role == Role.BUTTON and e.name == "OK"), None)
        fields = [e for e in tree if e.role == Role.TEXT_FIELD]
        if len(labels) < len(LABELS) or ok is None or len(fields) < len(LABELS):
            return None
        return {**{name: field_right_of(el, tree) for name, el in labels.items()}, "OK": ok}

    return wait_until(ready, 60, "zenity's form in the a11y tree")


def test_record_zenity_form_names_fields_by_their_labels(zenity: subprocess.Popen[str], desktop: Any,
                                                         tmp_path: Path) -> None:
    w = form_widgets(desktop, zenity.pid)
    assert all(not w[label].name for label in LABELS)  # the premise: unnamed fields
    folder = tmp_path / "ep"
    writer = EpisodeWriter(folder, EpisodeMeta(id="zenity", task="sign up", source="human"))
    rec = DesktopRecorder(writer, device=desktop, options=DesktopOptions(fps=10, a11y_interval=0.2))
    rec.start()
    try:
        click_on(w["First name"])
        # Each Tab is typed like a letter, right after the last one: the focus moves on (to
        # the E-mail field, then to the Cancel button) before the typing is recognized.
        xdo("type", "--delay", "40", "Ada\t")
        xdo("type", "--delay", "40", "ada@example.org\t")
        click_on(w["OK"])
        assert zenity.wait(60) == 0
        assert rec.wait_idle(0.8, timeout=60)
    finally:
        rec.stop()
        writer.close("success")
    assert zenity.stdout is not None
    assert zenity.stdout.read().strip() == "Ada|ada@example.org"  # what the app received
    steps = read_episode(folder).steps
    assert [s.action.type for s in steps] == ["click", "type", "key", "type", "key", "click"], steps
    assert isinstance(steps[0].action, Click) and isinstance(steps[5].action, Click)
    assert steps[2].action == steps[4].action == Key(keys=("tab",))
    for step, label, text in ((steps[1], "First name", "Ada"), (steps[3], "E-mail", "ada@example.org")):
        assert step.action == TypeText(text=text)
        el = step.target_element
        assert el is not None, step
        assert el.role == Role.TEXT_FIELD and el.editable, el
        assert el.name == label and el.extras.get("name_from") == "label", el
        assert el.bbox == w[label].bbox
    clicked = steps[0].target_element
    assert clicked is not None and clicked.name == "First name" and clicked.role == Role.TEXT_FIELD
    assert steps[5].target_element is not None and steps[5].target_element.name == "OK"
