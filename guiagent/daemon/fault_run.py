"""The fault run on several hosts: N daemon processes (each its own adb server and virtual
phones) on one PostgreSQL queue, a batch of tasks, and three faults while they run:

1. host 0 is SIGKILLed while it runs tasks: its leases run out and another host's sweep re-queues them;
2. host 1 is cut off from the database (its proxy resets every connection, or with
   `cut_mode="stall"` lets no byte through) until its tasks were
   taken over elsewhere, i.e. for longer than the lease: its fence must stop its input first;
3. host 2's phones drop off adb for `drop_s` seconds.

Each task types its own note ("mark") on the phone. The verdict (fault_check.py) comes from the
run log and from the phones' own state. Used by tests/e2e/test_fleet_hosts.py and by
`guiagent bench daemon --engine postgres`.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from guiagent.daemon.cluster import Cluster
from guiagent.daemon.fault_check import PhoneRecord, Verdict, history, judge
from guiagent.daemon.models import TERMINAL, RunRecord, TaskRecord
from guiagent.schema.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FaultPlan:
    hosts: int = 3
    phones: int = 2  # per host
    tasks: int = 30
    lease_s: float = 4.0
    drop_s: float = 5.0
    cut_mode: Literal["cut", "stall"] = "cut"  # connections reset and refused, or held without a byte through
    retries: int = 2  # a task may be hit by two faults (killed, then its phone dropped) and still finish
    long_every: int = 5  # every n-th task first waits past the lease, so a cut can catch one mid-run
    kill: bool = True
    cut: bool = True
    drop: bool = True
    timeout_s: float = 600.0  # for the whole batch

    def __post_init__(self) -> None:
        # the killed and the cut host are lost for a while: one more must stay on the database
        needed = int(self.kill) + int(self.cut) + 1
        if self.hosts < needed or self.tasks < 1 or self.phones < 1 or self.lease_s <= 2:
            raise ConfigError(f"this fault run needs at least {needed} hosts, one phone each, one task and a lease "
                              f"over 2 s (got {self.hosts} hosts, {self.phones} phones, {self.tasks} tasks, "
                              f"lease {self.lease_s:g} s)")


@dataclass
class FaultResult:
    plan: FaultPlan
    ids: list[str]
    wall_s: float
    verdict: Verdict
    tasks: list[TaskRecord]
    runs: list[RunRecord]
    t0: float
    killed: list[str] = field(default_factory=list)  # tasks running on the killed host at the kill
    cut: list[str] = field(default_factory=list)  # tasks running on the cut host at the cut
    dropped: list[str] = field(default_factory=list)  # tasks running on the dropped phones at the drop
    cut_s: float = 0.0  # how long the cut host was off the database
    fenced: int = 0  # runs the cut host stopped on its fence (from its log)
    events: list[str] = field(default_factory=list)  # what happened when, for the report

    @property
    def ok(self) -> bool:
        return self.verdict.ok

    @property
    def requeues(self) -> int:
        return sum(len(rs) - 1 for rs in self.verdict.requeued.values())

    def histories(self) -> dict[str, list[str]]:
        """Each re-queued task's attempts, one line each (times from the start of the run)."""
        return {task_id: history(rs, self.t0) for task_id, rs in self.verdict.requeued.items()}


def marks_scenario(workdir: Path) -> str:
    """The default scenario whose Notes app also flips a switch on every save: a phone's list of
    notes soon runs past the screen, and a save must still visibly change it (the planner checks)."""
    from guiagent.schema.assets import scenario_path

    sc = json.loads(scenario_path("default").read_text())
    sc["name"], sc["state"]["saved_odd"] = "fleet-marks", False
    notes = next(a for a in sc["apps"] if a["package"] == "com.example.notes")["screens"]["notes"]
    for w in notes["widgets"]:
        for ops in (w.get("on_submit"), w.get("on_tap")):
            if ops:
                ops.append({"toggle": "saved_odd"})
    notes["widgets"].insert(0, {"type": "switch", "id": "saved_odd", "text": "Odd number of saves", "bind": "saved_odd"})
    path = workdir / "fleet-marks.json"
    path.write_text(json.dumps(sc))
    return str(path)


def task_text(mark: str, long_wait: float | None = None) -> str:
    wait = f"wait {long_wait:g} seconds, then " if long_wait else ""
    return f'go home, {wait}open Notes, type "{mark}" into the note field and press enter'


def fault_run(db_url: str, workdir: Path, plan: FaultPlan = FaultPlan(), *, python: Iterable[str] | None = None,
              progress: Callable[[str, int, int], None] | None = None) -> FaultResult:
    """Run the batch under the faults of `plan` and judge it. `progress(what, done, total)` is
    called while waiting (for a progress bar); `python` as in Fleet.start_daemon."""
    tag = secrets.token_hex(2)
    marks = [f"m{i:04d}x{tag}" for i in range(plan.tasks)]
    long_wait = plan.lease_s + 2
    texts = [task_text(m, long_wait if plan.long_every and i % plan.long_every == plan.long_every - 1 else None)
             for i, m in enumerate(marks)]
    notes: list[str] = []
    workdir.mkdir(parents=True, exist_ok=True)
    with Cluster(workdir, db_url, hosts=plan.hosts, phones=plan.phones, scenario=marks_scenario(workdir)) as c:
        c.start(args=["--lease", f"{plan.lease_s:g}", "--retries", str(plan.retries)], python=python)
        t0 = time.time()

        def note(what: str) -> None:
            notes.append(f"+{time.time() - t0:.2f} s {what}")
            log.info("fault run: %s", what)

        ids = c.submit(texts)  # through every host's API in turn
        mark_of = dict(zip(ids, marks, strict=True))
        note(f"{len(ids)} tasks queued through {plan.hosts} hosts' APIs")
        deadline = t0 + plan.timeout_s
        state: dict[str, list[str]] = {"killed": [], "cut": [], "dropped": []}
        cut_at: float | None = None
        cut_host: str | None = None
        cut_s = 0.0

        def wait(pred: Callable[[], object], what: str, limit: float | None = None) -> object:
            end = min(deadline, time.time() + limit) if limit else deadline
            while True:
                value = pred()
                if value or time.time() > end:
                    if not value and not limit:
                        raise TimeoutError(f"fault run: timed out waiting for {what}")
                    return value
                if progress is not None:
                    progress(what, c.terminal_count(ids), len(ids))
                time.sleep(0.1)

        def running_on(host: int, long_only: bool = False) -> list[str]:
            name = c.host_id(host)
            return [t.id for t in c.read_db()[0] if t.status == "running" and t.host == name
                    and t.id in mark_of and (not long_only or "wait" in t.task)]

        victims = iter(range(plan.hosts))
        if plan.kill:
            k = next(victims)
            wait(lambda: c.terminal_count(ids) >= max(1, plan.tasks // 6) and running_on(k), "host 0 mid-batch")
            c.kill(k)
            state["killed"] = running_on(k)
            note(f"{c.host_id(k)} SIGKILLed running {len(state['killed'])} task(s)")
        if plan.cut:
            h = next(victims)
            cut_host = c.host_id(h)
            # a long task just started there: the fence, not the end of the task, must stop it
            wait(lambda: running_on(h, long_only=True), f"a long task on {cut_host}", limit=30)
            for _ in range(50):  # cut while it runs a task (one may end between the look and the cut)
                wait(lambda: running_on(h), f"a task on {cut_host}")
                if plan.cut_mode == "stall":
                    c.proxies[h].stall()
                else:
                    c.proxies[h].cut()
                cut_at, state["cut"] = time.time(), running_on(h)
                if state["cut"]:
                    break
                c.proxies[h].restore()
            note(f"{cut_host} cut off from the database running {len(state['cut'])} task(s)")
        if plan.drop:  # while the cut lasts: the queue is still full
            d = next(victims, plan.hosts - 1)
            wait(lambda: running_on(d), f"a task on {c.host_id(d)}", limit=30)
            state["dropped"] = running_on(d)
            c.drop_phones(d, plan.drop_s)
            note(f"{c.host_id(d)}'s {plan.phones} phone(s) dropped for {plan.drop_s:g} s, "
                 f"running {len(state['dropped'])} task(s)")
        if plan.cut and cut_at is not None:

            def taken_over() -> bool:
                by_id = {t.id: t for t in c.read_db()[0]}
                return all(by_id[i].status in TERMINAL or by_id[i].host != cut_host for i in state["cut"])

            wait(taken_over, f"{cut_host}'s tasks taken over elsewhere")
            c.proxies[h].restore()
            cut_s = time.time() - cut_at
            note(f"{cut_host} back on the database after {cut_s:.1f} s (lease {plan.lease_s:g} s)")
        wait(lambda: c.terminal_count(ids) == len(ids), "every task in a terminal state")
        wall = time.time() - t0
        note(f"all {len(ids)} tasks terminal")
        tasks, runs = c.read_db()
        phones = [PhoneRecord(host, p.serial, tuple(p.state["notes"]), tuple(p.input_log()))
                  for host, p in c.phones()]
        finished = _finished_events(db_url, set(ids))
        fenced = 0
        if cut_host is not None:  # the daemon's own account, for the report (the verdict uses the phones)
            logs = (c.workdir / cut_host).glob("daemon-*.log")
            fenced = sum(text.count("input stopped)") for text in (p.read_text(errors="replace") for p in logs))
    verdict = judge(ids, tasks, runs, phones, mark_of, finished,
                    cut_host=cut_host, cut_at=cut_at,
                    lease_s=plan.lease_s)
    return FaultResult(plan, ids, wall, verdict, tasks, runs, t0, killed=state["killed"], cut=state["cut"],
                       dropped=state["dropped"], cut_s=cut_s, fenced=fenced, events=notes)


def _finished_events(db_url: str, ids: set[str]) -> Counter[str]:
    """Task id -> how many times the queue announced it finished (exactly once each, or a bug)."""
    from guiagent.daemon.store import open_store

    store = open_store(db_url)
    try:
        out: Counter[str] = Counter()
        after = 0
        while batch := store.events_after(after, limit=10_000):
            after = batch[-1].id
            out.update(e.task_id for e in batch if e.kind == "task_finished" and e.task_id in ids)
        return out
    finally:
        store.close()
