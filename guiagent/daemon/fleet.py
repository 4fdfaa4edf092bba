"""A fleet for benchmarks and end-to-end tests: virtual phones served from this process, the
daemon as a real subprocess (so it can be SIGKILLed), and an HTTP client with the token (which
the daemon reads from a 0600 token file, as the hosts of a real fleet share one).

The phones go through a real adb server (the one at `adb_port`) exactly as hardware would.
One `Fleet` is one host; cluster.py runs several of them against one PostgreSQL database.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from guiagent.daemon.models import TERMINAL, RunRecord, TaskRecord
from guiagent.schema.errors import DeviceError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AdbServer:
    """A private adb server on a free port (`adb -P PORT server nodaemon`), so that a test or a
    benchmark sees only its own phones. Stopped by its pid, never by `adb kill-server`."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> AdbServer:
        import adbutils

        env = {**os.environ, "ADB_LIBUSB": "0", "ADB_MDNS": "0"}
        self.proc = subprocess.Popen([adbutils.adb_path(), "-P", str(self.port), "server", "nodaemon"], env=env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = adbutils.AdbClient(port=self.port, socket_timeout=5)
        deadline = time.monotonic() + timeout
        while True:
            try:
                client.server_version()
                return self
            except (adbutils.AdbError, OSError):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise DeviceError(f"a private adb server on port {self.port} did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)

    def __enter__(self) -> AdbServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Fleet:
    def __init__(self, workdir: Path, *, adb_port: int = 5037, token: str | None = None,
                 scenario: str = "default", token_file: Path | None = None, db: str | Path | None = None,
                 host_id: str | None = None) -> None:
        """`token_file`: an existing one to share (the hosts of a fleet), else one is written here.
        `db`: a path or URL (`postgresql://...`); `host_id`: the daemon's --host-id."""
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        if token_file is not None:
            self.token_file = token_file
            self.token = token_file.read_text().strip()
        else:
            self.token = token or secrets.token_urlsafe(32)
            self.token_file = write_token_file(self.workdir / "fleet.token", self.token)
        self.adb_port, self.scenario, self.host_id = adb_port, scenario, host_id
        self.phones: list[Any] = []
        self.proc: subprocess.Popen[bytes] | None = None
        self.db: str | Path | None = db
        self.starts = 0
        self.new_port()

    def new_port(self) -> int:
        """Pick the daemon's port (again: right before a launch, so nothing started since took it)."""
        import httpx

        old: Any = self.__dict__.get("http")
        if old is not None:
            old.close()
        self.port = free_port()
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30.0,
                                 headers={"Authorization": f"Bearer {self.token}"})
        return self.port

    # -- phones --------------------------------------------------------------------------------

    def add_phones(self, n: int) -> list[Any]:
        from devices.simphone import SimPhone
        from devices.simphone.launch import _client, adb_connect

        client = _client(adb_port=self.adb_port)
        added = []
        for _ in range(n):
            phone = SimPhone(port=0, scenario=self.scenario).start()
            self.phones.append(phone)
            adb_connect(phone.serial, timeout=20.0, client=client)
            added.append(phone)
        return added

    # -- the daemon ----------------------------------------------------------------------------

    def start_daemon(self, serials: Iterable[str], *, db: str | Path | None = None, args: Iterable[str] = (),
                     wait_online: int | None = None, timeout: float = 60.0,
                     python: Iterable[str] | None = None, wait_warm: bool = False) -> subprocess.Popen[bytes]:
        """Start `guiagent daemon` on this fleet's port; returns once /health answers and
        `wait_online` devices (default: all) are open (and, with `wait_warm`, optional models
        are loaded: benchmarks measure the steady state). `python` replaces the interpreter part
        of the command (default: this interpreter, `-m guiagent`)."""
        serials = list(serials)
        self.launch_daemon(serials, db=db, args=args, python=python)
        self.wait_ready(len(serials) if wait_online is None else wait_online, timeout, wait_warm)
        assert self.proc is not None
        return self.proc

    def launch_daemon(self, serials: Iterable[str], *, db: str | Path | None = None, args: Iterable[str] = (),
                      python: Iterable[str] | None = None) -> subprocess.Popen[bytes]:
        """Start the daemon process and return at once (wait_ready() waits for it)."""
        self.db = db or self.db or self.workdir / "queue.db"
        self.starts += 1
        log = open(self.workdir / f"daemon-{self.starts}.log", "wb")  # noqa: SIM115 - the child writes it
        extra = []
        if self.host_id:
            extra += ["--host-id", self.host_id]
        if str(self.db).startswith("postgres"):  # the token and trajectories go beside nothing: here
            extra += ["--data-dir", str(self.workdir / "data")]
        cmd = [*(python or (sys.executable, "-m", "guiagent")), "-v", "daemon", "--db", str(self.db), "--port", str(self.port),
               "--devices", ",".join(serials), "--adb-port", str(self.adb_port), "--no-ocr",
               "--token-file", str(self.token_file), *extra, *args]
        env = {**os.environ, "ADB_LIBUSB": "0", "PYTHONUNBUFFERED": "1"}
        env.pop("GUIAGENT_TOKEN", None)
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        log.close()
        return self.proc

    def wait_ready(self, online: int, timeout: float = 60.0, wait_warm: bool = False) -> None:
        self.wait(lambda: self._online(wait_warm) >= online, timeout + (60 if wait_warm else 0),
                  f"the daemon with {online} device(s) online")

    def _online(self, wait_warm: bool = False) -> int:
        if self.proc is not None and self.proc.poll() is not None:
            raise DeviceError(f"the daemon exited with {self.proc.returncode}; see {self.workdir}/daemon-*.log")
        import httpx

        try:
            r = self.http.get("/health")
        except httpx.TransportError:
            return -1
        if r.status_code != 200 or (wait_warm and r.json().get("warming")):
            return -1
        return int(r.json()["devices"]["online"])

    def kill_daemon(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)
            self.proc = None

    def stop_daemon(self, timeout: float = 60.0) -> int | None:
        """SIGTERM and wait (a clean shutdown); SIGKILL if it does not end in time."""
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
            return None

    # -- the API -------------------------------------------------------------------------------

    def submit(self, texts: Iterable[str], **fields: Any) -> list[str]:
        ids = []
        for text in texts:
            r = self.http.post("/tasks", json={"task": text, **fields})
            r.raise_for_status()
            ids.append(r.json()["id"])
        return ids

    def tasks(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            batch = self.http.get("/tasks", params={"limit": 1000, "offset": len(out)}).json()
            out += batch
            if len(batch) < 1000:
                return out

    def starting_on(self, serial: str) -> str | None:
        """The task `serial` runs, if it has done no step yet (a fault injected now hits it)."""
        device = next((d for d in self.http.get("/devices").json() if d["serial"] == serial), None)
        if device is None or device["state"] != "busy" or not device["current_task"]:
            return None
        task = self.http.get(f"/tasks/{device['current_task']}").json()
        return task["id"] if task["status"] == "running" and task["steps"] == 0 else None

    def terminal_count(self, ids: Iterable[str]) -> int:
        wanted = set(ids)
        return sum(1 for t in self.tasks() if t["id"] in wanted and t["status"] in TERMINAL)

    def wait(self, pred: Callable[[], Any], timeout: float, what: str, poll: float = 0.1) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = pred()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
            time.sleep(poll)

    def read_db(self) -> tuple[list[TaskRecord], list[RunRecord]]:
        """Tasks and the run log, straight from the database (WAL: safe while the daemon writes,
        and readable when it is down)."""
        assert self.db is not None
        return read_queue(self.db)

    def runs(self) -> list[RunRecord]:
        return self.read_db()[1]

    def close(self) -> None:
        from devices.simphone.launch import _client, adb_disconnect

        self.stop_daemon(30)
        self.http.close()
        client = _client(adb_port=self.adb_port)
        for phone in self.phones:
            adb_disconnect(phone.serial, client)
            phone.stop()
        self.phones = []

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_token_file(path: Path, token: str) -> Path:
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return path


def read_queue(db: str | Path) -> tuple[list[TaskRecord], list[RunRecord]]:
    """Every task and the whole run log of the queue at `db` (a path or URL)."""
    from guiagent.daemon.store import open_store

    store = open_store(db)
    try:
        return store.list_tasks(limit=1_000_000), store.runs()
    finally:
        store.close()


def overlapping_attempts(runs: Iterable[RunRecord]) -> list[str]:
    """Tasks two of whose attempts overlapped in time (claim to end), or with two open attempts."""
    by_task: dict[str, list[RunRecord]] = {}
    for r in runs:
        by_task.setdefault(r.task_id, []).append(r)
    bad = []
    for task_id, rs in by_task.items():
        rs.sort(key=lambda r: r.claimed)
        if sum(1 for r in rs if r.ended is None) > 1:
            bad.append(task_id)
            continue
        if any(prev.ended is None or nxt.claimed < prev.ended for prev, nxt in zip(rs, rs[1:], strict=False)):
            bad.append(task_id)
    return bad
