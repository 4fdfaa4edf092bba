"""The agent in a QThread: builds the run (planner, grounder, episode folder) and executes it
there, turning the loop's events into Qt signals for the window.

Control calls (pause, resume, step, stop) come from the UI thread; they only touch the
agent's thread-safe controls. Stop also answers a pending approval with "stop", so it takes
effect before the next action even while the agent waits for a person.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from app.jobs import explain
from guiagent.events import AgentEvent, RunResult
from guiagent.runner import Run, RunOptions
from guiagent.safety import Approver, refuse_all

log = logging.getLogger(__name__)


class AgentWorker(QObject):
    """Runs one task. Lives in its own QThread (see `start_worker`)."""

    agent_event = Signal(object)  # AgentEvent (not `event`: that would shadow QObject.event)
    started_run = Signal(object)  # dict: keeps_plan, planner, folder
    done = Signal(object)  # RunResult
    failed = Signal(str, str)  # message, what to do
    finished = Signal()  # always last

    def __init__(self, task: str, options: RunOptions, *, device: Any = None, approver: Approver = refuse_all,
                 step_mode: bool = False) -> None:
        super().__init__()
        self.task, self.options, self.device = task, options, device
        self.approver = approver
        self.step_mode = step_mode
        self.run_obj: Run | None = None
        self.result: RunResult | None = None
        self._lock = threading.Lock()
        self._stop_reason: str | None = None
        self._paused = False

    # -- controls (UI thread) -----------------------------------------------------------

    def request_stop(self, reason: str = "stopped by the user") -> None:
        with self._lock:
            self._stop_reason = self._stop_reason or reason
            run = self.run_obj
        cancel = getattr(self.approver, "cancel", None)
        if callable(cancel):
            cancel()
        if run is not None:
            run.agent.request_stop(reason)

    def pause(self) -> None:
        with self._lock:
            self._paused = True
            run = self.run_obj
        if run is not None:
            run.agent.pause()

    def resume(self) -> None:
        with self._lock:
            self._paused = False
            self.step_mode = False
            run = self.run_obj
        if run is not None:
            run.agent.resume()

    def step_once(self) -> None:
        with self._lock:
            self.step_mode = True
            run = self.run_obj
        if run is not None:
            run.agent.step_once()

    @property
    def stopping(self) -> bool:
        return self._stop_reason is not None

    # -- the run (worker thread) --------------------------------------------------------

    @Slot()
    def run(self) -> None:
        try:
            self._run()
        finally:
            self.finished.emit()

    def _run(self) -> None:
        try:
            run = Run(self.task, self.options, device=self.device, approver=self.approver,
                      subscribers=[self._forward])
        except Exception as exc:  # bad planner / grounder config, missing extra, busy folder ...
            self.failed.emit(*explain(exc))
            return
        with self._lock:
            self.run_obj = run
            stop, paused, step = self._stop_reason, self._paused, self.step_mode
        if stop is not None:
            run.agent.request_stop(stop)
        elif step:
            run.agent.step_once()
        elif paused:
            run.agent.pause()
        folder = str(run.writer.folder) if run.writer is not None else None
        self.started_run.emit({"keeps_plan": bool(getattr(run.planner, "keeps_plan", False)),
                               "planner": self.options.planner, "folder": folder})
        try:
            result = run.execute()
        except Exception as exc:  # the loop turns model/device trouble into steps; this is the rest
            self.failed.emit(*explain(exc))
            return
        finally:
            try:
                run.planner.close()
            except Exception:
                log.exception("closing the planner failed")
        self.result = result
        self.done.emit(result)

    def _forward(self, event: AgentEvent) -> None:
        self.agent_event.emit(event)


def start_worker(worker: AgentWorker) -> QThread:
    """Move `worker` into a new QThread and start it; the thread quits when the run ends."""
    thread = QThread()
    thread.setObjectName("agent")
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    # direct: QThread.quit is thread-safe, and a queued quit would wait for the UI thread
    worker.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
    thread.start()
    return thread
