"""Recording human demonstrations on the desktop (X11; Xvfb included).

pynput's global listeners (python-xlib's RECORD extension on X11: they see real and XTEST
input alike, verified on Xvfb with xdotool) push raw events with their arrival time into a
queue; one worker thread turns them into semantic actions (`semantics.ActionRecognizer`),
pairs each with the newest frame grabbed BEFORE its first raw event (`capture.FrameRing`),
hit-tests the element under the pointer in the newest accessibility snapshot taken before
it (`capture.TreeRing`, from the desktop device's `ui_tree()`), finds the field typed text
went into (`focus.typing_target`), and writes the step.
Nothing typed is ever logged; password fields are masked by the writer's redactor.
"""

from __future__ import annotations

import heapq
import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, assert_never

from PIL import Image

from guiagent.recorder.capture import FrameRing, RawFrame, Snapshot, TreeRing
from guiagent.recorder.episode import EpisodeWriter
from guiagent.recorder.focus import named, typing_target
from guiagent.recorder.semantics import (
    ActionRecognizer,
    Button,
    KeyPress,
    KeyRelease,
    PointerButton,
    PointerMove,
    RawEvent,
    Recognized,
    Thresholds,
    WheelScroll,
)
from guiagent.recorder.session import RecordingStats, StepRecorder, element_at, focused_element
from guiagent.recorder.xinput import ServerClock, pynput_key, stop_listener, timed_listener
from guiagent.schema import (
    MODIFIERS,
    Back,
    Click,
    Done,
    DoubleClick,
    Drag,
    Element,
    Home,
    Hover,
    Key,
    LongPress,
    OpenApp,
    RightClick,
    Scroll,
    Swipe,
    TypeText,
    Wait,
)
from guiagent.schema.errors import DeviceError, RecordingError

log = logging.getLogger(__name__)

_SENTINEL = object()
_BUTTONS: dict[str, Button] = {"left": "left", "right": "right", "middle": "middle"}  # pynput Button.name
REORDER_S = 0.04  # events are held this long, so late arrivals from the other listener sort in

OcrLookup = Callable[[Image.Image, tuple[int, int]], Element | None]


def make_ocr_lookup(crop: tuple[int, int] = (480, 160), near_px: float = 40.0) -> OcrLookup | None:
    """An element lookup by OCR around the pointer (for apps without an a11y tree): the text
    box under the point, else the nearest one within `near_px`. None when OCR is unavailable."""
    try:
        from grounding.parse import ScreenParser
    except ImportError as exc:
        log.info("no OCR fallback for the element hit test: %s", exc)
        return None
    parser = ScreenParser(ocr=True, detectors=True, incremental=False)

    def lookup(frame: Image.Image, point: tuple[int, int]) -> Element | None:
        x, y = point
        left, top = max(0, x - crop[0] // 2), max(0, y - crop[1] // 2)
        box = (left, top, min(frame.width, left + crop[0]), min(frame.height, top + crop[1]))
        found = [e.model_copy(update={"id": f"ocr{i}", "bbox": (e.bbox[0] + left, e.bbox[1] + top,
                                                                 e.bbox[2] + left, e.bbox[3] + top)})
                 for i, e in enumerate(parser.parse(frame.crop(box)))]
        hit = element_at(found, x, y)
        if hit is None and found:
            near = min(found, key=lambda e: math.dist(e.center, (x, y)))
            hit = near if math.dist(near.center, (x, y)) <= near_px + max(near.width, near.height) / 2 else None
        return hit

    return lookup


@dataclass
class DesktopOptions:
    fps: float = 10.0
    a11y: bool = True
    a11y_interval: float = 0.3
    stop_chord: tuple[str, ...] = ("ctrl", "alt", "q")
    thresholds: Thresholds = field(default_factory=Thresholds)
    queue_size: int = 20000
    ocr: OcrLookup | None = None  # element lookup on the frame when the a11y tree is empty


class DesktopRecorder:
    """Records until `stop()` (or the stop chord). Use `start()`, then `wait()`/`stop()`."""

    def __init__(self, writer: EpisodeWriter, *, device: Any | None = None, options: DesktopOptions | None = None) -> None:
        self.writer = writer
        self.device = device
        self.opts = options or DesktopOptions()
        self.frames = FrameRing(self.opts.fps)
        self.trees: TreeRing | None = None
        self.stop_requested = threading.Event()
        self._queue: queue.Queue[object] = queue.Queue(self.opts.queue_size)
        self._listeners: list[Any] = []
        self._worker: threading.Thread | None = None
        self._pins: dict[float, RawFrame | None] = {}
        self._last_clicked: tuple[Element, list[Element], float] | None = None  # editable, its tree, t_end
        self._typing_hint = False  # the last key pressed typed a character
        self._last_event = time.monotonic()
        self._origin = (0, 0)
        self._clock = ServerClock()
        self._ml: Any = None
        self._kl: Any = None
        self._held = 0
        self.recognizer: ActionRecognizer | None = None
        self.steps: StepRecorder | None = None

    @property
    def stats(self) -> RecordingStats:
        if self.steps is None:
            raise RecordingError("the recorder has not started")
        return self.steps.stats

    def start(self) -> None:
        from pynput import keyboard, mouse  # lazily: needs a display

        cap = getattr(getattr(self.device, "screen", None), "capture", None)
        if cap is not None:  # grab exactly what the device's screenshots show
            self.frames.monitor = {"left": int(cap.left), "top": int(cap.top),
                                   "width": int(cap.width), "height": int(cap.height)}
        self.frames.start()
        if not self.frames.ring.ready.wait(10):
            self.frames.stop()
            raise DeviceError(f"screen capture produced no frame: {self.frames.error or 'timeout'}")
        mon = self.frames.monitor or {}
        self._origin = (int(mon.get("left", 0)), int(mon.get("top", 0)))
        size = (int(mon.get("width", 0)), int(mon.get("height", 0)))
        if self.device is not None:
            size = tuple(self.device.info.screen_size)
            if self.opts.a11y:
                self.trees = TreeRing(self.device.ui_tree, self.opts.a11y_interval)
                self.trees.start()
                # The first input must find a completed snapshot to hit-test against.
                deadline = time.monotonic() + 30
                while not self.trees.ring.ready.wait(0.1):
                    if not self.trees.is_alive() or time.monotonic() > deadline:
                        log.warning("no accessibility snapshot: the first steps may lack their element")
                        break
        self.recognizer = ActionRecognizer(size, self.opts.thresholds)
        self.steps = StepRecorder(self.writer, size)
        self._worker = threading.Thread(target=self._work, name="recorder", daemon=True)
        self._worker.start()
        ml = timed_listener(mouse.Listener)(on_move=self._on_move, on_click=self._on_click, on_scroll=self._on_scroll)
        kl = timed_listener(keyboard.Listener)(on_press=self._on_press, on_release=self._on_release)
        self._ml, self._kl = ml, kl
        for listener in (ml, kl):
            listener.start()
            listener.wait()  # the RECORD context is live: no event is missed from here on
            self._listeners.append(listener)
        log.info("recording desktop %dx%d at %g fps (a11y %s)", *size, self.opts.fps,
                 "on" if self.trees else "off")

    # -- listener callbacks: cheap, never block ------------------------------------------

    def _put(self, ev: RawEvent) -> None:
        self._last_event = time.monotonic()
        # The frame before a press is picked NOW: the worker may get to the event seconds
        # later (waiting for a11y walks on a loaded machine), when the ring has moved on.
        pin = self.frames.before(self._mono(ev.t)) if not isinstance(ev, PointerMove | KeyRelease) else None
        try:
            self._queue.put_nowait((ev, pin))
        except queue.Full:
            if self.steps is not None:
                self.steps.stats.dropped_events += 1

    def _xy(self, x: float, y: float) -> tuple[int, int]:
        return int(x) - self._origin[0], int(y) - self._origin[1]

    def _stamp(self, listener: Any) -> float:
        """The event's time as an ORDER key: X server seconds when known (one clock for both
        listeners), else arrival. The worker turns it into monotonic time when it pops it."""
        ms = getattr(listener, "server_time", None)
        return self._clock.observe(ms) if ms is not None else -time.monotonic()

    def _tm(self) -> float:
        return self._stamp(self._ml)

    def _tk(self) -> float:
        return self._stamp(self._kl)

    def _on_move(self, x: float, y: float, *_: Any) -> None:
        self._put(PointerMove(self._tm(), *self._xy(x, y)))

    def _on_click(self, x: float, y: float, button: Any, pressed: bool, *_: Any) -> None:
        self._typing_hint = False
        name = _BUTTONS.get(getattr(button, "name", ""))
        if name is not None:
            self._put(PointerButton(self._tm(), *self._xy(x, y), name, pressed))

    def _on_scroll(self, x: float, y: float, dx: int, dy: int, *_: Any) -> None:
        self._put(WheelScroll(self._tm(), *self._xy(x, y), int(dx), int(dy)))

    def _on_press(self, key: Any, *_: Any) -> None:
        name, char = pynput_key(key)
        self._put(KeyPress(self._tk(), name or "unknown", char))
        if name in MODIFIERS:
            return
        typing = char is not None and char.isprintable()
        if typing and not self._typing_hint and self.trees is not None:
            # A snapshot right at the first keystroke (the worker sees it only after the
            # reorder delay) shows the field with the focus before a Tab can move it away.
            self.trees.poke()
        self._typing_hint = typing

    def _on_release(self, key: Any, *_: Any) -> None:
        name, _char = pynput_key(key)
        self._put(KeyRelease(self._tk(), name or "unknown"))

    # -- the worker ------------------------------------------------------------------------

    def _mono(self, t: float) -> float:
        # Negative = an arrival time (no server stamp; see _stamp).
        return -t if t < 0 else self._clock.to_mono(t)

    def _work(self) -> None:
        assert self.recognizer is not None and self.steps is not None
        rec = self.recognizer
        held: list[tuple[float, int, RawEvent, RawFrame | None]] = []  # by server stamp: the reorder buffer
        seq = 0
        finished = False
        while not finished:
            # Drain everything that has arrived, so that a worker that was busy (a11y waits,
            # PNG encoding) never ticks a pending action out while its next event is queued.
            batch: list[object] = []
            try:
                batch.append(self._queue.get(timeout=0.02))
                while True:
                    batch.append(self._queue.get_nowait())
            except queue.Empty:
                pass
            for ev in batch:
                if ev is _SENTINEL:
                    finished = True
                    continue
                assert isinstance(ev, tuple)
                heapq.heappush(held, (abs(ev[0].t), seq, *ev))
                seq += 1
            horizon = float("inf") if finished else time.monotonic() - REORDER_S
            out: list[Recognized] = []
            while held and self._mono(held[0][2].t) <= horizon:
                _, _, e, pin = heapq.heappop(held)
                e = replace(e, t=self._mono(e.t))  # monotonic, with the best clock offset known now
                self.steps.stats.raw_events += 1
                if isinstance(e, PointerButton | WheelScroll | KeyPress):
                    self._pins[e.t] = pin or self.frames.before(e.t)
                out += rec.feed(e)
            self._held = len(held)
            if not finished:
                out += rec.tick(horizon)
            self._emit(out)
        self._emit(rec.finish())
        self.steps.stats.ignored_events = rec.ignored

    def _emit(self, out: list[Recognized]) -> None:
        assert self.recognizer is not None
        for r in out:
            try:
                self._store(r)
            except Exception:  # one bad step must not end the recording
                log.exception("could not record a %s action", r.action.type)
        keep = self.recognizer.anchor_times()
        for t in [t for t in self._pins if t not in keep]:
            del self._pins[t]

    def _tree(self, t: float) -> list[Element]:
        if self.trees is None:
            return []
        return self.trees.done_before(t) or self.trees.latest() or []

    def _typing_target(self, r: Recognized) -> tuple[Element | None, list[Element]]:
        """The field typed into and the snapshot it was found in (see `focus.typing_target`)."""
        assert isinstance(r.action, TypeText)
        t_next = r.t_next if r.t_next is not None else time.monotonic()
        c = self._last_clicked
        clicked = (c[0], c[1]) if c is not None and r.t_prev is not None and c[2] >= r.t_prev else None
        snaps: list[Snapshot] = []
        if self.trees is not None:
            self.trees.settle(t_next)  # a walk begun before the next input may not be stored yet
            if self.trees.after(r.t_start) is None:
                self.trees.wait_after(r.t_start)  # typed faster than a walk: wait for the next
            snaps = self.trees.snapshots()
        found = typing_target(snaps, r.t_prev, r.t_start, t_next, r.action.text, clicked)
        if found is None:
            return None, []
        log.debug("typed text goes to %s %r (%s)", found.element.role.value, found.element.name, found.how)
        return found.element, found.elements

    def _store(self, r: Recognized) -> None:
        assert self.steps is not None
        action = r.action
        if isinstance(action, Key) and set(action.keys) == set(self.opts.stop_chord):
            self.stop_requested.set()
            return
        raw = self._pins.get(r.t_start) or self.frames.before(r.t_start)
        t0 = time.monotonic()
        frame = raw.image() if raw is not None else None
        elements = self._tree(r.t_start)
        target: Element | None = None
        found_in = elements  # the snapshot the target was found in
        match action:
            # (the recognizer emits no hovers: resting the pointer is not a step; matched for completeness)
            case Click() | DoubleClick() | RightClick() | LongPress() | Hover() | Drag() | Scroll() | Swipe():
                if r.point is not None:
                    if self.trees is not None:
                        elements, target = self.trees.hit_test(r.t_start, *r.point)
                        found_in = elements
                    if target is None and not elements and self.opts.ocr and frame is not None:
                        target = self.opts.ocr(frame, r.point)
                if isinstance(action, Click | DoubleClick | LongPress):
                    editable = target is not None and target.editable
                    self._last_clicked = (target, found_in, r.t_end) if target is not None and editable else None
            case TypeText():
                target, found_in = self._typing_target(r)
            case Key():
                target = focused_element(self._tree(r.t_start))
            case OpenApp() | Back() | Home() | Wait() | Done():
                pass
            case _:
                assert_never(action)
        if target is not None and found_in:
            target = named(target, found_in, self.steps.screen_size[0])
        timings = {"lookup": round((time.monotonic() - t0) * 1000, 2)}
        self.steps.record(action, r.t_start, frame=frame, frame_t=raw.t if raw else None,
                          elements=elements, target=target, timings_ms=timings, work_since=t0)

    # -- stopping ----------------------------------------------------------------------------

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the stop chord is pressed (True) or `timeout` passes (False)."""
        return self.stop_requested.wait(timeout)

    def wait_idle(self, quiet: float = 0.5, timeout: float = 30.0) -> bool:
        """Block until no raw event arrived for `quiet` seconds and the queue is drained."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.empty() and not self._held and time.monotonic() - self._last_event >= quiet:
                return True
            time.sleep(0.02)
        return False

    def stop(self) -> RecordingStats:
        """Stop listening, emit what is pending, stop capture. Idempotent."""
        for listener in self._listeners:  # their X connections close before anyone stops the display
            if not stop_listener(listener):
                log.warning("an input listener thread did not stop")
        self._listeners.clear()
        if self._worker is not None:
            self._queue.put(_SENTINEL)
            self._worker.join(30)
            self._worker = None
        if self.trees is not None:
            self.trees.stop()
        self.frames.stop()
        stats = self.stats
        stats.stopped = stats.stopped or time.monotonic()
        return stats
