"""The queue's own cost, measured in process against a real store (no phones, no agent):

- `queue_cost`: what a worker asks of the store per task, one task at a time: the claim, and the
  bookkeeping around the run (device busy, attempt started, one step, attempt settled, device
  idle). Its sum is the queue's overhead per task.
- `claim_contention`: `workers` threads spread over `hosts` store instances (each its own
  connection pool, as separate daemons have) claim and settle `tasks` tasks as fast as they can;
  the latency of each claim, and a check that every task was claimed exactly once.

Threads share this process' interpreter lock and, on a small machine, the database server's
CPU: the figures are an upper bound on what the queue costs, not a scaling claim.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from statistics import median, quantiles

from guiagent.daemon.store import TaskStore, open_store

LEASE_S = 60.0


@dataclass
class QueueCost:
    engine: str
    tasks: int
    claim_ms: list[float] = field(default_factory=list)
    bookkeeping_ms: list[float] = field(default_factory=list)  # busy + started + one step + settled + idle
    step_ms: list[float] = field(default_factory=list)  # one progress write (per agent step)

    @property
    def total_ms(self) -> list[float]:
        return [c + b for c, b in zip(self.claim_ms, self.bookkeeping_ms, strict=True)]


@dataclass
class Contention:
    engine: str
    hosts: int
    workers: int
    tasks: int
    wall_s: float = 0.0
    claim_ms: list[float] = field(default_factory=list)
    claimed_twice: list[str] = field(default_factory=list)
    never_claimed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def claims_per_s(self) -> float:
        return len(self.claim_ms) / self.wall_s if self.wall_s > 0 else 0.0


def pct(values: list[float], p: int) -> float:
    """The p-th percentile (p in 1..99); NaN without samples."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return quantiles(values, n=100, method="inclusive")[p - 1]


def med(values: list[float]) -> float:
    return median(values) if values else float("nan")


def _add(store: TaskStore, n: int, tag: str) -> list[str]:
    return [store.add_task(f"bench {tag} {i}", planner="rule", max_steps=10, timeout_s=60.0, max_attempts=1).id
            for i in range(n)]


def queue_cost(db: str, engine: str, tasks: int = 200) -> QueueCost:
    """Per task, on one worker: claim, then the bookkeeping a run does around the agent."""
    store = open_store(db, host="bench-cost")
    out = QueueCost(engine, tasks)
    try:
        _add(store, tasks, "cost")
        serial = "bench-phone"
        store.set_device(serial, "idle")
        ms = 1000.0
        for _ in range(tasks):
            t0 = time.perf_counter()
            claim = store.claim("bench-cost/w0", serial, lease_s=LEASE_S)
            t1 = time.perf_counter()
            assert claim is not None, "a queued task was not claimed"
            store.set_device(serial, "busy", current_task=claim.task.id)
            store.mark_started(claim, f"{claim.task.id}/run-{claim.run_id}")
            t2 = time.perf_counter()
            store.progress(claim, 1, index=0, action="tap", outcome="ok", error=None)
            t3 = time.perf_counter()
            store.end_run(claim, "succeeded", reason="done")
            store.set_device(serial, "idle", ran_one=True)
            t4 = time.perf_counter()
            out.claim_ms.append((t1 - t0) * ms)
            out.step_ms.append((t3 - t2) * ms)
            out.bookkeeping_ms.append(((t2 - t1) + (t4 - t2)) * ms)
    finally:
        store.close()
    return out


def claim_contention(db: str, engine: str, *, hosts: int, workers: int, tasks: int) -> Contention:
    """`workers` threads over `hosts` stores claim and settle `tasks` tasks at once."""
    hosts = max(1, min(hosts, workers))
    stores = [open_store(db, host=f"bench-h{i}") for i in range(hosts)]
    out = Contention(engine, hosts, workers, tasks)
    lock = threading.Lock()
    start = threading.Event()
    try:
        ids = set(_add(stores[0], tasks, "contention"))

        def work(n: int) -> None:
            store = stores[n % hosts]
            owner, serial = f"bench-h{n % hosts}/w{n}", f"bench-phone-{n}"
            mine: list[float] = []
            start.wait()
            try:
                while True:
                    t0 = time.perf_counter()
                    claim = store.claim(owner, serial, lease_s=LEASE_S)
                    mine.append((time.perf_counter() - t0) * 1000)
                    if claim is None:
                        mine.pop()  # the empty queue's answer is no claim
                        return
                    store.end_run(claim, "succeeded", reason="done")
            except Exception as exc:  # reported, not raised: the others finish the batch
                with lock:
                    out.errors.append(f"{owner}: {type(exc).__name__}: {exc}")
            finally:
                with lock:
                    out.claim_ms += mine

        threads = [threading.Thread(target=work, args=(n,), name=f"claimer-{n}") for n in range(workers)]
        for t in threads:
            t.start()
        t0 = time.perf_counter()
        start.set()
        for t in threads:
            t.join()
        out.wall_s = time.perf_counter() - t0
        runs = Counter(r.task_id for r in stores[0].runs() if r.task_id in ids)
        out.claimed_twice = sorted(t for t, n in runs.items() if n > 1)
        out.never_claimed = len(ids - set(runs))
    finally:
        for s in stores:
            s.close()
    return out
