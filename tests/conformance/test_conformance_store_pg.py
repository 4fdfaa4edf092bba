"""What only the PostgreSQL engine promises, on a real throwaway cluster: a task queued by another
process wakes an idle claimer through LISTEN/NOTIFY (the fallback poll is an hour), hosts that
start at once migrate the schema exactly once, a host id is held by one daemon, and an
unreachable server is a clear error, not a hang."""

from __future__ import annotations

import multiprocessing as mp
import queue
import socket
import threading

import pytest
from waiting import wait_until

from guiagent.daemon.models import Claim
from guiagent.daemon.store import TaskStore
from guiagent.daemon.store_base import StoreUnavailable
from guiagent.daemon.store_pg import SCHEMA_VERSION, PgDatabase
from guiagent.schema.errors import ConfigError


def _add_one(url: str) -> str:
    """Another host: its own process, its own connections."""
    store = TaskStore(url, host="h2")
    try:
        return store.add_task("open Settings", planner="rule", max_steps=3, timeout_s=30, max_attempts=1).id
    finally:
        store.close()


def test_an_idle_claimer_wakes_on_a_task_queued_by_another_process(pg_url: str) -> None:
    store = TaskStore(pg_url, host="h1")
    got: queue.Queue[Claim] = queue.Queue()
    idle = threading.Event()

    def worker() -> None:  # the device worker's loop, with an hour between fallback polls
        while True:
            generation = store.generation  # read before looking, as DeviceWorker does
            claim = store.claim("h1-daemon/A", "A", lease_s=30)
            if claim is not None:
                got.put(claim)
                return
            idle.set()
            store.wait_for_change(generation, 3600)

    try:
        threading.Thread(target=worker, daemon=True).start()
        assert idle.wait(60), "the worker never went idle"
        with mp.get_context("spawn").Pool(1) as pool:
            task_id = pool.apply(_add_one, (pg_url,))
        claim = got.get(timeout=120)  # an hour's poll would miss this by far
        assert claim.task.id == task_id and claim.task.host == "h1"
    finally:
        store.close()


def test_hosts_starting_at_once_migrate_the_schema_exactly_once(pg_url: str) -> None:
    barrier = threading.Barrier(6)
    results: queue.Queue[int | BaseException] = queue.Queue()

    def start() -> None:  # each with its own connections, as separate hosts would
        barrier.wait(60)
        try:
            db = PgDatabase(pg_url)
            results.put(db.migrated)
            db.close()
        except BaseException as exc:
            results.put(exc)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    counts = [results.get_nowait() for _ in threads]
    assert sorted(counts) == [0, 0, 0, 0, 0, SCHEMA_VERSION], counts  # one start ran each migration
    store = TaskStore(pg_url)  # and the schema works
    try:
        assert store.db.migrated == 0  # type: ignore[attr-defined]
        assert store.add_task("open Settings", planner="rule", max_steps=3, timeout_s=30, max_attempts=1)
        rows = store.db.query("SELECT version FROM schema_version ORDER BY version")
        assert [r["version"] for r in rows] == list(range(1, SCHEMA_VERSION + 1))
    finally:
        store.close()


def test_a_newer_schema_is_refused(pg_url: str) -> None:
    PgDatabase(pg_url).close()
    db = PgDatabase(pg_url)
    db.query(f"INSERT INTO schema_version (version) VALUES ({SCHEMA_VERSION + 1}) RETURNING version")
    db.close()
    with pytest.raises(ConfigError, match=f"schema {SCHEMA_VERSION + 1}"):
        PgDatabase(pg_url)


def test_one_daemon_per_host_id(pg_url: str) -> None:
    first, second, other = (TaskStore(pg_url, host=h) for h in ("h1", "h1", "h2"))
    try:
        first.lock_host()
        other.lock_host()  # another host id is free
        with pytest.raises(ConfigError, match="h1"):
            second.lock_host()
        first.close()  # the lock goes with its daemon (a killed process's session ends too)
        second.lock_host()
    finally:
        for s in (second, other):
            s.close()


def test_an_unreachable_server_is_a_clear_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nobody listens here once closed
    with pytest.raises(ConfigError, match="cannot open the daemon database") as err:
        PgDatabase(f"postgresql://postgres:hunter2@127.0.0.1:{port}/guiagent", timeout_s=2)
    assert "hunter2" not in str(err.value)  # the password never reaches a log


def test_the_store_comes_back_after_the_server_drops_its_connections(pg_url: str, pg_cluster) -> None:
    store = TaskStore(pg_url, host="h1")
    other = TaskStore(pg_url, host="h2", listen=False)
    try:
        add_one = dict(planner="rule", max_steps=3, timeout_s=30, max_attempts=1)
        store.add_task("open Settings", **add_one)
        dbname = pg_url.rsplit("/", 1)[1]
        pg_cluster._admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{dbname}'"
                          " AND pid <> pg_backend_pid()")

        def counts() -> dict[str, int] | None:
            try:
                return store.counts()
            except StoreUnavailable:  # a call on a dropped connection fails clearly; the pool replaces it
                return None

        assert wait_until(counts, 60, "the pool to reconnect") == {"queued": 1}
        # the listener reconnects too: a task queued by another host still wakes an idle worker
        wait_until(lambda: store.db._listening.is_set(), 60, "LISTEN to be back")  # type: ignore[attr-defined]
        generation = store.generation
        woke = threading.Event()
        threading.Thread(target=lambda: (store.wait_for_change(generation, 3600), woke.set()), daemon=True).start()
        other.add_task("open Clock", **add_one)
        assert woke.wait(60), "the idle worker slept through a new task after a reconnect"
    finally:
        store.close()
        other.close()
