"""The fence's deadline, the TCP proxy's cut / stall / restore, and the fault-run verdict: that it
catches what it is there to catch (overlapping input on phones, input after a lease ended, a
lost task, a missing mark)."""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Iterator

import pytest

from guiagent.daemon.fault_check import PhoneRecord, attribute_inputs, judge
from guiagent.daemon.fence import LeaseExpired, LeaseFence
from guiagent.daemon.models import RunRecord, TaskRecord
from guiagent.daemon.tcp_proxy import TcpProxy
from guiagent.schema.errors import ConfigError


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_the_fence_closes_lease_minus_margin_after_the_last_renewal_and_stays_closed() -> None:
    clock = Clock()
    fence = LeaseFence(4.0, 1.0, taken_at=100.0, clock=clock)
    clock.t = 102.9
    fence.check()
    fence.renewed(102.0)  # a renewal sent at 102.0 succeeded: 3 s from there
    clock.t = 104.9
    fence.check()
    clock.t = 105.0
    with pytest.raises(LeaseExpired, match="fenced"):
        fence.check()
    assert fence.fenced_at == 105.0 and fence.expired
    fence.renewed(104.5)  # too late: the host has assumed the task lost
    clock.t = 105.1
    with pytest.raises(LeaseExpired):
        fence.check()


def test_a_revoked_fence_refuses_at_once_and_a_bad_margin_is_refused() -> None:
    fence = LeaseFence(10.0, 1.0)
    fence.revoke("the task's lease was lost")
    with pytest.raises(LeaseExpired, match="lease was lost"):
        fence.check()
    with pytest.raises(ConfigError):
        LeaseFence(2.0, 2.0)


@pytest.fixture
def echo_port() -> Iterator[int]:
    srv = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return

            def echo(c: socket.socket = conn) -> None:
                try:
                    while data := c.recv(100):
                        c.sendall(data)
                except OSError:
                    pass

            threading.Thread(target=echo, daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield srv.getsockname()[1]
    srv.close()


def test_the_proxy_forwards_stalls_cuts_and_restores(echo_port: int) -> None:
    with TcpProxy("127.0.0.1", echo_port) as proxy:
        a = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        a.sendall(b"one")
        assert a.recv(10) == b"one"
        proxy.stall()
        a.sendall(b"two")
        a.settimeout(0.3)
        with pytest.raises(socket.timeout):  # held, not lost
            a.recv(10)
        proxy.restore()
        a.settimeout(5)
        assert a.recv(10) == b"two"
        proxy.cut()
        with pytest.raises(OSError):  # reset
            a.sendall(b"x")
            a.recv(10)
        with pytest.raises(OSError):  # new connections are reset too while cut (maybe before connect returns)
            b = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
            b.sendall(b"y")
            if not b.recv(10):
                raise ConnectionResetError("closed")
        proxy.restore()
        c = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        c.sendall(b"back")
        assert c.recv(10) == b"back"


def _task(task_id: str, status: str, attempts: int) -> TaskRecord:
    return TaskRecord.model_validate({"id": task_id, "task": "x", "status": status, "planner": "rule", "max_steps": 5,
                                      "timeout_s": 60, "attempts": attempts, "max_attempts": 3, "created": 0.0})


def _run(rid: int, task_id: str, host: str, serial: str, claimed: float, ended: float, status: str,
         heartbeat: float | None = None) -> RunRecord:
    return RunRecord.model_validate({"id": rid, "task_id": task_id, "attempt": rid, "owner": f"d/{serial}",
                                     "device": serial, "host": host, "ready_at": claimed, "claimed": claimed,
                                     "ended": ended, "heartbeat": heartbeat or claimed, "status": status})


def test_the_verdict_sees_overlap_late_input_and_missing_marks_on_the_phones() -> None:
    # task a: attempt 1 on h1/p1 (cut at 10, last renewal 9.5, lease 4 -> ends 13.5), attempt 2 on h2/p2 from 14
    runs = [_run(1, "a", "h1", "p1", 5.0, 15.0, "interrupted", heartbeat=9.5),
            _run(2, "a", "h2", "p2", 14.0, 18.0, "succeeded"),
            _run(3, "b", "h2", "p2", 18.5, 20.0, "succeeded")]
    tasks = [_task("a", "succeeded", 2), _task("b", "succeeded", 1), _task("c", "queued", 0)]
    good_phones = [PhoneRecord("h1", "p1", ("ma",), ((6.0, "tap"), (12.0, "text ma"))),
                   PhoneRecord("h2", "p2", ("ma", "mb"), ((14.5, "tap"), (17.0, "key 66"), (19.0, "tap")))]
    marks = {"a": "ma", "b": "mb", "c": "mc"}
    v = judge(["a", "b", "c"], tasks, runs, good_phones, marks, Counter(a=1, b=1), cut_host="h1", cut_at=10.0,
              lease_s=4.0)
    assert v.lost == ["c"] and not v.phone_overlaps and not v.missing_marks and not v.stray_marks
    (f,) = v.fence
    assert f.ok and f.last_input == 12.0 and f.slack_s == pytest.approx(1.5)
    assert list(v.requeued) == ["a"] and attribute_inputs(runs, good_phones)[3] == [19.0]

    # the cut host kept typing past its lease, into the time the retry drove the other phone;
    # b's phone lost its note; b finished twice
    bad_phones = [PhoneRecord("h1", "p1", ("ma",), ((6.0, "tap"), (14.8, "text ma"))),
                  PhoneRecord("h2", "p2", ("ma",), ((14.5, "tap"), (17.0, "key 66"), (19.0, "tap")))]
    v = judge(["a", "b"], tasks, runs, bad_phones, marks, Counter(a=1, b=2), cut_host="h1", cut_at=10.0, lease_s=4.0)
    assert v.phone_overlaps == ["a"] and v.missing_marks == ["b"] and v.finished_twice == ["b"]
    assert not v.fence[0].ok and not v.ok and any("after the lease ended" in x for x in v.violations)
