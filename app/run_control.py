"""Running a task from the window (a mixin of MainWindow): start, pause, step, stop, the
agent's events into the live view / plan / timeline, and approval of sensitive actions.

Everything the worker thread reports arrives here as queued signals (UI thread)."""

from __future__ import annotations

import logging
from typing import Any, assert_never

from PySide6.QtCore import Qt, QThread

from app.approval import ApprovalDialog, ApprovalRequest
from app.jobs import explain
from app.window_sync import settle_visibility
from app.worker import AgentWorker, start_worker
from guiagent.events import (
    Acted,
    AgentEvent,
    Decided,
    Guarded,
    Observed,
    RunFinished,
    RunResult,
    StepFinished,
    StepStarted,
)
from guiagent.safety import approve_all, refuse_all

log = logging.getLogger(__name__)


class RunControlMixin:
    # The run's state, owned by MainWindow (set in its __init__), declared here for the checker.
    worker: AgentWorker | None
    worker_thread: QThread | None
    result: RunResult | None
    run_folder: str | None
    last_live: tuple[Any, Any] | None
    _pending_start: bool | None  # step_mode of a run waiting for the device
    _dialog: ApprovalDialog | None

    # -- runs ---------------------------------------------------------------------------------

    def on_run(self: Any) -> None:
        if self.state == "paused" and self.worker is not None:
            self.worker.resume()
            self.set_state("running")
            return
        if self.worker is None and self.state not in ("recording", "connecting", "stopping"):
            self.start_run()

    def start_run(self: Any, step_mode: bool = False) -> bool:
        task = self.top.task
        if not task:
            self.show_error("There is no task to run.", "Type what the agent should do in the box at the top.")
            self._run_over(None)
            return False
        self.banner.hide()
        self.task_run = task
        self.settings.task = task
        self.top.set_recent(self.settings.add_recent_task(task))
        self.run_panel.save()
        self.set_state("connecting" if not self.session.connected else "starting")
        if not self.session.connected or self.session.spec != self.run_panel.current_spec():
            self._pending_start = step_mode
            self.connect_device(self.run_panel.current_spec())
            return True
        self._start_worker(step_mode)
        return True

    def _start_worker(self: Any, step_mode: bool) -> None:
        try:
            options = self.run_panel.run_options(self.settings.runs_dir, out=self.out_override)
        except Exception as exc:
            self.show_error(*explain(exc))
            self.set_state("error")
            self._run_over(None)
            return
        approver = {"ask": self.bridge, "approve": approve_all, "refuse": refuse_all}[self.approve_mode]
        self.bridge.reset()
        self.session.reset_kill_switch()
        self.session.set_mirroring(False)
        self.result, self.run_folder = None, None
        self.timeline.clear()
        self.timeline.set_caption("this run")
        self.plan.reset(True)
        self.follow_live()
        self.set_state("starting")
        # Out of the agent's way on the desktop (it also never acts on our windows). The agent
        # starts only once the X server has unmapped this window: its first screenshot and
        # click must not meet it.
        if self.session.kind == "desktop" and not self.enter_compact():
            self.leave_compact()
            self.show_error("The window could not step aside for the agent.",
                            "The window system did not hide the main window; try again.")
            self.set_state("error")
            self.session.set_mirroring(True)
            self._run_over(None)
            return
        self.worker = AgentWorker(self.task_run, options, device=self.session.device, approver=approver,
                                  step_mode=step_mode)
        self.worker.agent_event.connect(self._on_event)
        self.worker.started_run.connect(self._on_started)
        self.worker.done.connect(self._on_done)
        self.worker.failed.connect(self._on_failed)
        self.worker.finished.connect(self._on_worker_finished)
        self.worker_thread = start_worker(self.worker)
        self.elapsed.start()
        self.tick.start()

    def pause(self: Any) -> None:
        if self.worker is not None and self.state == "running":
            self.worker.pause()
            self.set_state("paused")

    def step(self: Any) -> None:
        if self.worker is not None:
            self.worker.step_once()
            self.set_state("paused")
        elif self.state not in ("recording", "connecting", "stopping", "replaying"):
            self.start_run(step_mode=True)

    def stop_all(self: Any, reason: str = "stopped by the user") -> None:
        """The kill switch: stop the run before its next action (and a device replay)."""
        if self._pending_start is not None:
            self._pending_start = None
            self.set_state("stopped")
            self._run_over(None)
        if self.worker is not None:
            self.worker.request_stop(reason)
            self.set_state("stopping")
        self.stop_device_replay()

    def _on_started(self: Any, info: dict[str, Any]) -> None:
        self.run_folder = info.get("folder")
        self.plan.reset(bool(info.get("keeps_plan")), str(info.get("planner", "")))
        if self.state == "starting":
            self.set_state("paused" if self.worker is not None and self.worker.step_mode else "running")

    def _on_event(self: Any, ev: AgentEvent) -> None:
        match ev:
            case StepStarted(index=index):
                self.status_steps.setText(f"step {index + 1}: looking at the screen…")
            case Observed(observation=obs):
                self.last_live = (obs.screenshot, obs.elements)
                if self.following_live:
                    self.live.show_frame(obs.screenshot, obs.elements, keep_action=True)
            case Decided(index=index, decision=decision):
                self.plan.update_decision(decision)
                self.status_steps.setText(f"step {index + 1}: {decision.subgoal or 'deciding'}")
            case StepFinished(observation=obs, step=step):
                frame = obs.screenshot
                self.timeline.add_step(step, frame)
                if self.following_live and frame is not None:
                    self.live.show_frame(frame, step.elements, step.action, step.target_element)
                self.status_steps.setText(f"{len(self.timeline.entries)} steps")
            case Guarded() | Acted() | RunFinished():
                pass  # the guard's asks arrive as approval requests; the result through `done`
            case _:
                assert_never(ev)

    def _on_done(self: Any, result: RunResult) -> None:
        self.result = result
        self.run_folder = result.folder or self.run_folder
        self.plan.finish(result.ok)
        self.status_steps.setText(f"{result.status} after {result.steps} steps in {result.seconds:.1f} s: "
                                  f"{result.reason}")
        self.set_state(result.status if result.status in ("success", "failed", "stopped") else "idle")
        if result.status == "failed":
            self.show_error(f"The run failed: {result.reason}",
                            "Look at the last steps in the timeline (click one to see its screen); rephrase "
                            "the task, raise Max steps, or try another planner.")

    def _on_failed(self: Any, message: str, hint: str) -> None:
        self.show_error(message, hint)
        self.set_state("error")

    def _on_worker_finished(self: Any) -> None:
        if self.worker_thread is not None:
            self.worker_thread.quit()
            if not self.worker_thread.wait(10000):
                log.warning("the agent thread is still busy; keeping it referenced")
                self._old_threads = [*getattr(self, "_old_threads", []), self.worker_thread]
        self.worker, self.worker_thread = None, None
        self.tick.stop()
        self._update_time()
        if self.state in ("stopping", "running", "paused", "starting"):
            self.set_state("stopped")
        if self._dialog is not None:
            self._dialog.close()
        self.leave_compact()
        self.session.set_mirroring(True)
        self.replay_panel.fill_recent(self.settings.runs_dir)
        self._run_over(self.result)

    def _update_time(self: Any) -> None:
        if self.elapsed.isValid():
            self.status_time.setText(f"{self.elapsed.elapsed() / 1000:.1f} s")
        if self.minibar.isVisible():
            self.minibar.set_status(self.state, self.status_steps.text() or self.task_run)

    # -- approval -----------------------------------------------------------------------------

    def _approval_requested(self: Any, req: ApprovalRequest) -> None:
        if req.settled:
            return
        # while compact (desktop runs) the main window is hidden: the dialog stands alone, on top
        self._dialog = ApprovalDialog(req, None if self.compact else self, touch=self.live.canvas.touch)
        if self.compact:
            self._dialog.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint)
        self._dialog.open()

    def _approval_settled(self: Any, req: ApprovalRequest) -> None:
        if self._dialog is not None and self._dialog.request is req:
            self._dialog.close()
            self._dialog = None

    # -- out of the agent's way on the desktop --------------------------------------------------

    @property
    def compact(self: Any) -> bool:
        return self.minibar.isVisible()

    def enter_compact(self: Any) -> bool:
        """Swap the main window for the Stop bar; True once the window server confirms both.
        The window goes first, so the two are never on screen together."""
        self.minibar.set_status(self.state, self.task_run)
        self.hide()
        hidden = settle_visibility(self, False)
        self.minibar.show_in_corner()
        return hidden and settle_visibility(self.minibar, True)

    def leave_compact(self: Any) -> None:
        if self.minibar.isVisible():
            self.minibar.hide()
            self.show()
            self.raise_()
