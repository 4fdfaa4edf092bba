"""Record mode: a person operates the device through the mirrored screen (tap, long press,
swipe on the live view; type, Back, Home, Enter from the panel) and each gesture is executed
on the device as our action and stored as a human step (EpisodeWriter, source="human").

Every action runs in one recorder thread, in order: take the pre-action frame and the
accessibility tree, find the element under the point (the step's target), execute, wait for
the screen to settle, store the step, show the new screen. Typed passwords are masked by the
episode writer's Redactor before anything reaches disk.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from pathlib import Path
from typing import Any, assert_never

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from app.jobs import explain
from guiagent.recorder.episode import EpisodeWriter
from guiagent.recorder.redact import Redactor
from guiagent.recorder.session import StepRecorder, element_at, focused_element
from guiagent.runner import new_episode_id
from guiagent.schema import (
    Action,
    Back,
    Click,
    Done,
    DoubleClick,
    Drag,
    Element,
    EpisodeMeta,
    Home,
    Hover,
    Key,
    LongPress,
    OpenApp,
    Outcome,
    RightClick,
    RunStatus,
    Scroll,
    Swipe,
    TypeText,
    Wait,
)
from guiagent.schema.errors import DeviceError

log = logging.getLogger(__name__)


def attach_element(action: Action, element: Element | None) -> Action:
    """The action with its first target naming `element` (the point stays what was touched)."""
    if element is None:
        return action
    match action:
        case Click() | DoubleClick() | RightClick() | LongPress() | Hover():
            return action.model_copy(update={"target": action.target.model_copy(update={"element": element.id})})
        case Swipe() | Drag():
            return action.model_copy(update={"start": action.start.model_copy(update={"element": element.id})})
        case TypeText() | Scroll() | Key() | OpenApp() | Back() | Home() | Wait() | Done():
            return action
        case _:
            assert_never(action)


def _anchor_px(action: Action, size: tuple[int, int]) -> tuple[int, int] | None:
    match action:
        case Click() | DoubleClick() | RightClick() | LongPress() | Hover():
            return action.target.point.to_pixels(size) if action.target.point else None
        case Swipe() | Drag():
            return action.start.point.to_pixels(size) if action.start.point else None
        case TypeText() | Scroll() | Key() | OpenApp() | Back() | Home() | Wait() | Done():
            return None
        case _:
            assert_never(action)


class RecordController(QObject):
    """One recording session on an open device."""

    recorded = Signal(object, object)  # Step (as stored), pre-action frame (PIL)
    screen = Signal(object, object)  # frame after the action (PIL), elements
    failed = Signal(str, str)
    stopped = Signal(str)  # episode folder

    def __init__(self, device: Any, folder: Path, task: str, *, settle_timeout: float = 3.0) -> None:
        super().__init__()
        self.device = device
        self.folder = Path(folder)
        self.task = task
        self.settle_timeout = settle_timeout
        info = device.info
        meta = EpisodeMeta(id=self.folder.name or new_episode_id(), task=task, source="human", device=info.id,
                           platform=info.platform, screen_size=tuple(info.screen_size))
        self.writer = EpisodeWriter(self.folder, meta, redactor=Redactor())
        self.steps = StepRecorder(self.writer, tuple(info.screen_size))
        self._queue: queue.Queue[Action | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="app-recorder", daemon=True)
        self._thread.start()

    @property
    def count(self) -> int:
        return self.writer.step_count

    def perform(self, action: Action) -> None:
        """Queue one human action (from the UI thread)."""
        if not self.writer.closed:
            self._queue.put(action)

    def stop(self, status: RunStatus = "success", timeout: float = 15.0) -> str:
        """Finish the queued actions, close the episode; returns its folder."""
        self._queue.put(None)
        self._thread.join(timeout)
        reason = "demonstration recorded in the app" if status == "success" else "recording stopped"
        self.writer.close(status, reason=reason)
        self.stopped.emit(str(self.folder))
        return str(self.folder)

    def _loop(self) -> None:
        while True:
            action = self._queue.get()
            if action is None:
                return
            try:
                self._record_one(action)
            except Exception as exc:  # the session goes on; the window says what failed
                if not isinstance(exc, DeviceError):
                    log.exception("recording %s failed", action.type)
                self.failed.emit(*explain(exc))

    def _record_one(self, action: Action) -> None:
        t_work = time.monotonic()
        frame = self.device.screenshot()
        frame_t = time.monotonic()
        try:
            elements = list(self.device.ui_tree())
        except DeviceError as exc:
            log.warning("no accessibility tree for this step: %s", exc)
            elements = []
        target: Element | None
        anchor = _anchor_px(action, frame.size)
        if anchor is not None:
            target = element_at(elements, *anchor)
        elif isinstance(action, TypeText):
            target = focused_element(elements)
        else:
            target = None
        action = attach_element(action, target)
        t_event = time.monotonic()
        try:
            outcome = self.device.execute(action)
        except DeviceError as exc:
            outcome = Outcome(status="failed", error=str(exc))
        settle = self.device.wait_until_stable(reference=frame, timeout=self.settle_timeout)
        outcome = outcome.model_copy(update={"screen_changed": settle.changed})
        stored = self.steps.record(action, t_event, frame=frame, frame_t=frame_t, elements=elements, target=target,
                                   outcome=outcome, work_since=t_work)
        self.recorded.emit(stored, frame)
        after = settle.last_frame if settle.last_frame is not None else self.device.screenshot()
        try:
            after_elements = list(self.device.ui_tree())
        except DeviceError:
            after_elements = []
        self.screen.emit(after, after_elements)


class RecordPanel(QWidget):
    """The Record tab: start/stop, and the actions a mirrored screen cannot express by touch."""

    start_requested = Signal()
    stop_requested = Signal()
    action_requested = Signal(object)  # Action

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        root = QVBoxLayout(self)
        root.setContentsMargins(4, 10, 4, 4)
        root.setSpacing(8)
        title = QLabel("RECORD A DEMONSTRATION")
        title.setObjectName("h2")
        root.addWidget(title)
        help_text = QLabel("Operate the device on the live view: click to tap, hold to long-press, drag to "
                           "swipe. Each action runs on the device and is saved as a human step. The task box "
                           "names the demonstration.")
        help_text.setObjectName("muted")
        help_text.setWordWrap(True)
        root.addWidget(help_text)
        self.record_button = QPushButton("●  Start recording")
        self.record_button.setObjectName("primary")
        root.addWidget(self.record_button)
        self.type_field = QLineEdit()
        self.type_field.setPlaceholderText("text to type into the focused field")
        root.addWidget(self.type_field)
        row = QHBoxLayout()
        self.submit_box = QCheckBox("then Enter")
        row.addWidget(self.submit_box)
        row.addStretch(1)
        self.type_button = QPushButton("Type")
        row.addWidget(self.type_button)
        root.addLayout(row)
        keys = QHBoxLayout()
        self.back_button = QPushButton("◀ Back")
        self.home_button = QPushButton("● Home")
        self.enter_button = QPushButton("⏎ Enter")
        for b in (self.back_button, self.home_button, self.enter_button):
            keys.addWidget(b)
        root.addLayout(keys)
        self.status = QLabel("Not recording")
        self.status.setObjectName("small")
        self.status.setWordWrap(True)
        root.addWidget(self.status)
        root.addStretch(1)
        self.recording = False
        self.record_button.clicked.connect(self._toggle)
        self.type_button.clicked.connect(self._type)
        self.type_field.returnPressed.connect(self._type)
        self.back_button.clicked.connect(lambda: self.action_requested.emit(Back()))
        self.home_button.clicked.connect(lambda: self.action_requested.emit(Home()))
        self.enter_button.clicked.connect(lambda: self.action_requested.emit(Key(keys=("enter",))))
        self.set_recording(False)

    def _toggle(self) -> None:
        (self.stop_requested if self.recording else self.start_requested).emit()

    def _type(self) -> None:
        text = self.type_field.text()
        if not self.recording or not text:
            return
        self.action_requested.emit(TypeText(text=text, submit=self.submit_box.isChecked()))
        self.type_field.clear()

    def set_recording(self, on: bool, status: str | None = None) -> None:
        self.recording = on
        self.record_button.setText("■  Stop recording" if on else "●  Start recording")
        self.record_button.setObjectName("danger" if on else "primary")
        self.record_button.style().unpolish(self.record_button)
        self.record_button.style().polish(self.record_button)
        for w in (self.type_field, self.type_button, self.submit_box, self.back_button, self.home_button,
                  self.enter_button):
            w.setEnabled(on)
        if status is not None:
            self.status.setText(status)

