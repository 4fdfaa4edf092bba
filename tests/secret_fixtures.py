"""Helpers of the secret-grep test (tests/e2e/test_secrets_never_written.py): the demo form and
other processes under test, OCR of saved frames, the daemon as its own process."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from waiting import first_json_line, wait_until

ROOT = Path(__file__).resolve().parents[1]


def ocr_shows_secret(frames: list[Path], secret: str) -> list[str]:
    """What OCR reads in saved frames that shows a run of 6 characters of the secret."""
    from grounding.ocr import OcrEngine, available

    if not available():
        return []
    engine = OcrEngine()
    seen = []
    for f in frames:
        from PIL import Image

        for box in engine.read(Image.open(f).convert("RGB")):
            if any(secret[i:i + 6] in box.text for i in range(len(secret) - 5)):
                seen.append(f"{f.name}: {box.text!r}")
    return seen


def start_form(out: Path) -> tuple[subprocess.Popen[str], dict[str, list[int]]]:
    proc = subprocess.Popen([sys.executable, str(ROOT / "assets" / "demo_form.py"), "--out", str(out),
                             "--geometry", "100,100,560,380"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "QT_QPA_PLATFORM": "xcb", "QT_ACCESSIBILITY": "1"})
    assert proc.stderr is not None
    ready = first_json_line(proc.stderr, timeout=60)
    assert ready.get("ready"), ready
    return proc, ready["widgets"]


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def read_json(path: Path) -> dict[str, Any]:
    return wait_until(lambda: path.exists() and path.stat().st_size and json.loads(path.read_text()), 30,
                      f"{path.name} from the app")


def dpot_plan(step: str, rest: list[str], thought: str) -> str:
    return json.dumps({"thought": thought, "next_step": step, "remaining_plan": rest})


def dpot_act(action: dict[str, Any], thought: str = "do it") -> str:
    return json.dumps({"thought": thought, "action": action})


def xdo(*args: str) -> None:
    subprocess.run(["xdotool", *args], check=True, timeout=30)


def click(box: list[int]) -> None:
    x, y, w, h = box
    xdo("mousemove", str(x + w // 2), str(y + h // 2), "click", "1")


class DaemonProc:
    """`guiagent daemon` as its own process (the host that runs the tasks holds the secret's variable)."""

    def __init__(self, work: Path, serial: str, adb_port: int, env: dict[str, str], token: str,
                 *extra: str) -> None:
        self.stdout, self.stderr = work / "daemon.stdout", work / "daemon.stderr"
        env = {**env, "GUIAGENT_TOKEN": token}
        with open(self.stdout, "wb") as out, open(self.stderr, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "guiagent", "-vv", "daemon", "--port", "0", "--db", str(work / "queue.db"),
                 "--devices", serial, "--adb-port", str(adb_port), *extra],
                cwd=ROOT, env=env, stdout=out, stderr=err, start_new_session=True)
        url = wait_until(self._url, 60, "the daemon listening")
        self.http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        wait_until(lambda: self.http.get("/health").json()["devices"]["online"] == 1, 60, "the phone online")

    def _url(self) -> str | None:
        assert self.proc.poll() is None, self.stdout.read_text() + self.stderr.read_text()
        m = re.search(r"listening on (http://\S+?)(?:\s|$)", self.stdout.read_text())
        return m.group(1) if m else None

    def finish(self, task_id: str) -> dict[str, Any]:
        terminal = {"succeeded", "failed", "cancelled", "interrupted"}
        return wait_until(lambda: (t := self.http.get(f"/tasks/{task_id}").json())["status"] in terminal and t,
                          120, f"task {task_id}")

    def stop(self) -> None:
        self.http.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
