"""`guiagent sim-phone` as a real process, and `open_sim_phone` (the registry's "sim" device)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from waiting import like_a_terminal

adbutils = pytest.importorskip("adbutils")
ROOT = Path(__file__).resolve().parents[2]


def test_sim_phone_command_serves_adb_until_interrupted() -> None:
    env = {**os.environ, "ADB_LIBUSB": "0", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "guiagent", "sim-phone", "--port", "0", "--connect",
                             "--scenario", "form"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL, preexec_fn=like_a_terminal,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    serial = None
    try:
        assert proc.stdout is not None
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if m := re.match(r"serial: (\S+)", line):
                serial = m.group(1)
            if line.startswith("Ctrl+C"):
                break
        assert serial and any(f"adb connect {serial}" in ln for ln in lines), lines
        dev = adbutils.AdbClient(socket_timeout=20).device(serial)
        assert dev.shell("echo from-cli") == "from-cli"
        assert "com.example.signup" in dev.shell("pm list packages")
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0 and "stopped" in out
        listed = {d.serial for d in adbutils.AdbClient().list()}
        assert serial not in listed  # --connect also disconnects on the way out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if serial:
            adbutils.AdbClient().disconnect(serial)


def test_sim_phone_rejects_a_bad_scenario() -> None:
    r = subprocess.run([sys.executable, "-m", "guiagent", "sim-phone", "--port", "0", "--scenario", "nope"],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "no scenario 'nope'" in r.stderr


def test_open_sim_phone_returns_an_android_device_that_stops_the_phone_on_close() -> None:
    pytest.importorskip("devices.android.device")
    from devices.simphone.launch import open_sim_phone

    device = open_sim_phone("default", size="540x960", density=240)
    phone = device.sim_phone
    try:
        assert device.info.screen_size == (540, 960) and device.info.density == 240
        assert device.screenshot().size == (540, 960)
        assert any(e.name == "Settings" for e in device.ui_tree())
        assert phone.state.package == "com.android.launcher3"
    finally:
        device.close()
    assert not phone.running
    assert phone.serial not in {d.serial for d in adbutils.AdbClient().list()}
