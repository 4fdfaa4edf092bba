"""The device the window works with: opened through the registry in the background, kept
open across runs (a virtual phone is not restarted for every task), mirrored in the live view
when no run is going, closed on Disconnect or when the window closes.

On the desktop device the session passes `exclude_pids={our pid}` (the device never acts on
the app's own windows) and a KillSwitch whose global hotkey stops the run.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.device_picker import device_options, kind_of
from app.jobs import Jobs
from guiagent.schema.errors import DeviceError

log = logging.getLogger(__name__)


class DeviceSession(QObject):
    opened = Signal(str, str)  # spec, status line
    closed = Signal()
    failed = Signal(str, str)
    frame = Signal(object, object)  # PIL image, elements (tuple or None)
    kill_switch_tripped = Signal(str)  # reason (the desktop hotkey)

    def __init__(self, parent: QObject | None = None, poll_ms: int = 700) -> None:
        super().__init__(parent)
        self.device: Any = None
        self.spec: str | None = None
        self.kill_switch: Any = None
        self.jobs = Jobs(self)
        self.opening = False
        self.want_elements = False
        self.poll_timer = QTimer(self)
        self.poll_timer.setInterval(poll_ms)
        self.poll_timer.timeout.connect(self.poll)
        self._mirror = True
        self._shut = False

    @property
    def connected(self) -> bool:
        return self.device is not None

    @property
    def kind(self) -> str:
        return kind_of(self.spec or "")

    def open(self, spec: str) -> None:
        if not spec:
            self.failed.emit("No device chosen.", "Pick a device in the list on the left.")
            return
        if self.opening:
            return
        self.close()
        self.opening = True
        kind = kind_of(spec)
        ks = self._kill_switch() if kind == "desktop" else None

        def build() -> Any:
            from guiagent.registry import build_device

            return build_device(spec, **device_options(kind, os.getpid(), ks))

        self.jobs.start(build, lambda dev: self._opened(spec, dev, ks), self._open_failed, name="open-device")

    def _kill_switch(self) -> Any:
        from devices.killswitch import KillSwitch

        ks = KillSwitch()
        ks.on_trip(lambda reason: self.kill_switch_tripped.emit(reason))
        return ks

    def _opened(self, spec: str, device: Any, ks: Any) -> None:
        self.opening = False
        if self._shut:  # the window closed while the device was opening
            device.close()
            return
        self.device, self.spec, self.kill_switch = device, spec, ks
        info = device.info
        w, h = info.screen_size
        hotkey = ""
        if ks is not None and ks.start():
            hotkey = f" · kill switch {ks.hotkey}"
        status = f"Connected: {info.model or info.platform} {info.id} · {w}×{h}{hotkey}"
        log.info("device %s open: %s", spec, status)
        self.opened.emit(spec, status)
        self.set_mirroring(True)
        self.poll()

    def _open_failed(self, message: str, hint: str) -> None:
        self.opening = False
        self.failed.emit(f"Could not open the device: {message}", hint)

    def close(self) -> None:
        self.poll_timer.stop()
        device, self.device, self.spec = self.device, None, None
        ks, self.kill_switch = self.kill_switch, None
        if ks is not None:
            ks.stop()
        if device is None:
            return
        self.jobs.wait_all(5.0)  # a screenshot in flight finishes before the device goes away
        try:
            device.close()
        except Exception:
            log.exception("closing the device failed")
        self.closed.emit()

    def shutdown(self) -> None:
        """Close for good: a device still being opened is closed as soon as it arrives."""
        self._shut = True
        self.close()

    def reset_kill_switch(self) -> None:
        if self.kill_switch is not None:
            self.kill_switch.reset()

    # -- mirroring ------------------------------------------------------------------------

    def set_mirroring(self, on: bool) -> None:
        """Poll screenshots while no run is going (a run sends its own frames)."""
        self._mirror = on
        if on and self.device is not None:
            self.poll_timer.start()
        else:
            self.poll_timer.stop()

    def poll(self) -> None:
        device = self.device
        if device is None or self.jobs.busy("poll"):
            return
        want = self.want_elements

        def grab() -> tuple[Any, Any]:
            image = device.screenshot()
            elements = None
            if want:
                try:
                    elements = tuple(device.ui_tree())
                except DeviceError as exc:
                    log.info("no accessibility tree: %s", exc)
            return image, elements

        self.jobs.start(grab, self._polled, self._poll_failed, name="poll")

    def _polled(self, result: tuple[Any, Any]) -> None:
        if self.device is not None and self._mirror:
            self.frame.emit(*result)

    def _poll_failed(self, message: str, hint: str) -> None:
        self.poll_timer.stop()
        self.failed.emit(f"Lost the device screen: {message}", hint)
