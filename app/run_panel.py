"""The left panel's Run tab: device picker (+ Connect), planner / grounder picker with model
settings (endpoint, model, local path; remembered per planner), and run options."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.device_picker import DeviceChoice
from app.settings import AppSettings
from guiagent.runner import RunOptions, new_episode_id
from guiagent.schema.errors import ConfigError

PLANNER_LABELS = {
    "rule": ("Rule (no model)", False),
    "dpot": ("D-PoT (model)", True),
    "react": ("ReAct (model)", True),
    "autoui": ("Auto-UI (model)", True),
}
PLANNER_TIPS = {
    "rule": "Follows explicit instructions (\"Open Settings and turn on Wi-Fi\"); needs no model",
    "dpot": "Dynamic planning of thoughts: revises its plan after every action",
    "react": "The ReAct baseline: thought, action, observation",
    "autoui": "Auto-UI chain-of-action: previous actions and a future plan in, next action out",
}
GROUNDER_LABELS = {"text": "Text matcher (no model)", "vlm": "VLM (local path)", "openai": "VLM endpoint"}


def _section(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("h2")
    return label


class RunPanel(QWidget):
    connect_requested = Signal(str)  # device spec
    disconnect_requested = Signal()
    refresh_requested = Signal()

    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.connected_spec: str | None = None
        root = QVBoxLayout(self)
        root.setContentsMargins(4, 10, 4, 4)
        root.setSpacing(8)

        root.addWidget(_section("DEVICE"))
        row = QHBoxLayout()
        self.device_box = QComboBox()
        self.device_box.setMinimumWidth(160)
        row.addWidget(self.device_box, 1)
        self.refresh_button = QPushButton("↻")
        self.refresh_button.setToolTip("Look for connected Android devices again")
        self.refresh_button.setFixedWidth(34)
        row.addWidget(self.refresh_button)
        root.addLayout(row)
        self.connect_button = QPushButton("Connect")
        self.connect_button.setObjectName("primary")
        root.addWidget(self.connect_button)
        self.device_status = QLabel("Not connected")
        self.device_status.setObjectName("small")
        self.device_status.setWordWrap(True)
        root.addWidget(self.device_status)

        root.addSpacing(6)
        root.addWidget(_section("PLANNER"))
        self.planner_box = QComboBox()
        for name, (label, _) in PLANNER_LABELS.items():
            self.planner_box.addItem(label, name)
            self.planner_box.setItemData(self.planner_box.count() - 1, PLANNER_TIPS[name], Qt.ItemDataRole.ToolTipRole)
        self.grounder_box = QComboBox()
        for name, label in GROUNDER_LABELS.items():
            self.grounder_box.addItem(label, name)
        picks = QFormLayout()
        picks.setContentsMargins(0, 0, 0, 0)
        picks.addRow("Planner", self.planner_box)
        picks.addRow("Grounder", self.grounder_box)
        root.addLayout(picks)
        self.model_box = QWidget()
        form = QFormLayout(self.model_box)
        form.setContentsMargins(0, 4, 0, 0)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        self.base_url = QLineEdit()
        self.base_url.setPlaceholderText("http://localhost:8000/v1")
        self.model_name = QLineEdit()
        self.model_name.setPlaceholderText("model name at the endpoint")
        path_row = QHBoxLayout()
        self.model_path = QLineEdit()
        self.model_path.setPlaceholderText("or a local checkpoint folder")
        browse = QPushButton("…")
        browse.setFixedWidth(36)
        browse.setToolTip("Choose a local checkpoint folder")
        browse.clicked.connect(self._browse_model)
        path_row.addWidget(self.model_path, 1)
        path_row.addWidget(browse)
        self.api_key = QLineEdit()
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key.setPlaceholderText("$OPENAI_API_KEY (not saved)")
        form.addRow("Endpoint", self.base_url)
        form.addRow("Model", self.model_name)
        form.addRow("Local path", path_row)
        form.addRow("API key", self.api_key)
        root.addWidget(self.model_box)

        root.addSpacing(6)
        root.addWidget(_section("OPTIONS"))
        self.ocr_box = QCheckBox("Read screen text (OCR)")
        self.ocr_box.setToolTip("Off: use the accessibility tree only (faster)")
        root.addWidget(self.ocr_box)
        self.save_box = QCheckBox("Save runs as episodes")
        root.addWidget(self.save_box)
        steps_row = QHBoxLayout()
        steps_row.addWidget(QLabel("Max steps"))
        self.max_steps = QSpinBox()
        self.max_steps.setRange(1, 500)
        self.max_steps.setFixedWidth(84)
        steps_row.addStretch(1)
        steps_row.addWidget(self.max_steps)
        root.addLayout(steps_row)
        root.addStretch(1)

        self._current_planner = settings.planner
        self.planner_box.currentIndexChanged.connect(self._planner_changed)
        self.grounder_box.currentIndexChanged.connect(lambda _i: self._update_model_box())
        self.connect_button.clicked.connect(self._connect_clicked)
        self.refresh_button.clicked.connect(self.refresh_requested.emit)
        self.load()

    # -- devices ----------------------------------------------------------------------------

    def set_choices(self, choices: list[DeviceChoice], keep: str | None = None) -> None:
        want = keep or self.current_spec() or self.settings.device
        self.device_box.blockSignals(True)
        self.device_box.clear()
        for c in choices:
            self.device_box.addItem(c.label, c.spec)
            self.device_box.setItemData(self.device_box.count() - 1, c.detail, Qt.ItemDataRole.ToolTipRole)
        self.device_box.blockSignals(False)
        self.select_device(want)

    def select_device(self, spec: str) -> None:
        i = self.device_box.findData(spec)
        if i < 0 and spec:
            self.device_box.addItem(spec, spec)  # typed on the command line: keep it selectable
            i = self.device_box.count() - 1
        if i >= 0:
            self.device_box.setCurrentIndex(i)

    def current_spec(self) -> str:
        return str(self.device_box.currentData() or "")

    def set_connected(self, spec: str | None, status: str) -> None:
        self.connected_spec = spec
        self.device_status.setText(status)
        self.connect_button.setText("Disconnect" if spec else "Connect")
        self.connect_button.setObjectName("" if spec else "primary")
        self.connect_button.style().unpolish(self.connect_button)
        self.connect_button.style().polish(self.connect_button)

    def set_busy(self, busy: bool) -> None:
        for w in (self.device_box, self.connect_button, self.refresh_button, self.planner_box, self.grounder_box):
            w.setEnabled(not busy)

    def _connect_clicked(self) -> None:
        if self.connected_spec:
            self.disconnect_requested.emit()
        else:
            self.connect_requested.emit(self.current_spec())

    # -- planner ------------------------------------------------------------------------------

    @property
    def planner(self) -> str:
        return str(self.planner_box.currentData())

    @property
    def grounder(self) -> str:
        return str(self.grounder_box.currentData())

    def _planner_changed(self, _index: int) -> None:
        self.settings.set_model_config(self._current_planner, self._model_fields())
        self._current_planner = self.planner
        self._fill_model_fields(self.settings.model_config(self.planner))
        self._update_model_box()

    def _update_model_box(self) -> None:
        self.model_box.setVisible(PLANNER_LABELS[self.planner][1] or self.grounder != "text")

    def _model_fields(self) -> dict[str, str]:
        return {"base_url": self.base_url.text(), "model": self.model_name.text(), "model_path": self.model_path.text()}

    def _fill_model_fields(self, config: dict[str, str]) -> None:
        self.base_url.setText(config.get("base_url", ""))
        self.model_name.setText(config.get("model", ""))
        self.model_path.setText(config.get("model_path", ""))

    def _browse_model(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Local model checkpoint", self.model_path.text() or str(Path.home()))
        if folder:
            self.model_path.setText(folder)

    # -- settings -------------------------------------------------------------------------------

    def load(self) -> None:
        s = self.settings
        self.planner_box.setCurrentIndex(max(0, self.planner_box.findData(s.planner)))
        self.grounder_box.setCurrentIndex(max(0, self.grounder_box.findData(s.grounder)))
        self._current_planner = self.planner
        self._fill_model_fields(s.model_config(self.planner))
        self.ocr_box.setChecked(s.ocr)
        self.save_box.setChecked(s.save_runs)
        self.max_steps.setValue(s.max_steps)
        self._update_model_box()

    def save(self) -> None:
        s = self.settings
        if self.current_spec():
            s.device = self.current_spec()
        s.planner, s.grounder = self.planner, self.grounder
        s.set_model_config(self.planner, self._model_fields())
        s.ocr, s.save_runs, s.max_steps = self.ocr_box.isChecked(), self.save_box.isChecked(), self.max_steps.value()

    def apply_overrides(self, **values: Any) -> None:
        """Command-line values win over remembered ones (device, planner, grounder, ocr, max_steps,
        base_url, model, model_path, api_key, save)."""
        if values.get("device"):
            self.select_device(values["device"])
        if values.get("planner"):
            i = self.planner_box.findData(values["planner"])
            if i < 0:
                raise ConfigError(f"unknown planner {values['planner']!r}; choose one of: {', '.join(PLANNER_LABELS)}")
            self.planner_box.setCurrentIndex(i)
        if values.get("grounder"):
            i = self.grounder_box.findData(values["grounder"])
            if i < 0:
                raise ConfigError(f"unknown grounder {values['grounder']!r}; choose one of: {', '.join(GROUNDER_LABELS)}")
            self.grounder_box.setCurrentIndex(i)
        if values.get("ocr") is not None:
            self.ocr_box.setChecked(bool(values["ocr"]))
        if values.get("max_steps"):
            self.max_steps.setValue(int(values["max_steps"]))
        if values.get("save") is not None:
            self.save_box.setChecked(bool(values["save"]))
        for key, field in (("base_url", self.base_url), ("model", self.model_name), ("model_path", self.model_path),
                           ("api_key", self.api_key)):
            if values.get(key):
                field.setText(str(values[key]))

    def run_options(self, runs_dir: Path, out: Path | None = None, **extra: Any) -> RunOptions:
        """RunOptions for the chosen planner, grounder and options (device set by the window)."""
        model = {k: v.strip() for k, v in self._model_fields().items() if v.strip()}
        key = self.api_key.text().strip() or os.environ.get("OPENAI_API_KEY", "")
        if key:
            model["api_key"] = key
        planner_opts = model if self.planner != "rule" else {}
        grounder_opts = model if self.grounder != "text" else {}
        if self.planner != "rule" and not (model.get("base_url") or model.get("model_path")):
            raise ConfigError(f"the {self.planner} planner needs a model: set an Endpoint or a Local path "
                              "under Planner")
        folder = out or (runs_dir / new_episode_id() if self.save_box.isChecked() else None)
        return RunOptions(device=self.connected_spec or self.current_spec(), planner=self.planner,
                          grounder=self.grounder, planner_options=dict(planner_opts),
                          grounder_options=dict(grounder_opts), max_steps=self.max_steps.value(),
                          ocr=self.ocr_box.isChecked(), out=folder, **extra)
