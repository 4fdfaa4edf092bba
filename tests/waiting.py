"""The one way tests wait: poll a condition until it holds or a generous deadline passes.

Tests never sleep to let something happen; they wait for the thing itself. This module holds
the only polling pause in the suite (ruff bans `time.sleep` under tests/ everywhere else).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T],
    timeout: float = 30.0,
    what: str = "condition",
    interval: float = 0.02,
) -> T:
    """Return the first truthy value of `predicate()`; fail naming `what` after `timeout` s.

    Deadlines are generous on purpose: a loaded 2-core machine can be 10x slower than an
    idle one, and a wait that returns as soon as the condition holds costs nothing on a fast
    one.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)  # noqa: TID251 - the polling pause of the one condition waiter


def first_json_line(lines: Iterable[str], timeout: float = 60.0) -> dict[str, Any]:
    """The first line of `lines` (a child's stdout or stderr) that is a JSON object, or {} when
    none came within `timeout` s. Read on a thread, so a silent child cannot block the test."""
    found: dict[str, Any] = {}

    def read() -> None:
        for line in lines:
            if line.startswith("{"):
                found.update(json.loads(line))
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    return found


def pause(seconds: float) -> None:
    """Let real time pass where time passing is itself the point (pacing real input like a
    person, keeping a process idle so an idle timeout can fire). Never to wait for a result."""
    time.sleep(seconds)  # noqa: TID251 - deliberate pacing, see the docstring


def like_a_terminal() -> None:
    """`preexec_fn` for a CLI a test stops "like Ctrl+C": SIGINT back to its default. A process
    started with `&` from a non-interactive shell ignores SIGINT (POSIX), and its children inherit
    that, so without this the test would depend on how pytest itself was started."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
