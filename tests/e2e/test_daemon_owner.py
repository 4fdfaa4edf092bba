"""The daemon obeys only its owner, end to end: `guiagent daemon` as a real process (real uvicorn)
driving a virtual phone through a private real adb server, attacked over raw HTTP.

No token, a wrong one, a token in the URL, a foreign Host (DNS rebinding), a foreign Origin
(a web page), an oversized body: all refused, and nothing is queued. A browser logs in for an
HttpOnly SameSite cookie. A generated token file is private and printed once; the token never
reaches the logs, the access log or the queue's files."""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from waiting import wait_until

from guiagent.daemon.fleet import AdbServer, Fleet

pytest.importorskip("fastapi")
pytest.importorskip("adbutils")
pytestmark = pytest.mark.timeout(240)

LIMIT = 1 << 20  # the default --max-body


@pytest.fixture(scope="module")
def adb() -> Iterator[AdbServer]:
    with AdbServer() as server:
        yield server


@pytest.fixture(scope="module")
def fleet(adb: AdbServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    with Fleet(tmp_path_factory.mktemp("owner"), adb_port=adb.port) as f:
        (phone,) = f.add_phones(1)
        f.start_daemon([phone.serial], args=["--allow-host", "phones.example", "--max-steps", "5"])
        yield f


def bare(fleet: Fleet, **headers: str) -> httpx.Client:
    """A client that sends only the headers given."""
    return httpx.Client(base_url=f"http://127.0.0.1:{fleet.port}", timeout=30, headers=headers)


def queued_texts(fleet: Fleet) -> list[str]:
    return [t["task"] for t in fleet.tasks()]


def test_no_token_or_a_wrong_one_is_refused(fleet: Fleet) -> None:
    for client in (bare(fleet), bare(fleet, Authorization="Bearer not-the-token-at-all"),
                   bare(fleet, Authorization=f"Basic {base64.b64encode(fleet.token.encode()).decode()}")):
        for method, path in (("GET", "/tasks"), ("POST", "/tasks"), ("GET", "/health"), ("GET", "/devices")):
            r = client.request(method, path, json={"task": "no token task"} if method == "POST" else None)
            assert r.status_code == 401, (method, path, r.text)
            assert "Authorization: Bearer" in r.json()["detail"]
    assert "no token task" not in queued_texts(fleet)
    assert fleet.http.get("/health").json()["devices"]["online"] == 1  # the token file's token works


def test_a_foreign_host_is_refused_even_with_the_token(fleet: Fleet) -> None:
    auth = {"Authorization": f"Bearer {fleet.token}"}
    for host in ("evil.example", f"evil.example:{fleet.port}", "127.0.0.1.evil.example", "0.0.0.0"):
        r = bare(fleet, Host=host, **auth).post("/tasks", json={"task": f"rebound via {host}"})
        assert r.status_code == 421, (host, r.text)
        assert "--allow-host" in r.json()["detail"]
    r = bare(fleet, Host="evil.example", Origin="http://evil.example", **auth).get("/tasks")
    assert r.status_code == 421  # what a rebinding page sends
    assert not [t for t in queued_texts(fleet) if t.startswith("rebound")]  # nothing queued

    conn = http.client.HTTPConnection("127.0.0.1", fleet.port, timeout=30)
    conn.putrequest("GET", "/health", skip_host=True)  # no Host header at all
    conn.putheader("Authorization", auth["Authorization"])
    conn.endheaders()
    assert conn.getresponse().status == 400
    conn.close()
    for host in ("localhost", f"localhost:{fleet.port}", f"[::1]:{fleet.port}", f"PHONES.example:{fleet.port}"):
        assert bare(fleet, Host=host, **auth).get("/health").status_code == 200, host  # loopback, --allow-host


def test_a_foreign_origin_is_refused(fleet: Fleet) -> None:
    auth = {"Authorization": f"Bearer {fleet.token}"}
    for origin in ("http://evil.example", f"http://evil.example:{fleet.port}", "null",
                   f"http://127.0.0.1:{fleet.port + 1}", f"https://127.0.0.1:{fleet.port}", "http://localhost"):
        r = bare(fleet, Origin=origin, **auth).post("/tasks", json={"task": f"posted from {origin}"})
        assert r.status_code == 403, (origin, r.text)
        assert "cross-origin" in r.json()["detail"]
    assert not [t for t in queued_texts(fleet) if t.startswith("posted from")]
    r = bare(fleet, Origin=f"http://127.0.0.1:{fleet.port}", **auth).get("/health")
    assert r.status_code == 200  # the daemon's own pages


def test_oversized_bodies_get_413_also_when_streamed(fleet: Fleet) -> None:
    def post(*headers: tuple[str, str], chunks: list[bytes] | None = None) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", fleet.port, timeout=30)
        conn.putrequest("POST", "/tasks")
        for name, value in (("Authorization", f"Bearer {fleet.token}"), ("Content-Type", "application/json"),
                            *headers):
            conn.putheader(name, value)
        conn.endheaders()
        for chunk in chunks or []:
            conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        if chunks is not None:
            conn.send(b"0\r\n\r\n")
        r = conn.getresponse()
        try:
            return r.status, r.read().decode()
        finally:
            conn.close()

    status, text = post(("Content-Length", str(8 * LIMIT)))  # announced: refused before any byte is read
    assert status == 413 and f"limit of {LIMIT} bytes" in text
    big = json.dumps({"task": "x" * (LIMIT + 4096)}).encode()
    pieces = [big[i:i + 65536] for i in range(0, len(big), 65536)]
    status, text = post(("Transfer-Encoding", "chunked"), chunks=pieces)  # no length given: counted as it comes
    assert status == 413 and f"limit of {LIMIT} bytes" in text
    fits = json.dumps({"task": "y" * (LIMIT - 100)}).encode()
    status, text = post(("Transfer-Encoding", "chunked"), chunks=[fits[i:i + 65536] for i in range(0, len(fits), 65536)])
    assert status == 422 and "4000" in text  # read in full and judged by the API: too long a task
    assert not [t for t in queued_texts(fleet) if t.startswith(("xxx", "yyy"))]


def test_a_token_in_the_url_is_refused(fleet: Fleet) -> None:
    for query in (f"token={fleet.token}", f"access_token={fleet.token}", f"%74oken={quote(fleet.token)}"):
        r = bare(fleet).get(f"/tasks?{query}")
        assert r.status_code == 400, query
        assert "token in the URL is refused" in r.json()["detail"] and fleet.token not in r.text
    r = fleet.http.post(f"/tasks?token={fleet.token}", json={"task": "url token task"})  # even with the header
    assert r.status_code == 400 and "url token task" not in queued_texts(fleet)


def test_a_browser_logs_in_for_an_httponly_samesite_cookie(fleet: Fleet) -> None:
    same_origin = f"http://127.0.0.1:{fleet.port}"
    browser = bare(fleet)
    assert "<form" in browser.get("/login").text
    wrong = browser.post("/login", json={"token": "not-the-token-at-all"})
    assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
    r = browser.post("/login", json={"token": fleet.token}, headers={"Origin": same_origin})
    assert r.status_code == 200
    (cookie,) = r.headers.get_list("set-cookie")
    attributes = {a.strip().split("=")[0].lower(): a.strip() for a in cookie.split(";")[1:]}
    assert "httponly" in attributes and attributes["samesite"].lower() == "samesite=strict"
    assert attributes["path"] == "Path=/" and fleet.token not in cookie  # an HMAC of the token, not the token
    assert browser.get("/tasks").status_code == 200  # the cookie alone authenticates
    assert browser.post("/tasks", json={"task": "cookie without origin"}).status_code == 403
    r = browser.post("/tasks", json={"task": "wait 0.1 seconds"}, headers={"Origin": same_origin})
    assert r.status_code == 201
    assert browser.post("/logout", headers={"Origin": same_origin}).status_code == 204
    assert browser.get("/tasks").status_code == 401  # the cookie is gone

    form = bare(fleet).post("/login", data={"token": fleet.token}, headers={"Origin": same_origin})
    assert form.status_code == 303 and form.headers["location"] == "/docs"
    assert "HttpOnly" in form.headers["set-cookie"]
    hijack = bare(fleet).post("/login", data={"token": fleet.token}, headers={"Origin": "http://evil.example"})
    assert hijack.status_code == 403 and "set-cookie" not in hijack.headers
    assert "cookie without origin" not in queued_texts(fleet)


def test_the_token_never_reaches_the_logs_or_the_queue(fleet: Fleet) -> None:
    token = fleet.token
    bare(fleet).get(f"/health?token={token}")  # a careless client: refused, and logged blanked
    bare(fleet, Host="evil.example", Authorization=f"Bearer {token}").get("/tasks")
    bare(fleet).post("/login", json={"token": token})
    fleet.http.get("/tasks", params={"limit": 5})
    fleet.stop_daemon()  # flushes everything it writes
    logs = b"".join(p.read_bytes() for p in fleet.workdir.glob("daemon-*.log")).decode()
    assert '"GET /health?token=REDACTED" 400' in logs and '"GET /tasks" 421' in logs  # the access log is there
    assert '"GET /tasks?limit=5" 200' in logs
    assert fleet.db is not None
    queue = [p for p in fleet.db.parent.iterdir() if p.name.startswith(fleet.db.name)]
    assert queue
    for blob in [logs.encode(), *(p.read_bytes() for p in queue)]:
        for form in (token, quote(token), base64.b64encode(token.encode()).decode()):
            assert form.encode() not in blob


def _start(cmd: list[str], out: Path, err: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    with out.open("wb") as o, err.open("wb") as e:
        proc = subprocess.Popen(cmd, stdout=o, stderr=e, stdin=subprocess.DEVNULL, env=env)

    def ready() -> str | None:
        assert proc.poll() is None, err.read_text()[-2000:]
        text = out.read_text()
        return m.group(1) if "ready" in text and (m := re.search(r"listening on (http://\S+)", text)) else None

    return proc, wait_until(ready, 60, "the daemon ready")


def test_a_generated_token_is_private_printed_once_and_reused(tmp_path: Path, adb: AdbServer) -> None:
    env = {k: v for k, v in os.environ.items() if k != "GUIAGENT_TOKEN"}
    env["PYTHONUNBUFFERED"] = "1"
    cmd = [sys.executable, "-m", "guiagent", "-v", "daemon", "--port", "0", "--db", str(tmp_path / "state" / "q.db"),
           "--devices", "127.0.0.1:9", "--adb-port", str(adb.port), "--no-ocr"]
    token_file = tmp_path / "state" / "q.token"
    outputs = []
    for start in (1, 2):
        out, err = tmp_path / f"out-{start}.txt", tmp_path / f"err-{start}.txt"
        proc, url = _start(cmd, out, err, env)
        try:
            assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
            token = token_file.read_text().strip()
            assert len(token) >= 40
            assert httpx.get(f"{url}/health", headers={"Authorization": f"Bearer {token}"}).status_code == 200
            assert httpx.get(f"{url}/health").status_code == 401
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
        outputs.append((out.read_text(), err.read_text(), token))
    (out1, err1, token1), (out2, err2, token2) = outputs
    assert token1 == token2  # reused
    assert out1.count(token1) == 1 and f"generated into {token_file}" in out1 and "/login" in out1
    assert token1 not in out2 and f"token: from {token_file}" in out2
    assert token1 not in err1 + err2  # the logs


def test_unsafe_tokens_are_refused_with_a_clear_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "GUIAGENT_TOKEN"}
    shared = tmp_path / "fleet.token"
    shared.write_text("a-long-enough-shared-token-1234\n")
    shared.chmod(0o644)

    def daemon(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "guiagent", "daemon", "--port", "0", "--db",
                               str(tmp_path / "q.db"), *args], capture_output=True, text=True, timeout=60, env=env)

    r = daemon("--token-file", str(shared))
    assert r.returncode == 2 and f"chmod 600 {shared}" in r.stderr and "0644" in r.stderr
    r = daemon("--token", "short")
    assert r.returncode == 2 and "at least 16" in r.stderr
    r = daemon("--token", "a-long-enough-shared-token-1234", "--token-file", str(shared))
    assert r.returncode == 2 and "not allowed with argument" in r.stderr
    r = daemon("--token-file", str(tmp_path / "missing.token"))
    assert r.returncode == 2 and "cannot read the token file" in r.stderr
    assert not (tmp_path / "q.db").exists() and not (tmp_path / "q.token").exists()  # nothing made
