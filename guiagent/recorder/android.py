"""Recording human demonstrations on an Android device (a phone, or the virtual phone).

Touches and hardware keys come from the device's `getevent -lt` stream (adbutils shell with
stream=True), parsed by `getevent.GestureTracker` into taps, long presses and swipes in
screen pixels. Text cannot be read back from the touch stream (the on-screen keyboard is just
touches), so text is typed through the recorder: `type_text()` (the CLI's prompt) sends it
with the device's type action and records it. Screens are polled in the background; each
gesture gets the newest screenshot that was complete before the finger went down (device
times are mapped to host time by the smallest observed delivery delay).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any

from guiagent.recorder.capture import ImagePoller, TreeRing
from guiagent.recorder.episode import EpisodeWriter
from guiagent.recorder.getevent import GestureTracker, parse_event_line, parse_getevent_p, touchscreen
from guiagent.recorder.semantics import Recognized
from guiagent.recorder.session import RecordingStats, StepRecorder, focused_element
from guiagent.recorder.touch import TouchThresholds
from guiagent.schema import Action, Click, Element, LongPress, Outcome, TypeText
from guiagent.schema.errors import DeviceError, RecordingError

log = logging.getLogger(__name__)


class AndroidRecorder:
    """Records one Android device until `stop()`. `device` is a devices.android.device.AndroidDevice."""

    def __init__(
        self, writer: EpisodeWriter, device: Any, *, screenshot_interval: float = 0.5, a11y: bool = True,
        a11y_interval: float = 1.0, thresholds: TouchThresholds | None = None,
    ) -> None:
        self.writer = writer
        self.device = device
        self.frames = ImagePoller(device.screenshot, screenshot_interval)
        self.trees = TreeRing(device.ui_tree, a11y_interval) if a11y else None
        self.thresholds = thresholds
        self.steps = StepRecorder(writer, tuple(device.info.screen_size))
        self.tracker: GestureTracker | None = None
        self._offset: float | None = None  # host monotonic - device clock, smallest seen
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: Any = None
        self._lock = threading.Lock()  # one step at a time (gestures vs typed text)
        self.last_line_at = 0.0
        self.error: BaseException | None = None
        self._last_tapped: Element | None = None

    @property
    def stats(self) -> RecordingStats:
        return self.steps.stats

    def start(self) -> None:
        info = self.device.info
        devices = parse_getevent_p(self.device.shell("getevent -lp"))
        panel = touchscreen(devices)
        if panel is None:
            raise RecordingError(f"{info.id}: `getevent -lp` lists no touchscreen "
                                 f"(devices: {', '.join(devices) or 'none'})")
        self.tracker = GestureTracker(panel, tuple(info.screen_size), info.rotation, self.thresholds)
        self.frames.start()
        if self.trees is not None:
            self.trees.start()
        if not self.frames.ring.ready.wait(15):
            self.stop()
            raise DeviceError(f"{info.id}: no screenshot within 15 s ({self.frames.failures} failures)")
        self._conn = self._adb_device().shell("getevent -lt", stream=True)
        self._conn.conn.settimeout(0.2)
        self._thread = threading.Thread(target=self._read, name="getevent", daemon=True)
        self._thread.start()
        log.info("recording %s: touch panel %s (%s), screen %dx%d rotation %d", info.id, panel.path, panel.name,
                 *info.screen_size, info.rotation)

    def _adb_device(self) -> Any:
        """An adbutils device for the stream (its own connection; the AndroidDevice's client
        when it exposes one, so a non-default adb server is honoured)."""
        import adbutils

        client = getattr(getattr(self.device, "transport", None), "client", None) or adbutils.AdbClient()
        return client.device(self.device.serial)

    def _read(self) -> None:
        buf = b""
        try:
            while not self._stop.is_set():
                try:
                    chunk = self._conn.conn.recv(65536)
                except TimeoutError:
                    continue
                except (socket.timeout, OSError) as exc:  # noqa: UP041 - socket.timeout on old Pythons
                    if self._stop.is_set():
                        break
                    raise DeviceError(f"getevent stream broke: {exc}") from exc
                if not chunk:
                    if not self._stop.is_set():
                        raise DeviceError("getevent stream closed by the device")
                    break
                buf += chunk
                *lines, buf = buf.split(b"\n")
                now = time.monotonic()
                for line in lines:
                    self._line(line.decode("utf-8", "replace"), now)
        except BaseException as exc:
            self.error = exc
            log.error("android recording stopped: %s", exc)

    def _line(self, line: str, now: float) -> None:
        ev = parse_event_line(line)
        if ev is None:
            return
        assert self.tracker is not None
        self.stats.raw_events += 1
        self.last_line_at = now
        offset = now - ev.t
        self._offset = offset if self._offset is None else min(self._offset, offset)
        for r in self.tracker.feed(ev):
            try:
                self._store(r)
            except Exception:
                log.exception("could not record a %s action", r.action.type)

    def _host(self, t_device: float) -> float:
        return t_device + (self._offset or 0.0)

    def _store(self, r: Recognized) -> None:
        t0 = self._host(r.t_start)
        work = time.monotonic()
        hit = self.frames.before(t0)
        elements: list[Element] = []
        target: Element | None = None
        if self.trees is not None:
            if r.point is not None:
                elements, target = self.trees.hit_test(t0, *r.point)
            else:
                elements = self.trees.before(t0) or self.trees.latest() or []
        if isinstance(r.action, Click | LongPress):
            self._last_tapped = target
        with self._lock:
            self.steps.record(r.action, t0, frame=hit[1] if hit else None, frame_t=hit[0] if hit else None,
                              elements=elements, target=target, work_since=work)

    def _focus_now(self) -> tuple[list[Element], Element | None]:
        """A fresh tree and the field that has the focus. Snapshots lag a tap by up to one
        interval, so the last tapped editable element counts too, and when either is a
        password field, that one wins: a secret must never be recorded for a stale tree."""
        try:
            elements = list(self.device.ui_tree()) if self.trees is not None else []
        except DeviceError as exc:
            log.debug("ui tree for the prompt failed: %s", exc)
            elements = (self.trees.latest() or []) if self.trees else []
        tapped = self._last_tapped if self._last_tapped is not None and self._last_tapped.editable else None
        candidates = [focused_element(elements), tapped]
        secret = next((e for e in candidates if e is not None and e.password), None)
        return elements, secret or next((e for e in candidates if e is not None), None)

    def perform(self, action: Action) -> Outcome:
        """Carry out `action` (text typed at the prompt, Enter) on the device and record it as a
        human step: text cannot be recovered from the touch stream, so it goes through here."""
        t0 = time.monotonic()
        hit = self.frames.before(t0)
        elements, target = self._focus_now()
        t_act = time.monotonic()
        try:
            outcome = self.device.execute(action)
        except DeviceError as exc:
            outcome = Outcome(status="failed", error=str(exc))
        with self._lock:
            self.steps.record(action, t0, frame=hit[1] if hit else None, frame_t=hit[0] if hit else None,
                              elements=elements, target=target, outcome=outcome,
                              timings_ms={"act": round((time.monotonic() - t_act) * 1000, 1)})
        return outcome

    def type_text(self, text: str, *, submit: bool = False) -> Outcome:
        return self.perform(TypeText(text=text, submit=submit))

    def wait_idle(self, quiet: float = 0.5, timeout: float = 30.0) -> bool:
        """Block until no getevent line arrived for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if time.monotonic() - max(self.last_line_at, self.stats.started) >= quiet:
                return True
            time.sleep(0.02)
        return False

    def stop(self) -> RecordingStats:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        if self._conn is not None:
            try:
                self._conn.close()
            except OSError:
                pass
            self._conn = None
        self.frames.stop()
        if self.trees is not None:
            self.trees.stop()
        if self.tracker is not None:
            self.stats.ignored_events = self.tracker.ignored
        self.stats.stopped = self.stats.stopped or time.monotonic()
        return self.stats
