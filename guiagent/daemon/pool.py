"""The device pool: which devices adb reports (track-devices), one worker per device, and the
heartbeat that renews leases, delivers cancels and stops runs that overran their budget."""

from __future__ import annotations

import logging
import threading
import time
import uuid

from guiagent.daemon.config import DaemonConfig
from guiagent.daemon.store import TaskStore
from guiagent.daemon.store_base import StoreUnavailable
from guiagent.daemon.worker import STOP_REASONS, DeviceWorker
from guiagent.schema.errors import ConfigError

log = logging.getLogger(__name__)


def new_daemon_id() -> str:
    return "d-" + uuid.uuid4().hex[:10]


class DevicePool:
    def __init__(self, store: TaskStore, config: DaemonConfig, daemon_id: str | None = None) -> None:
        self.store, self.config = store, config
        self.daemon_id = daemon_id or new_daemon_id()
        self.stopping = threading.Event()
        self.workers: dict[str, DeviceWorker] = {}
        self.tracking = False  # True once track-devices answered: adb states are known
        self._adb: dict[str, str] = {}
        self._adb_cond = threading.Condition()
        self._adb_gen = 0
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        try:
            import adbutils  # noqa: F401 - fail at startup, not in a worker
        except ImportError as exc:
            raise ConfigError("the daemon drives Android devices through adbutils: pip install adbutils") from exc
        self.store.forget_devices()
        for serial in self.config.devices or ():
            self.store.set_device(serial, "offline")
            self._add_worker(serial)
        for name, target in (("adb-tracker", self._track), ("heartbeat", self._beat)):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop claiming, stop the runs in flight (their tasks go back to the queue without
        using an attempt) and wait for the workers, at most `timeout` seconds."""
        self.stopping.set()
        with self._lock:
            workers = list(self.workers.values())
        for w in workers:
            w.stop_run("shutdown")
        with self.store.changed:
            self.store.changed.notify_all()
        with self._adb_cond:
            self._adb_cond.notify_all()
        deadline = time.monotonic() + timeout
        for w in workers:
            w.thread.join(max(0.0, deadline - time.monotonic()))
            if w.thread.is_alive():
                log.warning("%s: worker still busy at shutdown; the next start recovers its task", w.serial)
        for t in self._threads:
            t.join(max(0.0, min(3.0, deadline - time.monotonic())))

    def _add_worker(self, serial: str) -> None:
        with self._lock:
            if serial in self.workers or self.stopping.is_set():
                return
            worker = DeviceWorker(serial, self)
            self.workers[serial] = worker
        log.info("device %s joins the pool", serial)
        worker.start()

    # -- adb states --------------------------------------------------------------------------

    def adb_state(self, serial: str) -> tuple[str | None, int]:
        """adb's state for `serial` (None: not listed) and a generation for wait_adb_change."""
        with self._adb_cond:
            return self._adb.get(serial), self._adb_gen

    def wait_adb_change(self, generation: int, timeout: float) -> None:
        with self._adb_cond:
            if self._adb_gen == generation and not self.stopping.is_set():
                self._adb_cond.wait(timeout)

    def _wanted(self, serial: str) -> bool:
        return self.config.devices is None or serial in self.config.devices

    def set_adb_state(self, serial: str, state: str | None) -> None:
        with self._adb_cond:
            if self._adb.get(serial) == state:
                return
            if state is None:
                self._adb.pop(serial, None)
            else:
                self._adb[serial] = state
            self._adb_gen += 1
            self._adb_cond.notify_all()
        log.info("adb: %s is %s", serial, state or "gone")
        self.store.set_adb_state(serial, state or "absent")
        if state == "device" and self.config.devices is None:
            self._add_worker(serial)

    def _track(self) -> None:
        """Follow `adb track-devices`. The connection has a short timeout so that the loop
        notices `stopping`; each reconnect starts from a full listing, so nothing is missed."""
        import adbutils

        client = adbutils.AdbClient(host=self.config.adb_host, port=self.config.adb_port, socket_timeout=2.0)
        delay = 0.5
        while not self.stopping.is_set():
            try:
                listed = {d.serial: d.state for d in client.list() if self._wanted(d.serial)}
                with self._adb_cond:
                    gone = [s for s in self._adb if s not in listed]
                for serial in gone:
                    self.set_adb_state(serial, None)
                for serial, state in listed.items():
                    self.set_adb_state(serial, state)
                self.tracking = True
                delay = 0.5
                for event in client.track_devices():
                    if self.stopping.is_set():
                        break
                    if self._wanted(event.serial):
                        self.set_adb_state(event.serial, event.status if event.present else None)
            except adbutils.AdbTimeout:
                continue  # quiet for a while: reconnect (and re-list)
            except (adbutils.AdbError, OSError, EOFError, ValueError) as exc:
                log.warning("cannot follow the adb server at %s:%d (%s); retrying in %.1f s",
                            self.config.adb_host, self.config.adb_port, exc, delay)
                self.tracking = False
                self.stopping.wait(delay)
                delay = min(delay * 2, 10.0)

    # -- heartbeat ---------------------------------------------------------------------------

    def _beat(self) -> None:
        last_reap = last_prune = time.monotonic()
        while not self.stopping.wait(self.config.heartbeat_s):
            try:
                self._beat_once()
                now = time.monotonic()
                if now - last_reap > self.config.lease_s:
                    last_reap = now
                    # Our own active runs were renewed a moment ago; an expired lease of ours
                    # belongs to an attempt that no worker settles any more.
                    for task_id, status in self.store.recover(expired_only=True):
                        log.warning("task %s: lease expired; now %s", task_id, status)
                if now - last_prune > 300:
                    last_prune = now
                    self.store.prune_events()
            except StoreUnavailable as exc:  # the leases go unrenewed; the fences stop the runs in time
                log.warning("heartbeat: %s", exc)
            except Exception:  # the heartbeat must outlive a locked database or a bug
                log.exception("heartbeat failed")

    def _beat_once(self) -> None:
        with self._lock:
            workers = list(self.workers.values())
        running = {w.active.claim.run_id: (w, w.active) for w in workers if w.active is not None}
        for run_id, (worker, active) in running.items():
            if active.fence.expired:  # stop it now; its device refuses input already
                worker.stop_run("fenced", run_id)
        sent = time.monotonic()  # before the request: the renewed lease starts no earlier
        flags = self.store.heartbeat(self.daemon_id + "/", self.config.lease_s, list(running))
        now = time.monotonic()
        for run_id, (worker, active) in running.items():
            if run_id not in flags:
                active.fence.revoke(STOP_REASONS["lease_lost"])
                worker.stop_run("lease_lost", run_id)
                continue
            active.fence.renewed(sent)
            if flags[run_id]:
                worker.stop_run("cancel", run_id)
            elif now - active.started > active.claim.task.timeout_s + self.config.timeout_grace_s:
                worker.stop_run("timeout", run_id)

    # -- views -------------------------------------------------------------------------------

    def online(self) -> int:
        with self._lock:
            return sum(1 for w in self.workers.values() if w.device is not None)
