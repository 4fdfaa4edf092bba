"""The timeline: one card per step with a thumbnail, the action, the thought and the timings.
Clicking a card emits `step_selected(row)`; the window shows that step's frame.

Frames are kept as PIL images (a run's own frames) or loaded on demand from an episode
folder (`frame_loader`), so that a long replay does not hold every frame in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app import style
from app.overlay import pil_to_qimage
from guiagent.schema import Step, action_targets, describe_action, with_targets

THUMB_H = 72
THUMB_W = 96
STAGES = ("capture", "a11y", "parse", "decide", "ground", "guard", "act", "settle")
STATUS_ROLE = {"ok": "success", "failed": "danger", "blocked": "danger", "skipped": "warning"}


@dataclass
class TimelineEntry:
    step: Step
    frame: Any = None  # PIL image, or None when loaded on demand
    loader: Callable[[], Any] | None = None

    def image(self) -> Any:
        if self.frame is None and self.loader is not None:
            return self.loader()
        return self.frame


def timing_text(timings: dict[str, float]) -> str:
    parts = [f"{k} {timings[k]:.0f}" for k in STAGES if timings.get(k, 0) >= 0.5]
    total = timings.get("total")
    return (f"{total:.0f} ms: " if total is not None else "") + " · ".join(parts)


def action_text(step: Step) -> str:
    """The action in words; a target known only by id or point is named by its element."""
    action = step.action
    if action is None:
        return "no action"
    label = step.target_element.label if step.target_element is not None else ""
    targets = action_targets(action)
    if label and targets and not targets[0].description:
        named = [targets[0].model_copy(update={"description": label[:60]}), *targets[1:]]
        return describe_action(with_targets(action, named))
    return describe_action(action)


class StepCard(QWidget):
    def __init__(self, step: Step, thumb: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 6)
        lay.setSpacing(10)
        self.thumb = QLabel()
        self.thumb.setFixedSize(40, THUMB_H)
        self.thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumb.setStyleSheet(f"border: 1px solid {style.color('border')}; border-radius: 4px;")
        if thumb is not None:
            self.set_thumbnail(thumb)
        lay.addWidget(self.thumb, 0, Qt.AlignmentFlag.AlignTop)
        col = QVBoxLayout()
        col.setSpacing(2)
        head = QHBoxLayout()
        head.setSpacing(6)
        status = step.outcome.status
        dot = QLabel("●")
        dot.setStyleSheet(f"color: {style.color(STATUS_ROLE.get(status, 'muted'))}; font-size: 10px;")
        head.addWidget(dot)
        self.title = QLabel(f"{step.index + 1}. {action_text(step)}")
        self.title.setObjectName("stepTitle")
        self.title.setWordWrap(True)
        head.addWidget(self.title, 1)
        if step.source == "human":
            head.addWidget(self._badge("human"))
        if step.guard is not None and step.guard.verdict != "allow":
            head.addWidget(self._badge(step.guard.resolution or step.guard.verdict))
        col.addLayout(head)
        thought = (step.decision.thought if step.decision else "") or ""
        if step.outcome.error:
            thought = f"{thought}\n⚠ {step.outcome.error}".strip()
        self.thought = QLabel(thought)
        self.thought.setObjectName("muted")
        self.thought.setWordWrap(True)
        self.thought.setVisible(bool(thought))
        col.addWidget(self.thought)
        self.timings = QLabel(timing_text(step.timings_ms))
        self.timings.setObjectName("mono")
        self.timings.setFont(style.mono_font(8.5))
        self.timings.setWordWrap(True)
        self.timings.setVisible(bool(step.timings_ms))
        col.addWidget(self.timings)
        lay.addLayout(col, 1)

    @staticmethod
    def _badge(text: str) -> QLabel:
        b = QLabel(text)
        b.setObjectName("badge")
        b.setFixedHeight(20)
        return b

    def set_thumbnail(self, image: Any) -> None:
        q = pil_to_qimage(image)
        # portrait phones by height, landscape desktops by width: the text keeps its room
        pix = QPixmap.fromImage(q).scaled(THUMB_W - 2, THUMB_H - 2, Qt.AspectRatioMode.KeepAspectRatio,
                                          Qt.TransformationMode.SmoothTransformation)
        self.thumb.setPixmap(pix)
        self.thumb.setFixedSize(pix.width() + 2, pix.height() + 2)


class Timeline(QFrame):
    step_selected = Signal(int)  # row

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self.entries: list[TimelineEntry] = []
        root = QVBoxLayout(self)
        root.setContentsMargins(10, 12, 10, 8)
        root.setSpacing(6)
        head = QHBoxLayout()
        head.setContentsMargins(4, 0, 4, 0)
        title = QLabel("TIMELINE")
        title.setObjectName("h2")
        head.addWidget(title)
        head.addStretch(1)
        self.caption = QLabel("")
        self.caption.setObjectName("badge")
        self.caption.setVisible(False)
        head.addWidget(self.caption)
        root.addLayout(head)
        self.list = QListWidget()
        self.list.setResizeMode(QListWidget.ResizeMode.Adjust)  # cards follow the panel's width
        self.list.setVerticalScrollMode(QListWidget.ScrollMode.ScrollPerPixel)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.currentRowChanged.connect(self._on_row)
        self.list.itemClicked.connect(lambda item: self._on_row(self.list.row(item)))
        self.list.viewport().installEventFilter(self)
        root.addWidget(self.list, 1)
        self.empty = QLabel("Steps show up here as the agent works.\nClick one to see its screen.")
        self.empty.setObjectName("muted")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        root.addWidget(self.empty, 1)
        self._refresh_empty()

    def set_caption(self, text: str) -> None:
        self.caption.setText(text)
        self.caption.setVisible(bool(text))

    def clear(self) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        self.list.blockSignals(False)
        self.entries = []
        self._refresh_empty()

    def add_step(self, step: Step, frame: Any = None, loader: Callable[[], Any] | None = None,
                 thumbnail: Any = None, follow: bool = True) -> int:
        entry = TimelineEntry(step, frame, loader)
        self.entries.append(entry)
        card = StepCard(step, thumbnail if thumbnail is not None else frame)
        item = QListWidgetItem()
        self.list.addItem(item)
        self.list.setItemWidget(item, card)
        self._fit(item, card)
        if follow:
            self.list.scrollToBottom()
        self._refresh_empty()
        return len(self.entries) - 1

    def _fit(self, item: QListWidgetItem, card: QWidget) -> None:
        """Height for the current width: wrapped thoughts take the lines they need."""
        width = max(160, self.list.viewport().width() - 4)
        lay = card.layout()
        height = lay.totalHeightForWidth(width) if lay is not None and lay.hasHeightForWidth() else -1
        item.setSizeHint(QSize(width, max(THUMB_H + 14, height, card.sizeHint().height() if height < 0 else 0)))

    def eventFilter(self, obj: Any, event: Any) -> bool:
        if obj is self.list.viewport() and event.type() == QEvent.Type.Resize:
            for row in range(self.list.count()):  # the list's width is known only once it is shown
                item = self.list.item(row)
                card = self.list.itemWidget(item)
                if card is not None:  # None while an item is being added
                    self._fit(item, card)
        return super().eventFilter(obj, event)

    def select(self, row: int) -> None:
        if 0 <= row < len(self.entries):
            self.list.setCurrentRow(row)

    @property
    def current_row(self) -> int:
        return self.list.currentRow()

    def rows(self) -> list[dict[str, Any]]:
        """What the timeline shows, as data (the app's --summary)."""
        return [{"index": e.step.index, "action": action_text(e.step), "type": e.step.action.type if e.step.action
                 else None, "status": e.step.outcome.status, "thought": e.step.decision.thought if e.step.decision
                 else "", "source": e.step.source, "timings_ms": dict(e.step.timings_ms)} for e in self.entries]

    def _on_row(self, row: int) -> None:
        if 0 <= row < len(self.entries):
            self.step_selected.emit(row)

    def _refresh_empty(self) -> None:
        has = bool(self.entries)
        self.list.setVisible(has)
        self.empty.setVisible(not has)
