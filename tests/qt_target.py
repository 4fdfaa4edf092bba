"""A tiny real Qt window for end-to-end tests: buttons (and optionally a text field) that log
what happened to a JSON-lines file. Run: python tests/qt_target.py --out F --buttons Delete,Keep"""

from __future__ import annotations

import argparse
import json
import sys


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--buttons", default="OK")
    ap.add_argument("--field", default="", help="label of a text field to show")
    ap.add_argument("--title", default="guiagent test target")
    ap.add_argument("--geometry", default="100,100,420,240")
    args = ap.parse_args()

    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtGui import QFont, QGuiApplication
    from PySide6.QtWidgets import (
        QApplication,
        QHBoxLayout,
        QLabel,
        QLineEdit,
        QPushButton,
        QVBoxLayout,
        QWidget,
    )

    app = QApplication(sys.argv)
    app.setFont(QFont("DejaVu Sans", 14))
    win = QWidget()
    win.setWindowTitle(args.title)
    x, y, w, h = (int(v) for v in args.geometry.split(","))
    win.setGeometry(x, y, w, h)
    layout = QVBoxLayout(win)

    def log(event: dict[str, object]) -> None:
        with open(args.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(event, ensure_ascii=False) + "\n")

    edit = None
    if args.field:
        row = QHBoxLayout()
        row.addWidget(QLabel(args.field))
        edit = QLineEdit()
        edit.setAccessibleName(args.field)
        row.addWidget(edit)
        layout.addLayout(row)
    buttons = QHBoxLayout()
    made: dict[str, QPushButton] = {}
    for name in args.buttons.split(","):
        b = made[name] = QPushButton(name)
        b.setMinimumHeight(44)
        b.clicked.connect(lambda _=False, n=name: log({"clicked": n, "text": edit.text() if edit else None}))
        buttons.addWidget(b)
    layout.addLayout(buttons)

    class FirstPaint(QObject):
        """Logs {"ready": true, "buttons": {name: [x, y, w, h] on screen}} once the window's
        first frame is on the X server, so tests wait for that instead of guessing how long
        mapping and painting take."""

        def eventFilter(self, obj: QObject, event: QEvent) -> bool:
            if obj is win and event.type() == QEvent.Type.Paint:
                win.removeEventFilter(self)
                # after this paint is flushed; sync(): the server has applied our drawing
                QTimer.singleShot(0, ready)
            return False

    def ready() -> None:
        QGuiApplication.sync()
        rects = {n: [b.mapToGlobal(b.rect().topLeft()).x(), b.mapToGlobal(b.rect().topLeft()).y(), b.width(),
                     b.height()] for n, b in made.items()}
        log({"ready": True, "buttons": rects})

    painted = FirstPaint()
    win.installEventFilter(painted)
    win.show()
    sys.exit(app.exec())


if __name__ == "__main__":
    main()
