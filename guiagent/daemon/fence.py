"""Fencing: a host that cannot renew a task's lease stops driving the phone before the lease can
run out, so the task's next attempt (on another host, after the lease expired) never shares the
phone's world with an orphan of the first.

The deadline is kept on this host's monotonic clock and measured from *before* the request that
took or renewed the lease was sent: the store sets `lease_until` no earlier than it received the
request, so `sent + lease_s` is never later than the lease the other hosts see. `margin_s` covers
one action in flight when the deadline passes (an adb command takes well under a second).

`FencedDevice` checks the fence before every action, on the thread that sends the input, so no
input leaves after the deadline whatever the heartbeat thread is doing (it may be stuck on a
database that does not answer).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from devices.base import Device
from devices.wrappers import DeviceWrapper
from guiagent.schema import Action, Outcome
from guiagent.schema.errors import ConfigError, StopRequested


class LeaseExpired(StopRequested):
    """The lease could not be renewed in time (or was lost): this host must not act any more."""


class LeaseFence:
    def __init__(self, lease_s: float, margin_s: float, *, taken_at: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not 0 <= margin_s < lease_s:
            raise ConfigError(f"the fence margin ({margin_s:g} s) must be shorter than the lease ({lease_s:g} s)")
        self.lease_s, self.margin_s, self._clock = lease_s, margin_s, clock
        self._lock = threading.Lock()
        self._renewed = clock() if taken_at is None else taken_at
        self._revoked: str | None = None
        self.fenced_at: float | None = None  # this clock's time at which a check first refused

    def renewed(self, sent_at: float) -> None:
        """A renewal sent at `sent_at` (this clock) succeeded. A fence that expired stays so: the
        run has been told to stop, and this host has assumed the task lost."""
        now = self._clock()
        with self._lock:
            if self._revoked is None and now >= self._renewed + self.lease_s - self.margin_s:
                self._revoked = "the lease was not renewed in time"
            if self._revoked is None:
                self._renewed = max(self._renewed, sent_at)

    def revoke(self, reason: str) -> None:
        """The lease is gone (the store says another owner has the task): refuse from now on."""
        with self._lock:
            if self._revoked is None:
                self._revoked = reason

    @property
    def deadline(self) -> float:
        """The last moment (this clock) at which an action may still start."""
        with self._lock:
            return self._renewed + self.lease_s - self.margin_s

    def remaining(self) -> float:
        return self.deadline - self._clock()

    @property
    def expired(self) -> bool:
        return self._revoked is not None or self.remaining() <= 0

    def check(self) -> None:
        """Raise LeaseExpired when no action may start now."""
        now = self._clock()
        with self._lock:
            revoked, renewed = self._revoked, self._renewed
            if revoked is None and now < renewed + self.lease_s - self.margin_s:
                return
            if self.fenced_at is None:
                self.fenced_at = now
        if revoked is not None:
            raise LeaseExpired(f"fenced: {revoked}")
        raise LeaseExpired(f"fenced: the lease was last renewed {now - renewed:.1f} s ago (lease {self.lease_s:g} s, "
                           f"margin {self.margin_s:g} s); no more input")


class FencedDevice(DeviceWrapper):
    """Refuses every action once the fence's deadline has passed (raises LeaseExpired, which the
    agent loop treats as a stop)."""

    def __init__(self, device: Device, fence: LeaseFence) -> None:
        super().__init__(device)
        self.fence = fence

    def execute(self, action: Action) -> Outcome:
        self.fence.check()
        return self.device.execute(action)

    def reset(self) -> None:
        self.fence.check()
        self.device.reset()
