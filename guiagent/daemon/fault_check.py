"""The verdict of a fault run, from two independent records: the queue's run log and the phones'
own state (the notes each task typed, the input each phone received, with the phone's times).

Pure functions over plain data, so they are tested without any daemon.

Attribution on a phone: a phone is driven by one attempt at a time as far as the run log goes,
so every input a phone received between one claim on it and the next belongs to the earlier
attempt. If two attempts of one task ever drove phones at the same time, their input spans (first
to last input, on the phones' clocks) intersect; a host that kept driving a phone after it lost
the lease shows input after that lease's end.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from guiagent.daemon.models import TERMINAL, RunRecord, TaskRecord

PhoneKey = tuple[str, str]  # (host id, adb serial)


@dataclass(frozen=True)
class PhoneRecord:
    host: str
    serial: str
    notes: tuple[str, ...]  # the phone's notes, oldest first
    inputs: tuple[tuple[float, str], ...]  # (wall time, what) as the phone logged it

    @property
    def key(self) -> PhoneKey:
        return (self.host, self.serial)


@dataclass(frozen=True)
class FenceCheck:
    """One attempt that was running on a host when it was cut off from the database."""

    task_id: str
    run_id: int
    phone: PhoneKey
    lease_end: float  # its last renewal (the database's clock) + the lease
    last_input: float | None  # the phone's last input from the attempt, None: none after the cut
    inputs_after_cut: int

    @property
    def ok(self) -> bool:
        return self.last_input is None or self.last_input < self.lease_end

    @property
    def slack_s(self) -> float | None:
        """How long before the lease's end the phone saw its last input."""
        return None if self.last_input is None else self.lease_end - self.last_input


@dataclass
class Verdict:
    statuses: Counter[str]
    lost: list[str] = field(default_factory=list)  # not in a terminal state
    finished_twice: list[str] = field(default_factory=list)  # more than one task_finished event
    log_overlaps: list[str] = field(default_factory=list)  # two attempts open at once (run log)
    phone_overlaps: list[str] = field(default_factory=list)  # two attempts' input spans intersect (phones)
    missing_marks: list[str] = field(default_factory=list)  # succeeded, but its phone lacks its note
    stray_marks: list[str] = field(default_factory=list)  # a note on a phone the task never had an attempt on
    extra_marks: list[str] = field(default_factory=list)  # more notes than attempts
    bad_attempts: list[str] = field(default_factory=list)  # run log inconsistent with the task
    fence: list[FenceCheck] = field(default_factory=list)
    marks: dict[str, list[PhoneKey]] = field(default_factory=dict)  # task id -> phones showing its note
    requeued: dict[str, list[RunRecord]] = field(default_factory=dict)  # task id -> its attempts (>1)

    @property
    def violations(self) -> list[str]:
        out = []
        for name in ("lost", "finished_twice", "log_overlaps", "phone_overlaps", "missing_marks", "stray_marks",
                     "extra_marks", "bad_attempts"):
            items = getattr(self, name)
            if items:
                out.append(f"{name.replace('_', ' ')}: {', '.join(items[:10])}" + (" ..." if len(items) > 10 else ""))
        out += [f"input after the lease ended: task {f.task_id} on {f.phone[0]}/{f.phone[1]}, "
                f"{-(f.slack_s or 0):.2f} s late" for f in self.fence if not f.ok]
        return out

    @property
    def ok(self) -> bool:
        return not self.violations


def phone_of(run: RunRecord) -> PhoneKey:
    return (run.host or "", run.device)


def attribute_inputs(runs: Iterable[RunRecord], phones: Iterable[PhoneRecord]) -> dict[int, list[float]]:
    """Run id -> times of the inputs its phone received between its claim and the next claim."""
    by_phone: dict[PhoneKey, list[RunRecord]] = {}
    for r in runs:
        by_phone.setdefault(phone_of(r), []).append(r)
    out: dict[int, list[float]] = {}
    for phone in phones:
        rs = sorted(by_phone.get(phone.key, []), key=lambda r: r.claimed)
        bounds = [r.claimed for r in rs] + [float("inf")]
        i = 0
        for t, _ in sorted(phone.inputs):
            while i < len(rs) and t >= bounds[i + 1]:
                i += 1
            if i < len(rs) and t >= bounds[i]:
                out.setdefault(rs[i].id, []).append(t)
    return out


def judge(ids: Iterable[str], tasks: Iterable[TaskRecord], runs: list[RunRecord], phones: list[PhoneRecord],
          marks: Mapping[str, str], finished_events: Counter[str], *, cut_host: str | None = None,
          cut_at: float | None = None, lease_s: float = 0.0) -> Verdict:
    """`marks`: task id -> the note it types; `finished_events`: task id -> task_finished events."""
    from guiagent.daemon.fleet import overlapping_attempts

    wanted = list(ids)
    by_id = {t.id: t for t in tasks}
    mine = [by_id[i] for i in wanted if i in by_id]
    v = Verdict(statuses=Counter(t.status for t in mine))
    v.lost = [i for i in wanted if i not in by_id or by_id[i].status not in TERMINAL]
    v.finished_twice = [i for i in wanted if finished_events.get(i, 0) > 1]
    v.log_overlaps = overlapping_attempts(runs)
    by_task: dict[str, list[RunRecord]] = {}
    for r in sorted(runs, key=lambda r: r.id):
        by_task.setdefault(r.task_id, []).append(r)
    for t in mine:
        rs = by_task.get(t.id, [])
        if len(rs) != t.attempts or t.attempts > t.max_attempts or any(r.ended is None for r in rs) \
                or sum(r.status == "succeeded" for r in rs) != (t.status == "succeeded"):
            v.bad_attempts.append(t.id)
        if len(rs) > 1:
            v.requeued[t.id] = rs

    # the phones' own record: the notes
    owner = {m: task_id for task_id, m in marks.items()}
    for phone in phones:
        for note in phone.notes:
            if note in owner:
                v.marks.setdefault(owner[note], []).append(phone.key)
    for t in mine:
        rs, shown = by_task.get(t.id, []), v.marks.get(t.id, [])
        attempted = {phone_of(r) for r in rs}
        if t.status == "succeeded" and not any(phone_of(r) in shown for r in rs if r.status == "succeeded"):
            v.missing_marks.append(t.id)
        if any(p not in attempted for p in shown):
            v.stray_marks.append(t.id)
        if len(shown) > len(rs):
            v.extra_marks.append(t.id)

    # the phones' own record: when input arrived
    spans = {rid: (min(ts), max(ts)) for rid, ts in attribute_inputs(runs, phones).items()}
    for task_id, rs in by_task.items():
        s = sorted(spans[r.id] for r in rs if r.id in spans)
        if any(b[0] <= a[1] for a, b in zip(s, s[1:], strict=False)):
            v.phone_overlaps.append(task_id)

    if cut_host is not None and cut_at is not None:
        inputs = attribute_inputs(runs, phones)
        for r in runs:
            if r.host == cut_host and r.claimed < cut_at and (r.ended is None or r.ended > cut_at):
                after = [t for t in inputs.get(r.id, []) if t >= cut_at]
                v.fence.append(FenceCheck(r.task_id, r.id, phone_of(r), r.heartbeat + lease_s,
                                          max(after) if after else None, len(after)))
    return v


def history(runs: list[RunRecord], t0: float = 0.0) -> list[str]:
    """One line per attempt: when (s since t0), where, how it ended."""
    return [f"attempt {r.attempt}: {r.host or '?'}/{r.device} claimed +{r.claimed - t0:.2f} s, ended "
            + (f"+{r.ended - t0:.2f} s" if r.ended else "never") + f", {r.status}" + (f" ({r.reason})" if r.reason else "")
            for r in runs]
