"""Approval of sensitive actions: the agent's thread asks, the window answers.

`ApprovalBridge` is the agent's approver (callable(action, guard, observation) -> answer). It
runs in the worker thread: it posts an `ApprovalRequest` to the UI through a queued signal
and blocks on the request's event until the UI answers (Approve / Skip / Stop), or until the
run is stopped, which answers "stop". `ApprovalDialog` shows the screenshot with the action
drawn on it, the action and the guard's reason.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.overlay import render_frame
from guiagent.safety import Approval
from guiagent.schema import Action, Element, GuardDecision, Observation, describe_action

log = logging.getLogger(__name__)
ANSWERS: tuple[Approval, ...] = ("approve", "skip", "stop")


@dataclass
class ApprovalRequest:
    action: Action
    guard: GuardDecision
    observation: Observation
    _event: threading.Event = field(default_factory=threading.Event, repr=False)
    answer: Approval | None = None

    def settle(self, answer: Approval) -> bool:
        """Give the answer once; later answers are ignored (False)."""
        if answer not in ANSWERS:
            raise ValueError(f"approval answer must be one of {ANSWERS}, not {answer!r}")
        if self._event.is_set():
            return False
        self.answer = answer
        self._event.set()
        return True

    @property
    def settled(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)

    @property
    def target_element(self) -> Element | None:
        """The element the action's first target names, if the observation has it."""
        from guiagent.schema import action_targets

        for target in action_targets(self.action):
            if target.element:
                return self.observation.element(target.element)
        return None


class ApprovalBridge(QObject):
    """Thread-safe handoff between the agent (asks, blocks) and the window (answers)."""

    requested = Signal(object)  # ApprovalRequest, delivered in the UI thread
    settled = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._pending: ApprovalRequest | None = None
        self._cancelled = False

    def __call__(self, action: Action, guard: GuardDecision, observation: Observation) -> Approval:
        req = ApprovalRequest(action, guard, observation)
        with self._lock:
            if self._cancelled:
                return "stop"
            self._pending = req
        log.info("approval requested: %s (%s)", describe_action(action), guard.reason)
        self.requested.emit(req)
        req.wait()
        with self._lock:
            self._pending = None
        self.settled.emit(req)
        return req.answer or "stop"

    @property
    def pending(self) -> ApprovalRequest | None:
        return self._pending

    def answer(self, req: ApprovalRequest, answer: Approval) -> None:
        req.settle(answer)

    def cancel(self) -> None:
        """The run is stopping: a pending question is answered "stop", later ones too."""
        with self._lock:
            self._cancelled = True
            pending = self._pending
        if pending is not None:
            pending.settle("stop")

    def reset(self) -> None:
        with self._lock:
            self._cancelled = False
            self._pending = None


class ApprovalDialog(QDialog):
    """Shows one request; emits `answered(answer)`. Closing it without a choice means Stop."""

    answered = Signal(str)

    def __init__(self, request: ApprovalRequest, parent: QWidget | None = None, touch: bool = True) -> None:
        super().__init__(parent)
        self.request = request
        self.setWindowTitle("Approve this action?")
        self.setModal(True)
        self.setMinimumWidth(520)
        root = QVBoxLayout(self)
        root.setContentsMargins(20, 18, 20, 18)
        root.setSpacing(12)
        head = QLabel("⚠  The agent wants to do something sensitive")
        head.setObjectName("bannerTitle")
        root.addWidget(head)
        what = QLabel(describe_action(request.action))
        what.setObjectName("stepTitle")
        what.setWordWrap(True)
        what.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        root.addWidget(what)
        why = QLabel(f"Why it asks: {request.guard.reason or request.guard.rule or 'sensitive action'}")
        why.setObjectName("muted")
        why.setWordWrap(True)
        root.addWidget(why)
        target = request.target_element
        shot = QLabel()
        shot.setAlignment(Qt.AlignmentFlag.AlignCenter)
        shot.setPixmap(QPixmap.fromImage(render_frame(request.observation.screenshot, request.action,
                                                      target.bbox if target else None, touch=touch)))
        root.addWidget(shot, 1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.stop_button = QPushButton("Stop the run")
        self.stop_button.setObjectName("danger")
        self.skip_button = QPushButton("Skip this action")
        self.approve_button = QPushButton("Approve")
        self.approve_button.setObjectName("primary")
        for b in (self.stop_button, self.skip_button, self.approve_button):
            buttons.addWidget(b)
        root.addLayout(buttons)
        self.approve_button.clicked.connect(lambda: self.choose("approve"))
        self.skip_button.clicked.connect(lambda: self.choose("skip"))
        self.stop_button.clicked.connect(lambda: self.choose("stop"))
        self.approve_button.setDefault(False)
        self.skip_button.setFocus()  # Enter must not approve by accident

    def choose(self, answer: Approval) -> None:
        self.request.settle(answer)
        self.answered.emit(answer)
        self.accept()

    def reject(self) -> None:  # Esc / window close
        if not self.request.settled:
            self.request.settle("stop")
            self.answered.emit("stop")
        super().reject()
