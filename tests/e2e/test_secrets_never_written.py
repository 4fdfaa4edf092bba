"""Secrets never reach a file: a random secret lives in an environment variable only; tasks name it
as a placeholder. The apps must receive the real value (checked through the virtual phone's own
state and the demo form's own output), then every byte written by a CLI run on the virtual phone, a
run on the desktop demo form, a recording, its exports and the daemon (API bodies, SSE events,
trajectories, its SQLite files including -wal/-shm, stdout/stderr) is searched for the secret: raw,
JSON-escaped, URL-encoded and base64-encoded at every alignment. Nothing may be found, and the
placeholder must be there (so the search can fail)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest
from secret_fixtures import (
    DaemonProc,
    click,
    dpot_act,
    dpot_plan,
    ocr_shows_secret,
    read_json,
    start_form,
    stop,
    xdo,
)
from secret_search import Written, find_secret
from waiting import wait_until

from guiagent.daemon.fleet import AdbServer

pytest.importorskip("adbutils")
pytestmark = pytest.mark.timeout(600)

ROOT = Path(__file__).resolve().parents[2]
SECRET = "S3cr3t-" + uuid.uuid4().hex[:16]
VAR = "GUIAGENT_TEST_SECRET_" + uuid.uuid4().hex[:6].upper()
TOKEN = "tok-" + uuid.uuid4().hex


@pytest.fixture
def written() -> Written:
    return Written(SECRET)


def env_with_secret() -> dict[str, str]:
    return {**os.environ, VAR: SECRET, "PYTHONUNBUFFERED": "1"}


def guiagent(*args: str, timeout: float = 240, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "guiagent", "-v", *args], capture_output=True, text=True,
                          timeout=timeout, env=env or env_with_secret(), cwd=ROOT)


def test_the_search_finds_every_encoding() -> None:
    """The detector itself: planted copies in every form are found (so a clean result means something)."""
    s = "S3cr3t-" + uuid.uuid4().hex[:16]
    for prefix in (b"", b"a", b"ab", b"abc"):
        assert find_secret("b64", base64.b64encode(prefix + s.encode() + b" tail"), s)
        assert find_secret("b64url", base64.urlsafe_b64encode(prefix + s.encode()), s)
    assert find_secret("json", json.dumps({"x": f'say "{s}"'}).encode(), s)
    assert find_secret("url", ("q=" + quote_plus(s + " x")).encode(), s)
    assert not find_secret("clean", b'{"text": "{{pw}}"} ' + base64.b64encode(b"{{pw}} and more"), s)


# -- the virtual phone -------------------------------------------------------------------------


PHONE_TASK = "Open Wallet, then type {{pin}} into PIN"  # a FLAG_SECURE screen, a password field
# a plain field: once saved the note shows the value on screen (a11y tree, frames)
NOTE_TASK = "Open Notes, then type {{pin}} into Write a note and press Enter"


def test_cli_run_on_the_phone_types_the_value_and_writes_the_placeholder(
        phone: Any, adb: AdbServer, tmp_path_factory: pytest.TempPathFactory, written: Written) -> None:
    phone.reset()
    work = tmp_path_factory.mktemp("phone-run")
    written.roots.append(work)
    p = guiagent("run", PHONE_TASK, "--device", f"android:{phone.serial}", "--device-opt", f"adb_port={adb.port}",
                 "--secret", f"pin=env:{VAR}", "--out", str(work / "ep"), "--no-input", "--no-ocr")
    written.add("phone run stdout", p.stdout)
    written.add("phone run stderr", p.stderr)
    assert p.returncode == 0, p.stdout + p.stderr
    assert phone.state.values["wallet_pin"] == SECRET  # the phone's own state: the value arrived
    steps = (work / "ep" / "steps.jsonl").read_text()
    assert '"text":"{{pin}}"' in steps and "{{pin}}" in (work / "ep" / "meta.json").read_text()
    assert "{{pin}}" in (work / "ep" / "report.html").read_text()
    export_all(work / "ep", work / "export", written, "{{pin}}")

    # the episode replayed: without --secret nothing is typed; with it the phone gets the value again
    for secret_flags, typed in (([], False), (["--secret", f"pin=env:{VAR}"], True)):
        phone.reset()
        report = work / f"replay-{typed}.json"
        p = guiagent("replay", str(work / "ep"), "--device", f"android:{phone.serial}",
                     "--device-opt", f"adb_port={adb.port}", "--json", str(report), *secret_flags)
        written.add(f"replay {typed} stdout", p.stdout)
        written.add(f"replay {typed} stderr", p.stderr)
        assert phone.state.values.get("wallet_pin") == (SECRET if typed else ""), p.stdout + p.stderr
        errors = [s["error"] for s in json.loads(report.read_text())["steps"] if s.get("error")]
        assert (p.returncode, errors) == (0, []) if typed else \
            (p.returncode == 1 and any("no secret 'pin'" in e for e in errors)), (p.stdout, errors)

    # a placeholder the run has no secret for fails the step; nothing is typed
    phone.reset()
    p = guiagent("run", "Open Wallet, then type {{nope}} into PIN", "--device", f"android:{phone.serial}",
                 "--device-opt", f"adb_port={adb.port}", "--out", str(work / "unknown"), "--no-input", "--no-ocr",
                 "--max-steps", "4")
    written.add("unknown stdout", p.stdout)
    written.add("unknown stderr", p.stderr)
    assert p.returncode == 1 and "no secret 'nope'" in p.stdout, p.stdout + p.stderr
    assert not phone.state.values.get("wallet_pin")

    # bad references: clear errors before anything starts, and a literal value is refused
    for spec, needle in ((f"pin={SECRET}", "must be a reference"), ("pin=env:GUIAGENT_NOT_SET_X", "is not set"),
                         (f"pin=file:{work}/missing", "cannot read")):
        p = guiagent("run", PHONE_TASK, "--device", f"android:{phone.serial}", "--secret", spec, "--no-input")
        assert p.returncode == 2 and needle in p.stderr, (spec, p.stderr)
        assert SECRET not in p.stdout + p.stderr
    written.assert_clean()


def export_all(episodes: Path, out: Path, written: Written, placeholder: str) -> None:
    """`guiagent dataset export` in every format; the placeholder reaches each one."""
    for fmt in ("jsonl", "aitw", "hf"):
        p = guiagent("dataset", "export", str(episodes), "--format", fmt, "--out", str(out / fmt))
        written.add(f"export {fmt} stdout", p.stdout)
        written.add(f"export {fmt} stderr", p.stderr)
        assert p.returncode == 0, p.stdout + p.stderr
    assert placeholder in "".join(f.read_text() for f in (out / "jsonl").rglob("*.jsonl"))
    import pyarrow.parquet as pq

    rows = [r for f in sorted((out / "hf").rglob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    assert any(r.get("text") == placeholder for r in rows), rows


# -- the desktop: the demo form, run and recorded ----------------------------------------------


@pytest.fixture(scope="module")
def a11y(xdisplay: Any) -> Iterator[Any]:
    from guiagent.recorder.a11y_bus import A11yBus

    if not A11yBus.available():
        yield None
        return
    with A11yBus() as bus:
        yield bus


def test_desktop_run_types_the_value_into_the_form_and_writes_the_placeholder(
        a11y: Any, tmp_path_factory: pytest.TempPathFactory, written: Written) -> None:
    work = tmp_path_factory.mktemp("desktop-run")
    app_out = tmp_path_factory.mktemp("app-output") / "submitted.json"  # the app's own output: not searched
    written.roots.append(work)
    proc, _ = start_form(app_out)
    try:
        p = guiagent("run", "type {{pw}} into Name and click Submit", "--secret", f"pw=env:{VAR}",
                     "--out", str(work / "ep"), "--no-input")
        written.add("desktop run stdout", p.stdout)
        written.add("desktop run stderr", p.stderr)
        assert p.returncode == 0, p.stdout + p.stderr
        assert read_json(app_out)["name"] == SECRET  # the form's own output: the value arrived
    finally:
        stop(proc)
    steps = (work / "ep" / "steps.jsonl").read_text()
    assert '"text":"{{pw}}"' in steps and "{{pw}}" in (work / "ep" / "report.html").read_text()
    # the Name field showed the value after typing: its box is blanked in the saved frames
    assert not ocr_shows_secret(sorted((work / "ep" / "frames").iterdir()), SECRET)
    written.assert_clean()


def test_a_model_planner_sees_only_the_placeholder_even_when_it_reads_the_value(
        a11y: Any, tmp_path_factory: pytest.TempPathFactory, written: Written) -> None:
    """D-PoT through a real HTTP model server: the prompts hold `{{pw}}` (task, screen elements,
    history), never the value; a model that reads the value off the pixels and repeats it in its
    thoughts is scrubbed from the steps, the report and stdout."""
    from openai_server import OpenAIServer

    work = tmp_path_factory.mktemp("dpot-run")
    app_out = tmp_path_factory.mktemp("app-output") / "submitted.json"
    written.roots.append(work)
    script = [dpot_plan("type the password into Name", ["click Submit"], "start with the Name field"),
              dpot_act({"type": "type", "text": "{{pw}}", "target": "the Name field"}),
              dpot_plan("click Submit", [], f"the Name field now shows {SECRET}"),  # read off the screenshot
              dpot_act({"type": "click", "target": "Submit"}, f"submitting {SECRET}"),
              dpot_plan("finish", [], "the form is sent"), dpot_act({"type": "done", "status": "success"})]
    proc, _ = start_form(app_out)
    with OpenAIServer(script) as srv:
        try:
            p = guiagent("run", "type {{pw}} into Name and click Submit", "--planner", "dpot", "--base-url", srv.url,
                         "--model", "scripted", "--api-key", "none", "--secret", f"pw=env:{VAR}",
                         "--out", str(work / "ep"), "--no-input", "--max-steps", "5")
            written.add("dpot run stdout", p.stdout)
            written.add("dpot run stderr", p.stderr)
            assert p.returncode == 0, p.stdout + p.stderr
            assert read_json(app_out)["name"] == SECRET
        finally:
            stop(proc)
        requests = list(srv.requests)
    prompts = ["\n".join(r.texts) for r in requests]
    assert len(prompts) == 6 and all("{{pw}}" in t for t in prompts)
    for n, r in enumerate(requests):
        written.add(f"model request {n}", json.dumps(r.body))
    steps = (work / "ep" / "steps.jsonl").read_text()
    assert "the Name field now shows {{pw}}" in steps and "submitting {{pw}}" in steps
    written.assert_clean()


def test_recording_a_typed_secret_writes_the_placeholder_and_its_export_too(
        a11y: Any, tmp_path_factory: pytest.TempPathFactory, written: Written) -> None:
    from waiting import pause

    if shutil.which("xdotool") is None:
        pytest.skip("xdotool is not installed")
    work = tmp_path_factory.mktemp("recording")
    app_out = tmp_path_factory.mktemp("app-output") / "submitted.json"
    written.roots.append(work)
    form, widgets = start_form(app_out)
    rec = subprocess.Popen([sys.executable, "-m", "guiagent", "-v", "record", "--device", "desktop",
                            "--task", "sign up as {{pw}}", "--secret", f"pw=env:{VAR}", "--out", str(work / "ep"),
                            "--fps", "10"], cwd=ROOT, env=env_with_secret(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        assert rec.stdout is not None
        line = ""
        while not line.startswith("recording"):
            line = rec.stdout.readline()
            assert line or rec.poll() is None, rec.stderr.read() if rec.stderr else ""
        click(widgets["Name"])
        xdo("type", "--delay", "30", SECRET)
        if a11y is not None:  # the recorder blanks what its accessibility walks show holding the value
            from devices.x11.device import open_desktop

            desktop = open_desktop("")
            try:
                wait_until(lambda: any(e.value == SECRET for e in desktop.ui_tree()), 30, "the value in the tree")
            finally:
                desktop.close()
        pause(1.0)  # like a person: a few of the recorder's walks (every 0.3 s) see the filled field
        click(widgets["Submit"])
        assert read_json(app_out)["name"] == SECRET
        pause(0.5)
        xdo("key", "ctrl+alt+q")
        out, err = rec.communicate(timeout=60)
        written.add("record stdout", line + out)
        written.add("record stderr", err)
        assert rec.returncode == 0, out + err
    finally:
        stop(rec)
        stop(form)
    steps = [json.loads(x) for x in (work / "ep" / "steps.jsonl").read_text().splitlines()]
    typed = [s["action"]["text"] for s in steps if s["action"]["type"] == "type"]
    assert typed == ["{{pw}}"], typed
    assert "{{pw}}" in (work / "ep" / "meta.json").read_text()
    if a11y is not None:  # without an accessibility tree a recorder cannot tell where the value shows
        assert not ocr_shows_secret(sorted((work / "ep" / "frames").iterdir()), SECRET)
    export_all(work / "ep", work / "export", written, "{{pw}}")
    written.assert_clean()


def test_recording_on_the_phone_types_a_placeholder_given_at_the_prompt(
        tmp_path_factory: pytest.TempPathFactory, written: Written) -> None:
    """`guiagent record --device sim:form --secret`: a line `{{pw}}` at the prompt types the value on the
    phone (its own UI dump shows it) and is recorded as `{{pw}}`."""
    import adbutils

    work = tmp_path_factory.mktemp("phone-recording")
    written.roots.append(work)
    folder = work / "ep"
    proc = subprocess.Popen([sys.executable, "-m", "guiagent", "-v", "record", "--device", "sim:form", "--task",
                             "sign up as {{pw}}", "--secret", f"pw=env:{VAR}", "--out", str(folder)],
                            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**env_with_secret(), "ADB_LIBUSB": "0"})
    try:
        assert proc.stdout is not None and proc.stdin is not None
        first = proc.stdout.readline()
        assert first.startswith("recording"), first + (proc.stderr.read() if proc.stderr else "")
        dev = adbutils.AdbClient().device(json.loads((folder / "meta.json").read_text())["device"])

        def steps() -> int:
            assert proc.poll() is None
            path = folder / "steps.jsonl"
            return path.read_bytes().count(b"\n") if path.exists() else 0

        dev.shell("input tap 90 184")  # the "Sign up" launcher icon
        wait_until(lambda: "Create account" in dev.shell("uiautomator dump /dev/tty"), 60, "the Sign up screen")
        dev.shell("input tap 360 286")  # the Name field
        wait_until(lambda: steps() >= 2, 60, "the tap on Name recorded")
        proc.stdin.write("{{pw}}\n")
        proc.stdin.flush()
        wait_until(lambda: steps() >= 3, 60, "the typed text recorded")
        assert SECRET in dev.shell("uiautomator dump /dev/tty")  # the phone's own UI holds the value
        dev.shell("input tap 360 500")  # a tap after typing: its frame and tree show the filled field
        wait_until(lambda: steps() >= 4, 60, "the last tap recorded")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        written.add("phone record stdout", first + out)
        written.add("phone record stderr", err)
        assert proc.returncode == 0, out + err
    finally:
        stop(proc)
    from PIL import Image

    lines = [json.loads(x) for x in (folder / "steps.jsonl").read_text().splitlines()]
    assert [s["action"].get("text") for s in lines if s["action"]["type"] == "type"] == ["{{pw}}"]
    typed = next(i for i, s in enumerate(lines) if s["action"]["type"] == "type")
    box = lines[typed]["target_element"]["bbox"]
    for s in lines[typed:]:  # the field typed into stays blanked, whatever the recorder's snapshot said
        assert Image.open(folder / s["frame"]).convert("L").crop(box).getextrema() == (0, 0), s["frame"]
    assert not ocr_shows_secret([folder / s["frame"] for s in lines], SECRET)
    export_all(folder, work / "export", written, "{{pw}}")
    written.assert_clean()


# -- the daemon --------------------------------------------------------------------------------


def test_daemon_takes_references_types_the_value_and_serves_only_the_placeholder(
        phone: Any, adb: AdbServer, tmp_path_factory: pytest.TempPathFactory, written: Written) -> None:
    phone.reset()
    work = tmp_path_factory.mktemp("daemon")
    written.roots.append(work)
    daemon = DaemonProc(work, phone.serial, adb.port, env_with_secret(), TOKEN, "--no-ocr", "--allow-app", "Notes",
                        "--max-steps", "8", "--max-seconds", "90")
    try:
        api = daemon.http
        # references only: a literal value is refused (422) and never stored
        literal = "hunter2-" + uuid.uuid4().hex[:8]
        r = api.post("/tasks", json={"task": NOTE_TASK, "secrets": {"pin": literal}})
        assert r.status_code == 422 and "env:VAR or file:PATH" in r.text, r.text
        r = api.post("/tasks", json={"task": NOTE_TASK, "secrets": {"pin": f"env:{VAR}"}})
        assert r.status_code == 201, r.text
        task_id = r.json()["id"]
        task = daemon.finish(task_id)
        assert task["status"] == "succeeded", (task["error"], task["result"])
        assert task["secrets"] == {"pin": f"env:{VAR}"}  # stored as the reference
        assert SECRET in phone.state.values["notes"]  # the phone's own state: the note was saved
        traj = api.get(f"/tasks/{task_id}/trajectory")
        inline = api.get(f"/tasks/{task_id}/trajectory", params={"frames": "base64"})
        assert traj.status_code == inline.status_code == 200
        assert any(s["action"]["type"] == "type" and s["action"]["text"] == "{{pin}}" for s in traj.json()["steps"])
        assert traj.json()["meta"]["task"] == NOTE_TASK
        events = api.get("/events", params={"after": 0, "follow": "false"})
        assert "{{pin}}" in events.text
        for name, resp in (("task", api.get(f"/tasks/{task_id}")), ("tasks", api.get("/tasks")),
                           ("runs", api.get(f"/tasks/{task_id}/runs")), ("trajectory", traj),
                           ("trajectory base64", inline), ("events", events), ("devices", api.get("/devices")),
                           ("approvals", api.get("/approvals", params={"status": "all"}))):
            assert resp.status_code == 200, (name, resp.text)
            written.add(f"API {name}", resp.content)
        for step in traj.json()["steps"]:
            if step.get("frame_url"):
                written.add(f"API {step['frame_url']}", api.get(step["frame_url"]).content)

        # a reference the daemon's host cannot resolve: the task fails, saying which
        phone.reset()
        missing = api.post("/tasks", json={"task": NOTE_TASK, "secrets": {"pin": "env:GUIAGENT_NOT_SET_Z"}})
        failed = daemon.finish(missing.json()["id"])
        assert failed["status"] == "failed" and "GUIAGENT_NOT_SET_Z is not set" in failed["error"], failed
        assert not phone.state.values.get("notes")
        written.add("API failed task", api.get(f"/tasks/{missing.json()['id']}").content)
        # the database files as they are while the daemon runs (WAL not yet checkpointed)
        db_files = sorted(work.glob("queue.db*"))
        assert any(f.name.endswith("-wal") for f in db_files), db_files
        for f in db_files:
            written.add(f"live {f.name}", f.read_bytes())
    finally:
        daemon.stop()
    written.add("daemon stdout", daemon.stdout.read_bytes())
    written.add("daemon stderr", daemon.stderr.read_bytes())
    assert b"{{pin}}" in (work / "queue.db").read_bytes() + b"".join(
        f.read_bytes() for f in work.glob("queue.db-wal"))
    written.assert_clean()
