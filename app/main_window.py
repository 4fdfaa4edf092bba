"""The main window: task box and run controls on top; Run / Record / Replay settings on the
left; the live view in the middle; the plan and the timeline on the right.

The agent runs in a QThread (app.worker); everything it reports arrives as queued signals,
so the window never blocks on the device or the model. The kill switch is global: the big
Stop, Ctrl+Shift+X anywhere in the app, Esc while a run is going, and on the desktop device
the device's own hotkey.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Literal

from PySide6.QtCore import QElapsedTimer, QSize, Qt, QThread, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QMainWindow, QSplitter, QTabWidget, QVBoxLayout, QWidget

from app.approval import ApprovalBridge, ApprovalDialog, ApprovalRequest
from app.device_picker import android_choices, local_choices
from app.device_session import DeviceSession
from app.jobs import explain
from app.live_view import LiveView
from app.modes import ModesMixin
from app.plan_panel import PlanPanel
from app.record_mode import RecordPanel
from app.replay_view import ReplayPanel
from app.run_panel import RunPanel
from app.settings import AppSettings
from app.timeline import Timeline
from app.widgets import Banner, TopBar
from app.worker import AgentWorker, start_worker
from guiagent.events import AgentEvent, EventKind, RunResult
from guiagent.safety import approve_all, refuse_all

log = logging.getLogger(__name__)
ApproveMode = Literal["ask", "approve", "refuse"]
TITLE = "guiagent — watch, steer and replay the agent"


class MainWindow(ModesMixin, QMainWindow):
    run_ended = Signal(object)  # RunResult, or None when the run could not start

    def __init__(self, settings: AppSettings, *, approve: ApproveMode = "ask", out: Path | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.approve_mode: ApproveMode = approve
        self.out_override = out
        self.setWindowTitle(TITLE)
        self.session = DeviceSession(self)
        self.bridge = ApprovalBridge(self)
        self.worker: AgentWorker | None = None
        self.thread: QThread | None = None
        self.state = "idle"
        self.result: RunResult | None = None
        self.errors: list[dict[str, str]] = []
        self.run_folder: str | None = None
        self.task_run = ""
        self.following_live = True
        self.last_live: tuple[Any, Any] | None = None
        self._pending_start: bool | None = None  # step_mode of a run waiting for the device
        self._dialog: ApprovalDialog | None = None
        self._exit: dict[str, Any] | None = None  # autorun: what to do when the run ends
        self._minimized_for_run = False
        self.elapsed = QElapsedTimer()
        self._build()
        self._wire()
        self.init_modes()
        self.set_state("idle")
        self.refresh_devices()

    # -- layout -------------------------------------------------------------------------------

    def _build(self) -> None:
        central = QWidget()
        central.setObjectName("central")
        root = QVBoxLayout(central)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        self.top = TopBar()
        root.addWidget(self.top)
        body = QWidget()
        body_lay = QVBoxLayout(body)
        body_lay.setContentsMargins(12, 10, 12, 10)
        body_lay.setSpacing(8)
        self.banner = Banner()
        body_lay.addWidget(self.banner)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setHandleWidth(10)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("sidebar")
        self.run_panel = RunPanel(self.settings)
        self.record_panel = RecordPanel()
        self.replay_panel = ReplayPanel()
        self.tabs.addTab(self.run_panel, "Run")
        self.tabs.addTab(self.record_panel, "Record")
        self.tabs.addTab(self.replay_panel, "Replay")
        side = QWidget()
        side_lay = QVBoxLayout(side)
        side_lay.setContentsMargins(0, 0, 0, 0)
        side_card = QWidget()
        side_card.setObjectName("card")
        side_lay.addWidget(self.tabs)
        self.tabs.setMinimumWidth(250)
        self.live = LiveView()
        right = QSplitter(Qt.Orientation.Vertical)
        right.setHandleWidth(10)
        self.plan = PlanPanel()
        self.timeline = Timeline()
        right.addWidget(self.plan)
        right.addWidget(self.timeline)
        right.setStretchFactor(0, 1)
        right.setStretchFactor(1, 3)
        right.setMinimumWidth(300)
        self.splitter.addWidget(side)
        self.splitter.addWidget(self.live)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.setSizes([270, 560, 380])
        body_lay.addWidget(self.splitter, 1)
        root.addWidget(body, 1)
        self.setCentralWidget(central)
        self.status_device = QLabel("No device")
        self.status_steps = QLabel("")
        self.status_time = QLabel("")
        hint = QLabel("Stop: Ctrl+Shift+X (Esc while running)")
        for w in (self.status_device, self.status_steps, self.status_time):
            self.statusBar().addWidget(w)
        self.statusBar().addPermanentWidget(hint)
        self.tick = QTimer(self)
        self.tick.setInterval(250)
        self.tick.timeout.connect(self._update_time)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(1280, 800)

    def _wire(self) -> None:
        t = self.top
        t.run_clicked.connect(self.on_run)
        t.pause_clicked.connect(self.pause)
        t.step_clicked.connect(self.step)
        t.stop_clicked.connect(lambda: self.stop_all("stopped by the user"))
        self.run_panel.connect_requested.connect(self.connect_device)
        self.run_panel.disconnect_requested.connect(self.disconnect_device)
        self.run_panel.refresh_requested.connect(self.refresh_devices)
        self.session.opened.connect(self._device_opened)
        self.session.closed.connect(self._device_closed)
        self.session.failed.connect(self._device_failed)
        self.session.frame.connect(self._mirror_frame)
        self.session.kill_switch_tripped.connect(lambda reason: self.stop_all(f"kill switch: {reason}"))
        self.bridge.requested.connect(self._approval_requested)
        self.bridge.settled.connect(self._approval_settled)
        self.timeline.step_selected.connect(self.show_step)
        self.live.back_to_live.connect(self.follow_live)
        self.live.marks_button.toggled.connect(self._marks_toggled)
        app_wide = Qt.ShortcutContext.ApplicationShortcut
        QShortcut(QKeySequence("Ctrl+Shift+X"), self, context=app_wide).activated.connect(
            lambda: self.stop_all("stopped with Ctrl+Shift+X"))
        self.esc = QShortcut(QKeySequence(Qt.Key.Key_Escape), self, context=app_wide)
        self.esc.activated.connect(lambda: self.stop_all("stopped with Esc"))
        QShortcut(QKeySequence("Ctrl+Return"), self, context=app_wide).activated.connect(self.on_run)
        self.top.set_recent(self.settings.recent_tasks)
        self.top.set_task(self.settings.task)

    # -- state --------------------------------------------------------------------------------

    def set_state(self, state: str) -> None:
        self.state = state
        self.top.set_state(state)
        busy = state in ("running", "paused", "starting", "connecting", "stopping")
        self.esc.setEnabled(busy)
        self.run_panel.set_busy(busy or state in ("recording", "replaying"))
        self.record_panel.record_button.setEnabled(not busy and state != "replaying")

    def show_error(self, message: str, hint: str = "") -> None:
        log.warning("%s (%s)", message, hint)
        self.errors.append({"message": message, "hint": hint})
        self.banner.show_message(message, hint)

    # -- devices ------------------------------------------------------------------------------

    def refresh_devices(self) -> None:
        self.run_panel.set_choices(local_choices())
        self.session.jobs.start(android_choices, lambda found: self.run_panel.set_choices(local_choices() + found),
                                name="discover")

    def connect_device(self, spec: str) -> None:
        self.run_panel.set_busy(True)
        self.run_panel.set_connected(None, f"Connecting to {spec}…")
        self.live.set_placeholder(f"Connecting to {spec}…")
        self.session.open(spec)

    def disconnect_device(self) -> None:
        if self.worker is not None:
            self.show_error("A run is going on this device.", "Stop the run first, then disconnect.")
            return
        self.stop_recording()
        self.session.close()

    def _device_opened(self, spec: str, status: str) -> None:
        self.run_panel.set_connected(spec, status)
        self.run_panel.set_busy(False)
        self.status_device.setText(status)
        self.live.set_placeholder("Waiting for the first frame…")
        self.settings.device = spec
        if self._pending_start is not None:
            step_mode, self._pending_start = self._pending_start, None
            self._start_worker(step_mode)

    def _device_closed(self) -> None:
        self.run_panel.set_connected(None, "Not connected")
        self.status_device.setText("No device")
        self.live.show_frame(None)
        self.live.set_placeholder("No device yet — pick one on the left and press Connect.")

    def _device_failed(self, message: str, hint: str) -> None:
        self.run_panel.set_busy(False)
        self.run_panel.set_connected(self.session.spec, "Not connected" if not self.session.connected else
                                     self.run_panel.device_status.text())
        self.show_error(message, hint)
        if self._pending_start is not None:
            self._pending_start = None
            self.set_state("error")
            self._run_over(None)

    def _mirror_frame(self, image: Any, elements: Any) -> None:
        self.last_live = (image, elements)
        if self.following_live and self.state not in ("running", "paused", "starting", "stopping"):
            self.live.show_frame(image, elements, keep_action=True)

    def _marks_toggled(self, on: bool) -> None:
        self.session.want_elements = on
        if on:
            self.session.poll()

    # -- runs ---------------------------------------------------------------------------------

    def on_run(self) -> None:
        if self.state == "paused" and self.worker is not None:
            self.worker.resume()
            self.set_state("running")
            return
        if self.worker is None and self.state not in ("recording", "connecting", "stopping"):
            self.start_run()

    def start_run(self, step_mode: bool = False) -> bool:
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

    def _start_worker(self, step_mode: bool) -> None:
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
        self.worker = AgentWorker(self.task_run, options, device=self.session.device, approver=approver,
                                  step_mode=step_mode)
        self.worker.event.connect(self._on_event)
        self.worker.started_run.connect(self._on_started)
        self.worker.done.connect(self._on_done)
        self.worker.failed.connect(self._on_failed)
        self.worker.finished.connect(self._on_worker_finished)
        self.thread = start_worker(self.worker)
        self.elapsed.start()
        self.tick.start()
        self.set_state("starting")
        if self.session.kind == "desktop":  # out of the agent's way (it also never acts on our windows)
            self._minimized_for_run = True
            self.showMinimized()

    def pause(self) -> None:
        if self.worker is not None and self.state == "running":
            self.worker.pause()
            self.set_state("paused")

    def step(self) -> None:
        if self.worker is not None:
            self.worker.step_once()
            self.set_state("paused")
        elif self.state not in ("recording", "connecting", "stopping", "replaying"):
            self.start_run(step_mode=True)

    def stop_all(self, reason: str = "stopped by the user") -> None:
        """The kill switch: stop the run before its next action (and a device replay)."""
        if self._pending_start is not None:
            self._pending_start = None
            self.set_state("stopped")
            self._run_over(None)
        if self.worker is not None:
            self.worker.request_stop(reason)
            self.set_state("stopping")
        self.stop_device_replay()

    def _on_started(self, info: dict[str, Any]) -> None:
        self.run_folder = info.get("folder")
        self.plan.reset(bool(info.get("keeps_plan")), str(info.get("planner", "")))
        if self.state == "starting":
            self.set_state("paused" if self.worker is not None and self.worker.step_mode else "running")

    def _on_event(self, ev: AgentEvent) -> None:
        match ev.kind:
            case EventKind.STEP_STARTED:
                self.status_steps.setText(f"step {ev.step_index + 1}: looking at the screen…")
            case EventKind.OBSERVED:
                if ev.observation is not None:
                    self.last_live = (ev.observation.screenshot, ev.observation.elements)
                    if self.following_live:
                        self.live.show_frame(ev.observation.screenshot, ev.observation.elements, keep_action=True)
            case EventKind.DECIDED:
                if ev.decision is not None:
                    self.plan.update_decision(ev.decision)
                    self.status_steps.setText(f"step {ev.step_index + 1}: {ev.decision.subgoal or 'deciding'}")
            case EventKind.GUARDED | EventKind.ACTED:
                pass
            case EventKind.STEP_FINISHED:
                if ev.step is not None:
                    frame = ev.observation.screenshot if ev.observation is not None else None
                    self.timeline.add_step(ev.step, frame)
                    box = ev.step.target_element.bbox if ev.step.target_element else None
                    if self.following_live and frame is not None:
                        self.live.show_frame(frame, ev.step.elements, ev.step.action, box)
                    self.status_steps.setText(f"{len(self.timeline.entries)} steps")
            case EventKind.FINISHED | EventKind.FAILED:
                pass

    def _on_done(self, result: RunResult) -> None:
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

    def _on_failed(self, message: str, hint: str) -> None:
        self.show_error(message, hint)
        self.set_state("error")

    def _on_worker_finished(self) -> None:
        if self.thread is not None:
            self.thread.wait(5000)
        self.worker, self.thread = None, None
        self.tick.stop()
        self._update_time()
        if self.state in ("stopping", "running", "paused", "starting"):
            self.set_state("stopped")
        if self._dialog is not None:
            self._dialog.close()
        if self._minimized_for_run:
            self._minimized_for_run = False
            self.showNormal()
            self.raise_()
        self.session.set_mirroring(True)
        self.replay_panel.fill_recent(self.settings.runs_dir)
        self._run_over(self.result)

    def _update_time(self) -> None:
        if self.elapsed.isValid():
            self.status_time.setText(f"{self.elapsed.elapsed() / 1000:.1f} s")

    # -- approval -----------------------------------------------------------------------------

    def _approval_requested(self, req: ApprovalRequest) -> None:
        if req.settled:
            return
        if self.isMinimized():
            self.showNormal()
        self._dialog = ApprovalDialog(req, self)
        self._dialog.open()

    def _approval_settled(self, req: ApprovalRequest) -> None:
        if self._dialog is not None and self._dialog.request is req:
            self._dialog.close()
            self._dialog = None
        if self._minimized_for_run and self.worker is not None:
            self.showMinimized()

    # -- viewing steps ------------------------------------------------------------------------

    def show_step(self, row: int) -> None:
        entry = self.timeline.entries[row]
        image = entry.image()
        if image is None:
            self.live.set_badge(f"step {row + 1}: no frame stored", following_live=False)
            return
        step = entry.step
        box = step.target_element.bbox if step.target_element else None
        self.following_live = False
        self.live.show_frame(image, step.elements, step.action, box)
        self.live.set_badge(f"step {row + 1} · before the action", following_live=self.replay_traj is not None
                            and self.worker is None and not self.session.connected)
        self.on_step_shown(row)

    def follow_live(self) -> None:
        self.following_live = True
        self.live.set_badge("")
        self.timeline.list.clearSelection()
        if self.last_live is not None:
            self.live.show_frame(*self.last_live, keep_action=True)

    # -- unattended runs ----------------------------------------------------------------------

    def autorun(self, *, quit_when_done: bool, summary: Path | None = None, screenshot: Path | None = None) -> None:
        self._exit = {"quit": quit_when_done, "summary": summary, "screenshot": screenshot}
        self.start_run()

    def _run_over(self, result: RunResult | None) -> None:
        self.run_ended.emit(result)
        if self._exit is None:
            return
        plan, self._exit = self._exit, None
        # one more turn of the event loop: queued repaints land before the screenshot
        QTimer.singleShot(300, lambda: self._finish_unattended(plan, result))

    def _finish_unattended(self, plan: dict[str, Any], result: RunResult | None) -> None:
        if plan.get("screenshot"):
            path = Path(plan["screenshot"])
            path.parent.mkdir(parents=True, exist_ok=True)
            self.grab().save(str(path))
        if plan.get("summary"):
            import json

            Path(plan["summary"]).parent.mkdir(parents=True, exist_ok=True)
            Path(plan["summary"]).write_text(json.dumps(self.summary(), indent=2, default=str))
        if plan.get("quit"):
            code = 0 if result is not None and result.ok else (1 if result is not None else 2)
            self.close()
            QGuiApplication.instance().exit(code)

    def summary(self) -> dict[str, Any]:
        r = self.result
        return {
            "task": self.task_run, "ok": bool(r and r.ok), "status": r.status if r else self.state,
            "reason": r.reason if r else (self.errors[-1]["message"] if self.errors else ""),
            "steps": r.steps if r else 0, "seconds": round(r.seconds, 2) if r else None,
            "device": self.session.spec, "planner": self.run_panel.planner, "folder": self.run_folder,
            "plan": {**self.plan.state.to_dict(), "keeps_plan": self.plan.keeps_plan},
            "timeline": self.timeline.rows(), "errors": list(self.errors),
            "window": {"platform": QGuiApplication.platformName(), "title": self.windowTitle(),
                       "visible": self.isVisible(), "size": [self.width(), self.height()]},
            "written_at": time.time(),
        }

    # -- closing ------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        if self.worker is not None:
            self.worker.request_stop("the window was closed")
            if self.thread is not None and not self.thread.wait(15000):
                log.warning("the agent thread did not stop within 15 s")
        self.stop_recording()
        self.stop_device_replay(wait=True)
        self.run_panel.save()
        self.settings.task = self.top.task
        self.settings.set_window_state(self.saveGeometry(), self.splitter.saveState())
        self.settings.sync()
        self.session.close()
        super().closeEvent(event)
