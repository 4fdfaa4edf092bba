"""The Linux accessibility tree (AT-SPI) as `Element`s, read through a helper process.

pyatspi only imports under Debian's own Python, so `AtspiReader` runs `atspi_dump.py` there,
keeps it alive between calls and talks JSON lines to it. When there is no accessibility bus
(or no pyatspi) it logs once at debug level and returns an empty list from then on.
Applications expose their tree only when the a11y bus was up and enabled before they
started (Qt: QT_ACCESSIBILITY=1; Chromium: --force-renderer-accessibility).
"""

from __future__ import annotations

import json
import logging
import os
import select
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from devices.coords import ScreenMap
from guiagent.schema import Element, Role
from guiagent.schema.errors import DeviceTimeout

log = logging.getLogger(__name__)

HELPER = Path(__file__).with_name("atspi_dump.py")
SYSTEM_PYTHON = "/usr/bin/python3"

ROLE_MAP: dict[str, Role] = {
    "push button": Role.BUTTON, "button": Role.BUTTON, "toggle button": Role.BUTTON,
    "split button": Role.BUTTON, "push button menu": Role.BUTTON,
    "check box": Role.CHECKBOX, "check menu item": Role.MENU_ITEM,
    "radio button": Role.RADIO, "radio menu item": Role.MENU_ITEM,
    "switch": Role.SWITCH, "toggle switch": Role.SWITCH,
    "text": Role.TEXT_FIELD, "entry": Role.TEXT_FIELD, "password text": Role.TEXT_FIELD,
    "spin button": Role.TEXT_FIELD, "editbar": Role.TEXT_FIELD, "terminal": Role.TEXT_FIELD,
    "combo box": Role.COMBOBOX,
    "link": Role.LINK,
    "label": Role.TEXT, "static": Role.TEXT, "caption": Role.TEXT, "heading": Role.TEXT,
    "paragraph": Role.TEXT, "status bar": Role.TEXT, "accelerator label": Role.TEXT,
    "icon": Role.ICON, "desktop icon": Role.ICON,
    "image": Role.IMAGE, "animation": Role.IMAGE, "canvas": Role.IMAGE,
    "list item": Role.LIST_ITEM, "table cell": Role.LIST_ITEM, "tree item": Role.LIST_ITEM,
    "table row": Role.LIST_ITEM,
    "menu item": Role.MENU_ITEM, "menu": Role.MENU_ITEM, "tearoff menu item": Role.MENU_ITEM,
    "page tab": Role.TAB,
    "slider": Role.SLIDER, "scroll bar": Role.SLIDER, "dial": Role.SLIDER,
    "frame": Role.WINDOW, "window": Role.WINDOW, "dialog": Role.WINDOW, "alert": Role.WINDOW,
    "file chooser": Role.WINDOW,
    "panel": Role.CONTAINER, "filler": Role.CONTAINER, "scroll pane": Role.CONTAINER,
    "viewport": Role.CONTAINER, "list": Role.CONTAINER, "list box": Role.CONTAINER,
    "table": Role.CONTAINER, "tree table": Role.CONTAINER, "tree": Role.CONTAINER,
    "page tab list": Role.CONTAINER, "tool bar": Role.CONTAINER, "menu bar": Role.CONTAINER,
    "split pane": Role.CONTAINER, "layered pane": Role.CONTAINER, "section": Role.CONTAINER,
    "form": Role.CONTAINER, "grouping": Role.CONTAINER, "document web": Role.CONTAINER,
    "document frame": Role.CONTAINER, "internal frame": Role.CONTAINER, "page": Role.CONTAINER,
}
CLICKABLE_ROLES = {Role.BUTTON, Role.CHECKBOX, Role.RADIO, Role.SWITCH, Role.LINK, Role.COMBOBOX,
                   Role.LIST_ITEM, Role.MENU_ITEM, Role.TAB}


def node_to_element(node: dict[str, Any], index: int, screen: ScreenMap) -> Element | None:
    """One helper node (desktop coordinates) -> Element in screenshot pixels; None when it
    lies outside the captured area or is an unnamed layout container."""
    atspi_role = str(node.get("role", ""))
    role = ROLE_MAP.get(atspi_role, Role.OTHER)
    if node.get("depth") == 1:
        role = Role.WINDOW  # an application's top-level children are its windows
    states = set(node.get("states", ()))
    name = str(node.get("name") or "")
    if role in (Role.CONTAINER, Role.OTHER) and not name and not node.get("actions"):
        return None
    c = screen.capture
    x, y, w, h = (int(node[k]) for k in ("x", "y", "w", "h"))
    left, top = max(x, c.left), max(y, c.top)
    right, bottom = min(x + w, c.right), min(y + h, c.bottom)
    if right <= left or bottom <= top:
        return None
    (pl, pt), (pr, pb) = screen.to_screenshot(left, top), screen.to_screenshot(right, bottom)
    value = node.get("value")
    checkable = "checkable" in states or role in (Role.CHECKBOX, Role.RADIO, Role.SWITCH)
    return Element(
        id=f"ax{index}",
        role=role,
        name=name,
        value=None if value is None else str(value),
        bbox=(int(pl), int(pt), int(pr), int(pb)),
        enabled="enabled" in states or "sensitive" in states,
        focused="focused" in states,
        checked=("checked" in states or "pressed" in states) if checkable else None,
        selected=True if "selected" in states else None,
        editable="editable" in states,
        clickable=role in CLICKABLE_ROLES or bool(node.get("actions")),
        password=atspi_role == "password text",
        source="a11y",
        extras={"atspi_role": atspi_role, "app": str(node.get("app", "")), "pid": int(node.get("pid", -1)),
                "path": str(node.get("path", "")), "description": str(node.get("description") or "") or None},
    )


def nodes_to_elements(nodes: Iterable[dict[str, Any]], screen: ScreenMap) -> list[Element]:
    out: list[Element] = []
    for node in nodes:
        try:
            el = node_to_element(node, len(out), screen)
        except (KeyError, TypeError, ValueError) as exc:  # one odd node must not lose the tree
            log.debug("skipping malformed a11y node %r: %s", node, exc)
            continue
        if el is not None:
            out.append(el)
    return out


class AtspiReader:
    """Keeps one `atspi_dump.py` helper alive; `nodes()` returns raw nodes, [] if unavailable."""

    def __init__(self, python: str | None = None, timeout: float = 5.0, max_nodes: int = 3000,
                 env: dict[str, str] | None = None) -> None:
        self.python = python or os.environ.get("GUIAGENT_ATSPI_PYTHON") or (
            SYSTEM_PYTHON if Path(SYSTEM_PYTHON).exists() else sys.executable)
        self.timeout = timeout
        self.max_nodes = max_nodes
        self.env = env
        self.unavailable: str | None = None  # why, once we gave up
        self._proc: subprocess.Popen[bytes] | None = None
        self._buf = b""
        self._next_id = 0
        self._lock = threading.Lock()

    def _readline(self, deadline: float) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise DeviceTimeout(f"AT-SPI helper gave no answer within {self.timeout:g}s")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise EOFError(f"AT-SPI helper exited (code {self._proc.wait()})")
                self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return json.loads(line)

    def _start(self) -> None:
        if shutil.which(self.python) is None and not Path(self.python).exists():
            raise FileNotFoundError(f"no Python at {self.python}")
        env = dict(os.environ if self.env is None else self.env)
        self._buf = b""
        self._proc = subprocess.Popen(
            [self.python, str(HELPER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=env,
        )
        try:
            hello = self._readline(time.monotonic() + max(self.timeout, 10.0))  # first D-Bus contact is slow
        except DeviceTimeout as exc:
            raise RuntimeError(f"helper did not get ready: {exc}") from exc
        if not hello.get("ready"):
            raise RuntimeError(hello.get("error") or "helper not ready")

    def nodes(self, skip_pids: Iterable[int] = ()) -> list[dict[str, Any]]:
        with self._lock:
            if self.unavailable is not None:
                return []
            try:
                if self._proc is None or self._proc.poll() is not None:
                    self._start()
                assert self._proc is not None and self._proc.stdin is not None
                self._next_id += 1
                req = {"id": self._next_id, "cmd": "tree", "max_nodes": self.max_nodes,
                       "skip_pids": sorted(skip_pids)}
                self._proc.stdin.write((json.dumps(req) + "\n").encode())
                self._proc.stdin.flush()
                deadline = time.monotonic() + self.timeout
                while True:
                    reply = self._readline(deadline)
                    if reply.get("id") == self._next_id:
                        break
            except DeviceTimeout as exc:
                # A hung app can stall the bus: drop this helper, a fresh one serves next time.
                log.warning("%s; restarting it next call", exc)
                self._kill()
                return []
            except (OSError, EOFError, RuntimeError, ValueError) as exc:
                self.unavailable = f"{type(exc).__name__}: {exc}"
                log.debug("AT-SPI unavailable, ui_tree() stays empty: %s", self.unavailable)
                self._kill()
                return []
            if not reply.get("ok"):
                log.debug("AT-SPI tree read failed: %s", reply.get("error"))
                return []
            return list(reply.get("nodes", []))

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.poll() is None and proc.stdin is not None:
                proc.stdin.write(b'{"cmd": "quit"}\n')
                proc.stdin.flush()
                proc.wait(1.0)
        except (OSError, subprocess.TimeoutExpired):
            pass
        if proc.poll() is None:
            proc.kill()
            proc.wait(2.0)
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()

    def close(self) -> None:
        with self._lock:
            self._kill()
