"""The daemon's queue on a real SQLite file: exactly-once claims under concurrent threads and
processes, leases, recovery after a crash, cancels, the run log."""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from waiting import wait_until

from guiagent.daemon.fleet import overlapping_attempts
from guiagent.daemon.models import RunRecord, TaskResult
from guiagent.daemon.store import TaskStore
from guiagent.schema.errors import ConfigError


def add(store: TaskStore, n: int = 1, **kw) -> list[str]:
    opts = {"planner": "rule", "max_steps": 5, "timeout_s": 30.0, "max_attempts": 2, **kw}
    return [store.add_task(f"wait 0.1 seconds #{i}", **opts).id for i in range(n)]


def _claim_all(db: str, owner: str, threads: int, barrier) -> list[tuple[str, int]]:
    """Claim until the queue is empty from `threads` threads of this process, all processes
    starting together at `barrier`."""
    store = TaskStore(db)
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


def test_every_task_is_claimed_exactly_once_by_concurrent_threads_and_processes(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    store = TaskStore(db)
    ids = add(store, 240)
    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager, ctx.Pool(3) as pool:
        barrier = manager.Barrier(4)
        pending = [pool.apply_async(_claim_all, (str(db), f"proc{i}", 4, barrier)) for i in range(3)]
        here = _claim_all(str(db), "main", 4, barrier)  # and 4 threads of this process at the same time
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


def test_claim_order_pinning_and_cancel_of_a_queued_task(tmp_path: Path) -> None:
    store = TaskStore(tmp_path / "q.db")
    first, second = add(store, 2)
    pinned = add(store, 1, device="B")[0]
    assert store.cancel(first).status == "cancelled"
    assert store.cancel("t-nope") is None
    a = store.claim("d/A", "A", lease_s=30)
    assert a is not None and a.task.id == second  # FIFO, and the cancelled one is skipped
    assert store.claim("d/A", "A", lease_s=30) is None  # the pinned task waits for B
    b = store.claim("d/B", "B", lease_s=30)
    assert b is not None and b.task.id == pinned and b.task.device == "B"


def test_end_run_settles_the_task_and_retries_interrupted_attempts(tmp_path: Path) -> None:
    store = TaskStore(tmp_path / "q.db")
    (task_id,) = add(store)
    c1 = store.claim("d1/A", "A", lease_s=30)
    assert c1 is not None
    assert store.progress(c1, 1, index=0, action="wait 0.1 s", outcome="ok")
    assert store.get_task(task_id).steps == 1
    after = store.end_run(c1, "device_lost", reason="device A disconnected")
    assert after.status == "queued" and after.attempts == 1 and "re-queued" in after.error
    c2 = store.claim("d1/B", "B", lease_s=30)
    assert c2 is not None and c2.task.attempts == 2
    after = store.end_run(c2, "device_lost", reason="device B disconnected")
    assert after.status == "failed" and "no attempts left" in after.error  # retry policy: once
    assert [r.status for r in store.runs(task_id)] == ["device_lost", "device_lost"]
    assert overlapping_attempts(store.runs()) == []

    (ok_id,) = add(store)
    c = store.claim("d1/A", "A", lease_s=30)
    result = TaskResult(status="success", reason="done", steps=2, seconds=0.5)
    done = store.end_run(c, "succeeded", reason="done", result=result)
    assert done.status == "succeeded" and done.result == result and done.finished is not None
    assert done.id == ok_id


def test_a_clean_shutdown_does_not_use_up_an_attempt(tmp_path: Path) -> None:
    store = TaskStore(tmp_path / "q.db")
    (task_id,) = add(store, max_attempts=1)
    c = store.claim("d/A", "A", lease_s=30)
    after = store.end_run(c, "interrupted", reason="the daemon shut down", refund=True)
    assert after.status == "queued" and after.attempts == 0
    assert store.claim("d2/A", "A", lease_s=30).task.attempts == 1


def test_recovery_after_a_crash_requeues_once_then_gives_up(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    store = TaskStore(db)
    (task_id,) = add(store)
    dead = store.claim("dead1/A", "A", lease_s=30)
    store.close()  # the daemon "dies" holding the task

    store = TaskStore(db)
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


def test_recovery_keeps_own_leases_and_reaps_only_expired_ones(tmp_path: Path) -> None:
    store = TaskStore(tmp_path / "q.db")
    mine_id, other_id, fresh_id = add(store, 3)
    mine = store.claim("me/A", "A", lease_s=0.01)
    other = store.claim("other/B", "B", lease_s=0.01)
    fresh = store.claim("other/C", "C", lease_s=60)
    assert (mine.task.id, other.task.id, fresh.task.id) == (mine_id, other_id, fresh_id)
    expired = time.time() + 0.01  # both 10 ms leases were granted before this moment
    wait_until(lambda: time.time() > expired, what="the 10 ms leases to run out")
    flags = store.heartbeat("me/", 60, [mine.run_id, other.run_id])
    assert flags == {mine.run_id: False}  # another owner's run is not ours to renew
    reaped = store.recover(keep_owner_prefix="me/", expired_only=True)
    assert reaped == [(other_id, "queued")]  # expired and not ours; the fresh lease is kept
    assert store.get_task(mine_id).status == "running" and store.get_task(fresh_id).status == "running"


def test_cancel_of_a_running_task_is_flagged_for_the_heartbeat_and_wins_over_retry(tmp_path: Path) -> None:
    store = TaskStore(tmp_path / "q.db")
    a, b = add(store, 2)
    ca = store.claim("me/A", "A", lease_s=30)
    cb = store.claim("me/B", "B", lease_s=30)
    assert store.cancel(a).status == "running"
    assert store.heartbeat("me/", 30, [ca.run_id, cb.run_id]) == {ca.run_id: True, cb.run_id: False}
    assert store.end_run(ca, "cancelled", reason="cancelled through the API").status == "cancelled"
    store.cancel(b)
    assert store.recover() == [(b, "cancelled")]  # a crash does not resurrect a cancelled task
    kinds = [e.kind for e in store.events_after(0)]
    assert kinds.count("task_cancel_requested") == 2 and kinds[-1] == "task_finished"


def test_bad_input_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    store = TaskStore(tmp_path / "q.db")
    with pytest.raises(ConfigError, match="empty"):
        store.add_task("   ", planner="rule", max_steps=3, timeout_s=5, max_attempts=1)
    with pytest.raises(ConfigError, match="max_attempts"):
        store.add_task("wait 1 second", planner="rule", max_steps=3, timeout_s=5, max_attempts=0)


def test_overlap_check_catches_overlapping_and_double_open_attempts() -> None:
    def run(i: int, claimed: float, ended: float | None) -> RunRecord:
        return RunRecord(id=i, task_id="t", attempt=i, owner="o", device="A", ready_at=claimed, claimed=claimed,
                         ended=ended, heartbeat=claimed, status="running" if ended is None else "interrupted")

    assert overlapping_attempts([run(1, 0, 5), run(2, 6, None)]) == []
    assert overlapping_attempts([run(1, 0, 5), run(2, 4, 9)]) == ["t"]
    assert overlapping_attempts([run(1, 0, None), run(2, 6, None)]) == ["t"]
