"""Lays a scenario screen out into a tree of view nodes with pixel bounds.

This tree is the single source of truth: the renderer draws it, `uiautomator dump` serializes
it and taps are hit-tested against it, so the pixels and the UI tree always agree. Sizes are
in dp (x density/160), like Android. Windows: the app's content area, the status bar
(24 dp) and the navigation bar (48 dp, Back/Home/Overview).
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Any

from devices.simphone.fonts import text_width, wrap
from devices.simphone.scenario import App, Scenario, Screen, Widget

Box = tuple[int, int, int, int]
SYSTEMUI = "com.android.systemui"


@dataclass
class Entry:
    """One screen on a task's back stack, with its transient view state."""

    screen: str
    vars: dict[str, Any] = field(default_factory=dict)
    scroll: dict[int, int] = field(default_factory=dict)  # widget index -> px
    focus: int | None = None  # widget index of the focused edit_text


@dataclass
class Node:
    cls: str
    bounds: Box
    package: str
    text: str = ""
    rid: str = ""
    desc: str = ""
    checkable: bool = False
    checked: bool = False
    clickable: bool = False
    enabled: bool = True
    focusable: bool = False
    focused: bool = False
    scrollable: bool = False
    long_clickable: bool = False
    password: bool = False
    selected: bool = False
    children: list[Node] = field(default_factory=list)
    # simulation only: how to draw it and what a tap on it does
    kind: str = ""
    target: tuple[Any, ...] | None = None
    style: dict[str, Any] = field(default_factory=dict)

    def walk(self) -> list[Node]:
        out = [self]
        for c in self.children:
            out.extend(c.walk())
        return out


@dataclass
class LayoutInput:
    scenario: Scenario
    app: App
    screen_id: str
    screen: Screen
    entry: Entry
    values: dict[str, Any]
    size: tuple[int, int]
    density: int
    toast: str | None = None


class _Vars(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(text: str, entry_vars: dict[str, Any], values: dict[str, Any]) -> str:
    """`{key}` from the screen's vars, then the state; unknown keys stay as typed."""
    if "{" not in text:
        return text
    merged = _Vars({**values, **entry_vars})
    try:
        return string.Formatter().vformat(text, (), merged)
    except (ValueError, IndexError, KeyError, AttributeError):
        return text


def layout(li: LayoutInput) -> list[Node]:
    """Top-level windows, bottom-most first: app content, a heads-up notification when the
    screen has one, status bar, navigation bar."""
    w, h = li.size
    dp = li.density / 160.0
    status_h, nav_h = round(24 * dp), round(48 * dp)
    windows = [_app_window(li, (0, status_h, w, h - nav_h), dp)]
    if li.screen.notification is not None:
        windows.append(_notification(li, (0, status_h, w, h - nav_h), dp))
    windows.append(_status_bar(li, (0, 0, w, status_h), dp))
    windows.append(_nav_bar((0, h - nav_h, w, h), dp))
    return windows


def _px(v: float, dp: float) -> int:
    return round(v * dp)


def _app_window(li: LayoutInput, box: Box, dp: float) -> Node:
    pkg = li.app.package
    root = Node("android.widget.FrameLayout", box, pkg, kind="window",
                style={"secure": li.screen.secure, "wallpaper": li.app.role == "launcher"})
    left, top, right, bottom = box
    y = top
    if li.screen.title is not None:
        bar_h = _px(56, dp)
        bar = Node("android.view.ViewGroup", (left, y, right, y + bar_h), pkg, rid=f"{pkg}:id/toolbar",
                   kind="toolbar", style={"color": li.app.icon_color})
        x = left + _px(16, dp)
        if li.screen.up_arrow:
            up = Node("android.widget.ImageButton", (left, y, left + bar_h, y + bar_h), pkg,
                      desc="Navigate up", clickable=True, focusable=True, kind="up", target=("up",))
            bar.children.append(up)
            x = left + _px(72, dp)
        title = fill(li.screen.title, li.entry.vars, li.values)
        size = _px(20, dp)
        th = _px(32, dp)
        ty = y + (bar_h - th) // 2
        bar.children.append(Node("android.widget.TextView", (x, ty, min(right - _px(16, dp), x + text_width(title, size, True) + 2), ty + th),
                                 pkg, text=title, kind="title", style={"px": size, "bold": True}))
        root.children.append(bar)
        y += bar_h
    content = Node("android.widget.LinearLayout", (left, y, right, bottom), pkg,
                   rid=f"{pkg}:id/content", kind="content")
    root.children.append(content)
    _layout_widgets(li, content, dp)
    if li.toast:
        size = _px(14, dp)
        tw = min(right - left - _px(48, dp), text_width(li.toast, size) + _px(32, dp))
        th = _px(40, dp)
        cx = (left + right) // 2
        tb = (cx - tw // 2, bottom - _px(64, dp) - th, cx + tw // 2, bottom - _px(64, dp))
        root.children.append(Node("android.widget.Toast", tb, pkg, text=li.toast, kind="toast",
                                  style={"px": size}))
    return root


def _natural_height(w: Widget, li: LayoutInput, width: int, dp: float) -> int | None:
    """Height in px, or None for widgets that fill the remaining space."""
    if w.height_dp is not None:
        return _px(w.height_dp, dp)
    match w.type:
        case "text":
            px = _px({"title": 22, "caption": 14}.get(w.style, 16), dp)
            lines = wrap(fill(w.text, li.entry.vars, li.values), px, max(1, width - _px(32, dp)))
            return len(lines) * round(px * 1.35) + _px(16, dp)
        case "button":
            return _px(64, dp)
        case "switch" | "checkbox" | "edit_text":
            return _px(56 if w.type != "switch" else 64, dp)
        case "divider":
            return _px(9, dp)
        case "list" | "icon_grid":
            return None
    return _px(48, dp)


def _layout_widgets(li: LayoutInput, content: Node, dp: float) -> None:
    left, top, right, bottom = content.bounds
    widgets = li.screen.widgets
    heights = [_natural_height(w, li, right - left, dp) for w in widgets]
    fixed = sum(h for h in heights if h is not None)
    fillers = [i for i, h in enumerate(heights) if h is None]
    spare = max(0, bottom - top - fixed)
    for n, i in enumerate(fillers):
        share = spare // len(fillers)
        heights[i] = share + (spare - share * len(fillers) if n == len(fillers) - 1 else 0)
    y = top
    for i, (w, hh) in enumerate(zip(widgets, heights, strict=True)):
        assert hh is not None
        box = (left, y, right, min(bottom, y + hh))
        y += hh
        if box[1] >= bottom:
            break  # overflow: the screen itself does not scroll
        node = _widget_node(li, i, w, box, dp)
        if node is not None:
            content.children.append(node)


def _rid(li: LayoutInput, w: Widget) -> str:
    return f"{li.app.package}:id/{w.id}" if w.id else ""


def _widget_node(li: LayoutInput, i: int, w: Widget, box: Box, dp: float) -> Node | None:
    pkg = li.app.package
    left, top, right, bottom = box
    pad = _px(16, dp)
    text = fill(w.text, li.entry.vars, li.values)
    match w.type:
        case "text":
            px = _px({"title": 22, "caption": 14}.get(w.style, 16), dp)
            return Node("android.widget.TextView", (left + pad, top + _px(8, dp), right - pad, bottom - _px(8, dp)),
                        pkg, text=text, rid=_rid(li, w), desc=w.desc, enabled=w.enabled,
                        clickable=bool(w.on_tap), kind="text", target=("widget", i) if w.on_tap else None,
                        style={"px": px, "bold": w.style == "title", "muted": w.style == "caption"})
        case "button":
            px = _px(15, dp)
            bh = _px(48, dp)
            bw = max(_px(88, dp), text_width(text.upper(), px, True) + _px(48, dp))
            bw = min(bw, right - left - 2 * pad)
            bx = {"start": left + pad, "center": (left + right - bw) // 2, "end": right - pad - bw}.get(w.align, left + pad)
            if w.align == "stretch":
                bx, bw = left + pad, right - left - 2 * pad
            by = top + (bottom - top - bh) // 2
            # Material buttons are all caps, and so is the text accessibility reports
            return Node("android.widget.Button", (bx, by, bx + bw, by + bh), pkg, text=text.upper(), rid=_rid(li, w),
                        desc=w.desc, clickable=w.enabled, focusable=True, enabled=w.enabled,
                        long_clickable=bool(w.on_long_press), kind="button", target=("widget", i),
                        style={"px": px, "variant": w.style})
        case "switch":
            on = bool(li.values.get(w.bind or "", False))
            row = Node("android.widget.LinearLayout", box, pkg, rid=_rid(li, w), clickable=w.enabled,
                       focusable=True, enabled=w.enabled, kind="row", target=("widget", i))
            px = _px(16, dp)
            sw_w, sw_h = _px(52, dp), _px(32, dp)
            sx, sy = right - pad - sw_w, top + (bottom - top - sw_h) // 2
            th = round(px * 1.4)
            row.children.append(Node("android.widget.TextView", (left + pad, top + (bottom - top - th) // 2, sx - pad,
                                                                 top + (bottom - top - th) // 2 + th),
                                     pkg, text=text, rid="android:id/title", enabled=w.enabled, kind="label",
                                     style={"px": px}))
            row.children.append(Node("android.widget.Switch", (sx, sy, sx + sw_w, sy + sw_h), pkg,
                                     rid="android:id/switch_widget", checkable=True, checked=on,
                                     enabled=w.enabled, desc=w.desc, kind="switch"))
            return row
        case "checkbox":
            on = bool(li.values.get(w.bind or "", False))
            return Node("android.widget.CheckBox", box, pkg, text=text, rid=_rid(li, w), desc=w.desc,
                        checkable=True, checked=on, clickable=w.enabled, focusable=True, enabled=w.enabled,
                        kind="checkbox", target=("widget", i), style={"px": _px(16, dp)})
        case "edit_text":
            value = str(li.values.get(w.bind or "", ""))
            shown = ("•" * len(value) if w.password else value) or fill(w.hint, li.entry.vars, li.values)
            focused = li.entry.focus == i
            eb = (left + pad, top + _px(4, dp), right - pad, bottom - _px(4, dp))
            return Node("android.widget.EditText", eb, pkg, text=shown, rid=_rid(li, w), desc=w.desc,
                        clickable=w.enabled, focusable=True, focused=focused, enabled=w.enabled,
                        long_clickable=True, password=w.password, kind="edit", target=("widget", i),
                        style={"px": _px(18, dp), "hint": not value, "focused": focused})
        case "divider":
            return Node("android.view.View", (left, top + _px(4, dp), right, top + _px(5, dp)), pkg, kind="divider")
        case "list":
            return _list_node(li, i, w, box, dp)
        case "icon_grid":
            return _icon_grid(li, i, w, box, dp)
    return None


def list_items(w: Widget, values: dict[str, Any]) -> list[tuple[str, str]]:
    if w.bind is not None:
        return [(str(x), "") for x in values.get(w.bind, [])]
    return [(it.title, it.subtitle) for it in w.items]


def list_row_height(w: Widget, dp: float) -> int:
    return _px(72 if any(it.subtitle for it in w.items) else 56, dp)


def list_max_scroll(w: Widget, values: dict[str, Any], box_height: int, dp: float) -> int:
    return max(0, len(list_items(w, values)) * list_row_height(w, dp) - box_height)


def _list_node(li: LayoutInput, i: int, w: Widget, box: Box, dp: float) -> Node:
    pkg = li.app.package
    left, top, right, bottom = box
    items = list_items(w, li.values)
    row_h = list_row_height(w, dp)
    scroll = min(li.entry.scroll.get(i, 0), list_max_scroll(w, li.values, bottom - top, dp))
    can_scroll = len(items) * row_h > bottom - top
    node = Node("androidx.recyclerview.widget.RecyclerView", box, pkg, rid=_rid(li, w), desc=w.desc,
                scrollable=can_scroll, focusable=True, kind="list", style={"scroll": scroll, "index": i})
    if not items and w.empty_text:
        px = _px(16, dp)
        node.children.append(Node("android.widget.TextView", (left + _px(16, dp), top + _px(16, dp), right - _px(16, dp),
                                                              top + _px(16, dp) + round(px * 1.4)),
                                  pkg, text=fill(w.empty_text, li.entry.vars, li.values), kind="text",
                                  style={"px": px, "muted": True}))
    pad = _px(16, dp)
    for j, (title, subtitle) in enumerate(items):
        ry = top + j * row_h - scroll
        if ry + row_h <= top or ry >= bottom:
            continue
        clip = (left, max(top, ry), right, min(bottom, ry + row_h))
        row = Node("android.widget.LinearLayout", clip, pkg, clickable=True, focusable=True,
                   long_clickable=bool(w.on_long_press), kind="list_row", target=("item", i, j),
                   style={"full": (left, ry, right, ry + row_h), "clip": box, "divider": j < len(items) - 1})
        px, spx = _px(16, dp), _px(14, dp)
        if subtitle:
            t1 = (left + pad, ry + _px(14, dp), right - pad, ry + _px(14, dp) + round(px * 1.4))
            t2 = (left + pad, t1[3] + _px(2, dp), right - pad, t1[3] + _px(2, dp) + round(spx * 1.4))
        else:
            th = round(px * 1.4)
            t1 = (left + pad, ry + (row_h - th) // 2, right - pad, ry + (row_h - th) // 2 + th)
            t2 = None
        for tb, text, size, role in ((t1, title, px, "title"), (t2, subtitle, spx, "summary")):
            if tb is None or tb[3] <= top or tb[1] >= bottom:
                continue
            vis = (tb[0], max(tb[1], top), tb[2], min(tb[3], bottom))
            row.children.append(Node("android.widget.TextView", vis, pkg, text=text, rid=f"android:id/{role}",
                                     kind="label", style={"px": size, "full": tb, "clip": box,
                                                          "muted": role == "summary"}))
        node.children.append(row)
    return node


def _icon_grid(li: LayoutInput, i: int, w: Widget, box: Box, dp: float) -> Node:
    pkg = li.app.package
    left, top, right, _bottom = box
    grid = Node("android.view.ViewGroup", box, pkg, rid=_rid(li, w) or f"{pkg}:id/workspace", kind="grid")
    apps = [a for a in li.scenario.apps if a.role == "app"]
    cell_w = (right - left) // w.columns
    cell_h = _px(104, dp)
    for n, app in enumerate(apps):
        r, c = divmod(n, w.columns)
        cb = (left + c * cell_w, top + _px(16, dp) + r * cell_h, left + (c + 1) * cell_w, top + _px(16, dp) + (r + 1) * cell_h)
        if cb[3] > box[3]:
            break
        grid.children.append(Node("android.widget.TextView", cb, pkg, text=app.label, desc=app.label,
                                  clickable=True, focusable=True, long_clickable=True, kind="icon",
                                  target=("app", app.package),
                                  style={"color": app.icon_color, "px": _px(13, dp), "icon": _px(56, dp)}))
    return grid


def _notification(li: LayoutInput, box: Box, dp: float) -> Node:
    """A heads-up card of the system UI at the top of the app area: the app's name, then the text."""
    note = li.screen.notification
    assert note is not None
    left, top, right, _ = box
    margin, pad = _px(8, dp), _px(16, dp)
    head_px, body_px = _px(13, dp), _px(16, dp)
    text = fill(note.text, li.entry.vars, li.values)
    inner = (left + margin + pad, right - margin - pad)
    lines = wrap(text, body_px, max(1, inner[1] - inner[0]))
    head_h, body_h = round(head_px * 1.35), len(lines) * round(body_px * 1.35)
    card = (left + margin, top + margin, right - margin, top + margin + 2 * pad + head_h + _px(4, dp) + body_h)
    root = Node("android.widget.FrameLayout", card, SYSTEMUI, rid=f"{SYSTEMUI}:id/notification_card",
                clickable=bool(note.on_tap), focusable=True, kind="notification",
                target=("notif",) if note.on_tap else None)
    y = card[1] + pad
    root.children.append(Node("android.widget.TextView", (inner[0], y, inner[1], y + head_h), SYSTEMUI,
                              text=note.app, rid="android:id/app_name_text", kind="text",
                              style={"px": head_px, "muted": True}))
    y += head_h + _px(4, dp)
    root.children.append(Node("android.widget.TextView", (inner[0], y, inner[1], y + body_h), SYSTEMUI,
                              text=text, rid="android:id/text", kind="text", style={"px": body_px}))
    return root


def _status_bar(li: LayoutInput, box: Box, dp: float) -> Node:
    left, top, right, bottom = box
    bar = Node("android.widget.FrameLayout", box, SYSTEMUI, rid=f"{SYSTEMUI}:id/status_bar", kind="statusbar")
    px = _px(14, dp)
    th = round(px * 1.3)
    cy = top + (bottom - top - th) // 2
    bar.children.append(Node("android.widget.TextView", (left + _px(16, dp), cy, left + _px(16, dp) + text_width("12:00", px) + 1, cy + th),
                             SYSTEMUI, text="12:00", rid=f"{SYSTEMUI}:id/clock", kind="clock", style={"px": px}))
    x = right - _px(16, dp)
    icons = [("battery", "Battery 100 percent.")]
    for key, label in (("wifi", "Wifi signal full."), ("airplane", "Airplane mode."), ("bluetooth", "Bluetooth on.")):
        if li.values.get(key) is True:
            icons.append((key, label))
    for key, label in icons:
        size = _px(16, dp)
        ib = (x - size, top + (bottom - top - size) // 2, x, top + (bottom - top - size) // 2 + size)
        bar.children.append(Node("android.widget.ImageView", ib, SYSTEMUI, desc=label, kind=f"status_{key}"))
        x -= size + _px(6, dp)
    return bar


def _nav_bar(box: Box, dp: float) -> Node:
    left, top, right, bottom = box
    bar = Node("android.widget.FrameLayout", box, SYSTEMUI, rid=f"{SYSTEMUI}:id/navigation_bar_frame", kind="navbar")
    bw = _px(72, dp)
    cx = (left + right) // 2
    for name, desc, x in (("back", "Back", cx - 2 * bw), ("home", "Home", cx), ("recent_apps", "Overview", cx + 2 * bw)):
        bar.children.append(Node("android.widget.ImageView", (x - bw // 2, top, x + bw // 2, bottom), SYSTEMUI,
                                 desc=desc, rid=f"{SYSTEMUI}:id/{name}", clickable=True, focusable=True,
                                 long_clickable=name != "recent_apps", kind=f"nav_{name}", target=("nav", name)))
    return bar
