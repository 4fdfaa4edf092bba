"""AT-SPI tree reader, run as a helper process: `/usr/bin/python3 devices/atspi_dump.py`.

pyatspi (GObject introspection) installs for Debian's own Python only, so the desktop device
runs this file there and talks JSON lines over stdin/stdout. Standalone on purpose: it
imports nothing of the project (the system Python has none of its dependencies).

Protocol: one JSON object per line.
  start   -> {"ready": true} or {"ready": false, "error": "..."}
  {"id": 1, "cmd": "tree", "max_nodes": 3000, "skip_pids": [123]}
          -> {"id": 1, "ok": true, "nodes": [{role, name, description, value, x, y, w, h,
              states, pid, app, path, depth, actions}, ...]}   (desktop coordinates)
  {"id": 2, "cmd": "ping"} -> {"id": 2, "ok": true}
  {"cmd": "quit"} or end of input -> exit
Only nodes that are showing and visible with a non-empty box are listed; hidden subtrees
are not walked.
"""

from __future__ import annotations

import json
import sys
from typing import Any

TEXT_VALUE_ROLES = {"text", "entry", "terminal", "document text", "paragraph", "spin button", "editbar"}


def _safe(fn: Any, default: Any = None) -> Any:
    try:
        return fn()
    except Exception:
        return default


def _value(acc: Any, role: str, states: set[str]) -> str | None:
    if role == "password text":
        return None  # never read secrets out of password fields
    if role in TEXT_VALUE_ROLES or "editable" in states:
        text = _safe(lambda: acc.queryText())
        if text is not None:
            return _safe(lambda: text.getText(0, -1))
    if role == "combo box":
        sel = _safe(lambda: acc.querySelection())
        if sel is not None and _safe(lambda: sel.nSelectedChildren, 0):
            child = _safe(lambda: sel.getSelectedChild(0))
            if child is not None:
                return _safe(lambda: child.name)
    val = _safe(lambda: acc.queryValue())
    if val is not None:
        current = _safe(lambda: val.currentValue)
        if current is not None:
            return f"{current:g}"
    return None


def _node(pyatspi: Any, acc: Any, pid: int, app: str, path: str, depth: int) -> tuple[dict[str, Any] | None, bool]:
    """(node or None, walk its children?)"""
    states = {pyatspi.stateToString(s) for s in _safe(lambda: acc.getState().getStates(), [])}
    if "showing" not in states or "visible" not in states:
        return None, False
    ext = _safe(lambda: acc.queryComponent().getExtents(pyatspi.DESKTOP_COORDS))
    role = _safe(lambda: acc.getRoleName(), "unknown")
    if ext is None or ext.width <= 0 or ext.height <= 0:
        return None, True  # some containers have no extents but visible children
    action = _safe(lambda: acc.queryAction())
    actions = [_safe(lambda i=i: action.getName(i), "") for i in range(_safe(lambda: action.nActions, 0))] if action else []
    return {
        "role": role,
        "name": _safe(lambda: acc.name, "") or "",
        "description": _safe(lambda: acc.description, "") or "",
        "value": _value(acc, role, states),
        "x": ext.x, "y": ext.y, "w": ext.width, "h": ext.height,
        "states": sorted(states),
        "pid": pid,
        "app": app,
        "path": path,
        "depth": depth,
        "actions": actions,
    }, True


def dump(pyatspi: Any, max_nodes: int, skip_pids: set[int]) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    desktop = pyatspi.Registry.getDesktop(0)
    for ai in range(_safe(lambda: desktop.childCount, 0)):
        app = _safe(lambda ai=ai: desktop.getChildAtIndex(ai))
        if app is None:
            continue
        pid = _safe(lambda app=app: app.get_process_id(), -1)
        if pid in skip_pids:
            continue
        app_name = _safe(lambda app=app: app.name, "") or ""
        stack = [(_safe(lambda app=app, i=i: app.getChildAtIndex(i)), str(i), 1)
                 for i in reversed(range(_safe(lambda app=app: app.childCount, 0)))]
        while stack and len(nodes) < max_nodes:
            acc, path, depth = stack.pop()
            if acc is None:
                continue
            node, descend = _node(pyatspi, acc, pid, app_name, path, depth)
            if node is not None:
                nodes.append(node)
            if descend and depth < 60:
                n = _safe(lambda acc=acc: acc.childCount, 0)
                stack.extend((_safe(lambda acc=acc, i=i: acc.getChildAtIndex(i)), f"{path}.{i}", depth + 1)
                             for i in reversed(range(min(n, 2000))))
    return nodes


def _send(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def main() -> int:
    try:
        import pyatspi

        try:  # a hung application must not stall us for D-Bus's default 25 s
            from gi.repository import Atspi

            Atspi.set_timeout(1500, 5000)
        except Exception:
            pass
        pyatspi.Registry.getDesktop(0).childCount  # noqa: B018 - touches the bus: fails here, not later
    except Exception as exc:
        _send({"ready": False, "error": f"{type(exc).__name__}: {exc}"})
        return 1
    _send({"ready": True})
    for line in sys.stdin:
        try:
            req = json.loads(line)
        except ValueError:
            _send({"ok": False, "error": "bad request line"})
            continue
        rid, cmd = req.get("id"), req.get("cmd")
        if cmd == "quit":
            break
        try:
            if cmd == "ping":
                _send({"id": rid, "ok": True})
            elif cmd == "tree":
                nodes = dump(pyatspi, int(req.get("max_nodes", 3000)), set(req.get("skip_pids", [])))
                _send({"id": rid, "ok": True, "nodes": nodes})
            else:
                _send({"id": rid, "ok": False, "error": f"unknown command {cmd!r}"})
        except Exception as exc:
            _send({"id": rid, "ok": False, "error": f"{type(exc).__name__}: {exc}"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
