"""One contract for the daemon's queue over both engines (SQLite file, real PostgreSQL):
exactly-once claims under concurrent threads and processes, device and host targeting, leases,
recovery after a crash, cancels, the run log, approvals, the fleet's devices and hosts."""

from __future__ import annotations

import multiprocessing as mp
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from waiting import wait_until

from guiagent.daemon.approvals import ApprovalConflict, decide, get_approval, list_approvals
from guiagent.daemon.fleet import overlapping_attempts
from guiagent.daemon.models import TaskResult
from guiagent.daemon.store import TaskStore
from guiagent.schema.errors import ConfigError

OpenStore = Callable[..., TaskStore]


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite://{tmp_path / 'q.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def open_store(db_url: str) -> Iterator[OpenStore]:
    """Stores on the test's database (as any host); all closed at the end."""
    opened: list[TaskStore] = []

    def make(host: str = "h1") -> TaskStore:
        opened.append(TaskStore(db_url, host=host))
        return opened[-1]

    yield make
    for s in opened:
        s.close()


@pytest.fixture
def store(open_store: OpenStore) -> TaskStore:
    return open_store()


def add(store: TaskStore, n: int = 1, **kw) -> list[str]:
    opts = {"planner": "rule", "max_steps": 5, "timeout_s": 30.0, "max_attempts": 2, **kw}
    return [store.add_task(f"wait 0.1 seconds #{i}", **opts).id for i in range(n)]


def _claim_all(db: str, owner: str, threads: int, barrier) -> list[tuple[str, int]]:
    """Claim until the queue is empty from `threads` threads of this process, all processes
    starting together at `barrier`."""
    store = TaskStore(db, host=owner)
    store.get_task("warm-up")  # open the connection before the race starts
    got: list[tuple[str, int]] = []
    lock = threading.Lock()
    barrier.wait(60)

    def loop(k: int) -> None:
        while True:
            claim = store.claim(f"{owner}/{k}", "SERIAL", lease_s=30)
            if claim is None:
                return
            with lock:
                got.append((claim.task.id, claim.run_id))

    ts = [threading.Thread(target=loop, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    store.close()
    return got


def test_every_task_is_claimed_exactly_once_by_concurrent_threads_and_processes(db_url: str, store: TaskStore) -> None:
    ids = add(store, 240)
    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager, ctx.Pool(3) as pool:
        barrier = manager.Barrier(4)
        pending = [pool.apply_async(_claim_all, (db_url, f"proc{i}", 4, barrier)) for i in range(3)]
        here = _claim_all(db_url, "main", 4, barrier)  # and 4 threads of this process at the same time
        results = [here] + [p.get(timeout=120) for p in pending]
    claims = [c for r in results for c in r]
    counts = Counter(task_id for task_id, _ in claims)
    assert set(counts) == set(ids)
    assert max(counts.values()) == 1, [t for t, n in counts.items() if n > 1]
    assert sum(1 for r in results if r) >= 2, [len(r) for r in results]  # the processes really competed
    runs = store.runs()
    assert len(runs) == 240 and len({r.id for r in runs}) == 240
    assert {(r.task_id, r.id) for r in runs} == set(claims)
    assert all(t.status == "running" and t.attempts == 1 for t in store.list_tasks(limit=1000))
    assert store.claim("late", "SERIAL", lease_s=30) is None


def test_claim_order_pinning_and_cancel_of_a_queued_task(store: TaskStore) -> None:
    first, second = add(store, 2)
    pinned = add(store, 1, device="B")[0]
    assert store.cancel(first).status == "cancelled"
    assert store.cancel("t-nope") is None
    a = store.claim("d/A", "A", lease_s=30)
    assert a is not None and a.task.id == second  # FIFO, and the cancelled one is skipped
    assert store.claim("d/A", "A", lease_s=30) is None  # the pinned task waits for B
    b = store.claim("d/B", "B", lease_s=30)
    assert b is not None and b.task.id == pinned and b.task.device == "B"
    assert [t.id for t in store.list_tasks()] == [first, second, pinned]  # arrival order
    assert store.counts() == {"cancelled": 1, "running": 2}


def test_tasks_target_a_host_a_device_of_a_host_or_any_phone(open_store: OpenStore) -> None:
    h1, h2 = open_store("h1"), open_store("h2")
    to_h2 = add(h1, 1, host="h2")[0]
    to_h1_b = add(h1, 1, host="h1", device="B")[0]
    anywhere = add(h2, 1)[0]
    assert h1.get_task(to_h2).requested_host == "h2"
    c = h1.claim("d1/A", "A", lease_s=30)
    assert c is not None and c.task.id == anywhere and c.task.host == "h1"  # h2's task is skipped by h1
    assert h1.claim("d1/A", "A", lease_s=30) is None  # B of h1 only
    assert h2.claim("d2/B", "B", lease_s=30).task.id == to_h2  # serial B of h2 is not h1's B
    assert h1.claim("d1/B", "B", lease_s=30).task.id == to_h1_b
    assert {r.task_id: r.host for r in h1.runs()} == {anywhere: "h1", to_h2: "h2", to_h1_b: "h1"}


def test_end_run_settles_the_task_and_retries_interrupted_attempts(store: TaskStore) -> None:
    (task_id,) = add(store)
    c1 = store.claim("d1/A", "A", lease_s=30)
    assert c1 is not None
    assert store.progress(c1, 1, index=0, action="wait 0.1 s", outcome="ok")
    assert store.get_task(task_id).steps == 1
    after = store.end_run(c1, "device_lost", reason="device A disconnected")
    assert after.status == "queued" and after.attempts == 1 and "re-queued" in after.error
    assert not store.progress(c1, 2)  # the old attempt writes nothing any more
    c2 = store.claim("d1/B", "B", lease_s=30)
    assert c2 is not None and c2.task.attempts == 2
    after = store.end_run(c2, "device_lost", reason="device B disconnected")
    assert after.status == "failed" and "no attempts left" in after.error  # retry policy: once
    assert [r.status for r in store.runs(task_id)] == ["device_lost", "device_lost"]
    assert overlapping_attempts(store.runs()) == []

    (ok_id,) = add(store)
    c = store.claim("d1/A", "A", lease_s=30)
    store.mark_started(c, "ep-1")
    result = TaskResult(status="success", reason="done", steps=2, seconds=0.5)
    done = store.end_run(c, "succeeded", reason="done", result=result)
    assert done.status == "succeeded" and done.result == result and done.finished is not None
    assert done.id == ok_id and store.run(c.run_id).episode == "ep-1"


def test_a_clean_shutdown_does_not_use_up_an_attempt(store: TaskStore) -> None:
    add(store, max_attempts=1)
    c = store.claim("d/A", "A", lease_s=30)
    after = store.end_run(c, "interrupted", reason="the daemon shut down", refund=True)
    assert after.status == "queued" and after.attempts == 0
    assert store.claim("d2/A", "A", lease_s=30).task.attempts == 1


def test_recovery_after_a_crash_requeues_once_then_gives_up(open_store: OpenStore) -> None:
    store = open_store()
    (task_id,) = add(store)
    dead = store.claim("dead1/A", "A", lease_s=30)
    store.close()  # the daemon "dies" holding the task

    store = open_store()
    assert store.recover() == [(task_id, "queued")]
    (run,) = store.runs(task_id)
    assert run.status == "interrupted" and run.ended is not None and "died" in run.reason
    assert store.end_run(dead, "succeeded", reason="late") is None  # the dead owner cannot write any more
    assert store.get_task(task_id).status == "queued"
    again = store.claim("dead2/A", "A", lease_s=30)
    assert again.task.attempts == 2
    assert store.recover() == [(task_id, "interrupted")]  # second crash: no attempts left
    t = store.get_task(task_id)
    assert t.status == "interrupted" and t.finished is not None and "no attempts left" in t.error
    runs = store.runs(task_id)
    assert [r.status for r in runs] == ["interrupted", "interrupted"]
    assert overlapping_attempts(runs) == []


def test_a_restarted_host_recovers_only_its_own_attempts(open_store: OpenStore) -> None:
    h1, h2 = open_store("h1"), open_store("h2")
    mine, theirs = add(h1, 2)
    assert h1.claim("dead/A", "A", lease_s=30).task.id == mine
    assert h2.claim("live/A", "A", lease_s=30).task.id == theirs
    assert h1.recover(host="h1") == [(mine, "queued")]
    assert h2.get_task(theirs).status == "running"


def test_recovery_keeps_own_leases_and_reaps_only_expired_ones(store: TaskStore) -> None:
    mine_id, other_id, fresh_id = add(store, 3)
    mine = store.claim("me/A", "A", lease_s=0.01)
    other = store.claim("other/B", "B", lease_s=0.01)
    fresh = store.claim("other/C", "C", lease_s=60)
    assert (mine.task.id, other.task.id, fresh.task.id) == (mine_id, other_id, fresh_id)
    expired = store.now() + 0.01  # both 10 ms leases were granted before this moment (the store's clock)
    wait_until(lambda: store.now() > expired, what="the 10 ms leases to run out")
    flags = store.heartbeat("me/", 60, [mine.run_id, other.run_id])
    assert flags == {mine.run_id: False}  # another owner's run is not ours to renew
    reaped = store.recover(keep_owner_prefix="me/", expired_only=True)
    assert reaped == [(other_id, "queued")]  # expired and not ours; the fresh lease is kept
    assert store.get_task(mine_id).status == "running" and store.get_task(fresh_id).status == "running"


def test_cancel_of_a_running_task_is_flagged_for_the_heartbeat_and_wins_over_retry(store: TaskStore) -> None:
    a, b = add(store, 2)
    ca = store.claim("me/A", "A", lease_s=30)
    cb = store.claim("me/B", "B", lease_s=30)
    assert store.cancel(a).status == "running"
    assert store.heartbeat("me/", 30, [ca.run_id, cb.run_id]) == {ca.run_id: True, cb.run_id: False}
    assert store.end_run(ca, "cancelled", reason="cancelled through the API").status == "cancelled"
    store.cancel(b)
    assert store.recover() == [(b, "cancelled")]  # a crash does not resurrect a cancelled task
    events = store.events_after(0)
    kinds = [e.kind for e in events]
    assert kinds.count("task_cancel_requested") == 2 and kinds[-1] == "task_finished"
    assert store.last_event_id() == events[-1].id
    assert [e.kind for e in store.events_after(0, task_id=a)][0] == "task_queued"


def test_approvals_are_decided_once(store: TaskStore) -> None:
    (task_id,) = add(store)
    c = store.claim("me/A", "A", lease_s=30)
    with store.db.write() as con:  # what StoreApprover writes when it holds an action
        con.execute("INSERT INTO approvals (id, task_id, run_id, step, action, reason, rule, status, created)"
                    " VALUES (?, ?, ?, 0, 'tap Pay', 'payment', NULL, 'pending', ?)",
                    ("a-1", task_id, c.run_id, store.now()))
    assert [a.id for a in list_approvals(store)] == ["a-1"]
    assert decide(store, "a-1", "approve").status == "approve"
    with pytest.raises(ApprovalConflict):
        decide(store, "a-1", "skip")
    assert decide(store, "a-nope", "skip") is None and get_approval(store, "a-1").decided is not None


def test_devices_are_a_fleet_keyed_by_host_and_serial(open_store: OpenStore) -> None:
    h1, h2 = open_store("h1"), open_store("h2")
    h1.set_device("emulator-5554", "idle", adb_state="device")
    h2.set_device("emulator-5554", "busy", adb_state="device", current_task="t-x")
    h1.set_device("emulator-5554", "busy", current_task="t-y", ran_one=True)
    h2.set_adb_state("emulator-5556", "unauthorized")
    fleet = [(d.host, d.serial, d.state, d.adb_state, d.tasks_run) for d in h1.list_devices()]
    assert fleet == [("h1", "emulator-5554", "busy", "device", 1), ("h2", "emulator-5554", "busy", "device", 0),
                     ("h2", "emulator-5556", "unauthorized", "unauthorized", 0)]
    h2.forget_devices()  # h2 restarts: only its own phones are stale
    assert [(d.host, d.serial) for d in h1.list_devices()] == [("h1", "emulator-5554")]
    assert h2.list_devices(host="h2") == []


def test_hosts_register_and_heartbeat(open_store: OpenStore) -> None:
    h1, h2 = open_store("h1"), open_store("h2")
    h1.register_host("d-1", "http://127.0.0.1:1")
    h2.register_host("d-2")
    before = h1.list_hosts()[0].heartbeat
    wait_until(lambda: h1.now() > before, what="the store's clock to move")
    assert h1.heartbeat("d-1/", 30, []) == {}
    hosts = {h.host: h for h in h2.list_hosts()}
    assert set(hosts) == {"h1", "h2"} and hosts["h1"].daemon == "d-1" and hosts["h1"].url == "http://127.0.0.1:1"
    assert hosts["h1"].heartbeat > before and hosts["h1"].started == before


def test_bad_input_is_refused_with_a_clear_error(store: TaskStore) -> None:
    with pytest.raises(ConfigError, match="empty"):
        store.add_task("   ", planner="rule", max_steps=3, timeout_s=5, max_attempts=1)
    with pytest.raises(ConfigError, match="max_attempts"):
        store.add_task("wait 1 second", planner="rule", max_steps=3, timeout_s=5, max_attempts=0)


def test_a_waiting_claimer_wakes_on_a_task_from_this_process(store: TaskStore) -> None:
    woke = threading.Event()
    generation = store.generation

    def idle_worker() -> None:
        store.wait_for_change(generation, 3600)  # the fallback poll: an hour
        woke.set()

    t = threading.Thread(target=idle_worker, daemon=True)
    t.start()
    add(store)
    assert woke.wait(60), "the idle worker slept through a new task"
