"""Small pieces of the window: the top bar (task box, Run / Pause / Step / Stop, status pill)
and the error banner (what went wrong + what to do, never only in a console)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app import style

TASK_PLACEHOLDER = "What should the agent do?  e.g. Open Settings and turn on Wi-Fi"
STATE_TEXT = {"idle": "READY", "connecting": "CONNECTING", "starting": "STARTING", "running": "RUNNING",
              "paused": "PAUSED", "stopping": "STOPPING", "success": "SUCCESS", "failed": "FAILED",
              "stopped": "STOPPED", "recording": "RECORDING", "replaying": "REPLAYING", "error": "ERROR"}


class StatusLabel(QLabel):
    """A status bar field that hides itself while empty (no stray separators)."""

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setVisible(bool(text))


class StatusPill(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pill")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumWidth(96)
        self.state = ""
        self.set_state("idle")

    def set_state(self, state: str) -> None:
        self.state = state
        self.setText(STATE_TEXT.get(state, state.upper()))
        self.setStyleSheet(f"background: {style.state_color(state)};")


class TopBar(QFrame):
    run_clicked = Signal()
    pause_clicked = Signal()
    step_clicked = Signal()
    stop_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("topbar")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(16, 10, 16, 10)
        lay.setSpacing(10)
        dot = QLabel("◆")
        dot.setObjectName("brandDot")
        lay.addWidget(dot)
        brand = QLabel("guiagent")
        brand.setObjectName("brand")
        lay.addWidget(brand)
        lay.addSpacing(12)
        self.task_box = QComboBox()
        self.task_box.setObjectName("taskBox")
        self.task_box.setEditable(True)
        self.task_box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        editor = self.task_box.lineEdit()
        assert editor is not None  # an editable combo box has its line edit
        editor.setPlaceholderText(TASK_PLACEHOLDER)
        self.task_box.setMinimumWidth(260)
        lay.addWidget(self.task_box, 1)
        self.run_button = QPushButton("▶  Run")
        self.run_button.setObjectName("primary")
        self.run_button.setToolTip("Run the task (Ctrl+Enter)")
        self.pause_button = QPushButton("❚❚  Pause")
        self.pause_button.setToolTip("Pause before the next step")
        self.step_button = QPushButton("⇥  Step")
        self.step_button.setToolTip("Run one action, then pause")
        self.stop_button = QPushButton("■  STOP")
        self.stop_button.setObjectName("danger")
        self.stop_button.setToolTip("Stop before the next action (Ctrl+Shift+X, Esc while running)")
        for b in (self.run_button, self.pause_button, self.step_button, self.stop_button):
            b.setCursor(Qt.CursorShape.PointingHandCursor)
            lay.addWidget(b)
        lay.addSpacing(6)
        self.pill = StatusPill()
        lay.addWidget(self.pill)
        self.run_button.clicked.connect(self.run_clicked.emit)
        self.pause_button.clicked.connect(self.pause_clicked.emit)
        self.step_button.clicked.connect(self.step_clicked.emit)
        self.stop_button.clicked.connect(self.stop_clicked.emit)
        editor.returnPressed.connect(self.run_clicked.emit)

    @property
    def task(self) -> str:
        return self.task_box.currentText().strip()

    def set_task(self, text: str) -> None:
        self.task_box.setEditText(text)

    def set_recent(self, tasks: list[str]) -> None:
        current = self.task_box.currentText()
        self.task_box.blockSignals(True)
        self.task_box.clear()
        self.task_box.addItems(tasks)
        self.task_box.setEditText(current)
        self.task_box.blockSignals(False)

    def set_state(self, state: str) -> None:
        """Enable the buttons that make sense in `state`."""
        active = state in ("running", "paused", "starting", "connecting")
        self.pill.set_state(state)
        self.run_button.setText("▶  Resume" if state == "paused" else "▶  Run")
        self.run_button.setEnabled(state == "paused" or not (active or state in ("stopping", "recording")))
        self.pause_button.setEnabled(state == "running")
        self.step_button.setEnabled(state in ("running", "paused") or not (active or state in ("stopping",
                                                                                              "recording")))
        self.stop_button.setEnabled(active or state == "replaying")
        self.task_box.setEnabled(not active and state != "stopping")


class Banner(QFrame):
    """An error in the window: message, what to do, and a dismiss button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(14, 10, 10, 10)
        col = QVBoxLayout()
        col.setSpacing(2)
        self.title = QLabel("")
        self.title.setObjectName("bannerTitle")
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hint = QLabel("")
        self.hint.setWordWrap(True)
        col.addWidget(self.title)
        col.addWidget(self.hint)
        lay.addLayout(col, 1)
        close = QPushButton("✕")
        close.setObjectName("flat")
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        lay.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_message(self, message: str, hint: str = "") -> None:
        self.title.setText(message)
        self.hint.setText(f"What to do: {hint}" if hint else "")
        self.hint.setVisible(bool(hint))
        self.show()


class MiniBar(QFrame):
    """What stays on screen while the agent drives this desktop: a small always-on-top strip in
    the bottom-right corner with the status, the current step and a big Stop. The main window
    hides meanwhile (minimising needs a window manager; hiding works everywhere), and the
    desktop device never acts on this process's windows."""

    stop_clicked = Signal()
    show_window_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Tool | Qt.WindowType.FramelessWindowHint
                         | Qt.WindowType.WindowStaysOnTopHint | Qt.WindowType.WindowDoesNotAcceptFocus)
        self.setObjectName("minibar")
        self.setWindowTitle("guiagent — running")
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 8)
        lay.setSpacing(8)
        dot = QLabel("◆")
        dot.setObjectName("brandDot")
        lay.addWidget(dot)
        self.pill = StatusPill()
        lay.addWidget(self.pill)
        self.text = QLabel("")
        self.text.setObjectName("muted")
        self.text.setMinimumWidth(150)
        self.text.setMaximumWidth(260)
        lay.addWidget(self.text, 1)
        self.open_button = QPushButton("▢")
        self.open_button.setObjectName("flat")
        self.open_button.setToolTip("Show the main window")
        lay.addWidget(self.open_button)
        self.stop_button = QPushButton("■  STOP")
        self.stop_button.setObjectName("danger")
        lay.addWidget(self.stop_button)
        self.stop_button.clicked.connect(self.stop_clicked.emit)
        self.open_button.clicked.connect(self.show_window_clicked.emit)

    def set_status(self, state: str, text: str) -> None:
        self.pill.set_state(state)
        self.text.setText(self.text.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, 250))

    def show_in_corner(self) -> None:
        from PySide6.QtGui import QGuiApplication

        self.adjustSize()
        screen = QGuiApplication.primaryScreen()
        if screen is not None:
            area = screen.availableGeometry()
            self.move(area.right() - self.width() - 12, area.bottom() - self.height() - 12)
        self.show()
        self.raise_()
