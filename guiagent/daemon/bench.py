"""`guiagent bench daemon`: what the queue costs per task, how throughput grows with phones, and
what a fault run (daemon SIGKILLed and restarted, a phone dropped and back) does to a batch.

Per attempt, from the run log: wait = ready (task queued and a worker idle) -> claimed;
setup = claimed -> the agent starts (building planner, grounder, episode folder);
finalize = the agent returned -> the attempt is settled in the store. Queue overhead is
their sum, against the attempt's own run time. Medians over every attempt of a batch.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import cycle, islice
from pathlib import Path
from statistics import median

from guiagent.daemon.fleet import Fleet, overlapping_attempts
from guiagent.daemon.models import RunRecord

DEFAULT_TASKS = ("Open Settings and turn on Wi-Fi", "Open Settings and turn off Wi-Fi")


@dataclass
class Batch:
    name: str
    phones: int
    tasks: int
    wall_s: float
    statuses: dict[str, int]
    run_outcomes: dict[str, int]
    wait_ms: list[float] = field(default_factory=list)
    setup_ms: list[float] = field(default_factory=list)
    finalize_ms: list[float] = field(default_factory=list)
    run_ms: list[float] = field(default_factory=list)
    overlaps: int = 0
    lost: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def throughput(self) -> float:
        return self.tasks / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def overhead_ms(self) -> list[float]:
        return [w + s + f for w, s, f in zip(self.wait_ms, self.setup_ms, self.finalize_ms, strict=True)]

    def med(self, values: list[float]) -> float:
        return median(values) if values else float("nan")


@dataclass
class BenchReport:
    scale: list[Batch]
    main: Batch | None
    fault: Batch | None
    cores: int


def _timings(batch: Batch, runs: list[RunRecord]) -> None:
    for r in runs:
        if r.status == "succeeded" and r.started and r.run_ended and r.ended:
            batch.wait_ms.append((r.claimed - r.ready_at) * 1000)
            batch.setup_ms.append((r.started - r.claimed) * 1000)
            batch.finalize_ms.append((r.ended - r.run_ended) * 1000)
            batch.run_ms.append((r.run_ended - r.started) * 1000)


def _batch(fleet: Fleet, name: str, ids: list[str], t0: float) -> Batch:
    records, runs = fleet.read_db()
    tasks = {t.id: t for t in records}
    mine = [tasks[i] for i in ids if i in tasks]
    finished = [t.finished for t in mine if t.finished]
    batch = Batch(name=name, phones=len(fleet.phones), tasks=len(ids), wall_s=(max(finished) - t0) if finished else 0.0,
                  statuses=dict(Counter(t.status for t in mine)), run_outcomes=dict(Counter(r.status for r in runs)),
                  overlaps=len(overlapping_attempts(runs)), lost=len(ids) - sum(1 for t in mine if t.terminal))
    _timings(batch, runs)
    return batch


def _run_batch(fleet: Fleet, name: str, serials: list[str], texts: list[str], db: Path) -> Batch:
    fleet.start_daemon(serials, db=db, wait_warm=True)
    try:
        t0 = time.time()
        ids = fleet.submit(texts)
        fleet.wait(lambda: fleet.terminal_count(ids) == len(ids), 120 + 4 * len(ids), f"{name}: every task done",
                   poll=0.5)
    finally:
        fleet.stop_daemon()
    batch = _batch(fleet, name, ids, t0)
    batch.phones = len(serials)
    return batch


def _fault_run(fleet: Fleet, texts: list[str], db: Path, say: Callable[[str], None]) -> Batch:
    serials = [p.serial for p in fleet.phones]
    n = len(texts)
    fleet.start_daemon(serials, db=db, wait_warm=True)
    t0 = time.time()
    ids = fleet.submit(texts)
    notes = []
    try:
        fleet.wait(lambda: fleet.terminal_count(ids) >= max(1, n * 3 // 10), 120 + 4 * n, "30% of the fault run")
        running = sum(1 for t in fleet.tasks() if t["status"] == "running")
        t_kill = time.time()
        fleet.kill_daemon()
        say(f"fault run: SIGKILL with {running} task(s) running; restarting")
        fleet.start_daemon(serials, db=db)  # not waiting for warm-up: the workers run meanwhile
        t_up = time.time()
        notes.append(f"SIGKILL with {running} running; daemon back (every device open) {t_up - t_kill:.1f} s later")
        fleet.wait(lambda: fleet.terminal_count(ids) >= n * 4 // 10, 120 + 4 * n, "40% of the fault run")
        victim = fleet.phones[0]
        hit = fleet.wait(lambda: fleet.starting_on(victim.serial), 60, "a task starting on the victim phone",
                         poll=0.02)
        victim.faults.drop(3.0)
        t_drop = time.time()
        say(f"fault run: dropped {victim.serial} for 3 s while it ran task {hit}")
        fleet.wait(lambda: fleet.terminal_count(ids) == n, 120 + 4 * n, "every task of the fault run done", poll=0.5)
        runs = fleet.runs()
        back = [r.claimed for r in runs if r.device == victim.serial and r.claimed > t_drop + 3.0]
        notes.append(f"{victim.serial} dropped for 3 s; " + (f"ran tasks again {min(back) - t_drop:.1f} s after the drop"
                                                              if back else "got no task after it came back"))
    finally:
        fleet.stop_daemon()
    batch = _batch(fleet, "fault", ids, t0)
    batch.notes = notes
    return batch


def run_bench(*, phones: int, tasks: int, scale: list[int], scale_tasks: int, fault_tasks: int,
              task_texts: list[str] | None, adb_port: int = 5037, workdir: Path | None = None,
              progress: Callable[[str], None] = lambda msg: None) -> BenchReport:
    import os

    texts = list(task_texts or DEFAULT_TASKS)
    tmp = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="guiagent-bench-daemon-")
        workdir = Path(tmp.name)
    fleet = Fleet(workdir, adb_port=adb_port)
    try:
        progress(f"starting {max([phones, *scale])} virtual phones ...")
        fleet.add_phones(max([phones, *scale]))
        serials = [p.serial for p in fleet.phones]
        rows = []
        for n in scale:
            progress(f"throughput: {scale_tasks} tasks on {n} phone(s) ...")
            rows.append(_run_batch(fleet, f"{n} phones", serials[:n], list(islice(cycle(texts), scale_tasks)),
                                   workdir / f"scale-{n}.db"))
        progress(f"main run: {tasks} tasks on {phones} phones ...")
        main = _run_batch(fleet, "main", serials[:phones], list(islice(cycle(texts), tasks)), workdir / "main.db")
        fault = None
        if fault_tasks > 0:
            progress(f"fault run: {fault_tasks} tasks on {phones} phones ...")
            sub = Fleet(workdir / "fault", adb_port=adb_port, token=fleet.token)
            sub.phones = fleet.phones[:phones]
            try:
                fault = _fault_run(sub, list(islice(cycle(texts), fault_tasks)), workdir / "fault.db", progress)
            finally:
                sub.phones = []
                sub.close()
        return BenchReport(scale=rows, main=main, fault=fault, cores=os.cpu_count() or 1)
    finally:
        fleet.close()
        if tmp is not None:
            tmp.cleanup()
