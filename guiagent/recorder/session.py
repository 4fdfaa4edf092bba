"""What desktop and Android recording share: storing recognized actions as human steps,
hit-testing elements, and the numbers a recording run reports."""

from __future__ import annotations

import logging
import statistics
import threading
import time
from dataclasses import dataclass, field

from PIL import Image

from guiagent.recorder.episode import EpisodeWriter
from guiagent.schema import Action, Element, Outcome, Role, Step

log = logging.getLogger(__name__)

_INTERACTIVE = {Role.BUTTON, Role.TEXT_FIELD, Role.CHECKBOX, Role.RADIO, Role.SWITCH, Role.LINK,
                Role.COMBOBOX, Role.LIST_ITEM, Role.MENU_ITEM, Role.TAB, Role.SLIDER, Role.ICON}
_BACKGROUND = {Role.WINDOW, Role.CONTAINER}


def element_at(elements: list[Element] | tuple[Element, ...], x: float, y: float) -> Element | None:
    """The element under pixel (x, y): interactive before static, then the smallest box.
    Windows and containers are returned only when nothing else is there."""
    hits = [e for e in elements if e.bbox[0] <= x < e.bbox[2] and e.bbox[1] <= y < e.bbox[3]]
    if not hits:
        return None

    def rank(e: Element) -> tuple[int, int, int]:
        interactive = e.role in _INTERACTIVE or e.clickable or e.editable
        return (e.role in _BACKGROUND, not interactive, max(e.width, 1) * max(e.height, 1))

    return min(hits, key=rank)


def focused_element(elements: list[Element] | tuple[Element, ...]) -> Element | None:
    focused = [e for e in elements if e.focused and e.role not in _BACKGROUND]
    return min(focused, key=lambda e: e.width * e.height) if focused else None


def mono_to_wall(t_mono: float) -> float:
    return time.time() - (time.monotonic() - t_mono)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


@dataclass
class RecordingStats:
    raw_events: int = 0
    steps: int = 0
    dropped_events: int = 0  # raw events lost before interpretation (queue overflow)
    steps_without_frame: int = 0
    ignored_events: int = 0  # events that map to no action (middle click, unknown key)
    frame_age_ms: list[float] = field(default_factory=list)  # event time - capture time of its frame
    store_latency_ms: list[float] = field(default_factory=list)  # event time -> step on disk
    work_ms: list[float] = field(default_factory=list)  # recorder time per step (lookup, encode, fsync)
    started: float = field(default_factory=time.monotonic)
    stopped: float | None = None

    def summary(self) -> dict[str, float | int]:
        elapsed = (self.stopped or time.monotonic()) - self.started
        return {
            "raw_events": self.raw_events, "steps": self.steps, "dropped_events": self.dropped_events,
            "steps_without_frame": self.steps_without_frame, "ignored_events": self.ignored_events,
            "seconds": round(elapsed, 3),
            "frame_age_ms_median": round(statistics.median(self.frame_age_ms), 2) if self.frame_age_ms else float("nan"),
            "frame_age_ms_p95": round(_pct(self.frame_age_ms, 0.95), 2),
            "store_latency_ms_median": round(statistics.median(self.store_latency_ms), 2)
            if self.store_latency_ms else float("nan"),
            "store_latency_ms_p95": round(_pct(self.store_latency_ms, 0.95), 2),
            "work_ms_median": round(statistics.median(self.work_ms), 2) if self.work_ms else float("nan"),
        }


class StepRecorder:
    """Numbers human actions and writes them through the episode writer. Thread-safe."""

    def __init__(self, writer: EpisodeWriter, screen_size: tuple[int, int], *, foreground: str | None = None) -> None:
        self.writer = writer
        self.screen_size = screen_size
        self.foreground = foreground
        self.stats = RecordingStats()
        self._lock = threading.Lock()
        self._next = 0

    def record(
        self, action: Action, t_event: float, *, frame: Image.Image | None, frame_t: float | None,
        elements: list[Element] | None = None, target: Element | None = None,
        timings_ms: dict[str, float] | None = None, outcome: Outcome | None = None, work_since: float | None = None,
    ) -> Step:
        """Store one action; `t_event`/`frame_t`/`work_since` (when the recorder started on
        this step) are time.monotonic() values."""
        t_work = work_since if work_since is not None else time.monotonic()
        with self._lock:
            index = self._next
            self._next += 1
        timings = dict(timings_ms or {})
        if frame_t is not None:
            age = (t_event - frame_t) * 1000
            timings["frame_age"] = round(age, 2)
            self.stats.frame_age_ms.append(age)
        else:
            self.stats.steps_without_frame += 1
        step = Step(
            index=index, timestamp=mono_to_wall(t_event), source="human", screen_size=self.screen_size,
            foreground=self.foreground, elements=list(elements or []), action=action, target_element=target,
            outcome=outcome or Outcome(status="ok"), timings_ms=timings,
        )
        stored = self.writer.add_step(step, frame)
        self.stats.steps += 1
        now = time.monotonic()
        self.stats.store_latency_ms.append((now - t_event) * 1000)
        self.stats.work_ms.append((now - t_work) * 1000)
        log.debug("recorded step %d: %s", index, action.type)
        return stored
