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
from PySide6.QtWidgets import QFrame, QLabel, QMainWindow, QSplitter, QTabWidget, QVBoxLayout, QWidget

from app.approval import ApprovalBridge, ApprovalDialog
from app.device_picker import android_choices, local_choices
from app.device_session import DeviceSession
from app.live_view import LiveView
from app.modes import ModesMixin
from app.plan_panel import PlanPanel
from app.record_mode import RecordPanel
from app.replay_view import ReplayPanel
from app.run_control import RunControlMixin
from app.run_panel import RunPanel
from app.settings import AppSettings
from app.timeline import Timeline
from app.widgets import Banner, MiniBar, StatusLabel, TopBar
from app.worker import AgentWorker
from guiagent.events import RunResult

log = logging.getLogger(__name__)
ApproveMode = Literal["ask", "approve", "refuse"]
TITLE = "guiagent — watch, steer and replay the agent"


class MainWindow(RunControlMixin, ModesMixin, QMainWindow):
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
        self.worker_thread: QThread | None = None
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
        self._closed = False
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
        side = QFrame()
        side.setObjectName("card")
        side_lay = QVBoxLayout(side)
        side_lay.setContentsMargins(10, 6, 10, 10)
        side_lay.addWidget(self.tabs)
        self.tabs.setMinimumWidth(270)
        self.live = LiveView()
        right = QSplitter(Qt.Orientation.Vertical)
        right.setHandleWidth(10)
        self.plan = PlanPanel()
        self.timeline = Timeline()
        right.addWidget(self.plan)
        right.addWidget(self.timeline)
        right.setStretchFactor(0, 1)
        right.setStretchFactor(1, 3)
        right.setSizes([170, 560])
        right.setMinimumWidth(300)
        self.splitter.addWidget(side)
        self.splitter.addWidget(self.live)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.setSizes([290, 560, 380])
        body_lay.addWidget(self.splitter, 1)
        root.addWidget(body, 1)
        self.setCentralWidget(central)
        self.status_device = StatusLabel("No device")
        self.status_steps = StatusLabel("")
        self.status_time = StatusLabel("")
        hint = QLabel("Stop: Ctrl+Shift+X (Esc while running)")
        for w in (self.status_device, self.status_steps, self.status_time):
            w.setContentsMargins(6, 0, 10, 0)
            self.statusBar().addWidget(w)
            w.setVisible(bool(w.text()))
        self.statusBar().addPermanentWidget(hint)
        self.minibar = MiniBar()
        self.tick = QTimer(self)
        self.tick.setInterval(250)
        self.tick.timeout.connect(self._update_time)

    def sizeHint(self) -> QSize:
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
        self.minibar.stop_clicked.connect(lambda: self.stop_all("stopped from the mini bar"))
        self.minibar.show_window_clicked.connect(self.leave_compact)
        app_wide = Qt.ShortcutContext.ApplicationShortcut
        self.kill_key = QShortcut(QKeySequence("Ctrl+Shift+X"), self, context=app_wide)
        self.kill_key.activated.connect(lambda: self.stop_all("stopped with Ctrl+Shift+X"))
        self.esc = QShortcut(QKeySequence(Qt.Key.Key_Escape), self, context=app_wide)
        self.esc.activated.connect(lambda: self.stop_all("stopped with Esc"))
        self.run_key = QShortcut(QKeySequence("Ctrl+Return"), self, context=app_wide)
        self.run_key.activated.connect(self.on_run)
        self.top.set_recent(self.settings.recent_tasks)
        self.top.set_task(self.settings.task)

    # -- state --------------------------------------------------------------------------------

    def set_state(self, state: str) -> None:
        self.state = state
        self.top.set_state(state)
        busy = state in ("running", "paused", "starting", "connecting", "stopping")
        self.esc.setEnabled(busy and not self._closed)
        self.run_panel.set_busy(busy or state in ("recording", "replaying"))
        self.record_panel.record_button.setEnabled(not busy and state != "replaying")
        if self.minibar.isVisible():
            self.minibar.set_status(state, self.status_steps.text() or self.task_run)

    def show_error(self, message: str, hint: str = "") -> None:
        log.warning("%s (%s)", message, hint)
        self.errors.append({"message": message, "hint": hint})
        self.banner.show_message(message, hint)

    # -- devices ------------------------------------------------------------------------------

    def refresh_devices(self) -> None:
        self.run_panel.set_choices(local_choices())
        self.session.jobs.start(android_choices, self._found_android, name="discover")

    def _found_android(self, found: list[Any]) -> None:
        # our own virtual phone is listed by adb too; it is already "Virtual phone"
        device = self.session.device
        own = f"android:{device.info.id}" if device is not None and device.info.resettable else None
        self.run_panel.set_choices(local_choices() + [c for c in found if c.spec != own])

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
        info = self.session.device.info
        self.live.canvas.touch = info.touch
        self.live.set_subtitle(f"{self.run_panel.device_box.currentText()} · {info.screen_size[0]}×{info.screen_size[1]}")
        self.live.set_placeholder("Waiting for the first frame…")
        self.settings.device = spec
        if self._pending_start is not None:
            step_mode, self._pending_start = self._pending_start, None
            self._start_worker(step_mode)

    def _device_closed(self) -> None:
        self.run_panel.set_connected(None, "Not connected")
        self.status_device.setText("No device")
        self.live.set_subtitle("")
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

    # -- viewing steps ------------------------------------------------------------------------

    def show_step(self, row: int) -> None:
        entry = self.timeline.entries[row]
        image = entry.image()
        if image is None:
            self.live.set_badge(f"step {row + 1}: no frame stored", following_live=False)
            return
        step = entry.step
        self.following_live = False
        self.live.show_frame(image, step.elements, step.action, step.target_element)
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
        # after this slot returns. Nothing to wait for: the worker's signals are queued in order
        # and `finished` comes last, so every step is on screen; grab() paints synchronously.
        QTimer.singleShot(0, lambda: self._finish_unattended(plan, result))

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
            QGuiApplication.exit(code)  # static: ends the running event loop

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

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.worker is not None:
            self.worker.request_stop("the window was closed")
            if self.worker_thread is not None and not self.worker_thread.wait(15000):
                log.warning("the agent thread did not stop within 15 s")
        self.stop_recording()
        self.stop_device_replay(wait=True)
        self.run_panel.save()
        self.settings.task = self.top.task
        self.settings.set_window_state(self.saveGeometry(), self.splitter.saveState())
        self.settings.sync()
        self.session.shutdown()
        self._closed = True
        self.minibar.close()
        for key in (self.kill_key, self.esc, self.run_key):  # a closed window must not own app-wide keys
            key.setEnabled(False)
        super().closeEvent(event)

