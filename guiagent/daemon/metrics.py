"""GET /metrics: the fleet in Prometheus' text format (prometheus-client, imported lazily).

Every host of a fleet shares one queue, so every host's /metrics describes the whole fleet:
scrape one host (or aggregate over hosts with `max`, never `sum`). Two kinds of series:

- read from the store at scrape time (a custom collector): `guiagent_queue_tasks{status}` and
  `guiagent_devices{host,state}`;
- counted by this daemon from the store's event log since it started (read on each scrape, so
  nothing in the workers has to report anything): `guiagent_tasks_finished_total{outcome}`,
  `guiagent_task_retries_total{outcome}`, `guiagent_lease_expiries_total` and the histogram
  `guiagent_task_duration_seconds` (first claim -> terminal). The counters restart at zero
  with the daemon, as Prometheus counters do.

Tasks per second is the client's job: `rate(guiagent_tasks_finished_total[1m])`.

Each daemon has its own CollectorRegistry (not the process-global one), so two daemons in one
process (tests) never mix their series.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from guiagent.daemon.models import EventRecord
    from guiagent.daemon.store import TaskStore

# The reason recovery writes when it reaps an attempt whose owner died or whose lease ran out
# (store.recover); a worker's own "lease lost" settles nothing, so it is not counted twice.
REAPED_PREFIX = "interrupted: its daemon"
DURATION_BUCKETS = (1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, float("inf"))
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
TASK_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled", "interrupted")
DEVICE_STATES = ("connecting", "idle", "busy", "offline", "unauthorized")


def _require() -> Any:
    try:
        import prometheus_client
    except ImportError as exc:  # pragma: no cover - it is a dependency of the daemon extra
        from guiagent.schema.errors import ConfigError

        raise ConfigError("/metrics needs prometheus-client: pip install prometheus-client") from exc
    return prometheus_client


def device_host(device: Any, default: str) -> str:
    """The host a device row belongs to (rows gain `host` with multi-host fleets)."""
    return str(getattr(device, "host", None) or default)


class FleetMetrics:
    def __init__(self, store: TaskStore, daemon_id: str = "") -> None:
        pc = _require()
        self.store, self.daemon_id = store, daemon_id
        self.registry = pc.CollectorRegistry(auto_describe=False)
        self.finished = pc.Counter("guiagent_tasks_finished", "tasks that reached a terminal state, by outcome "
                                   "(tasks/s: rate() of this)", ["outcome"], registry=self.registry)
        self.retries = pc.Counter("guiagent_task_retries", "attempts that ended with their task re-queued, by "
                                  "how the attempt ended", ["outcome"], registry=self.registry)
        self.expiries = pc.Counter("guiagent_lease_expiries", "attempts reaped because their host died or their "
                                   "lease ran out", registry=self.registry)
        self.duration = pc.Histogram("guiagent_task_duration_seconds", "first claim to terminal state of "
                                     "finished tasks", buckets=DURATION_BUCKETS, registry=self.registry)
        self.registry.register(_StoreCollector(store, str(getattr(store, "host", "") or daemon_id)))
        self._lock = threading.Lock()
        self._cursor = store.last_event_id()  # count from now: a counter starts with its process

    def _count(self, event: EventRecord) -> None:
        outcome = str(event.data.get("outcome") or event.data.get("status") or "unknown")
        reaped = str(event.data.get("reason") or "").startswith(REAPED_PREFIX)
        if event.kind == "task_finished":
            self.finished.labels(outcome=str(event.data.get("status") or outcome)).inc()
            task = self.store.get_task(event.task_id) if event.task_id else None
            if task is not None and task.started is not None and task.finished is not None:
                self.duration.observe(max(0.0, task.finished - task.started))
        elif event.kind == "task_requeued":
            self.retries.labels(outcome=outcome).inc()
        else:
            return
        if reaped:
            self.expiries.inc()

    def update(self) -> None:
        """Read the events written since the last scrape and count them."""
        with self._lock:
            while batch := self.store.events_after(self._cursor, limit=500):
                for event in batch:
                    self._count(event)
                    self._cursor = event.id

    def render(self) -> bytes:
        pc = _require()
        self.update()
        return bytes(pc.generate_latest(self.registry))


class _StoreCollector:
    """Gauges read from the store at scrape time: the queue by status, the devices by host and state."""

    def __init__(self, store: TaskStore, daemon_id: str) -> None:
        self.store, self.daemon_id = store, daemon_id

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        counts = self.store.counts()
        queue = GaugeMetricFamily("guiagent_queue_tasks", "tasks in the queue by status", labels=["status"])
        for status in sorted({*TASK_STATUSES, *counts}):
            queue.add_metric([status], counts.get(status, 0))
        yield queue
        per: dict[tuple[str, str], int] = {}
        for d in self.store.list_devices():
            host = device_host(d, self.daemon_id)
            for state in DEVICE_STATES:
                per.setdefault((host, state), 0)
            per[(host, d.state)] = per.get((host, d.state), 0) + 1
        devices = GaugeMetricFamily("guiagent_devices", "devices by host and state", labels=["host", "state"])
        for (host, state), n in sorted(per.items()):
            devices.add_metric([host, state], n)
        yield devices
