"""Background jobs: run a blocking call (open a device, take a screenshot, replay a step) off
the UI thread and get its result back as a Qt signal in the UI thread.

Also `explain(exc)`: every error the app shows is a message plus what to do about it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from guiagent.schema.errors import (
    ConfigError,
    DeviceDisconnected,
    DeviceError,
    DeviceTimeout,
    GuiAgentError,
    InstructionNotUnderstood,
    ModelError,
    PlannerError,
    RecordingError,
)

log = logging.getLogger(__name__)


def explain(exc: BaseException) -> tuple[str, str]:
    """(what went wrong, what to do) for an exception, in words for the window."""
    text = str(exc) or type(exc).__name__
    match exc:
        case InstructionNotUnderstood():
            hint = ("Rephrase the task as explicit steps (e.g. \"Open Settings and turn on Wi-Fi\", "
                    "\"Type 'Ada' into Name, then click Submit\"), or pick a model planner.")
        case DeviceDisconnected():
            hint = "Check the device is connected (adb devices / DISPLAY), then press Connect again."
        case DeviceTimeout():
            hint = "The device did not answer in time. Press Connect to reconnect, or restart it."
        case DeviceError():
            hint = "The device refused the action. Look at the live view, then run again or pick another device."
        case ModelError():
            hint = "Check the endpoint URL, model name or local path under Planner > Model settings."
        case ConfigError():
            hint = "Fix the setting named above in the left panel (Device / Planner / Options)."
        case PlannerError():
            hint = "The planner could not decide. Try again, rephrase the task, or pick another planner."
        case RecordingError():
            hint = "Pick another episode folder, or repair this one with `guiagent dataset repair FOLDER`."
        case GuiAgentError():
            hint = "See the message above; the log (-v) has details."
        case OSError():
            hint = "A file or connection failed. Check the path and permissions."
        case _:
            text = f"{type(exc).__name__}: {text}"
            hint = "This is a bug in guiagent. Run from a terminal with -v for the traceback and report it."
    return text, hint


class Job(QObject):
    """One call in a daemon thread. `done(result)` or `failed(message, hint)` arrive in the
    thread that owns the Job (the UI thread)."""

    done = Signal(object)
    failed = Signal(str, str)

    def __init__(self, fn: Callable[[], Any], name: str = "job") -> None:
        super().__init__()
        self._fn = fn
        self.name = name
        self._thread = threading.Thread(target=self._run, name=f"app-{name}", daemon=True)

    def start(self) -> Job:
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        try:
            result = self._fn()
        except Exception as exc:  # every failure reaches the window, never only a console
            if not isinstance(exc, GuiAgentError | OSError):
                log.exception("background job %s failed", self.name)
            self.failed.emit(*explain(exc))
            return
        self.done.emit(result)


class Jobs(QObject):
    """Keeps running jobs referenced until they finish (a collected Job loses its signals)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._live: set[Job] = set()

    def start(self, fn: Callable[[], Any], on_done: Callable[[Any], None] | None = None,
              on_failed: Callable[[str, str], None] | None = None, name: str = "job") -> Job:
        job = Job(fn, name)
        if on_done is not None:
            job.done.connect(on_done)
        if on_failed is not None:
            job.failed.connect(on_failed)
        job.done.connect(lambda _r, j=job: self._live.discard(j))
        job.failed.connect(lambda _m, _h, j=job: self._live.discard(j))
        self._live.add(job)
        return job.start()

    def busy(self, name: str) -> bool:
        return any(j.name == name and j.running for j in self._live)

    def wait_all(self, timeout: float = 5.0) -> None:
        for job in list(self._live):
            job.join(timeout)
