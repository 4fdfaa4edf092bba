"""A built wheel works with no checkout around: the wheel is built from the tree, installed into
fresh venvs in a temporary folder (no editable install, no PYTHONPATH, cwd outside the checkout),
and the installed commands run from there:

- venv "desktop" (extras desktop, ocr, app): `guiagent demo`, `guiagent run ... --device sim`,
  and a D-PoT run against a scripted OpenAI-compatible server;
- venv "daemon" (extra daemon only, what the Termux line installs): `guiagent sim-phone` and
  `guiagent daemon` against it through a private adb server; a task succeeds over the HTTP API.

Every file those processes open is recorded by an audit hook (a .pth in each venv, active only
when GUIAGENT_PROBE is set): nothing may come from the checkout, and guiagent's code and assets
(prompts, scenarios, the demo form) must be the venv's copies.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from waiting import like_a_terminal, wait_until

from guiagent.daemon.fleet import AdbServer
from guiagent.eval.scripted_server import ChatRequest, ScriptedChatServer

pytestmark = pytest.mark.timeout(900)  # the first test of each venv builds and installs it

ROOT = Path(__file__).resolve().parents[2]
CODE_PACKAGES = ("app", "devices", "grounding", "guiagent")
TOKEN = "wheel-test-token"
SIM_TASK = "Open Settings and turn on Wi-Fi"

# Records the files a process opens (and the commands it starts) as JSON lines in $GUIAGENT_PROBE.
# Only paths naming guiagent or lying in the checkout are kept; written as they happen, so a
# process stopped by a signal still leaves its record.
PROBE = '''
import json, os, sys

_out = os.environ.get("GUIAGENT_PROBE")
_root = os.environ.get("GUIAGENT_PROBE_ROOT", "\\0")
_busy = [False]
_seen = set()


def _emit(record):
    _busy[0] = True
    try:
        with open(_out, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\\n")
    finally:
        _busy[0] = False


def _hook(event, args):
    if _busy[0]:
        return
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        path = os.path.abspath(os.fsdecode(args[0]))
        if path not in _seen and ("guiagent" in path or path.startswith(_root)):
            _seen.add(path)
            _emit({"pid": os.getpid(), "open": path})
    elif event == "subprocess.Popen":
        _emit({"pid": os.getpid(), "popen": [os.fsdecode(a) for a in args[1]] if args[1] else []})


if _out:
    sys.addaudithook(_hook)
'''


@dataclass
class Venv:
    dir: Path
    work: Path  # the cwd of everything run from it
    probe: Path

    @property
    def bin(self) -> Path:
        return self.dir / "bin"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "DISPLAY", "PYTHONSTARTUP")}
        env.update(PATH=f"{self.bin}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(self.dir),
                   GUIAGENT_PROBE=str(self.probe), GUIAGENT_PROBE_ROOT=str(ROOT), ADB_LIBUSB="0",
                   PYTHONUNBUFFERED="1", COLUMNS="200", NO_COLOR="1", **extra)
        return env

    def run(self, *args: str, timeout: float = 240, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(args), cwd=self.work, env=self.env(**extra), capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def records(self) -> list[dict[str, Any]]:
        if not self.probe.exists():
            return []
        return [json.loads(line) for line in self.probe.read_text().splitlines() if line.strip()]

    def opened(self) -> list[str]:
        return [r["open"] for r in self.records() if "open" in r]

    def started(self) -> list[list[str]]:
        return [r["popen"] for r in self.records() if "popen" in r]

    def site_packages(self) -> Path:
        return next((self.dir / "lib").glob("python3*/site-packages"))

    def has_module(self, name: str) -> bool:
        r = self.run(str(self.bin / "python"), "-c", f"import importlib.util as u; print(u.find_spec({name!r}) is not None)")
        return r.stdout.strip() == "True"


def _inside(path: str | Path, folder: Path) -> bool:
    return Path(path).resolve().is_relative_to(folder.resolve())


def _source_copy(dest: Path) -> Path:
    """The tree as a fresh clone would have it (tracked + untracked, not ignored): building in a
    copy keeps a stale build/ of the checkout out of the wheel and concurrent builds apart."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


@pytest.fixture(scope="module")
def workspace() -> Iterator[Path]:
    # Removed at the end: a venv with Qt and onnxruntime is hundreds of MB.
    with tempfile.TemporaryDirectory(prefix="wheel-install-") as tmp:
        assert not _inside(tmp, ROOT)
        yield Path(tmp)


@pytest.fixture(scope="module")
def wheel(workspace: Path) -> Path:
    src = _source_copy(workspace / "src")
    out = workspace / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(src)],
                   check=True, cwd=workspace, timeout=300)
    shutil.rmtree(src)
    (found,) = out.glob("guiagent-*.whl")
    return found


def _make_venv(workspace: Path, name: str, wheel: Path, extras: str) -> Venv:
    folder = workspace / name
    subprocess.run([sys.executable, "-m", "venv", str(folder / "venv")], check=True, timeout=120)
    venv = Venv(folder / "venv", folder / "work", folder / "probe.jsonl")
    venv.work.mkdir()
    # --no-compile: only the modules that run get byte-compiled, which halves install and cleanup time
    r = venv.run(str(venv.bin / "python"), "-m", "pip", "install", "--quiet", "--no-compile", f"{wheel}[{extras}]",
                 timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    site = venv.site_packages()
    (site / "_guiagent_probe.py").write_text(PROBE)
    (site / "_guiagent_probe.pth").write_text("import _guiagent_probe\n")
    assert not venv.has_module("torch")  # the extras a phone or a desktop installs never pull torch
    return venv


@pytest.fixture(scope="module")
def desktop_venv(workspace: Path, wheel: Path) -> Venv:
    return _make_venv(workspace, "desktop", wheel, "desktop,ocr,app")


@pytest.fixture(scope="module")
def daemon_venv(workspace: Path, wheel: Path) -> Venv:
    venv = _make_venv(workspace, "daemon", wheel, "daemon")
    for heavy in ("PySide6", "onnxruntime", "rapidocr"):
        assert not venv.has_module(heavy), f"the [daemon] install pulled {heavy}"
    return venv


def assert_all_from(venv: Venv) -> None:
    """Nothing opened from the checkout; every guiagent file opened is the venv's."""
    opened = venv.opened()
    assert opened, "the probe recorded nothing"
    from_checkout = [p for p in opened if _inside(p, ROOT)]
    assert not from_checkout, from_checkout[:10]
    ours = [p for p in opened if re.search(r"[/\\](guiagent|guiagent_assets|devices|grounding|app)[/\\]", p)
            and "site-packages" in p]
    outside = [p for p in ours if not _inside(p, venv.dir)]
    assert not outside, outside[:10]


def asset(venv: Venv, rel: str) -> Path:
    return venv.site_packages() / "guiagent_assets" / rel


def test_the_wheel_holds_every_package_and_asset(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = sorted(str(init.parent.relative_to(ROOT)) for top in CODE_PACKAGES
                      for init in (ROOT / top).rglob("__init__.py") if "__pycache__" not in init.parts)
    missing = [p for p in packages if f"{p}/__init__.py" not in names]
    assert not missing, f"packages not in the wheel (add them to [tool.setuptools] packages): {missing}"
    shipped = sorted(str(p.relative_to(ROOT / "assets")) for p in (ROOT / "assets").rglob("*")
                     if p.is_file() and p.suffix in (".txt", ".json", ".py") and "__pycache__" not in p.parts)
    assert {"demo_form.py", "prompts/dpot_plan.txt", "scenarios/default.json"} <= set(shipped)
    assert not [p for p in shipped if f"guiagent_assets/{p}" not in names]


def test_installed_package_finds_its_assets_inside_the_venv(desktop_venv: Venv) -> None:
    script = ("import json, guiagent; from guiagent.schema import assets\n"
              "with assets.demo_form_path() as form:\n"
              "    print(json.dumps({'guiagent': guiagent.__file__, 'root': str(assets.root()), 'form': str(form),"
              " 'prompts': assets.prompt_names(), 'scenarios': assets.scenario_names(),"
              " 'dpot': len(assets.prompt('dpot_plan'))}))")
    r = desktop_venv.run(str(desktop_venv.bin / "python"), "-c", script)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    for key in ("guiagent", "root", "form"):
        assert _inside(got[key], desktop_venv.dir), (key, got[key])
    assert {"dpot_plan", "dpot_act", "react", "grounding_uitars"} <= set(got["prompts"])
    assert {"default", "form"} <= set(got["scenarios"]) and got["dpot"] > 100


def test_demo_runs_from_the_installed_wheel(desktop_venv: Venv) -> None:
    # No DISPLAY: the demo starts its own Xvfb, like on a fresh machine.
    r = desktop_venv.run(str(desktop_venv.bin / "guiagent"), "demo", "--out", "demo-run", timeout=240)
    assert r.returncode == 0 and "demo passed" in r.stdout, (r.stdout[-3000:], r.stderr[-3000:])
    form = str(asset(desktop_venv, "demo_form.py"))
    assert any(form in args for args in desktop_venv.started()), desktop_venv.started()
    assert_all_from(desktop_venv)


def test_sim_run_from_the_installed_wheel(desktop_venv: Venv) -> None:
    r = desktop_venv.run(str(desktop_venv.bin / "guiagent"), "run", SIM_TASK, "--device", "sim", timeout=180)
    assert r.returncode == 0 and "success" in r.stdout, (r.stdout[-3000:], r.stderr[-3000:])
    assert str(asset(desktop_venv, "scenarios/default.json")) in desktop_venv.opened()
    assert_all_from(desktop_venv)


@dataclass
class DPoTScript:
    """Plan/act replies for the sim's Wi-Fi task; counts which template each call came from."""

    actions: list[dict[str, Any]] = field(default_factory=lambda: [
        {"type": "open_app", "name": "Settings"},
        {"type": "click", "target": "Wi-Fi"},
        {"type": "done", "status": "success", "answer": "Wi-Fi is on"},
    ])
    plan_calls: int = 0
    act_calls: int = 0

    def __call__(self, req: ChatRequest) -> str:
        # phrases that exist only in assets/prompts/dpot_plan.txt and dpot_act.txt
        if "This is the planning call of" in req.text:
            self.plan_calls += 1
            return json.dumps({"thought": "t", "next_step": f"step {self.plan_calls}", "remaining_plan": []})
        if "This is the action call of" in req.text:
            action = self.actions[min(self.act_calls, len(self.actions) - 1)]
            self.act_calls += 1
            return json.dumps({"thought": "t", "action": action})
        raise AssertionError(f"a request from neither D-PoT template: {req.text[:300]!r}")


def test_dpot_prompts_load_from_the_installed_wheel(desktop_venv: Venv) -> None:
    script = DPoTScript()
    with ScriptedChatServer(script) as srv:
        r = desktop_venv.run(str(desktop_venv.bin / "guiagent"), "run", SIM_TASK, "--device", "sim",
                             "--planner", "dpot", "--base-url", srv.url, "--model", "scripted", "--api-key", "k",
                             "--max-steps", "6", timeout=180)
    assert r.returncode == 0 and "success" in r.stdout, (r.stdout[-3000:], r.stderr[-3000:])
    assert script.plan_calls == script.act_calls == 3
    opened = desktop_venv.opened()
    for name in ("dpot_plan", "dpot_act"):
        assert str(asset(desktop_venv, f"prompts/{name}.txt")) in opened, name
    assert_all_from(desktop_venv)


class Proc:
    """A long-running command whose output lines are collected as they come."""

    def __init__(self, venv: Venv, *args: str) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(list(args), cwd=venv.work, env=venv.env(), stdin=subprocess.DEVNULL,
                                     preexec_fn=like_a_terminal,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def find(self, pattern: str, timeout: float = 60) -> str:
        def match() -> str | None:
            for line in self.lines:
                if m := re.search(pattern, line):
                    return m.group(1)
            assert self.proc.poll() is None, f"exited {self.proc.returncode}: {''.join(self.lines)[-3000:]}"
            return None

        return wait_until(match, timeout, f"{pattern!r} in the output")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def test_daemon_from_a_daemon_only_install_runs_a_task(daemon_venv: Venv, workspace: Path) -> None:
    guiagent = str(daemon_venv.bin / "guiagent")
    with AdbServer() as adb:
        phone = Proc(daemon_venv, guiagent, "sim-phone", "--port", "0")
        daemon: Proc | None = None
        try:
            serial = phone.find(r"serial: (\S+)")
            token_file = workspace / "daemon.token"
            token_file.write_text(TOKEN + "\n")
            token_file.chmod(0o600)  # the daemon refuses a token file others can read
            daemon = Proc(daemon_venv, guiagent, "daemon", "--port", "0", "--db", str(workspace / "queue.db"),
                          "--token-file", str(token_file), "--devices", serial, "--adb-port", str(adb.port), "--no-ocr",
                          "--allow-app", "Settings", "--max-steps", "10", "--max-seconds", "90")
            url = daemon.find(r"listening on (http://\S+)")
            http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
            wait_until(lambda: http.get("/health").json()["devices"]["online"] == 1, 60, "the phone online")
            r = http.post("/tasks", json={"task": SIM_TASK})
            assert r.status_code == 201, r.text
            task_id = r.json()["id"]
            task = wait_until(lambda: (t := http.get(f"/tasks/{task_id}").json())["status"]
                              in ("succeeded", "failed", "cancelled", "interrupted") and t, 120, "the task")
            assert task["status"] == "succeeded", task
        finally:
            if daemon is not None:
                daemon.stop()
            phone.stop()
    assert str(asset(daemon_venv, "scenarios/default.json")) in daemon_venv.opened()
    assert_all_from(daemon_venv)
