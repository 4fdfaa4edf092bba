"""A small Qt form for demos and end-to-end tests of the desktop device.

    python assets/demo_form.py --out result.json [--geometry X,Y,W,H] [--font-size 18]

Window title "guiagent demo form": a "Name" text field, a "Subscribe" checkbox, a "Plan"
radio group (Free / Pro / Team) and a "Submit" button. Submit (or Enter in the Name field)
writes the values as JSON to `--out` (written to a temporary file and renamed, so a reader
never sees half a file) and prints the same line to stdout. Once up, it prints one JSON line
on stderr: {"ready": true, "pid": ..., "widgets": {"Name": [x, y, w, h], ...}}. Big default fonts so OCR reads them; every widget has an
accessible name so the AT-SPI tree (QT_ACCESSIBILITY=1) names them like the screen does.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

TITLE = "guiagent demo form"
PLANS = ("Free", "Pro", "Team")


def parse_geometry(text: str) -> tuple[int, int, int, int]:
    """ "X,Y,W,H" -> ints; raises ValueError naming the problem."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 4:
        raise ValueError(f"--geometry wants X,Y,W,H (four integers), got {text!r}")
    try:
        x, y, w, h = (int(p) for p in parts)
    except ValueError:
        raise ValueError(f"--geometry wants integers, got {text!r}") from None
    if w <= 0 or h <= 0:
        raise ValueError(f"--geometry width and height must be positive, got {text!r}")
    return x, y, w, h


def build_window(out: Path | None, geometry: tuple[int, int, int, int], font_size: int) -> Any:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QFont
    from PySide6.QtWidgets import (
        QButtonGroup,
        QCheckBox,
        QFormLayout,
        QHBoxLayout,
        QLabel,
        QLineEdit,
        QPushButton,
        QRadioButton,
        QSizePolicy,
        QVBoxLayout,
        QWidget,
    )

    window = QWidget()
    window.setWindowTitle(TITLE)
    window.setAccessibleName(TITLE)
    font = QFont("DejaVu Sans")
    font.setPixelSize(font_size)
    window.setFont(font)

    name = QLineEdit()
    name.setAccessibleName("Name")
    name.setObjectName("name")
    name_label = QLabel("Name")
    name_label.setBuddy(name)

    subscribe = QCheckBox("Subscribe")
    subscribe.setAccessibleName("Subscribe")
    subscribe.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)  # box = clickable area

    plan_row = QHBoxLayout()
    plan_group = QButtonGroup(window)
    radios: dict[str, QRadioButton] = {}
    for i, plan in enumerate(PLANS):
        radio = QRadioButton(plan)
        radio.setAccessibleName(plan)
        plan_group.addButton(radio, i)
        plan_row.addWidget(radio)
        radios[plan] = radio
    plan_row.addStretch(1)
    radios[PLANS[0]].setChecked(True)

    status = QLabel("")
    submit = QPushButton("Submit")
    submit.setAccessibleName("Submit")

    def on_submit() -> None:
        checked = plan_group.checkedButton()
        values = {
            "name": name.text(),
            "subscribe": subscribe.isChecked(),
            "plan": checked.text() if checked is not None else None,
        }
        line = json.dumps(values, ensure_ascii=False)
        if out is not None:
            tmp = out.with_name(out.name + ".tmp")
            tmp.write_text(line + "\n", encoding="utf-8")
            os.replace(tmp, out)
        print(line, flush=True)
        status.setText("Submitted")

    submit.clicked.connect(on_submit)
    name.returnPressed.connect(on_submit)  # Enter in the field submits, like a web form
    window.widgets = {"Name": name, "Subscribe": subscribe, **radios, "Submit": submit}  # for layout()

    form = QFormLayout()
    form.addRow(name_label, name)
    form.addRow("", subscribe)
    plan_label = QLabel("Plan")
    form.addRow(plan_label, plan_row)
    layout = QVBoxLayout(window)
    layout.addLayout(form)
    layout.addWidget(submit, alignment=Qt.AlignmentFlag.AlignLeft)
    layout.addWidget(status)
    layout.addStretch(1)

    x, y, w, h = geometry
    window.setGeometry(x, y, w, h)
    return window


def layout(window: Any) -> dict[str, list[int]]:
    """Global screen rectangles [x, y, w, h] of the named widgets (for scripts and tests)."""
    out: dict[str, list[int]] = {}
    for key, widget in window.widgets.items():
        top_left = widget.mapToGlobal(widget.rect().topLeft())
        out[key] = [top_left.x(), top_left.y(), widget.width(), widget.height()]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="where Submit writes the values as JSON")
    parser.add_argument("--geometry", default="100,100,520,360", help="window X,Y,W,H (default %(default)s)")
    parser.add_argument("--font-size", type=int, default=20, help="pixel size of the UI font")
    args = parser.parse_args(argv)
    try:
        geometry = parse_geometry(args.geometry)
    except ValueError as exc:
        parser.error(str(exc))
    os.environ.setdefault("QT_ACCESSIBILITY", "1")
    os.environ.setdefault("QT_LINUX_ACCESSIBILITY_ALWAYS_ON", "1")

    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    window = build_window(args.out, geometry, args.font_size)
    window.show()
    window.raise_()
    window.activateWindow()
    from PySide6.QtCore import QTimer

    def announce() -> None:
        # One JSON line on stderr once the event loop runs: launchers wait for it instead of
        # sleeping, and scripts may use the widget rectangles.
        info = {"ready": True, "pid": os.getpid(), "title": TITLE, "widgets": layout(window)}
        print(json.dumps(info), file=sys.stderr, flush=True)

    QTimer.singleShot(0, announce)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
