"""Walk the Windows UI Automation tree (the `uiautomation` package) into Elements.

One walk visits the foreground window (`scope="foreground"`) or every top-level window
(`scope="all"`, topmost first) depth-first and keeps, per element, the live control and the
patterns it supports, so that actions can use them (devices.windows.actions).

UIA walks are slow on big windows (every property is a cross-process COM call), so a walk has
budgets: a depth limit, an element limit and a time limit; hitting one stops the walk, keeps
what was found and logs it. Offscreen subtrees and zero-size elements are skipped (the children
of a zero-size element are still visited: some frameworks nest visible content in empty
groups). Elements vanish while we walk (a menu closes, a list refreshes): the COM error the
real package raises for that (UIA_E_ELEMENTNOTAVAILABLE) skips that subtree, not the walk.
`TreeCache` keeps the last walk for a short TTL, keyed on the foreground window and a cheap
change signal (window title and rectangle, the focused element).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from devices.coords import ScreenMap
from devices.windows.dpi import rect_to_screenshot
from guiagent.schema import Element, Role
from guiagent.schema.errors import ConfigError

log = logging.getLogger(__name__)

ROLE_BY_TYPE: dict[str, Role] = {
    "ButtonControl": Role.BUTTON, "SplitButtonControl": Role.BUTTON, "HeaderItemControl": Role.BUTTON,
    "EditControl": Role.TEXT_FIELD, "CheckBoxControl": Role.CHECKBOX, "RadioButtonControl": Role.RADIO,
    "HyperlinkControl": Role.LINK, "TextControl": Role.TEXT, "ToolTipControl": Role.TEXT,
    "ComboBoxControl": Role.COMBOBOX, "ListItemControl": Role.LIST_ITEM, "DataItemControl": Role.LIST_ITEM,
    "TreeItemControl": Role.LIST_ITEM, "MenuItemControl": Role.MENU_ITEM, "TabItemControl": Role.TAB,
    "ImageControl": Role.IMAGE, "SliderControl": Role.SLIDER, "SpinnerControl": Role.SLIDER,
    "ScrollBarControl": Role.SLIDER, "WindowControl": Role.WINDOW,
    "PaneControl": Role.CONTAINER, "GroupControl": Role.CONTAINER, "ListControl": Role.CONTAINER,
    "TreeControl": Role.CONTAINER, "TabControl": Role.CONTAINER, "ToolBarControl": Role.CONTAINER,
    "MenuBarControl": Role.CONTAINER, "MenuControl": Role.CONTAINER, "StatusBarControl": Role.CONTAINER,
    "TitleBarControl": Role.CONTAINER, "DataGridControl": Role.CONTAINER, "TableControl": Role.CONTAINER,
    "HeaderControl": Role.CONTAINER, "DocumentControl": Role.CONTAINER, "AppBarControl": Role.CONTAINER,
    "SemanticZoomControl": Role.CONTAINER, "CalendarControl": Role.CONTAINER,
}
SKIPPED_TYPES = frozenset({"SeparatorControl", "ThumbControl"})
# pattern short name -> uiautomation.PropertyId attribute telling whether it is available
PATTERN_PROPERTIES = {
    "invoke": "IsInvokePatternAvailableProperty", "toggle": "IsTogglePatternAvailableProperty",
    "selection_item": "IsSelectionItemPatternAvailableProperty",
    "expand_collapse": "IsExpandCollapsePatternAvailableProperty",
    "value": "IsValuePatternAvailableProperty", "scroll": "IsScrollPatternAvailableProperty",
}
PATTERN_IDS = {"invoke": "InvokePattern", "toggle": "TogglePattern", "selection_item": "SelectionItemPattern",
               "expand_collapse": "ExpandCollapsePattern", "value": "ValuePattern", "scroll": "ScrollPattern"}
CLICKABLE_ROLES = {Role.BUTTON, Role.CHECKBOX, Role.RADIO, Role.SWITCH, Role.LINK, Role.COMBOBOX,
                   Role.LIST_ITEM, Role.MENU_ITEM, Role.TAB}
INTERACTIVE_ROLES = CLICKABLE_ROLES | {Role.TEXT_FIELD, Role.SLIDER}
BACKGROUND_ROLES = {Role.WINDOW, Role.CONTAINER}
MAX_VALUE_CHARS = 1000
UIA_E_ELEMENTNOTAVAILABLE = -2147220991  # 0x80040201


def load_uiautomation() -> Any:
    """The real `uiautomation` package (Windows only), without its log file in the cwd."""
    if sys.platform != "win32":
        raise ConfigError("the windows device needs Windows: uiautomation cannot run on "
                          f"{sys.platform} (tests pass a stand-in with uia=...)")
    try:
        import uiautomation
    except ImportError as exc:
        raise ConfigError(f"uiautomation is missing: pip install 'guiagent[windows]' ({exc})") from exc
    uiautomation.Logger.SetLogFile("")  # it appends to ./@AutomationLog.txt by default
    return uiautomation


def com_errors(uia: Any) -> tuple[type[BaseException], ...]:
    """The exceptions meaning "this element is gone or unreadable": comtypes' COMError (as the
    real package exposes it: `uiautomation.comtypes.COMError`), ctypes' OSError, and the
    LookupError uiautomation raises when a control cannot be found again."""
    errors: list[type[BaseException]] = [OSError, LookupError]
    com = getattr(getattr(uia, "comtypes", None), "COMError", None)
    if isinstance(com, type) and issubclass(com, BaseException):
        errors.append(com)
    return tuple(errors)


def pattern(uia: Any, control: Any, name: str) -> Any:
    """The live pattern object (`control.GetPattern(PatternId.X)`), None when unsupported."""
    return control.GetPattern(getattr(uia.PatternId, PATTERN_IDS[name]))


@dataclass(frozen=True)
class WalkLimits:
    max_depth: int = 40
    max_elements: int = 3000
    time_budget: float = 2.0  # seconds


@dataclass
class UiaNode:
    element: Element
    control: Any  # the live uiautomation Control
    patterns: frozenset[str]
    parent: int | None  # index of the nearest kept ancestor in the snapshot
    window: int  # 0 = the topmost window walked


@dataclass
class TreeSnapshot:
    nodes: list[UiaNode]
    scope: str = "foreground"
    key: tuple[Any, ...] = ()
    taken_at: float = 0.0
    thread: int = 0
    truncated: str | None = None  # "depth" | "elements" | "time"
    stats: dict[str, int] = field(default_factory=dict)
    walk_s: float = 0.0

    @property
    def elements(self) -> list[Element]:
        return [n.element for n in self.nodes]

    def node(self, element_id: str) -> UiaNode | None:
        return next((n for n in self.nodes if n.element.id == element_id), None)

    def parent(self, node: UiaNode) -> UiaNode | None:
        return None if node.parent is None else self.nodes[node.parent]

    def at(self, x: float, y: float) -> UiaNode | None:
        """The node under screenshot pixel (x, y): topmost window first, then interactive
        before static, then the smallest box. Windows and containers only when nothing else."""
        hits = [n for n in self.nodes if n.element.bbox[0] <= x < n.element.bbox[2]
                and n.element.bbox[1] <= y < n.element.bbox[3]]
        if not hits:
            return None
        top = min(n.window for n in hits)

        def rank(n: UiaNode) -> tuple[bool, bool, int]:
            e = n.element
            interactive = e.role in INTERACTIVE_ROLES or e.clickable or e.editable
            return e.role in BACKGROUND_ROLES, not interactive, max(e.width, 1) * max(e.height, 1)

        return min((n for n in hits if n.window == top), key=rank)


class UiaWalker:
    """Reads the tree through a `uiautomation`-compatible module (`uia`)."""

    def __init__(self, uia: Any, screen: ScreenMap, limits: WalkLimits | None = None,
                 exclude_pids: Iterable[int] = (), clock: Callable[[], float] = time.monotonic) -> None:
        self.uia = uia
        self.screen = screen
        self.limits = limits or WalkLimits()
        self.exclude_pids = set(exclude_pids)
        self.errors = com_errors(uia)
        self.clock = clock

    # -- which windows ------------------------------------------------------------------

    def roots(self, scope: str) -> list[Any]:
        """Top-level windows to walk, topmost first, without the agent's own."""
        try:
            if scope == "foreground":
                fg = self.uia.GetForegroundControl()
                wins = [fg] if fg is not None else []
            else:
                wins = list(self.uia.GetRootControl().GetChildren())
        except self.errors as exc:
            log.info("UIA: cannot list windows: %s", exc)
            return []
        out = []
        for w in wins:
            try:
                if w.ProcessId in self.exclude_pids:
                    continue
            except self.errors:
                continue
            out.append(w)
        return out

    def signal(self, scope: str) -> tuple[Any, ...]:
        """A cheap change signal: per window its handle, title and rectangle, plus the focused
        element. Costs a few COM calls instead of a walk."""
        parts: list[Any] = [scope, threading.get_ident()]
        try:
            for w in self.roots(scope):
                r = w.BoundingRectangle
                parts.append((w.NativeWindowHandle, w.Name, r.left, r.top, r.right, r.bottom))
            focused = self.uia.GetFocusedControl()
            if focused is not None:
                r = focused.BoundingRectangle
                parts.append(("focus", focused.Name, r.left, r.top, r.right, r.bottom))
        except self.errors as exc:
            parts.append(("error", str(exc)))
        return tuple(parts)

    # -- the walk -----------------------------------------------------------------------

    def walk(self, scope: str = "foreground") -> TreeSnapshot:
        t0 = self.clock()
        deadline = t0 + self.limits.time_budget
        snap = TreeSnapshot(nodes=[], scope=scope, thread=threading.get_ident())
        stats = {"visited": 0, "vanished": 0, "offscreen": 0, "empty": 0}
        roots = self.roots(scope)
        # stack of (control, depth, parent node index, window index); reversed for document order
        stack: list[tuple[Any, int, int | None, int]] = [(w, 0, None, i) for i, w in reversed(list(enumerate(roots)))]
        while stack:
            if self.clock() > deadline:
                snap.truncated = "time"
                break
            if len(snap.nodes) >= self.limits.max_elements:
                snap.truncated = "elements"
                break
            control, depth, parent, window = stack.pop()
            stats["visited"] += 1
            try:
                node, visit_children = self._read(control, len(snap.nodes), parent, window, depth)
            except self.errors as exc:
                stats["vanished"] += 1
                log.debug("UIA element vanished during the walk: %s", exc)
                continue
            if node is None and not visit_children:
                stats["offscreen"] += 1
                continue
            if node is not None:
                snap.nodes.append(node)
                parent = len(snap.nodes) - 1
            else:
                stats["empty"] += 1
            if not visit_children:
                continue
            if depth >= self.limits.max_depth:
                snap.truncated = snap.truncated or "depth"
                continue
            children = self._children(control)
            stack.extend((c, depth + 1, parent, window) for c in reversed(children))
        snap.taken_at = self.clock()
        snap.walk_s = snap.taken_at - t0
        snap.stats = stats
        if snap.truncated:
            log.warning("UIA walk stopped early (%s budget): %d elements in %.2f s, %d nodes visited",
                        snap.truncated, len(snap.nodes), snap.walk_s, stats["visited"])
        else:
            log.debug("UIA walk: %d elements in %.3f s (%s)", len(snap.nodes), snap.walk_s, stats)
        return snap

    def _children(self, control: Any) -> list[Any]:
        """Children one sibling at a time, so an element vanishing mid-list keeps the ones before."""
        out: list[Any] = []
        try:
            child = control.GetFirstChildControl()
            while child is not None:
                out.append(child)
                child = child.GetNextSiblingControl()
        except self.errors as exc:
            log.debug("UIA children cut short: %s", exc)
        return out

    def _read(self, control: Any, index: int, parent: int | None, window: int,
              depth: int) -> tuple[UiaNode | None, bool]:
        """(node or None when not kept, whether to visit the children)."""
        type_name = control.ControlTypeName
        if type_name in SKIPPED_TYPES or control.IsOffscreen:
            return None, False
        r = control.BoundingRectangle
        bbox = rect_to_screenshot(self.screen, r.left, r.top, r.right, r.bottom)
        if bbox is None:  # zero-size or outside the capture: not kept, its children may show
            return None, True
        patterns = self._patterns(control)
        role = ROLE_BY_TYPE.get(type_name, Role.OTHER)
        name = control.Name or ""
        value, read_only = None, True
        if "value" in patterns:
            vp = pattern(self.uia, control, "value")
            if vp is not None:
                value, read_only = vp.Value, bool(vp.IsReadOnly)
        if role == Role.BUTTON and "toggle" in patterns and "invoke" not in patterns:
            role = Role.SWITCH  # WinUI ToggleSwitch: a button that only toggles
        if role == Role.CONTAINER and type_name == "DocumentControl" and not read_only:
            role = Role.TEXT_FIELD  # a rich edit document
        if depth == 0:
            role = Role.WINDOW
        if role in (Role.CONTAINER, Role.OTHER) and not name and not patterns:
            return None, True  # an unnamed layout box: skip it, keep its content
        password = role == Role.TEXT_FIELD and bool(control.IsPassword)
        checked: bool | None = None
        selected: bool | None = None
        if "toggle" in patterns:
            tp = pattern(self.uia, control, "toggle")
            state = tp.ToggleState if tp is not None else None
            checked = None if state not in (0, 1) else state == 1  # 2 = indeterminate
        if "selection_item" in patterns:
            sp = pattern(self.uia, control, "selection_item")
            selected = bool(sp.IsSelected) if sp is not None else None
            if role == Role.RADIO:
                checked = selected
        extras: dict[str, str | int | float | bool | None] = {
            "control_type": type_name, "automation_id": control.AutomationId or None,
            "class_name": control.ClassName or None, "patterns": ",".join(sorted(patterns)) or None,
            "depth": depth, "window": window,
        }
        if depth == 0:
            extras["hwnd"] = int(control.NativeWindowHandle or 0)
            extras["pid"] = int(control.ProcessId)
        element = Element(
            id=f"uia{index}", role=role, name=name,
            value=None if password or value is None else str(value)[:MAX_VALUE_CHARS],
            bbox=bbox, enabled=bool(control.IsEnabled), focused=bool(control.HasKeyboardFocus),
            checked=checked, selected=selected,
            editable=not read_only if "value" in patterns else role == Role.TEXT_FIELD,
            clickable=role in CLICKABLE_ROLES or bool(patterns & {"invoke", "toggle", "selection_item"}),
            password=password, source="a11y", extras=extras,
        )
        return UiaNode(element, control, frozenset(patterns), parent, window), True

    def _patterns(self, control: Any) -> set[str]:
        ids = self.uia.PropertyId
        return {short for short, prop in PATTERN_PROPERTIES.items()
                if control.GetPropertyValue(getattr(ids, prop))}


class TreeCache:
    """The last walk per thread (UIA controls belong to the thread that made them), reused while
    the change signal is unchanged and younger than `ttl`. Any action invalidates every walk
    (the device calls `invalidate()` after `execute`)."""

    def __init__(self, walker: UiaWalker, ttl: float = 1.0) -> None:
        self.walker = walker
        self.ttl = float(ttl)
        self._snaps: dict[int, tuple[int, TreeSnapshot]] = {}  # thread -> (generation, walk)
        self._generation = 0
        self._lock = threading.Lock()  # guards the dict; walks run outside it
        self.walks = 0

    def get(self, scope: str, force: bool = False) -> TreeSnapshot:
        me = threading.get_ident()
        with self._lock:
            gen, snap = self._snaps.get(me, (-1, None))
            fresh = (not force and snap is not None and gen == self._generation and snap.scope == scope
                     and self.walker.clock() - snap.taken_at <= self.ttl)
            generation = self._generation
        key = self.walker.signal(scope)
        if fresh and snap is not None and key == snap.key:
            return snap
        snap = self.walker.walk(scope)
        snap.key = key
        with self._lock:
            alive = {t.ident for t in threading.enumerate()}
            self._snaps = {t: v for t, v in self._snaps.items() if t in alive}
            self._snaps[me] = (generation, snap)  # an invalidate() during the walk wins
            self.walks += 1
        return snap

    def peek(self) -> TreeSnapshot | None:
        """This thread's last walk even when invalidated (to resolve the ids it handed out)."""
        entry = self._snaps.get(threading.get_ident())
        return entry[1] if entry is not None else None

    def invalidate(self) -> None:
        with self._lock:
            self._generation += 1
