"""Starting a third-party app for one desktop task, sabotaging it for the twin, and reading its
own output afterwards (what it printed, its exit status, a saved file, its copy to the
clipboard, the address Chromium shows). Nothing here asks the agent what happened."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guiagent.demo import wait_for_window
from guiagent.eval.desktop.tasks import DesktopTask, Output
from guiagent.eval.redteam.web import CHROME_FLAGS
from guiagent.schema.errors import ConfigError, DeviceError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fill(parts: tuple[str, ...], values: dict[str, str]) -> list[str]:
    return [p.format(**values) for p in parts]


def _wait_port(port: int, proc: subprocess.Popen[Any], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DeviceError(f"the page server exited early ({proc.returncode})")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise DeviceError(f"nothing listens on port {port} after {timeout:g} s")


@dataclass
class LiveApp:
    """A started app: its process, its throwaway directories and how to read its output."""

    task: DesktopTask
    proc: subprocess.Popen[str]
    work: Path
    devtools: int | None = None  # Chromium's remote-debugging port

    def read(self, output: Output, timeout: float = 5.0) -> str:
        """The app's own account of the result, as a string ("" when it gave none)."""
        match output.kind:
            case "stdout" | "exit":
                try:
                    out, _ = self.proc.communicate(timeout=timeout)
                except subprocess.TimeoutExpired:  # still open: the agent never confirmed the dialog
                    return ""
                return (out or "").strip() if output.kind == "stdout" else str(self.proc.returncode)
            case "file":
                path = self.work / output.path
                return path.read_text(errors="replace").strip() if path.exists() else ""
            case "clipboard":
                return _copy_from_window(self.task.title)
            case "url":
                return _chromium_url(self.devtools)


def judge(output: Output, seen: str) -> bool:
    match output.match:
        case "equals":
            return seen == output.expect
        case "endswith":
            return bool(seen) and seen.endswith(output.expect)
        case "contains":
            return output.expect in seen


def _copy_from_window(title: str) -> str:
    """Ctrl+C in the app's window, then the CLIPBOARD as the app published it."""
    sentinel = f"guiagent-empty-{time.monotonic_ns()}"
    subprocess.run(["xclip", "-selection", "clipboard", "-i"], input=sentinel, text=True, timeout=10, check=True)
    found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", title],
                           capture_output=True, text=True, timeout=10)
    wins = found.stdout.split()
    if not wins:
        return ""
    win = wins[0]
    subprocess.run(["xdotool", "windowfocus", "--sync", win, "key", "--window", win, "ctrl+c"], timeout=10)
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        got = subprocess.run(["xclip", "-o", "-selection", "clipboard"], capture_output=True, text=True, timeout=10)
        if got.stdout and got.stdout != sentinel:
            return got.stdout.strip()
        time.sleep(0.05)
    return ""


def _chromium_url(port: int | None) -> str:
    if port is None:
        return ""
    import httpx

    pages = [p for p in httpx.get(f"http://127.0.0.1:{port}/json", timeout=5).json() if p.get("type") == "page"]
    return str(pages[0].get("url", "")) if pages else ""


def _app_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "NO_AT_BRIDGE"}  # GTK's a11y bridge stays on
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local/share"),
               XDG_CACHE_HOME=str(home / ".cache"), GDK_BACKEND="x11", QT_QPA_PLATFORM="xcb",
               QT_ACCESSIBILITY="1")
    return env


def check_installed(task: DesktopTask) -> None:
    exe = "chromium" if task.toolkit == "chromium" else task.argv[0]
    if shutil.which(exe) is None:
        raise ConfigError(f"{exe} is not installed (Debian package {task.app}; scripts/install-sysdeps.sh)")


@contextmanager
def started(task: DesktopTask, *, twin: bool) -> Iterator[LiveApp]:
    """The app of `task` (its twin's variant when `twin`) in a throwaway HOME and working
    directory, its window mapped; stopped and cleaned up on exit."""
    check_installed(task)
    with tempfile.TemporaryDirectory(prefix=f"guiagent-desk-{task.id}-") as tmp, ExitStack() as stack:
        home, work = Path(tmp) / "home", Path(tmp) / "work"
        home.mkdir()
        work.mkdir()
        for name, text in task.files.items():
            (work / name).write_text(text)
        values = {"work": str(work), "port": str(free_port()), "python": sys.executable}
        sab = task.sabotage if twin else None
        if sab is not None and sab.kind == "readonly":
            stack.enter_context(_read_only(work / sab.path))
        argv = sab.argv if sab is not None and sab.kind == "argv" else task.argv
        env = _app_env(home)
        devtools = None
        if task.toolkit == "chromium":
            # stdin stays open: pydoc's server reads commands from it and quits at end of input
            server = subprocess.Popen(_fill(task.server, values), cwd=work, env=env, stdin=subprocess.PIPE,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
            stack.callback(_stop, server)
            _wait_port(int(values["port"]), server)
            devtools = free_port()
            w, h = _screen_size()
            cmd = [shutil.which("chromium") or "chromium", *CHROME_FLAGS, "--force-renderer-accessibility",
                   f"--user-data-dir={home / 'chromium'}", f"--remote-debugging-port={devtools}",
                   "--window-position=0,0", f"--window-size={w},{h}", f"--app={task.url.format(**values)}"]
        else:
            cmd = _fill(argv, values)
        proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        stack.callback(_stop, proc)
        wait_for_window(task.title, None, timeout=30.0)
        app = LiveApp(task, proc, work, devtools)
        if sab is not None and sab.kind == "hide":
            from guiagent.eval.desktop.cover import cover_element

            stack.enter_context(cover_element(sab.target, with_field=sab.with_field))
        yield app


@contextmanager
def _read_only(path: Path) -> Iterator[None]:
    """`path` made unwritable: mode 0444, and for root (whom modes do not stop) a read-only bind
    mount of the file onto itself, which also makes a save-by-rename over it fail (EBUSY)."""
    path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    if os.geteuid() != 0:
        yield
        return
    for cmd in (["mount", "--bind", str(path), str(path)], ["mount", "-o", "remount,bind,ro", str(path)]):
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        if r.returncode != 0:
            subprocess.run(["umount", str(path)], capture_output=True, timeout=20)
            raise DeviceError(f"sabotage: cannot make {path.name} read-only for root: {r.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", str(path)], capture_output=True, timeout=20)


def _stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _screen_size() -> tuple[int, int]:
    out = subprocess.run(["xdotool", "getdisplaygeometry"], capture_output=True, text=True, timeout=10)
    w, h = (int(v) for v in out.stdout.split())
    return w, h
