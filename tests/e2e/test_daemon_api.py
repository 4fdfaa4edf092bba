"""The daemon's HTTP API end to end: a real uvicorn on a free port (in a thread), httpx, the real
adb server (a private one) and a virtual phone. Checks the contract, auth, cancels, budgets,
the event stream, trajectories, and sensitive actions refused or held for approval."""

from __future__ import annotations

import base64
import io
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from waiting import wait_until

from guiagent.daemon.config import DaemonConfig, is_loopback
from guiagent.daemon.fleet import AdbServer
from guiagent.daemon.server import Daemon
from guiagent.schema.errors import ConfigError

pytest.importorskip("fastapi")
pytest.importorskip("adbutils")
pytestmark = pytest.mark.timeout(240)

TOKEN = "s3cret-token-of-the-api-test"
TERMINAL = {"succeeded", "failed", "cancelled", "interrupted"}


class Served:
    def __init__(self, daemon: Daemon, client: httpx.Client) -> None:
        self.daemon, self.http = daemon, client

    def submit(self, task: str, **fields: Any) -> str:
        r = self.http.post("/tasks", json={"task": task, **fields})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def task(self, task_id: str) -> dict[str, Any]:
        r = self.http.get(f"/tasks/{task_id}")
        assert r.status_code == 200, r.text
        return r.json()

    def finish(self, task_id: str, timeout: float = 60.0) -> dict[str, Any]:
        return wait_until(lambda: (t := self.task(task_id))["status"] in TERMINAL and t, timeout, f"task {task_id}")


@pytest.fixture(scope="module")
def make_daemon(adb: AdbServer, phone: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Served]]:
    started: list[Daemon] = []

    def make(**overrides: Any) -> Served:
        for d in started:  # one daemon drives the phone at a time
            d.stop()
        db = tmp_path_factory.mktemp("daemon") / "queue.db"
        config = DaemonConfig(**{"db": db, "port": 0, "token": TOKEN, "devices": (phone.serial,),
                                 "adb_port": adb.port, "ocr": False, "heartbeat_s": 0.2, "lease_s": 5.0,
                                 "allow_apps": frozenset({"Settings"}), "max_steps": 10, "max_seconds": 60.0,
                                 **overrides})
        daemon = Daemon(config).start().serve_in_thread()
        started.append(daemon)
        client = httpx.Client(base_url=daemon.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
        served = Served(daemon, client)
        wait_until(lambda: client.get("/health").json()["devices"]["online"] == 1, 30, "the phone online")
        return served

    yield make
    for d in started:
        d.stop()


@pytest.fixture(scope="module")
def api(make_daemon: Callable[..., Served]) -> Served:
    return make_daemon()


@pytest.fixture(autouse=True)
def _fresh_phone(phone: Any) -> None:
    phone.reset()


def test_every_route_needs_the_bearer_token_but_the_docs(api: Served) -> None:
    bare = httpx.Client(base_url=api.daemon.url, timeout=10)
    for method, path in (("GET", "/health"), ("GET", "/tasks"), ("GET", "/devices"), ("GET", "/approvals"),
                         ("GET", "/tasks/t-x"), ("POST", "/tasks"), ("POST", "/tasks/t-x/cancel"),
                         ("GET", "/events?follow=false"), ("POST", "/approvals/a-x")):
        r = bare.request(method, path, json={"task": "wait 1 second"} if method == "POST" else None)
        assert r.status_code == 401, (method, path, r.status_code)
        assert r.headers["www-authenticate"] == "Bearer"
        wrong = bare.request(method, path, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
    assert bare.get("/health", headers={"Authorization": TOKEN}).status_code == 401  # scheme missing
    assert "Bearer" in bare.get("/tasks").json()["detail"]  # says what to send
    assert bare.get("/docs").status_code == 200 and bare.get("/login").status_code == 200
    schema = bare.get("/openapi.json").json()
    assert {"/tasks", "/tasks/{task_id}", "/devices", "/approvals", "/events", "/health"} <= set(schema["paths"])
    health = api.http.get("/health").json()
    assert health["status"] == "ok" and health["mode"] == "unattended" and health["devices"]["online"] == 1


def test_a_task_runs_on_the_phone_and_is_recorded(api: Served, phone: Any) -> None:
    serial = phone.serial
    task_id = api.submit("Open Settings and turn on Wi-Fi")
    t = api.finish(task_id)
    assert t["status"] == "succeeded", t
    assert t["device"] == serial and t["attempts"] == 1 and t["error"] is None
    assert t["result"]["status"] == "success" and t["steps"] == t["result"]["steps"] >= 2
    assert phone.state.values["wifi"] is True  # the phone's own state, not the daemon's word
    assert task_id in {x["id"] for x in api.http.get("/tasks", params={"status": "succeeded"}).json()}
    assert task_id not in {x["id"] for x in api.http.get("/tasks", params={"status": "queued"}).json()}
    assert api.http.get("/tasks", params={"status": "done"}).status_code == 422
    assert api.http.get("/tasks/t-nope").status_code == 404

    (run,) = api.http.get(f"/tasks/{task_id}/runs").json()
    assert run["status"] == "succeeded" and run["device"] == serial and run["started"] >= run["claimed"]
    traj = api.http.get(f"/tasks/{task_id}/trajectory").json()
    assert traj["run"] == run["id"] and traj["meta"]["status"] == "success"
    assert [s["action"]["type"] for s in traj["steps"]][0] == "open_app" and len(traj["steps"]) == t["steps"]
    frame = api.http.get(traj["steps"][1]["frame_url"])
    assert frame.status_code == 200 and frame.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(frame.content)).size == (720, 1280)
    inline = api.http.get(f"/tasks/{task_id}/trajectory", params={"frames": "base64"}).json()
    png = base64.b64decode(inline["steps"][0]["frame_base64"])
    assert Image.open(io.BytesIO(png)).size == (720, 1280)
    assert api.http.get(f"/tasks/{task_id}/runs/{run['id']}/frames/..%2Fmeta.json").status_code == 404

    events = api.http.get("/events", params={"after": 0, "follow": "false", "task": task_id}).text
    kinds = [line[len("event: "):] for line in events.splitlines() if line.startswith("event: ")]
    assert kinds[:2] == ["task_queued", "task_started"] and kinds[-1] == "task_finished"
    assert kinds.count("step") == t["steps"]


def test_bad_requests_get_clear_422s(api: Served, phone: Any) -> None:
    cases = [({"task": ""}, "task"), ({"task": "wait 1 second", "planner": "gpt9"}, "unknown planner 'gpt9'"),
             ({"task": "wait 1 second", "max_steps": 999}, "exceeds this daemon's limit of 10"),
             ({"task": "wait 1 second", "timeout_s": 1e6}, "exceeds this daemon's limit of 60"),
             ({"task": "wait 1 second", "device": "10.0.0.9:5555"}, "not served by this daemon"),
             ({"task": "wait 1 second", "max_steps": 0}, "max_steps"), ({}, "task")]
    for body, needle in cases:
        r = api.http.post("/tasks", json=body)
        assert r.status_code == 422, (body, r.text)
        assert needle in r.text, (body, r.text)
    assert api.http.post("/tasks", content=b"{not json", headers={"content-type": "application/json"}).status_code == 422
    pinned = api.submit("wait 0.1 seconds", device=phone.serial)
    assert api.finish(pinned)["status"] == "succeeded"


def test_step_budget_and_unattended_refusal(api: Served, phone: Any) -> None:
    over = api.finish(api.submit("Open Settings and turn on Wi-Fi", max_steps=1))
    assert over["status"] == "failed" and "step budget of 1" in over["error"]
    refused = api.finish(api.submit("Open Wallet"))
    assert refused["status"] == "failed"
    assert "refused" in refused["error"] and "allowlist" in refused["error"]
    assert phone.state.package != "com.example.wallet"  # never opened
    assert api.http.get("/approvals", params={"status": "all"}).json() == []


def test_cancel_a_queued_and_a_running_task(api: Served, phone: Any) -> None:
    long_id = api.submit("wait 3 seconds")
    wait_until(lambda: api.task(long_id)["status"] == "running", 30, "the long task running")
    devices = api.http.get("/devices").json()
    assert len(devices) == 1 and devices[0]["serial"] == phone.serial
    wait_until(lambda: api.http.get("/devices").json()[0]["current_task"] == long_id, 30, "the device busy with it")
    queued_id = api.submit("wait 0.1 seconds")
    r = api.http.post(f"/tasks/{queued_id}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    r = api.http.post(f"/tasks/{long_id}/cancel")
    assert r.status_code == 200 and r.json()["cancel_requested"] is True
    done = api.finish(long_id, 30)
    assert done["status"] == "cancelled" and "cancelled" in done["error"]
    assert api.http.post(f"/tasks/{long_id}/cancel").status_code == 409
    assert api.http.post("/tasks/t-missing/cancel").status_code == 404
    assert api.task(queued_id)["attempts"] == 0  # it never ran
    wait_until(lambda: api.http.get("/devices").json()[0]["state"] == "idle", 30, "the device idle again")


def test_live_event_stream_follows_a_task(api: Served) -> None:
    seen: list[dict[str, Any]] = []
    connected = threading.Event()
    finished = threading.Event()

    def listen() -> None:
        with httpx.Client(base_url=api.daemon.url, headers={"Authorization": f"Bearer {TOKEN}"},
                          timeout=httpx.Timeout(30, read=30)) as c, c.stream("GET", "/events") as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            for line in r.iter_lines():
                if line.startswith(":"):
                    connected.set()
                if line.startswith("data: "):
                    seen.append(json.loads(line[6:]))
                    if seen[-1]["kind"] == "task_finished":
                        finished.set()
                        return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert connected.wait(10)
    task_id = api.submit("wait 0.1 seconds")
    assert finished.wait(60), seen
    mine = [e for e in seen if e["task_id"] == task_id]
    assert [e["kind"] for e in mine][0] == "task_queued" and mine[-1]["data"]["status"] == "succeeded"
    assert any(e["kind"] == "step" for e in mine)
    assert [e["id"] for e in seen] == sorted(e["id"] for e in seen)


def test_sensitive_actions_are_held_for_approval(make_daemon: Callable[..., Served], phone: Any) -> None:
    api = make_daemon(approvals=True)
    assert api.http.get("/health").json()["mode"] == "approvals"
    task_id = api.submit("Open Wallet")
    held = wait_until(lambda: api.http.get("/approvals").json(), 30, "a pending approval")
    (approval,) = held
    assert approval["task_id"] == task_id and approval["status"] == "pending"
    assert "Wallet" in approval["action"] and "allowlist" in approval["reason"]
    assert api.task(task_id)["approval"] == approval["id"] and api.task(task_id)["status"] == "running"
    assert phone.state.package != "com.example.wallet"  # held, not run
    assert api.http.post(f"/approvals/{approval['id']}", json={"decision": "maybe"}).status_code == 422
    r = api.http.post(f"/approvals/{approval['id']}", json={"decision": "approve"})
    assert r.status_code == 200 and r.json()["status"] == "approve"

    def approve_the_rest() -> dict[str, Any] | None:  # the foreground check may ask again: Wallet is not allowed
        for held in api.http.get("/approvals", params={"task": task_id}).json():
            api.http.post(f"/approvals/{held['id']}", json={"decision": "approve"})
        t = api.task(task_id)
        return t if t["status"] in TERMINAL else None

    assert wait_until(approve_the_rest, 60, "the approved task done")["status"] == "succeeded"
    assert phone.state.package == "com.example.wallet"
    assert api.http.post(f"/approvals/{approval['id']}", json={"decision": "stop"}).status_code == 409
    assert api.http.post("/approvals/a-missing", json={"decision": "stop"}).status_code == 404

    phone.reset()
    stopped_id = api.submit("Open Wallet")
    (second,) = wait_until(lambda: api.http.get("/approvals").json(), 30, "a second pending approval")
    assert api.http.post(f"/approvals/{second['id']}", json={"decision": "stop"}).status_code == 200
    stopped = api.finish(stopped_id)
    assert stopped["status"] == "cancelled" and "declined" in stopped["error"]
    assert phone.state.package != "com.example.wallet"
    decided = api.http.get("/approvals", params={"status": "all", "task": stopped_id}).json()
    assert [a["status"] for a in decided] == ["stop"]


def test_listening_rules_and_one_daemon_per_database(tmp_path: Path, adb: AdbServer) -> None:
    assert DaemonConfig(db=tmp_path / "q.db", host="0.0.0.0").allowed_hosts == {"127.0.0.1", "localhost", "::1"}
    assert "box.lan" in DaemonConfig(db=tmp_path / "q.db", host="10.0.0.5", allow_hosts=("Box.LAN",)).allowed_hosts
    assert "10.0.0.5" in DaemonConfig(db=tmp_path / "q.db", host="10.0.0.5").allowed_hosts
    with pytest.raises(ConfigError, match="without a port"):
        DaemonConfig(db=tmp_path / "q.db", allow_hosts=("box.lan:8765",))
    with pytest.raises(ConfigError, match="not both"):
        DaemonConfig(db=tmp_path / "q.db", token=TOKEN, token_file=tmp_path / "t")
    assert is_loopback("::1") and is_loopback("localhost") and not is_loopback("8.8.8.8")
    with pytest.raises(ConfigError, match="planner"):
        DaemonConfig(db=tmp_path / "q.db", planner="nope")
    with pytest.raises(ConfigError, match="grounder"):
        DaemonConfig(db=tmp_path / "q.db", grounder="nope")
    first = Daemon(DaemonConfig(db=tmp_path / "q.db", port=0, devices=("127.0.0.1:9",), adb_port=adb.port)).start()
    try:
        assert first.token_generated and first.token_file == tmp_path / "q.token"
        with pytest.raises(ConfigError, match="another daemon"):
            Daemon(DaemonConfig(db=tmp_path / "q.db", port=0, devices=("127.0.0.1:9",), adb_port=adb.port)).start()
    finally:
        first.stop()
    again = Daemon(DaemonConfig(db=tmp_path / "q.db", port=0, devices=("127.0.0.1:9",), adb_port=adb.port)).start()
    again.stop()  # the lock was released
    assert again.token == first.token and not again.token_generated  # the generated token is reused


def test_auto_mode_follows_devices_as_adb_reports_them(make_daemon: Callable[..., Served], adb: AdbServer,
                                                       phone: Any) -> None:
    from devices.simphone import SimPhone
    from devices.simphone.launch import _client, adb_connect, adb_disconnect

    api = make_daemon(devices=None)  # --devices auto: whatever the (private) adb server lists
    client = _client(adb_port=adb.port)

    def state(serial: str) -> str | None:
        return next((d["state"] for d in api.http.get("/devices").json() if d["serial"] == serial), None)

    with SimPhone(scenario="default") as newcomer:
        assert state(newcomer.serial) is None
        adb_connect(newcomer.serial, client=client)
        try:
            wait_until(lambda: state(newcomer.serial) == "idle", 30, "the new phone in the pool")
            t = api.finish(api.submit("Open Settings and turn on Wi-Fi", device=newcomer.serial))
            assert t["status"] == "succeeded" and t["device"] == newcomer.serial
            assert newcomer.state.values["wifi"] is True and phone.state.values["wifi"] is False
        finally:
            adb_disconnect(newcomer.serial, client)
        wait_until(lambda: state(newcomer.serial) == "offline", 30, "the unplugged phone offline")
        assert state(phone.serial) == "idle"
        listed = {d["serial"]: d for d in api.http.get("/devices").json()}
        assert listed[newcomer.serial]["adb_state"] == "absent"
