"""Several hosts, one fleet, on real parts: daemon processes (each its own private adb server and
virtual phones) sharing one throwaway PostgreSQL database and one token file.

- the fence refuses input at the device layer once the lease may have run out (the phone's own
  input log shows nothing after it);
- any host's API serves the whole fleet: GET /devices shows every host's phones, a task can
  target a host or one host's phone and is read back through another host;
- the fault run: one host SIGKILLed, one cut off from the database (through a TCP proxy) for
  longer than the lease, one host's phones dropped for 5 s; every task terminal exactly once,
  none lost, no two attempts at once, checked from the run log and from the phones.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from guiagent.daemon.cluster import Cluster
from guiagent.daemon.fault_run import FaultPlan, fault_run
from guiagent.daemon.fence import FencedDevice, LeaseExpired, LeaseFence
from guiagent.daemon.fleet import AdbServer
from guiagent.daemon.models import TERMINAL
from guiagent.schema.actions import Back, Home

pytest.importorskip("fastapi")
pytest.importorskip("adbutils")
pytest.importorskip("psycopg")
pytestmark = pytest.mark.timeout(300)

from test_daemon_fault import RUN_CLI  # noqa: E402 - the daemons run on the minimal install (same folder)

PYTHON = [sys.executable, "-c", RUN_CLI]


def test_the_fence_stops_input_at_the_device_layer(tmp_path: Path) -> None:
    from devices.simphone import SimPhone
    from devices.simphone.launch import _client, adb_connect
    from guiagent.registry import build_device

    now = [0.0]
    fence = LeaseFence(4.0, 1.0, taken_at=0.0, clock=lambda: now[0])
    with AdbServer() as adb, SimPhone(port=0) as phone:
        adb_connect(phone.serial, timeout=20, client=_client(adb_port=adb.port))
        device = FencedDevice(build_device(f"android:{phone.serial}", adb_port=adb.port), fence)
        try:
            now[0] = 2.9
            device.execute(Home())
            before = phone.input_log()
            assert before and before[-1][1] == "key 3"  # the phone saw it
            now[0] = 3.0  # lease 4 s - margin 1 s after the claim: no more input
            with pytest.raises(LeaseExpired):
                device.execute(Back())
            with pytest.raises(LeaseExpired):
                device.execute(Home())
            assert phone.input_log() == before  # the phone's own log: nothing reached it
        finally:
            device.close()


def test_any_host_serves_the_whole_fleet(tmp_path: Path, pg_url: str) -> None:
    with Cluster(tmp_path, pg_url, hosts=2, phones=1) as c:
        c.start(python=PYTHON)
        (p0,), (p1,) = c.hosts[0].phones, c.hosts[1].phones
        devices = c.hosts[0].http.get("/devices").json()
        assert {(d["host"], d["serial"]) for d in devices} == {("host-0", p0.serial), ("host-1", p1.serial)}
        assert all(d["state"] == "idle" for d in devices)
        # through host 0's API: one task for host 1, one for host 0's phone by serial
        (on_1,) = c.hosts[0].submit(["wait 0.2 seconds"], host="host-1")
        (on_p0,) = c.hosts[1].submit(["wait 0.2 seconds"], device=p0.serial)
        c.hosts[0].wait(lambda: c.terminal_count([on_1, on_p0]) == 2, 60, "both tasks done")
        for task_id, host, serial in ((on_1, "host-1", p1.serial), (on_p0, "host-0", p0.serial)):
            for api in c.hosts:  # read back through either host
                t = api.http.get(f"/tasks/{task_id}").json()
                assert (t["status"], t["host"], t["device"]) == ("succeeded", host, serial), t
        assert c.hosts[1].http.post("/tasks", json={"task": "x", "host": "h" * 201}).status_code == 422
        r = c.hosts[1].http.post("/tasks", json={"task": "x", "host": "host-9"})
        assert r.status_code == 422 and "no host 'host-9'" in r.json()["detail"] and "host-0" in r.json()["detail"]


def test_three_hosts_lose_nothing_under_kill_cut_and_drop(tmp_path: Path, pg_url: str) -> None:
    plan = FaultPlan(hosts=3, phones=2, tasks=30, lease_s=4.0, drop_s=5.0)
    r = fault_run(pg_url, tmp_path, plan, python=PYTHON)
    print("\n".join(r.events))
    print(f"{len(r.ids)} tasks, {r.requeues} re-queues, {dict(r.verdict.statuses)}, {r.wall_s:.1f} s; "
          f"cut for {r.cut_s:.1f} s, {r.fenced} run(s) stopped by the fence")
    for task_id, lines in r.histories().items():
        print(task_id, *lines, sep="\n  ")

    assert r.ok, r.verdict.violations
    assert len(r.tasks) == plan.tasks and all(t.status in TERMINAL for t in r.tasks)
    assert r.verdict.statuses["succeeded"] >= plan.tasks - 2, r.verdict.statuses
    assert r.killed and r.cut and r.dropped  # every fault hit running tasks
    assert r.cut_s > plan.lease_s  # cut off for longer than the lease
    by_task = r.verdict.requeued
    # re-queued and run on another host (a task whose result was committed just as the fault hit is not)
    assert any(t in by_task for t in r.killed) and any(t in by_task for t in r.cut), (r.killed, r.cut)
    for task_id in (t for t in r.killed + r.cut if t in by_task):
        first, *later = by_task[task_id]
        assert first.status == "interrupted" and any(x.host != first.host for x in later), by_task[task_id]
    # the cut host sent no input after its lease could have ended (the phones' own logs)
    assert r.verdict.fence and all(f.ok for f in r.verdict.fence)
    assert any(x.status == "device_lost" for x in r.runs if x.host == "host-2")
