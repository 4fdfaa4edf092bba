"""The live view: the device screen, the last action drawn on it, set-of-marks on demand,
zoom (fit, 1:1, Ctrl+wheel) and, in record mode, gestures on the mirrored screen.

In record mode a short press is a tap, a press held still for 0.6 s a long press, and a drag
a swipe; each becomes an action with a normalized point (`gesture` signal).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPainterPath, QPen, QPixmap, QWheelEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from app import style
from app.overlay import Frame, fit_rect, marked_image, paint_action, pil_to_qimage
from guiagent.schema import Action, Element, LongPress, Swipe, Target

LONG_PRESS_S = 0.6
DRAG_PX = 8.0
ZOOM_STEPS = (0.25, 0.33, 0.5, 0.67, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0)


class ScreenCanvas(QWidget):
    """Paints the frame. `zoom` None = fit the widget; a number = that many widget pixels per
    screenshot pixel (the scroll area then scrolls)."""

    gesture = Signal(object)  # Action with normalized points
    hovered = Signal(object)  # Point | None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.image: Any = None  # PIL
        self._pixmap: QPixmap | None = None
        self._marked: QPixmap | None = None
        self.elements: tuple[Element, ...] = ()
        self.action: Action | None = None
        self.target: Element | None = None
        self.show_marks = False
        self.touch = True  # a phone: "tap"; a desktop: "click"
        self.recording = False
        self.zoom: float | None = None
        self.placeholder = "No device yet — pick one on the left and press Connect."
        self._press: tuple[QPointF, float] | None = None

    # -- content --------------------------------------------------------------------------

    def set_image(self, image: Any, elements: Sequence[Element] | None = None) -> None:
        self.image = image
        self._pixmap = QPixmap.fromImage(pil_to_qimage(image)) if image is not None else None
        if elements is not None:
            self.elements = tuple(elements)
        self._marked = None
        self._resize_for_zoom()
        self.update()

    def set_action(self, action: Action | None, target: Element | None = None) -> None:
        """The action to draw and the element it acts on (its box is outlined, its name shown)."""
        self.action, self.target = action, target
        self.update()

    def set_marks(self, on: bool) -> None:
        self.show_marks = on
        self.update()

    def frame(self) -> Frame | None:
        if self.image is None:
            return None
        size = self.image.size
        if self.zoom is None:
            rect = fit_rect(size, QRectF(self.rect()), margin=12)
        else:
            rect = QRectF(0, 0, size[0] * self.zoom, size[1] * self.zoom)
        return Frame(rect, size)

    def fit_scale(self) -> float:
        f = self.frame() if self.zoom is None else None
        if f is not None:
            return f.scale
        if self.image is None:
            return 1.0
        parent = self.parentWidget()
        area = QRectF(parent.rect()) if parent is not None else QRectF(self.rect())
        return fit_rect(self.image.size, area, margin=12).width() / max(1, self.image.size[0])

    def _resize_for_zoom(self) -> None:
        if self.zoom is None or self.image is None:
            self.setMinimumSize(0, 0)
            self.setMaximumSize(16777215, 16777215)
        else:
            w, h = self.image.size
            self.setFixedSize(int(w * self.zoom), int(h * self.zoom))

    # -- painting -------------------------------------------------------------------------

    def paintEvent(self, event: Any) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor(style.color("canvas")))
        f = self.frame()
        if f is None or self._pixmap is None:
            p.setPen(QColor(style.color("muted")))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            p.end()
            return
        pix = self._pixmap
        if self.show_marks and self.elements:
            if self._marked is None:
                self._marked = QPixmap.fromImage(pil_to_qimage(marked_image(self.image, self.elements)))
            pix = self._marked
        clip = QPainterPath()
        clip.addRoundedRect(f.rect, 10, 10)
        p.save()
        p.setClipPath(clip)
        p.drawPixmap(f.rect, pix, QRectF(pix.rect()))
        p.restore()
        border = QColor(style.color("danger") if self.recording else style.color("border"))
        p.setPen(QPen(border, 2 if self.recording else 1))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRoundedRect(f.rect, 10, 10)
        if self.action is not None:
            t = self.target
            paint_action(p, f, self.action, t.bbox if t else None, self.touch, t.label if t else "")
        p.end()

    # -- gestures (record mode) -------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self.recording and event.button() == Qt.MouseButton.LeftButton:
            self._press = (event.position(), time.monotonic())
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        f = self.frame()
        self.hovered.emit(f.to_normalized(event.position().x(), event.position().y()) if f else None)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        press, self._press = self._press, None
        f = self.frame()
        if not self.recording or press is None or f is None or event.button() != Qt.MouseButton.LeftButton:
            return super().mouseReleaseEvent(event)
        start, t0 = press
        end = event.position()
        a = f.to_normalized(start.x(), start.y())
        if a is None:
            return None
        held = time.monotonic() - t0
        moved = (end - start).manhattanLength()
        action = gesture_action(a, f.to_normalized(end.x(), end.y()), moved, held)
        if action is not None:
            self.gesture.emit(action)
        return None


def gesture_action(start: Any, end: Any, moved_px: float, held_s: float) -> Action | None:
    """A press at `start` released at `end` after `held_s` -> tap, long press or swipe."""
    from guiagent.schema import Click

    if moved_px >= DRAG_PX:
        if end is None:
            return None
        return Swipe(start=Target(point=start), end=Target(point=end), duration=min(10.0, max(0.1, held_s)))
    if held_s >= LONG_PRESS_S:
        return LongPress(target=Target(point=start), duration=min(10.0, held_s))
    return Click(target=Target(point=start))


class LiveView(QFrame):
    """The canvas in a scroll area, with a small toolbar (title, badge, marks, zoom)."""

    back_to_live = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        root = QVBoxLayout(self)
        root.setContentsMargins(12, 10, 12, 12)
        root.setSpacing(8)
        bar = QHBoxLayout()
        self.title = QLabel("LIVE VIEW")
        self.title.setObjectName("h2")
        bar.addWidget(self.title)
        self.subtitle = QLabel("")
        self.subtitle.setObjectName("small")
        bar.addWidget(self.subtitle)
        self.badge = QLabel("")
        self.badge.setObjectName("badge")
        self.badge.setVisible(False)
        bar.addWidget(self.badge)
        self.live_button = QPushButton("● Follow live")
        self.live_button.setObjectName("flat")
        self.live_button.setVisible(False)
        self.live_button.clicked.connect(self.back_to_live.emit)
        bar.addWidget(self.live_button)
        bar.addStretch(1)
        self.coords = QLabel("")
        self.coords.setObjectName("small")
        bar.addWidget(self.coords)
        self.marks_button = self._tool("Marks", "Show element boxes and set-of-marks ids", checkable=True)
        self.fit_button = self._tool("Fit", "Fit the screen in the view", checkable=True)
        self.one_button = self._tool("1:1", "Actual pixels")
        self.out_button = self._tool("−", "Zoom out (Ctrl+wheel)")
        self.in_button = self._tool("+", "Zoom in (Ctrl+wheel)")
        for b in (self.marks_button, self.fit_button, self.one_button, self.out_button, self.in_button):
            bar.addWidget(b)
        root.addLayout(bar)
        self.canvas = ScreenCanvas()
        self.scroll_area = QScrollArea()
        self.scroll_area.setObjectName("liveScroll")
        self.scroll_area.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.scroll_area.setWidget(self.canvas)
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.viewport().installEventFilter(self)
        root.addWidget(self.scroll_area, 1)
        self.fit_button.setChecked(True)
        self.marks_button.toggled.connect(self.canvas.set_marks)
        self.fit_button.clicked.connect(lambda: self.set_zoom(None))
        self.one_button.clicked.connect(lambda: self.set_zoom(1.0))
        self.in_button.clicked.connect(lambda: self.zoom_by(+1))
        self.out_button.clicked.connect(lambda: self.zoom_by(-1))
        self.canvas.hovered.connect(self._show_coords)

    def _tool(self, text: str, tip: str, checkable: bool = False) -> QPushButton:
        b = QPushButton(text)
        b.setObjectName("flat")
        b.setToolTip(tip)
        b.setCheckable(checkable)
        b.setCursor(Qt.CursorShape.PointingHandCursor)
        return b

    # -- what is shown ------------------------------------------------------------------------

    def show_frame(self, image: Any, elements: Sequence[Element] | None = None, action: Action | None = None,
                   target: Element | None = None, keep_action: bool = False) -> None:
        self.canvas.set_image(image, elements)
        if not keep_action:
            self.canvas.set_action(action, target)

    def set_badge(self, text: str, following_live: bool = True) -> None:
        self.badge.setText(text)
        self.badge.setVisible(bool(text))
        self.subtitle.setVisible(not text)  # room for the badge in a narrow window
        self.live_button.setVisible(not following_live)

    def set_subtitle(self, text: str) -> None:
        self.subtitle.setText(text)

    def set_recording(self, on: bool) -> None:
        self.canvas.recording = on
        self.canvas.setCursor(Qt.CursorShape.CrossCursor if on else Qt.CursorShape.ArrowCursor)
        self.canvas.update()

    def set_placeholder(self, text: str) -> None:
        self.canvas.placeholder = text
        self.canvas.update()

    # -- zoom -------------------------------------------------------------------------------

    def set_zoom(self, zoom: float | None) -> None:
        self.canvas.zoom = zoom
        self.fit_button.setChecked(zoom is None)
        self.scroll_area.setWidgetResizable(zoom is None)
        self.canvas._resize_for_zoom()
        self.canvas.update()

    def zoom_by(self, direction: int) -> None:
        now = self.canvas.zoom if self.canvas.zoom is not None else self.canvas.fit_scale()
        if direction > 0:
            nxt = next((z for z in ZOOM_STEPS if z > now + 1e-3), ZOOM_STEPS[-1])
        else:
            nxt = next((z for z in reversed(ZOOM_STEPS) if z < now - 1e-3), ZOOM_STEPS[0])
        self.set_zoom(nxt)

    def eventFilter(self, obj: Any, event: Any) -> bool:
        if isinstance(event, QWheelEvent) and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom_by(1 if event.angleDelta().y() > 0 else -1)
            return True
        return super().eventFilter(obj, event)

    def _show_coords(self, point: Any) -> None:
        if point is None or self.canvas.image is None:
            self.coords.setText("")
            return
        w, h = self.canvas.image.size
        self.coords.setText(f"({point.x:.3f}, {point.y:.3f})  {int(point.x * w)}×{int(point.y * h)} px")
