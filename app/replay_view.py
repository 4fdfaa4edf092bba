"""Replay: open a past run or recording (an episode folder), step through its frames and
actions, and optionally run it again on the connected device through
`guiagent.recorder.replay` (every recorded target grounded again on the live screen)."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from PIL import Image
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.jobs import explain
from app.plan_panel import PlanState, PlanTracker
from guiagent.recorder.episode import list_episodes, read_meta
from guiagent.schema import Trajectory
from guiagent.schema.errors import RecordingError

log = logging.getLogger(__name__)


def load_frame(folder: Path, rel: str | None) -> Image.Image | None:
    if not rel:
        return None
    path = Path(folder) / rel
    if not path.is_file():
        return None
    with Image.open(path) as img:
        return img.convert("RGB")


def plan_at(traj: Trajectory, row: int) -> tuple[PlanState, bool]:
    """The plan as the panel showed it after step `row`; False when no step carried a plan."""
    tracker = PlanTracker()
    seen = False
    for step in traj.steps[: row + 1]:
        if step.decision is not None:
            seen = seen or bool(step.decision.subgoal or step.decision.plan)
            tracker.update(step.decision)
    if row >= len(traj.steps) - 1:
        tracker.finish(traj.meta.status == "success")
    return tracker.state, seen


def recent_episodes(root: Path, limit: int = 30) -> list[tuple[Path, str]]:
    """(folder, one-line label) of the newest episodes under `root`."""
    if not Path(root).is_dir():
        return []
    try:
        folders = list_episodes(root)
    except RecordingError:
        return []
    out = []
    for folder in folders:
        try:
            meta = read_meta(folder)
        except RecordingError:
            continue
        when = time.strftime("%d %b %H:%M", time.localtime(meta.started_at))
        out.append((meta.started_at, folder, f"{meta.task or '(no task)'}\n{meta.source} · {meta.status} · "
                                              f"{meta.steps} steps · {when}"))
    out.sort(key=lambda t: t[0], reverse=True)
    return [(f, label) for _, f, label in out[:limit]]


class DeviceReplay(QObject):
    """Runs the remaining steps of an episode on a device, one at a time, in a thread."""

    progress = Signal(int, object)  # row, recorder.replay.ReplayStep
    screen = Signal(object)  # live frame after a step
    finished = Signal(bool, str)  # completed, message
    failed = Signal(str, str)

    def __init__(self, folder: Path, traj: Trajectory, device: Any, start_row: int = 0) -> None:
        super().__init__()
        self.folder, self.traj, self.device, self.start_row = Path(folder), traj, device, start_row
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="app-replay", daemon=True)

    def start(self) -> DeviceReplay:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            from guiagent.recorder.replay import Replayer
            from guiagent.registry import build_grounder

            replayer = Replayer(self.device, build_grounder("text"))
            done = 0
            for row, step in enumerate(self.traj.steps):
                if row < self.start_row or step.action is None:
                    continue
                if self._stop.is_set():
                    self.finished.emit(False, f"replay stopped before step {row + 1}")
                    return
                rs = replayer.replay_step(self.folder, step)
                done += 1
                self.progress.emit(row, rs)
                self.screen.emit(self.device.screenshot())
                if rs.outcome in ("stopped", "failed"):
                    self.finished.emit(False, f"step {row + 1} {rs.outcome}: {rs.error or '; '.join(rs.notes)}")
                    return
            self.finished.emit(True, f"replayed {done} steps on {self.device.info.id}")
        except Exception as exc:
            log.exception("replay failed")
            self.failed.emit(*explain(exc))


class ReplayPanel(QWidget):
    open_requested = Signal(str)  # folder
    row_requested = Signal(int)
    replay_requested = Signal()
    stop_replay_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.count = 0
        self.row = -1
        root = QVBoxLayout(self)
        root.setContentsMargins(4, 10, 4, 4)
        root.setSpacing(8)
        title = QLabel("REPLAY A RUN OR RECORDING")
        title.setObjectName("h2")
        root.addWidget(title)
        self.open_button = QPushButton("Open episode folder…")
        root.addWidget(self.open_button)
        self.meta = QLabel("No episode open.")
        self.meta.setObjectName("muted")
        self.meta.setWordWrap(True)
        self.meta.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        root.addWidget(self.meta)
        nav = QHBoxLayout()
        self.prev_button = QPushButton("◀")
        self.next_button = QPushButton("▶")
        self.position = QLabel("")
        self.position.setAlignment(Qt.AlignmentFlag.AlignCenter)
        nav.addWidget(self.prev_button)
        nav.addWidget(self.position, 1)
        nav.addWidget(self.next_button)
        root.addLayout(nav)
        self.replay_button = QPushButton("Replay on the device")
        self.replay_button.setObjectName("primary")
        self.replay_button.setToolTip("Run the steps from the selected one on the connected device, grounding "
                                      "each recorded target again on the live screen")
        root.addWidget(self.replay_button)
        self.replay_status = QLabel("")
        self.replay_status.setObjectName("small")
        self.replay_status.setWordWrap(True)
        root.addWidget(self.replay_status)
        recent = QLabel("RECENT")
        recent.setObjectName("h2")
        root.addWidget(recent)
        self.recent = QListWidget()
        self.recent.setWordWrap(True)
        root.addWidget(self.recent, 1)
        self.open_button.clicked.connect(self._browse)
        self.prev_button.clicked.connect(lambda: self.row_requested.emit(self.row - 1))
        self.next_button.clicked.connect(lambda: self.row_requested.emit(self.row + 1))
        self.replay_button.clicked.connect(self._replay_clicked)
        self.recent.itemActivated.connect(lambda item: self.open_requested.emit(item.data(Qt.ItemDataRole.UserRole)))
        self.recent.itemClicked.connect(lambda item: self.open_requested.emit(item.data(Qt.ItemDataRole.UserRole)))
        self.replaying = False
        self.set_position(-1, 0)

    def fill_recent(self, root: Path) -> None:
        self.recent.clear()
        for folder, label in recent_episodes(root):
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, str(folder))
            item.setToolTip(str(folder))
            self.recent.addItem(item)
        if not self.recent.count():
            self.recent.addItem(QListWidgetItem("No saved runs yet."))

    def show_meta(self, traj: Trajectory, folder: Path) -> None:
        m = traj.meta
        bits = [f"<b>{m.task or '(no task)'}</b>", f"{m.source} · {m.status}" + (f" — {m.reason}" if m.reason else ""),
                f"{len(traj.steps)} steps on {m.platform or '?'} {m.device}",
                f"planner {m.planner}" if m.planner else "", f"<span style='font-size:11px'>{folder}</span>"]
        self.meta.setText("<br>".join(b for b in bits if b))

    def set_position(self, row: int, count: int) -> None:
        self.row, self.count = row, count
        self.position.setText(f"step {row + 1} of {count}" if count else "")
        self.prev_button.setEnabled(row > 0)
        self.next_button.setEnabled(0 <= row < count - 1)
        self.replay_button.setEnabled(count > 0)

    def set_replaying(self, on: bool, status: str | None = None) -> None:
        self.replaying = on
        self.replay_button.setText("■ Stop replay" if on else "Replay on the device")
        if status is not None:
            self.replay_status.setText(status)

    def _replay_clicked(self) -> None:
        (self.stop_replay_requested if self.replaying else self.replay_requested).emit()

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open an episode folder (with meta.json)")
        if folder:
            self.open_requested.emit(folder)
