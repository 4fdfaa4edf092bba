"""Test support for the desktop tests (no tests here): a real X client that reports what it gets.

The probe is a plain X window in a child process that reports every button, motion and key
event it receives (with root coordinates and keysyms) as JSON lines, and changes colour on
each left click.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

from waiting import wait_until

from devices.x11.device import DesktopDevice
from guiagent.schema import Point, Target

RED, GREEN = (255, 0, 0), (0, 255, 0)
GEOM = (700, 150, 200, 200)  # probe window x, y, w, h on the root window

PROBE = r"""
import json, os, sys
from Xlib import X, Xatom, display
x, y, w, h = map(int, sys.argv[1].split(","))
d = display.Display()
s = d.screen()
colors = [0xFF0000, 0x00FF00, 0x0000FF]
mask = (X.ButtonPressMask | X.ButtonReleaseMask | X.Button1MotionMask | X.KeyPressMask
        | X.StructureNotifyMask | X.ExposureMask)
win = s.root.create_window(x, y, w, h, 0, s.root_depth, X.InputOutput, X.CopyFromParent,
                           background_pixel=colors[0], event_mask=mask)
title = sys.argv[2]
win.set_wm_name(title.encode("latin-1", "replace").decode("latin-1"))
win.change_property(d.intern_atom("_NET_WM_NAME"), d.intern_atom("UTF8_STRING"), 8, title.encode())
win.change_property(d.intern_atom("_NET_WM_PID"), Xatom.CARDINAL, 32, [os.getpid()])
win.map()
d.flush()
clicks = 0
def out(**kw):
    print(json.dumps(kw), flush=True)
while True:
    e = d.next_event()
    if e.type == X.MapNotify:
        win.set_input_focus(X.RevertToParent, X.CurrentTime)
        out(type="mapped")
    elif e.type == X.MappingNotify:
        d.refresh_keyboard_mapping(e)  # the device binds keysyms to spare keycodes
    elif e.type == X.ButtonPress:
        if e.detail == 1:
            clicks += 1
            win.change_attributes(background_pixel=colors[clicks % 3])
            win.clear_area()
        win.set_input_focus(X.RevertToParent, X.CurrentTime)  # click-to-focus, like a toolkit
        out(type="press", button=e.detail, x=e.root_x, y=e.root_y, time=e.time, state=e.state)
    elif e.type == X.ButtonRelease:
        out(type="release", button=e.detail, x=e.root_x, y=e.root_y, time=e.time)
    elif e.type == X.MotionNotify:
        out(type="motion", x=e.root_x, y=e.root_y)
    elif e.type == X.KeyPress:
        sym = d.keycode_to_keysym(e.detail, 1 if e.state & X.ShiftMask else 0) or d.keycode_to_keysym(e.detail, 0)
        out(type="key", keysym=sym, keycode=e.detail, state=e.state)
    d.flush()
"""


class Probe:
    def __init__(self, geometry: tuple[int, int, int, int] = GEOM, title: str = "guiagent probe") -> None:
        self.geometry, self.title = geometry, title
        self.proc = subprocess.Popen(
            [sys.executable, "-c", PROBE, ",".join(map(str, geometry)), title],
            stdout=subprocess.PIPE, text=True, env=dict(os.environ),
        )
        self.pid = self.proc.pid
        self._q: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        threading.Thread(target=self._pump, daemon=True).start()
        self.wait_for(lambda e: e["type"] == "mapped")

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._q.put(json.loads(line))

    def wait_for(self, pred: Callable[[dict[str, Any]], bool], timeout: float = 30.0) -> dict[str, Any]:
        """The first event, seen or still to come, that matches `pred`."""

        def match() -> dict[str, Any] | None:
            while not self._q.empty():
                self.seen.append(self._q.get_nowait())
            found = next((e for e in self.seen if pred(e)), None)
            if found is None and self.proc.poll() is not None and self._q.empty():
                raise AssertionError(f"the probe exited (code {self.proc.returncode}); saw {self.seen[-20:]}")
            return found

        return wait_until(match, timeout=timeout, what="a matching probe event")

    def take(self) -> list[dict[str, Any]]:
        """Every event seen so far, then forget them."""
        out, self.seen = self.seen, []
        return out

    @property
    def center(self) -> tuple[int, int]:
        x, y, w, h = self.geometry
        return x + w // 2, y + h // 2

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def at(dev: DesktopDevice, gx: float, gy: float) -> Target:
    """Target at a root-window point, through the device's own screenshot mapping."""
    px, py = dev.screen.to_screenshot(gx, gy)
    return Target(point=Point.from_pixels(px + 0.5, py + 0.5, dev.info.screen_size))


def keysym(name: str) -> int:
    from Xlib import XK

    return XK.string_to_keysym(name)


