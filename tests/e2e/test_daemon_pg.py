"""The daemon on PostgreSQL end to end: a real daemon (uvicorn in a thread) whose queue is a
database of the session's throwaway cluster, a private adb server and a virtual phone. A task
submitted through the API runs on the phone; a task that another host queues straight into the
database wakes the idle daemon through LISTEN/NOTIFY although its fallback poll is an hour; the
fleet's devices carry their host; a second daemon with the same host id is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from waiting import wait_until

from guiagent.daemon.config import DaemonConfig
from guiagent.daemon.fleet import AdbServer
from guiagent.daemon.server import Daemon
from guiagent.daemon.store import TaskStore
from guiagent.schema.errors import ConfigError

pytest.importorskip("fastapi")
pytestmark = pytest.mark.timeout(240)

TOKEN = "s3cret-token-of-the-pg-test"
TERMINAL = {"succeeded", "failed", "cancelled", "interrupted"}


def test_a_daemon_serves_a_postgres_queue(pg_url: str, adb: AdbServer, phone: Any, tmp_path: Path) -> None:
    phone.reset()
    config = DaemonConfig(db=pg_url, host_id="h1", data_dir=tmp_path / "h1", port=0, token=TOKEN,
                          devices=(phone.serial,), adb_port=adb.port, ocr=False, heartbeat_s=0.2, lease_s=5.0,
                          allow_apps=frozenset({"Settings"}), max_steps=10, max_seconds=60.0,
                          poll_s=3600.0)  # only NOTIFY can wake an idle worker in time
    daemon = Daemon(config).start().serve_in_thread()
    other = TaskStore(pg_url, host="h2")  # another host of the fleet: its own connections
    try:
        http = httpx.Client(base_url=daemon.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)

        def finish(task_id: str) -> dict[str, Any]:
            def done() -> dict[str, Any] | None:
                t = http.get(f"/tasks/{task_id}").json()
                return t if t["status"] in TERMINAL else None
            return wait_until(done, 120, f"task {task_id} to finish")

        wait_until(lambda: http.get("/health").json()["devices"]["online"] == 1, 30, "the phone online")
        first = http.post("/tasks", json={"task": "Open Settings and turn on Wi-Fi"})
        assert first.status_code == 201, first.text
        t = finish(first.json()["id"])
        assert t["status"] == "succeeded" and t["host"] == "h1", t
        assert phone.state["wifi"] is True  # the phone's own state, not the agent's verdict

        wait_until(lambda: http.get("/devices").json()[0]["state"] == "idle", 30, "the phone idle again")
        queued = other.add_task("go home, open Settings and turn off Wi-Fi", planner="rule", max_steps=10, timeout_s=60,
                                max_attempts=1, host="h1")
        t = finish(queued.id)  # a poll every hour would not see it within the wait
        assert t["status"] == "succeeded" and t["requested_host"] == "h1", (t["error"], t["result"])
        assert phone.state["wifi"] is False
        assert other.get_task(queued.id).status == "succeeded"  # any host reads any task

        devices = http.get("/devices").json()
        assert [(d["host"], d["serial"]) for d in devices] == [("h1", phone.serial)]
        assert [h.host for h in other.list_hosts()] == ["h1"] and other.list_hosts()[0].url == daemon.url
        with pytest.raises(ConfigError, match="h1"):  # one daemon per host id
            Daemon(DaemonConfig(db=pg_url, host_id="h1", data_dir=tmp_path / "h1b", port=0, token=TOKEN,
                                devices=(phone.serial,), adb_port=adb.port)).start()
    finally:
        other.close()
        daemon.stop()
