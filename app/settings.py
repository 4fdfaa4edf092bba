"""What the app remembers between runs (QSettings): the last task, recent tasks, the device,
the planner and, per planner, its endpoint / model / local-path settings.

API keys are never stored: they are typed per session or read from $OPENAI_API_KEY.
Lists are stored as JSON strings because QSettings' INI backend turns a one-item list into
a plain string.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ORGANIZATION = "guiagent"
APPLICATION = "guiagent-app"
MAX_RECENT = 12
MODEL_KEYS = ("base_url", "model", "model_path")
PLANNERS = ("rule", "dpot", "react", "autoui")
GROUNDERS = ("text", "vlm", "openai")


class AppSettings:
    """A typed view over one QSettings store. `path` selects an INI file (tests, portable
    installs); otherwise the platform's user scope for guiagent-app."""

    def __init__(self, path: Path | str | None = None) -> None:
        from PySide6.QtCore import QSettings

        if path is not None:
            self._s = QSettings(str(path), QSettings.Format.IniFormat)
        else:
            self._s = QSettings(ORGANIZATION, APPLICATION)

    @property
    def location(self) -> str:
        return self._s.fileName()

    def sync(self) -> None:
        self._s.sync()

    # -- primitives ---------------------------------------------------------------------

    def _get(self, key: str, default: Any, kind: type) -> Any:
        value = self._s.value(key, default)
        if value is None:
            return default
        if kind is bool:
            return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
        try:
            return kind(value)
        except (TypeError, ValueError):
            return default

    def _set(self, key: str, value: Any) -> None:
        self._s.setValue(key, value)

    # -- fields -------------------------------------------------------------------------

    @property
    def task(self) -> str:
        return self._get("run/task", "", str)

    @task.setter
    def task(self, value: str) -> None:
        self._set("run/task", value)

    @property
    def recent_tasks(self) -> list[str]:
        try:
            items = json.loads(self._get("run/recent_tasks", "[]", str))
        except json.JSONDecodeError:
            return []
        return [str(t) for t in items if isinstance(t, str) and t.strip()][:MAX_RECENT]

    def add_recent_task(self, task: str) -> list[str]:
        task = task.strip()
        if not task:
            return self.recent_tasks
        items = [task] + [t for t in self.recent_tasks if t != task]
        self._set("run/recent_tasks", json.dumps(items[:MAX_RECENT]))
        return items[:MAX_RECENT]

    @property
    def device(self) -> str:
        return self._get("run/device", "sim", str)

    @device.setter
    def device(self, spec: str) -> None:
        self._set("run/device", spec)

    @property
    def planner(self) -> str:
        value = self._get("run/planner", "rule", str)
        return value if value in PLANNERS else "rule"

    @planner.setter
    def planner(self, name: str) -> None:
        self._set("run/planner", name)

    @property
    def grounder(self) -> str:
        value = self._get("run/grounder", "text", str)
        return value if value in GROUNDERS else "text"

    @grounder.setter
    def grounder(self, name: str) -> None:
        self._set("run/grounder", name)

    @property
    def ocr(self) -> bool:
        return self._get("run/ocr", True, bool)

    @ocr.setter
    def ocr(self, on: bool) -> None:
        self._set("run/ocr", bool(on))

    @property
    def max_steps(self) -> int:
        return max(1, self._get("run/max_steps", 30, int))

    @max_steps.setter
    def max_steps(self, n: int) -> None:
        self._set("run/max_steps", int(n))

    @property
    def save_runs(self) -> bool:
        return self._get("run/save_runs", True, bool)

    @save_runs.setter
    def save_runs(self, on: bool) -> None:
        self._set("run/save_runs", bool(on))

    @property
    def runs_dir(self) -> Path:
        return Path(self._get("run/runs_dir", str(Path.cwd() / "runs" / "app"), str))

    @runs_dir.setter
    def runs_dir(self, path: Path | str) -> None:
        self._set("run/runs_dir", str(path))

    @property
    def theme(self) -> str:
        value = self._get("ui/theme", "dark", str)
        return value if value in ("dark", "light") else "dark"

    @theme.setter
    def theme(self, name: str) -> None:
        self._set("ui/theme", name)

    def model_config(self, planner: str) -> dict[str, str]:
        """Endpoint / model / local path remembered for one planner (or grounder)."""
        out = {}
        for key in MODEL_KEYS:
            value = self._get(f"models/{planner}/{key}", "", str).strip()
            if value:
                out[key] = value
        return out

    def set_model_config(self, planner: str, config: dict[str, str]) -> None:
        for key in MODEL_KEYS:
            self._set(f"models/{planner}/{key}", (config.get(key) or "").strip())

    def window_state(self) -> tuple[Any, Any]:
        return self._s.value("ui/geometry"), self._s.value("ui/splitter")

    def set_window_state(self, geometry: Any, splitter: Any) -> None:
        self._set("ui/geometry", geometry)
        self._set("ui/splitter", splitter)
