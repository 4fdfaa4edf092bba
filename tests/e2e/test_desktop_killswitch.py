"""The kill switch: its flag, a real global hotkey on Xvfb, signals, and pyautogui's fail-safe."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from devices.killswitch import DEFAULT_HOTKEY, KillSwitch
from devices.x11.device import DesktopDevice, open_desktop
from devices.x11.xvfb import VirtualDisplay
from guiagent.schema import Click, Target, TypeText, Wait
from guiagent.schema.errors import StopRequested

ROOT = Path(__file__).resolve().parents[2]


def xdotool(*args: str) -> None:
    subprocess.run(["xdotool", *args], check=True, timeout=30)


def test_flag_trip_reset_wait_and_callbacks() -> None:
    ks = KillSwitch(hotkey=None)
    seen: list[str] = []
    ks.on_trip(seen.append)
    assert not ks.tripped and ks.reason is None and not ks.wait(0)
    ks.check()  # not tripped: no exception
    timer = threading.Timer(0.05, ks.trip, args=("from another thread",))
    timer.start()
    assert ks.wait(30)
    timer.join(30)  # callbacks run in the tripping thread, right after the flag is set
    ks.trip("second reason")  # the first reason wins, callbacks run once
    assert ks.tripped and ks.reason == "from another thread" and seen == ["from another thread"]
    with pytest.raises(StopRequested, match="from another thread"):
        ks.check()
    ks.reset()
    assert not ks.tripped and ks.reason is None
    assert ks.start() is False  # no hotkey configured: nothing to arm, no error


def test_hotkey_sent_through_the_x_server_trips_it(xdisplay: VirtualDisplay) -> None:
    default = KillSwitch()
    custom = KillSwitch(hotkey="<ctrl>+<alt>+k")
    assert default.hotkey == DEFAULT_HOTKEY
    try:
        assert default.start() and custom.start()
        assert default.listening and custom.listening
        xdotool("key", "ctrl+alt+shift+q")
        assert default.wait(20), "the default chord did not trip the switch"
        assert "hotkey" in (default.reason or "")
        assert not custom.tripped  # a different chord
        xdotool("key", "ctrl+alt+k")
        assert custom.wait(20)
    finally:
        default.stop()
        custom.stop()
    assert not default.listening


def test_bad_hotkey_is_a_clear_error(xdisplay: VirtualDisplay) -> None:
    with pytest.raises(ValueError, match="kill-switch hotkey"):
        KillSwitch(hotkey="<ctrl>+<nosuchkey>").start()


def test_no_display_disables_the_hotkey_gracefully() -> None:
    code = "from devices.killswitch import KillSwitch; print(KillSwitch().start())"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_signals_trip_then_fall_through() -> None:
    # Python's own Ctrl+C handler, whatever pytest was started with (`cmd &` starts it ignoring SIGINT)
    started_with = signal.signal(signal.SIGINT, signal.default_int_handler)
    ks = KillSwitch(hotkey=None)
    assert ks.install_signal_handlers((signal.SIGINT,))
    try:
        signal.raise_signal(signal.SIGINT)
        assert ks.tripped and ks.reason == "signal SIGINT"
        # a second Ctrl+C goes to Python's own handler: KeyboardInterrupt, as users expect
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    finally:
        ks.restore_signal_handlers()
        restored = signal.getsignal(signal.SIGINT)
        signal.signal(signal.SIGINT, started_with)
    assert restored is signal.default_int_handler

    result: list[bool] = []
    t = threading.Thread(target=lambda: result.append(KillSwitch(None).install_signal_handlers()))
    t.start()
    t.join()
    assert result == [False]  # only the main thread may install handlers


@pytest.fixture
def guarded(xdisplay: VirtualDisplay) -> Iterator[tuple[DesktopDevice, KillSwitch]]:
    ks = KillSwitch(hotkey=None)
    d = open_desktop("", a11y=False, kill_switch=ks)
    yield d, ks
    d.close()


def test_fail_safe_corner_becomes_stop_requested(guarded: tuple[DesktopDevice, KillSwitch]) -> None:
    dev, ks = guarded
    xdotool("mousemove", "0", "0")  # the user slams the pointer into the corner
    try:
        with pytest.raises(StopRequested, match="fail-safe"):
            dev.execute(Click(target=Target.at(0.5, 0.5)))
        assert ks.tripped and "fail-safe" in (ks.reason or "")
    finally:
        xdotool("mousemove", "640", "400")
    # once tripped, the device refuses every further action until reset
    with pytest.raises(StopRequested):
        dev.execute(TypeText(text="x"))
    ks.reset()
    assert dev.execute(Wait(seconds=0)).status == "ok"


def test_agent_clicking_a_corner_does_not_arm_the_fail_safe(guarded: tuple[DesktopDevice, KillSwitch]) -> None:
    dev, ks = guarded
    dev.execute(Click(target=Target.at(0.0, 0.0)))  # nudged one pixel inwards
    assert dev.x11.pointer() == (1, 1)
    dev.execute(Wait(seconds=0))
    dev.execute(Click(target=Target.at(0.5, 0.5)))  # would raise if the pointer sat in the corner
    assert not ks.tripped


def test_trip_interrupts_a_wait(guarded: tuple[DesktopDevice, KillSwitch]) -> None:
    dev, ks = guarded
    errors: list[BaseException] = []
    started = threading.Event()

    def run() -> None:
        started.set()
        try:
            dev.execute(Wait(seconds=60))
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=run)
    t.start()
    started.wait(30)
    assert dev.screenshot().size == dev.info.screen_size  # a long wait does not block the screen
    ks.trip("user pressed stop")
    t.join(30)
    assert not t.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], StopRequested) and "user pressed stop" in str(errors[0])
