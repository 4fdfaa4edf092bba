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
from typing import TYPE_CHECKING, Generic, TypeVar

from PIL import Image

from guiagent.recorder.session import element_at
from guiagent.schema import Element
from guiagent.schema.errors import DeviceError

if TYPE_CHECKING:
    from mss.base import MSSBase

log = logging.getLogger(__name__)
_T = TypeVar("_T")


@dataclass(frozen=True)
class RawFrame:
    t: float  # time.monotonic() when the grab completed
    size: tuple[int, int]
    bgra: bytes

    def image(self) -> Image.Image:
        return Image.frombytes("RGB", self.size, self.bgra, "raw", "BGRX")


class _Ring(Generic[_T]):
    """A time-ordered ring of (t, item) with lookup of the latest item at or before t."""

    def __init__(self, maxlen: int) -> None:
        self._items: deque[tuple[float, _T]] = deque(maxlen=maxlen)
        self._lock = threading.Lock()
        self.ready = threading.Event()

    def push(self, t: float, item: _T) -> None:
        with self._lock:
            self._items.append((t, item))
        self.ready.set()

    def before(self, t: float) -> tuple[float, _T] | None:
        with self._lock:
            times = [x[0] for x in self._items]
            i = bisect.bisect_right(times, t)
            if i == 0:
                return None
            return self._items[i - 1]

    def latest(self) -> tuple[float, _T] | None:
        with self._lock:
            return self._items[-1] if self._items else None

    def after(self, t: float) -> tuple[float, _T] | None:
        """The earliest item at or after t."""
        with self._lock:
            return next((x for x in self._items if x[0] >= t), None)

    def between(self, t0: float, t1: float) -> list[tuple[float, _T]]:
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
        self.ring: _Ring[RawFrame] = _Ring(min(60, max(2, int(fps * seconds))))  # raw frames are 4 MB each
        self.monitor = monitor
        self.grabs = 0
        self._sct: MSSBase | None = None

    def setup(self) -> None:
        import mss  # lazily: needs a display

        sct = mss.MSS() if hasattr(mss, "MSS") else mss.mss()
        self._sct = sct
        if self.monitor is None:
            mons = sct.monitors
            self.monitor = dict(mons[1] if len(mons) > 1 else mons[0])

    def poll(self) -> None:
        assert self._sct is not None and self.monitor is not None  # set by setup()
        shot = self._sct.grab(self.monitor)
        t = time.monotonic()
        self.ring.push(t, RawFrame(t, shot.size, bytes(shot.raw)))
        self.grabs += 1

    def teardown(self) -> None:
        close = getattr(self._sct, "close", None)
        if close is not None:
            close()

    def before(self, t: float) -> RawFrame | None:
        hit = self.ring.before(t)
        return hit[1] if hit else None


@dataclass(frozen=True)
class Snapshot:
    """One accessibility tree walk. It read the applications' state at some moments between
    `t0` and `t1` (a walk takes tens of ms, more on a loaded machine)."""

    t0: float
    t1: float
    elements: list[Element]


class TreeRing(_Poller):
    """Snapshots `ui_tree()` every `interval` seconds (a tree walk costs tens of ms)."""

    def __init__(self, ui_tree: Callable[[], list[Element]], interval: float = 0.3, seconds: float = 5.0) -> None:
        super().__init__("a11y-ring", interval)
        self.ui_tree = ui_tree
        self.ring: _Ring[Snapshot] = _Ring(max(2, int(seconds / interval)))
        self.failures = 0
        self._walking: float | None = None  # start of the walk in flight
        self._cond = threading.Condition()

    def poll(self) -> None:
        t0 = time.monotonic()
        with self._cond:
            self._walking = t0
        try:
            tree = list(self.ui_tree())
        except DeviceError as exc:
            self.failures += 1
            log.debug("a11y snapshot failed: %s", exc)
        else:  # keyed by the START of the walk: the tree describes the screen from then on
            self.ring.push(t0, Snapshot(t0, time.monotonic(), tree))
        finally:
            with self._cond:
                self._walking = None
                self._cond.notify_all()

    def teardown(self) -> None:
        with self._cond:
            self._walking = None
            self._cond.notify_all()

    def _snap(self, hit: tuple[float, Snapshot] | None) -> list[Element] | None:
        return hit[1].elements if hit else None

    def before(self, t: float) -> list[Element] | None:
        """The tree of the newest walk that STARTED at or before t."""
        return self._snap(self.ring.before(t))

    def done_before(self, t: float) -> list[Element] | None:
        """The tree of the newest walk that ENDED before t: unlike a walk that was still
        running at t, it cannot have read what the input at t did (a dialog closing)."""
        done = [s for s in self.snapshots() if s.t1 < t]
        return done[-1].elements if done else None

    def latest(self) -> list[Element] | None:
        return self._snap(self.ring.latest())

    def after(self, t: float) -> list[Element] | None:
        return self._snap(self.ring.after(t))

    def between(self, t0: float, t1: float) -> list[list[Element]]:
        """Trees of the walks that STARTED in [t0, t1]."""
        return [x[1].elements for x in self.ring.between(t0, t1)]

    def snapshots(self) -> list[Snapshot]:
        return [x[1] for x in self.ring.between(float("-inf"), float("inf"))]

    def settle(self, t: float, wait: float = 5.0) -> bool:
        """Wait until no walk that started before `t` is still in flight, so every snapshot
        begun before `t` is in the ring. False when that took longer than `wait` seconds."""
        deadline = time.monotonic() + wait
        with self._cond:
            while self._walking is not None and self._walking < t and self.is_alive():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def wait_after(self, t: float, wait: float | None = None) -> list[Element] | None:
        """The first snapshot taken after t, waiting up to `wait` s for it (default one
        interval + 3 s: a walk takes over a second on a loaded machine)."""
        deadline = time.monotonic() + (self.interval + 3.0 if wait is None else wait)
        later = self.after(t)
        if later is None:
            self.poke()  # do not wait out the interval as well
        while later is None and self.is_alive() and time.monotonic() < deadline:
            with self._cond:  # woken when a walk ends
                self._cond.wait(max(0.0, min(0.05, deadline - time.monotonic())))
            later = self.after(t)
        return later

    def hit_test(self, t: float, x: float, y: float, wait: float | None = None) -> tuple[list[Element], Element | None]:
        """The element under (x, y) at time t: in the newest snapshot completed before t, else
        (the tree had not caught up with the screen yet) in the first snapshot after t, waiting
        up to `wait` seconds (default: one interval + 3 s) for it to be taken."""
        before = self.done_before(t) or []
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
        self.ring: _Ring[Image.Image] = _Ring(keep)
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
        return self.ring.before(t)
