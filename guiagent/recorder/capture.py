"""Background capture for the desktop recorder: a ring of recent screen frames (mss) and of
accessibility snapshots, so every action is paired with what the screen showed just BEFORE
its first input event (the event itself arrives a moment later than it happened)."""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image

from guiagent.errors import DeviceError
from guiagent.recorder.session import element_at
from guiagent.schema import Element

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RawFrame:
    t: float  # time.monotonic() when the grab completed
    size: tuple[int, int]
    bgra: bytes

    def image(self) -> Image.Image:
        return Image.frombytes("RGB", self.size, self.bgra, "raw", "BGRX")


class _Ring:
    """A time-ordered ring of (t, item) with lookup of the latest item at or before t."""

    def __init__(self, maxlen: int) -> None:
        self._items: deque[tuple[float, object]] = deque(maxlen=maxlen)
        self._lock = threading.Lock()
        self.ready = threading.Event()

    def push(self, t: float, item: object) -> None:
        with self._lock:
            self._items.append((t, item))
        self.ready.set()

    def before(self, t: float) -> tuple[float, object] | None:
        with self._lock:
            times = [x[0] for x in self._items]
            i = bisect.bisect_right(times, t)
            if i == 0:
                return None
            return self._items[i - 1]

    def latest(self) -> tuple[float, object] | None:
        with self._lock:
            return self._items[-1] if self._items else None

    def after(self, t: float) -> tuple[float, object] | None:
        """The earliest item at or after t."""
        with self._lock:
            return next((x for x in self._items if x[0] >= t), None)

    def between(self, t0: float, t1: float) -> list[tuple[float, object]]:
        with self._lock:
            return [x for x in self._items if t0 <= x[0] <= t1]

    def __len__(self) -> int:
        return len(self._items)


class _Poller(threading.Thread):
    def __init__(self, name: str, interval: float) -> None:
        super().__init__(name=name, daemon=True)
        self.interval = interval
        self._stop_evt = threading.Event()
        self._wake = threading.Event()
        self.error: BaseException | None = None

    def poke(self) -> None:
        """Poll now instead of at the next tick."""
        self._wake.set()

    def stop(self) -> None:
        self._stop_evt.set()
        self._wake.set()
        if self.is_alive():
            self.join(5)

    def run(self) -> None:
        try:
            self.setup()
            next_t = time.monotonic()
            while not self._stop_evt.is_set():
                self.poll()
                next_t += self.interval
                delay = next_t - time.monotonic()
                if delay < 0:  # fell behind (loaded machine): do not burst to catch up
                    next_t = time.monotonic()
                    delay = 0
                if self._wake.wait(delay):
                    self._wake.clear()
                    next_t = time.monotonic()
        except BaseException as exc:  # surfaced to the recorder, which reports it
            self.error = exc
            log.exception("%s stopped", self.name)
        finally:
            self.teardown()

    def setup(self) -> None:
        pass

    def poll(self) -> None:
        raise NotImplementedError

    def teardown(self) -> None:
        pass


class FrameRing(_Poller):
    """Grabs the screen `fps` times a second into a ring of `seconds` of raw frames."""

    def __init__(self, fps: float = 10.0, seconds: float = 2.0, monitor: dict[str, int] | None = None) -> None:
        if fps <= 0 or fps > 60:
            raise DeviceError(f"--fps must be in (0, 60], got {fps}")
        super().__init__("frame-ring", 1.0 / fps)
        self.ring = _Ring(min(60, max(2, int(fps * seconds))))  # raw frames are 4 MB each
        self.monitor = monitor
        self.grabs = 0
        self._sct: object | None = None

    def setup(self) -> None:
        import mss  # lazily: needs a display

        sct = mss.MSS() if hasattr(mss, "MSS") else mss.mss()
        self._sct = sct
        if self.monitor is None:
            mons = sct.monitors  # type: ignore[attr-defined]
            self.monitor = dict(mons[1] if len(mons) > 1 else mons[0])

    def poll(self) -> None:
        shot = self._sct.grab(self.monitor)  # type: ignore[union-attr]
        t = time.monotonic()
        self.ring.push(t, RawFrame(t, shot.size, bytes(shot.raw)))
        self.grabs += 1

    def teardown(self) -> None:
        close = getattr(self._sct, "close", None)
        if close is not None:
            close()

    def before(self, t: float) -> RawFrame | None:
        hit = self.ring.before(t)
        return hit[1] if hit else None  # type: ignore[return-value]


class TreeRing(_Poller):
    """Snapshots `ui_tree()` every `interval` seconds (a tree walk costs tens of ms)."""

    def __init__(self, ui_tree: Callable[[], list[Element]], interval: float = 0.3, seconds: float = 5.0) -> None:
        super().__init__("a11y-ring", interval)
        self.ui_tree = ui_tree
        self.ring = _Ring(max(2, int(seconds / interval)))
        self.failures = 0

    def poll(self) -> None:
        t0 = time.monotonic()
        try:
            tree = list(self.ui_tree())
        except DeviceError as exc:
            self.failures += 1
            log.debug("a11y snapshot failed: %s", exc)
            return
        # Stamp with the START of the walk: the tree describes the screen from then on.
        self.ring.push(t0, tree)

    def before(self, t: float) -> list[Element] | None:
        hit = self.ring.before(t)
        return hit[1] if hit else None  # type: ignore[return-value]

    def latest(self) -> list[Element] | None:
        hit = self.ring.latest()
        return hit[1] if hit else None  # type: ignore[return-value]

    def after(self, t: float) -> list[Element] | None:
        hit = self.ring.after(t)
        return hit[1] if hit else None  # type: ignore[return-value]

    def between(self, t0: float, t1: float) -> list[list[Element]]:
        return [x[1] for x in self.ring.between(t0, t1)]  # type: ignore[misc]

    def wait_after(self, t: float, wait: float | None = None) -> list[Element] | None:
        """The first snapshot taken after t, waiting up to `wait` s (default one interval + 0.5 s)."""
        deadline = time.monotonic() + (self.interval + 0.5 if wait is None else wait)
        later = self.after(t)
        while later is None and self.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
            later = self.after(t)
        return later

    def hit_test(self, t: float, x: float, y: float, wait: float | None = None) -> tuple[list[Element], Element | None]:
        """The element under (x, y) at time t: in the newest snapshot from before t, else (the
        tree had not caught up with the screen yet) in the first snapshot after t, waiting up
        to `wait` seconds (default: one interval + 0.5 s) for it to be taken."""
        before = self.before(t) or []
        hit = element_at(before, x, y)
        if hit is None:
            later = self.wait_after(t, wait)
            if later and (found := element_at(later, x, y)) is not None:
                return later, found
        return before or self.latest() or [], hit


class ImagePoller(_Poller):
    """Calls `grab()` (e.g. an Android device's screenshot) every `interval` seconds and keeps
    the images, stamped with the time the call RETURNED: the content is older than that, so a
    frame stamped before an event surely shows the screen before it."""

    def __init__(self, grab: Callable[[], Image.Image], interval: float = 0.5, keep: int = 8) -> None:
        super().__init__("image-poller", interval)
        self.grab = grab
        self.ring = _Ring(keep)
        self.failures = 0

    def poll(self) -> None:
        try:
            img = self.grab()
        except DeviceError as exc:
            self.failures += 1
            log.debug("screenshot failed: %s", exc)
            return
        self.ring.push(time.monotonic(), img)

    def before(self, t: float) -> tuple[float, Image.Image] | None:
        return self.ring.before(t)  # type: ignore[return-value]
