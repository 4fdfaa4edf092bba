"""The window's Record and Replay modes (a mixin of MainWindow, kept apart to keep each file
about one thing). Uses the window's session, live view, timeline, plan panel and banner."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from app.jobs import explain
from app.record_mode import RecordController
from app.replay_view import DeviceReplay, load_frame, plan_at
from guiagent.recorder.episode import read_episode
from guiagent.runner import new_episode_id
from guiagent.schema import Action, Step, Trajectory

log = logging.getLogger(__name__)
MAX_THUMBNAILS = 300  # an episode longer than this opens without thumbnails past that step


class ModesMixin:
    recorder: RecordController | None
    replay_traj: Trajectory | None
    replay_folder: Path | None
    device_replay: DeviceReplay | None
    last_live: tuple[Any, Any] | None  # owned by MainWindow
    run_folder: str | None  # owned by MainWindow

    def init_modes(self: Any) -> None:
        self.recorder = None
        self.replay_traj, self.replay_folder, self.device_replay = None, None, None
        rp, pp = self.record_panel, self.replay_panel
        rp.start_requested.connect(self.start_recording)
        rp.stop_requested.connect(self.stop_recording)
        rp.action_requested.connect(self.record_action)
        self.live.canvas.gesture.connect(self.record_action)
        pp.open_requested.connect(self.open_episode)
        pp.row_requested.connect(lambda row: self.timeline.select(row))
        pp.replay_requested.connect(self.start_device_replay)
        pp.stop_replay_requested.connect(self.stop_device_replay)
        pp.fill_recent(self.settings.runs_dir)

    # -- record -------------------------------------------------------------------------------

    def start_recording(self: Any) -> None:
        if self.worker is not None or self.recorder is not None:
            return
        if not self.session.connected:
            self.show_error("Connect a device before recording.", "Pick a device on the Run tab and press Connect.")
            return
        task = self.top.task or "demonstration"
        folder = (self.out_override or self.settings.runs_dir / new_episode_id())
        try:
            self.recorder = RecordController(self.session.device, Path(folder), task)
        except Exception as exc:
            self.show_error(*explain(exc))
            return
        self.banner.hide()
        self.recorder.recorded.connect(self._recorded)
        self.recorder.screen.connect(self._recorded_screen)
        self.recorder.failed.connect(self.show_error)
        self.replay_traj = None
        self.timeline.clear()
        self.timeline.set_caption("recording")
        self.plan.reset(False, note="A demonstration has no plan: each step in the timeline is one of your "
                        "actions, run on the device and saved.")
        self.follow_live()
        self.live.set_recording(True)
        self.record_panel.set_recording(True, f"Recording “{task}” into {folder}")
        self.set_state("recording")

    def record_action(self: Any, action: Action) -> None:
        if self.recorder is not None:
            self.recorder.perform(action)

    def _recorded(self: Any, step: Step, frame: Any) -> None:
        self.timeline.add_step(step, frame)
        n = self.recorder.count if self.recorder else 0
        self.record_panel.status.setText(f"{n} step{'s' if n != 1 else ''} recorded")

    def _recorded_screen(self: Any, image: Any, elements: Any = None) -> None:
        self.last_live = (image, elements)
        if self.following_live:
            self.live.show_frame(image, elements, keep_action=True)

    def stop_recording(self: Any) -> str | None:
        rec, self.recorder = self.recorder, None
        if rec is None:
            return None
        folder = rec.stop()
        self.live.set_recording(False)
        self.record_panel.set_recording(False, f"Saved {rec.count} steps to {folder}")
        self.run_folder = folder
        self.set_state("idle")
        self.replay_panel.fill_recent(self.settings.runs_dir)
        return folder

    # -- replay -------------------------------------------------------------------------------

    def open_episode(self: Any, folder: str | Path) -> bool:
        if not folder:
            return False
        folder = Path(folder)
        if self.worker is not None or self.recorder is not None:
            self.show_error("Finish the current run or recording first.", "Press Stop, then open the episode.")
            return False
        try:
            traj = read_episode(folder)
        except Exception as exc:
            self.show_error(*explain(exc))
            return False
        self.banner.hide()
        self.replay_traj, self.replay_folder = traj, folder
        self.live.canvas.touch = traj.meta.platform in ("android", "")
        self.timeline.clear()
        self.timeline.set_caption(f"{traj.meta.source} episode")
        for n, step in enumerate(traj.steps):
            frame = load_frame(folder, step.frame) if n < MAX_THUMBNAILS else None
            self.timeline.add_step(step, None, loader=lambda s=step: load_frame(folder, s.frame), thumbnail=frame,
                                   follow=False)
        self.replay_panel.show_meta(traj, folder)
        self.replay_panel.set_position(-1, len(traj.steps))
        self.tabs.setCurrentWidget(self.replay_panel)
        if traj.steps:
            self.timeline.select(0)
        else:
            self.plan.reset(False, note="This episode has no steps.")
        return True

    def on_step_shown(self: Any, row: int) -> None:
        traj = self.replay_traj
        if traj is None or self.worker is not None or row >= len(traj.steps):
            return
        self.replay_panel.set_position(row, len(traj.steps))
        state, has_plan = plan_at(traj, row)
        self.plan.set_state(state, keeps_plan=has_plan, note=None if has_plan else
                            f"This {traj.meta.source} episode carries no plan: the timeline has each step.")

    def start_device_replay(self: Any) -> None:
        if self.replay_traj is None or self.replay_folder is None:
            self.show_error("No episode is open.", "Open an episode folder on the Replay tab first.")
            return
        if not self.session.connected:
            self.show_error("Connect a device to replay on.", "Pick a device on the Run tab and press Connect.")
            return
        if self.worker is not None or self.recorder is not None or self.device_replay is not None:
            return
        start = max(0, self.timeline.current_row)
        self.device_replay = DeviceReplay(self.replay_folder, self.replay_traj, self.session.device, start)
        self.device_replay.progress.connect(self._replay_progress)
        self.device_replay.screen.connect(self._recorded_screen)
        self.device_replay.finished.connect(self._replay_finished)
        self.device_replay.failed.connect(self._replay_failed)
        self.session.set_mirroring(False)
        self.follow_live()
        self.replay_panel.set_replaying(True, f"Replaying from step {start + 1}…")
        self.set_state("replaying")
        self.device_replay.start()

    def _replay_progress(self: Any, row: int, rs: Any) -> None:
        notes = "; ".join(rs.notes)
        self.replay_panel.replay_status.setText(f"step {row + 1}: {rs.action} → {rs.outcome}"
                                                + (f" ({notes})" if notes else ""))

    def _replay_finished(self: Any, completed: bool, message: str) -> None:
        self._replay_over()
        self.replay_panel.set_replaying(False, message)
        self.set_state("success" if completed else "stopped")
        if not completed and "stopped" not in message:
            self.show_error(f"The replay diverged: {message}",
                            "The live screen no longer matches the recording; bring the device to the "
                            "recorded starting screen, select a step and replay from there.")

    def _replay_failed(self: Any, message: str, hint: str) -> None:
        self._replay_over()
        self.replay_panel.set_replaying(False, "replay failed")
        self.show_error(message, hint)
        self.set_state("error")

    def _replay_over(self: Any) -> None:
        self.device_replay = None
        self.session.set_mirroring(True)

    def stop_device_replay(self: Any, wait: bool = False) -> None:
        rep = self.device_replay
        if rep is None:
            return
        rep.stop()
        if wait:
            rep.join(10.0)
