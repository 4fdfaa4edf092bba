"""Drawing on a device frame: the last action (click point, swipe arrow, typed text, key),
its target element's box, and set-of-marks (through grounding.som, so the person sees the
same marks a model would).

Painting happens in widget coordinates with a `Frame` mapping normalized points and pixel
boxes of the screenshot onto the rectangle the image is drawn in; line widths stay the same
at every zoom.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, assert_never

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QPainterPath, QPen, QPolygonF

from app import style
from guiagent.schema import (
    Action,
    Back,
    Click,
    Done,
    DoubleClick,
    Drag,
    Element,
    Home,
    Hover,
    Key,
    LongPress,
    OpenApp,
    Point,
    RightClick,
    Scroll,
    Swipe,
    Target,
    TypeText,
    Wait,
    describe_action,
)

Box = tuple[int, int, int, int]


def pil_to_qimage(image: Any) -> QImage:
    """A deep copy of a PIL image as a QImage (safe after the PIL buffer is gone)."""
    rgba = image.convert("RGBA")
    data = rgba.tobytes("raw", "RGBA")
    return QImage(data, rgba.width, rgba.height, rgba.width * 4, QImage.Format.Format_RGBA8888).copy()


def marked_image(image: Any, elements: Sequence[Element]) -> Any:
    """The screenshot with set-of-marks drawn by grounding.som (PIL in, PIL out)."""
    from grounding.som import draw_marks

    return draw_marks(image, list(elements), include_text=True)


@dataclass(frozen=True)
class Frame:
    """Where a screenshot of `size` pixels is drawn: the rectangle `rect` in the widget."""

    rect: QRectF
    size: tuple[int, int]

    @property
    def scale(self) -> float:
        return self.rect.width() / max(1, self.size[0])

    def point(self, p: Point) -> QPointF:
        return QPointF(self.rect.left() + p.x * self.rect.width(), self.rect.top() + p.y * self.rect.height())

    def box(self, b: Box) -> QRectF:
        s = self.scale
        return QRectF(self.rect.left() + b[0] * s, self.rect.top() + b[1] * s, (b[2] - b[0]) * s, (b[3] - b[1]) * s)

    def to_normalized(self, x: float, y: float) -> Point | None:
        """Widget position -> normalized point, None outside the image."""
        if not self.rect.contains(QPointF(x, y)):
            return None
        return Point(x=min(max((x - self.rect.left()) / self.rect.width(), 0.0), 1.0),
                     y=min(max((y - self.rect.top()) / self.rect.height(), 0.0), 1.0))


def fit_rect(image_size: tuple[int, int], area: QRectF, margin: float = 0.0) -> QRectF:
    """The largest rectangle with the image's aspect ratio centred in `area`."""
    w, h = image_size
    aw, ah = max(1.0, area.width() - 2 * margin), max(1.0, area.height() - 2 * margin)
    s = min(aw / max(1, w), ah / max(1, h))
    dw, dh = w * s, h * s
    return QRectF(area.left() + (area.width() - dw) / 2, area.top() + (area.height() - dh) / 2, dw, dh)


def _point(target: Target | None) -> Point | None:
    return target.point if target is not None else None


def _chip(p: QPainter, anchor: QPointF, text: str, color: QColor, bounds: QRectF, above: bool = True) -> None:
    """A rounded label near `anchor`, kept inside `bounds`."""
    font = QFont(p.font())
    font.setPointSizeF(9.5)
    font.setBold(True)
    p.setFont(font)
    fm = QFontMetricsF(font)
    text = fm.elidedText(text, Qt.TextElideMode.ElideRight, max(60.0, bounds.width() - 24))
    w, h = fm.horizontalAdvance(text) + 16, fm.height() + 8
    x = anchor.x() - w / 2
    y = anchor.y() - h - 22 if above else anchor.y() + 22
    x = min(max(bounds.left() + 4, x), bounds.right() - w - 4)
    y = min(max(bounds.top() + 4, y), bounds.bottom() - h - 4)
    r = QRectF(x, y, w, h)
    bg = QColor(color)
    bg.setAlpha(235)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(bg)
    p.drawRoundedRect(r, h / 2, h / 2)
    p.setPen(QColor("#ffffff"))
    p.drawText(r, Qt.AlignmentFlag.AlignCenter, text)


def _ring(p: QPainter, c: QPointF, color: QColor, radius: float, dashed: bool = False) -> None:
    pen = QPen(color, 3)
    if dashed:
        pen.setStyle(Qt.PenStyle.DashLine)
    p.setPen(pen)
    halo = QColor(color)
    halo.setAlpha(55)
    p.setBrush(halo)
    p.drawEllipse(c, radius, radius)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(color)
    p.drawEllipse(c, 4.5, 4.5)


def _arrow(p: QPainter, a: QPointF, b: QPointF, color: QColor) -> None:
    pen = QPen(color, 4, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
    p.setPen(pen)
    p.drawLine(a, b)
    angle = math.atan2(b.y() - a.y(), b.x() - a.x())
    size = 16.0
    head = QPolygonF([b, QPointF(b.x() - size * math.cos(angle - 0.45), b.y() - size * math.sin(angle - 0.45)),
                      QPointF(b.x() - size * math.cos(angle + 0.45), b.y() - size * math.sin(angle + 0.45))])
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(color)
    p.drawPolygon(head)
    p.drawEllipse(a, 6, 6)


def paint_target_box(p: QPainter, frame: Frame, box: Box, color: QColor) -> None:
    pen = QPen(color, 2)
    p.setPen(pen)
    fill = QColor(color)
    fill.setAlpha(28)
    p.setBrush(fill)
    path = QPainterPath()
    path.addRoundedRect(frame.box(box).adjusted(-3, -3, 3, 3), 6, 6)
    p.drawPath(path)


def paint_action(p: QPainter, frame: Frame, action: Action, target_box: Box | None = None,
                 touch: bool = True, target_label: str = "") -> None:
    """Draw `action` (already grounded: targets carry points) over the frame. `touch` words
    pointer actions for a touch screen ("tap") or a mouse ("click")."""
    accent = QColor(style.color("accent"))
    warn = QColor(style.color("warning"))
    bounds = frame.rect
    p.save()
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    if target_box is not None:
        paint_target_box(p, frame, target_box, accent)
    # actions without a point get their label low on the screen, clear of title bars
    top = QPointF(bounds.center().x(), bounds.bottom() - bounds.height() * 0.12)
    label = describe_action(action)
    match action:
        case Click() | DoubleClick() | RightClick() | LongPress() | Hover():
            pt = _point(action.target)
            if pt is None:
                _chip(p, top, label, accent, bounds)
            else:
                c = frame.point(pt)
                _ring(p, c, accent, 18, dashed=isinstance(action, LongPress))
                if isinstance(action, DoubleClick):
                    p.setPen(QPen(accent, 2))
                    p.setBrush(Qt.BrushStyle.NoBrush)
                    p.drawEllipse(c, 26, 26)
                words = {"click": "tap" if touch else "click", "double_click": "double tap" if touch else
                         "double click", "right_click": "right click", "long_press": "long press", "hover": "hover"}[action.type]
                name = action.target.description or target_label[:40] or (
                    f"#{action.target.element}" if action.target.element else "")
                _chip(p, c, f"{words} {name}".strip(), accent, bounds)
        case Swipe() | Drag():
            a, b = _point(action.start), _point(action.end)
            if a is not None and b is not None:
                _arrow(p, frame.point(a), frame.point(b), accent)
                _chip(p, frame.point(a), action.type, accent, bounds)
            else:
                _chip(p, top, label, accent, bounds)
        case TypeText():
            pt = _point(action.target)
            where = frame.point(pt) if pt is not None else QPointF(bounds.center().x(), bounds.bottom() - 60)
            if pt is not None:
                _ring(p, where, accent, 14)
            text = f"⌨ “{action.text}”" + (" ⏎" if action.submit else "")
            _chip(p, where, text, accent, bounds, above=pt is not None)
        case Scroll():
            pt = _point(action.anchor) or Point(x=0.5, y=0.5)
            c = frame.point(pt)
            length = min(bounds.width(), bounds.height()) * min(0.35, 0.2 + 0.1 * action.amount)
            dx, dy = {"up": (0, -1), "down": (0, 1), "left": (-1, 0), "right": (1, 0)}[action.direction]
            _arrow(p, c, QPointF(c.x() + dx * length, c.y() + dy * length), accent)
            _chip(p, c, label, accent, bounds)
        case Key() | OpenApp() | Back() | Home() | Wait():
            _chip(p, top, label, accent, bounds)
        case Done():
            color = QColor(style.color("success")) if action.status == "success" else warn
            _chip(p, top, label, color, bounds)
        case _:
            assert_never(action)
    p.restore()


def render_frame(image: Any, action: Action | None = None, target_box: Box | None = None,
                 max_size: tuple[int, int] = (520, 560), touch: bool = True) -> QImage:
    """A standalone picture of a frame with the action drawn (approval dialog, thumbnails)."""
    qimg = pil_to_qimage(image)
    w, h = qimg.width(), qimg.height()
    s = min(1.0, max_size[0] / max(1, w), max_size[1] / max(1, h))
    out = qimg.scaled(max(1, int(w * s)), max(1, int(h * s)), Qt.AspectRatioMode.IgnoreAspectRatio,
                      Qt.TransformationMode.SmoothTransformation).convertToFormat(QImage.Format.Format_ARGB32)
    if action is not None:
        p = QPainter(out)
        paint_action(p, Frame(QRectF(0, 0, out.width(), out.height()), (w, h)), action, target_box, touch)
        p.end()
    return out
