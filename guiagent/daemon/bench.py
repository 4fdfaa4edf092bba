"""`guiagent bench daemon`: throughput vs phones, hosts and queue engine; the queue's overhead per
task; claim latency under contention; and a fault run.

Every task types its own note ("mark") on the phone that runs it. A task counts as succeeded only
when the queue says so *and* its mark is on a phone exactly once (the phones' own state, not the
agent's verdict); a mark on two phones, or twice, is a task that ran twice.

Throughput rows run real daemon processes on virtual phones: one host on SQLite (the baseline,
measured in the same run), one host on PostgreSQL and, with `--hosts`, several hosts on one
PostgreSQL (cluster.py: each host its own adb server, phones and a TCP proxy to the database).
Per attempt, from the run log: wait = ready (task queued and a worker idle) -> claimed;
setup = claimed -> the agent starts (building planner, grounder, episode folder);
finalize = the agent returned -> the attempt is settled. The in-process figures (the queue's own
cost per task, claim latency under contention) are in bench_queue.py. The fault run on several
hosts is fault_run.py's; on one SQLite host it is the SIGKILL + restart and phone drop below.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

from guiagent.daemon.bench_queue import Contention, QueueCost, claim_contention, queue_cost
from guiagent.daemon.fault_run import FaultPlan, FaultResult, fault_run
from guiagent.daemon.fleet import AdbServer, Fleet, overlapping_attempts
from guiagent.daemon.models import RunRecord, TaskRecord
from guiagent.schema.errors import ConfigError

Progress = Callable[[str], None]


@dataclass
class Batch:
    name: str
    engine: str
    hosts: int
    phones: int
    tasks: int
    wall_s: float
    statuses: dict[str, int]
    run_outcomes: dict[str, int]
    verified: int = 0  # succeeded, and its mark is on a phone exactly once
    unverified: int = 0  # succeeded by the queue's word, but its mark is missing
    twice: int = 0  # its mark shows up more than once
    wait_ms: list[float] = field(default_factory=list)
    setup_ms: list[float] = field(default_factory=list)
    finalize_ms: list[float] = field(default_factory=list)
    run_ms: list[float] = field(default_factory=list)
    overlaps: int = 0
    lost: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def throughput(self) -> float:
        """Verified tasks per second."""
        return self.verified / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def overhead_ms(self) -> list[float]:
        return [w + s + f for w, s, f in zip(self.wait_ms, self.setup_ms, self.finalize_ms, strict=True)]

    def med(self, values: list[float]) -> float:
        return median(values) if values else float("nan")


@dataclass
class BenchReport:
    engine: str
    hosts: int
    phones: int
    cores: int
    rows: list[Batch]
    cost: list[QueueCost] = field(default_factory=list)
    contention: list[Contention] = field(default_factory=list)
    fault: Batch | None = None  # one SQLite host: SIGKILL + restart, a phone dropped
    fleet_fault: FaultResult | None = None  # several PostgreSQL hosts: fault_run.py
    notes: list[str] = field(default_factory=list)


def bench_scenario(workdir: Path) -> str:
    """The default phone, except that its Notes app also shows the last saved note under the
    field. A phone runs dozens of tasks in a bench; once its notes overflow the screen, a new one
    lands below the fold and the agent's check that typing had an effect would fail for want of
    any visible change."""
    import json

    from guiagent.schema import assets

    data = json.loads(assets.scenario_path("default").read_text(encoding="utf-8"))
    found = 0
    for app in data["apps"]:
        for screen in app.get("screens", {}).values():
            widgets = screen.get("widgets", [])
            for i, widget in enumerate(widgets):
                if widget.get("id") == "note_input":
                    widget["on_submit"].insert(0, {"set": {"last_note": "{note_draft}"}})
                    widgets.insert(i + 1, {"type": "text", "id": "last_note", "text": "Last saved: {last_note}"})
                    found += 1
                    break
    if found != 1:
        raise ConfigError("the default scenario's Notes app changed: the bench cannot find its note field")
    data["name"] = "bench"
    data["state"]["last_note"] = ""
    path = workdir / "bench-scenario.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def marked_texts(n: int) -> tuple[list[str], list[str]]:
    """n task texts, each typing its own mark; returns (texts, marks)."""
    tag = secrets.token_hex(2)
    marks = [f"b{i:04d}x{tag}" for i in range(n)]
    # Saved with the button: "... and press enter" fails the planner's effect check after a few notes
    return [f'go home, open Notes, type "{m}" into the note field, then tap Save' for m in marks], marks


def _judge(batch: Batch, ids: list[str], marks: list[str], tasks: list[TaskRecord], runs: list[RunRecord],
           phones: list[Any]) -> Batch:
    by_id = {t.id: t for t in tasks}
    on_phones: Counter[str] = Counter(n for p in phones for n in p.state.values.get("notes", []))
    mine = [by_id[i] for i in ids if i in by_id]
    batch.statuses = dict(Counter(t.status for t in mine))
    batch.lost = len(ids) - sum(1 for t in mine if t.terminal)
    for task_id, mark in zip(ids, marks, strict=True):
        seen = on_phones[mark]
        batch.twice += seen > 1
        if task_id in by_id and by_id[task_id].status == "succeeded":
            batch.verified += seen == 1
            batch.unverified += seen == 0
    wanted = set(ids)
    own = [r for r in runs if r.task_id in wanted]
    batch.run_outcomes = dict(Counter(r.status for r in own))
    batch.overlaps = len(overlapping_attempts(own))
    for r in own:
        if r.status == "succeeded" and r.started and r.run_ended and r.ended:
            batch.wait_ms.append((r.claimed - r.ready_at) * 1000)
            batch.setup_ms.append((r.started - r.claimed) * 1000)
            batch.finalize_ms.append((r.ended - r.run_ended) * 1000)
            batch.run_ms.append((r.run_ended - r.started) * 1000)
    finished = [t.finished for t in mine if t.finished]
    batch.wall_s = max(finished) - batch.wall_s if finished else 0.0  # wall_s held t0 until now
    return batch


def _wait_all(count: Callable[[], int], n: int, what: str, say: Progress) -> None:
    deadline = time.monotonic() + 120 + 4 * n
    last = -1
    while (done := count()) < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: only {done} of {n} tasks finished in time")
        if done != last:
            say(f"{what}: {done}/{n} tasks done")
            last = done
        time.sleep(0.5)


def _sqlite_row(fleet: Fleet, n: int, tasks: int, db: Path, say: Progress) -> Batch:
    for p in fleet.phones:
        p.reset()
    serials = [p.serial for p in fleet.phones[:n]]
    texts, marks = marked_texts(tasks)
    fleet.start_daemon(serials, db=db, wait_warm=True)
    try:
        t0 = time.time()
        ids = fleet.submit(texts)
        _wait_all(lambda: fleet.terminal_count(ids), len(ids), f"sqlite, 1 host, {n} phones", say)
    finally:
        fleet.stop_daemon()
    records, runs = fleet.read_db()
    batch = Batch(f"{n} phones", "sqlite", 1, n, tasks, t0, {}, {})
    return _judge(batch, ids, marks, records, runs, fleet.phones[:n])


def _pg_row(url: str, workdir: Path, hosts: int, n: int, tasks: int, scenario: str, say: Progress) -> Batch:
    from guiagent.daemon.cluster import Cluster

    texts, marks = marked_texts(tasks)
    with Cluster(workdir, url, hosts=hosts, phones=n // hosts, scenario=scenario) as c:
        c.start()
        for h in c.hosts:  # the steady state: optional models loaded
            h.wait_ready(len(h.phones), 60, wait_warm=True)
        t0 = time.time()
        ids = c.submit(texts)
        _wait_all(lambda: c.terminal_count(ids), len(ids), f"postgres, {hosts} host(s), {n} phones", say)
        records, runs = c.read_db()
        batch = Batch(f"{n} phones", "postgres", hosts, n // hosts * hosts, tasks, t0, {}, {})
        return _judge(batch, ids, marks, records, runs, [p for _, p in c.phones()])


def _sqlite_fault(fleet: Fleet, tasks: int, db: Path, say: Progress) -> Batch:
    """One SQLite host: SIGKILL + restart at 30%, a phone dropped for 3 s at 40%."""
    for p in fleet.phones:
        p.reset()
    serials = [p.serial for p in fleet.phones]
    texts, marks = marked_texts(tasks)
    fleet.start_daemon(serials, db=db, wait_warm=True)
    t0 = time.time()
    ids = fleet.submit(texts)
    notes = []
    try:
        fleet.wait(lambda: fleet.terminal_count(ids) >= max(1, tasks * 3 // 10), 120 + 4 * tasks, "30% of the run")
        running = sum(1 for t in fleet.tasks() if t["status"] == "running")
        t_kill = time.time()
        fleet.kill_daemon()
        say(f"fault run: SIGKILL with {running} task(s) running; restarting")
        fleet.start_daemon(serials, db=db)
        notes.append(f"SIGKILL with {running} running; daemon back (every device open) {time.time() - t_kill:.1f} s later")
        fleet.wait(lambda: fleet.terminal_count(ids) >= tasks * 4 // 10, 120 + 4 * tasks, "40% of the run")
        victim = fleet.phones[0]
        hit = fleet.wait(lambda: fleet.starting_on(victim.serial), 60, "a task starting on the victim", poll=0.02)
        victim.faults.drop(3.0)
        t_drop = time.time()
        say(f"fault run: dropped {victim.serial} for 3 s while it ran task {hit}")
        _wait_all(lambda: fleet.terminal_count(ids), len(ids), "fault run", say)
        back = [r.claimed for r in fleet.runs() if r.device == victim.serial and r.claimed > t_drop + 3.0]
        notes.append(f"{victim.serial} dropped for 3 s; " + (f"ran tasks again {min(back) - t_drop:.1f} s after the drop"
                                                              if back else "got no task after it came back"))
    finally:
        fleet.stop_daemon()
    records, runs = fleet.read_db()
    batch = _judge(Batch("fault", "sqlite", 1, len(serials), tasks, t0, {}, {}), ids, marks, records, runs,
                   fleet.phones)
    batch.notes = notes
    return batch


def new_database(server: str) -> str:
    """A new database (`guiagent_bench_...`) on the server of the URL `server`; returns its URL.
    Each measurement gets an empty queue; the databases are kept (the bench drops nothing it did
    not make, and these may be looked at afterwards)."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    name = "guiagent_bench_" + secrets.token_hex(4)
    try:
        with psycopg.connect(server, autocommit=True, connect_timeout=10) as con:
            con.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        raise ConfigError(f"cannot create a database for the bench on {urlsplit(server).hostname}: {exc} "
                          "(the --db user needs CREATEDB; or leave --db out for a throwaway cluster)") from exc
    return urlunsplit(urlsplit(server)._replace(path="/" + name))


def _every_change(say: Progress) -> Callable[[str, int, int], None]:
    """fault_run's progress callback (called often), saying only what changed."""
    last: list[tuple[str, int]] = []

    def report(what: str, done: int, total: int) -> None:
        if not last or last[0] != (what, done):
            last[:] = [(what, done)]
            say(f"fault run: {what} ({done}/{total} done)")

    return report


@contextmanager
def _postgres(engine: str, db: str | None, say: Progress) -> Iterator[tuple[Callable[[], str] | None, bool]]:
    """(a function making a fresh database URL, or None for SQLite only; whether the cluster is a
    throwaway one started here)."""
    if engine != "postgres":
        yield None, False
        return
    if db is not None:
        yield (lambda: new_database(db)), False
        return
    from guiagent.daemon.pgcluster import PgCluster

    say("starting a throwaway PostgreSQL cluster ...")
    with PgCluster() as cluster:
        yield cluster.create_database, True


def run_bench(*, engine: str = "sqlite", db: str | None = None, hosts: int = 1, phones: int, tasks: int,
              scale: list[int], scale_tasks: int, fault_tasks: int, queue_tasks: int = 200,
              adb_port: int | None = None, workdir: Path | None = None,
              progress: Progress = lambda msg: None) -> BenchReport:
    if engine not in ("sqlite", "postgres"):
        raise ConfigError(f"--engine is sqlite or postgres, not {engine!r}")
    if engine == "sqlite" and (hosts != 1 or db):
        raise ConfigError("several hosts and --db URL need --engine postgres (SQLite serves one host)")
    if hosts < 1 or phones < hosts:
        raise ConfigError(f"--phones ({phones}) must be at least --hosts ({hosts}): every host needs a phone")
    counts = sorted({*(n for n in scale if n <= phones), phones})
    tmp = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="guiagent-bench-daemon-")
        workdir = Path(tmp.name)
    workdir.mkdir(parents=True, exist_ok=True)
    report = BenchReport(engine, hosts, phones, os.cpu_count() or 1, [])
    scenario = bench_scenario(workdir)
    try:
        with _postgres(engine, db, progress) as (new_db, throwaway):
            if throwaway:
                report.notes.append("PostgreSQL: a throwaway cluster on this machine (fsync off, same CPU)")
            progress(f"queue cost: {queue_tasks} tasks, one at a time, in process ...")
            report.cost.append(queue_cost(f"sqlite:///{workdir / 'cost.db'}", "sqlite", queue_tasks))
            report.contention.append(claim_contention(f"sqlite:///{workdir / 'contention.db'}", "sqlite", hosts=1,
                                                      workers=phones, tasks=max(tasks, queue_tasks)))
            if new_db is not None:
                report.cost.append(queue_cost(new_db(), "postgres", queue_tasks))
                progress(f"claim contention: {phones} workers over {hosts} host(s) ...")
                report.contention.append(claim_contention(new_db(), "postgres", hosts=hosts, workers=phones,
                                                          tasks=max(tasks, queue_tasks)))
            own_adb = AdbServer().start() if adb_port is None else None
            try:
                fleet = Fleet(workdir / "sqlite", adb_port=own_adb.port if own_adb else adb_port or 5037,
                              scenario=scenario)
                try:
                    progress(f"starting {phones} virtual phones ...")
                    fleet.add_phones(phones)
                    # Each phone count on every engine in turn: the machine's load drifts over a
                    # long run (other processes), and rows compared side by side should share it.
                    for n in counts:
                        size = tasks if n == phones else scale_tasks
                        progress(f"throughput: {size} tasks, sqlite, 1 host, {n} phone(s) ...")
                        report.rows.append(_sqlite_row(fleet, n, size, workdir / f"sqlite-{n}.db", progress))
                        for h in sorted({1, hosts}):
                            if new_db is not None and n >= h:
                                progress(f"throughput: {size} tasks, postgres, {h} host(s), {n} phone(s) ...")
                                report.rows.append(_pg_row(new_db(), workdir / f"pg-{h}h-{n}", h, n, size, scenario,
                                                           progress))
                    if engine == "sqlite" and fault_tasks > 0:
                        progress(f"fault run: {fault_tasks} tasks on {phones} phones ...")
                        report.fault = _sqlite_fault(fleet, fault_tasks, workdir / "fault.db", progress)
                finally:
                    fleet.close()
            finally:
                if own_adb is not None:
                    own_adb.stop()
            if new_db is not None:
                if fault_tasks > 0 and hosts >= 3:
                    progress(f"fault run: {fault_tasks} tasks on {hosts} hosts x {phones // hosts} phones ...")
                    report.fleet_fault = fault_run(
                        new_db(), workdir / "fleet-fault", FaultPlan(hosts=hosts, phones=phones // hosts,
                                                                     tasks=fault_tasks, timeout_s=300 + 6 * fault_tasks),
                        progress=_every_change(progress))
                elif fault_tasks > 0:
                    report.notes.append("the fault run on several hosts needs --hosts 3 or more; skipped")
        return report
    finally:
        if tmp is not None:
            tmp.cleanup()

