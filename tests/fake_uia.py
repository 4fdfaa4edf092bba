"""A FAKE of the `uiautomation` package (yinkaisheng/Python-UIAutomation-for-Windows, 2.0.x).

This is NOT real UI Automation. uiautomation cannot import on Linux (it loads
UIAutomationCore through comtypes, Windows only), so this control tree stands in for real
Windows in the tests. It mirrors the public names and behaviour the Windows device relies on,
checked against uiautomation 2.0.29's source:

- constants: ControlType / ControlTypeNames, PatternId, PropertyId (pattern availability),
  ToggleState, ExpandCollapseState, ScrollAmount; `Rect` (left/top/right/bottom, width(), ...)
- `Control` properties (Name, AutomationId, ClassName, ControlType, ControlTypeName,
  BoundingRectangle, IsEnabled, HasKeyboardFocus, IsOffscreen, IsPassword, ProcessId,
  NativeWindowHandle), navigation (GetChildren, GetFirstChildControl, GetNextSiblingControl,
  GetParentControl), GetPattern(PatternId), GetPropertyValue(PropertyId), SetFocus, the typed
  getters (GetInvokePattern, ...) only on the control classes that have them, and SetActive /
  SwitchToThisWindow only on top-level classes (WindowControl, PaneControl)
- patterns whose methods take `waitTime` and return bool (S_OK), like the real wrappers
- module functions: GetRootControl, GetForegroundControl, GetFocusedControl, ControlFromPoint,
  ControlFromHandle, WindowControl(...)/Control(...) searches with Exists(maxSearchSeconds),
  SetGlobalSearchTimeout, UIAutomationInitializerInThread, SendKeys, GetMonitorsRect
- a vanished element raises `comtypes.COMError` (-2147220991 UIA_E_ELEMENTNOTAVAILABLE) on every
  property read and navigation, as the real package does; a disabled element refuses Invoke.

An instance of `FakeUIAutomation` goes where the module would (`WindowsDevice(uia=fake)`).
Test knobs: per-control `delay` (seconds slept on every property read: a slow app),
`vanish_after` (vanish after N property reads: gone mid-walk), `ok=False` (pattern calls
report failure), `desktop.reads` (property reads, to see cache hits), `desktop.events`.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

from fake_uia_api import (  # noqa: F401 - re-exported: this module is the fake package
    AVAILABLE,
    OPERATION_WAIT_TIME,
    PATTERNS,
    TYPED_GETTERS,
    UIA_E_ELEMENTNOTAVAILABLE,
    UIA_E_ELEMENTNOTENABLED,
    COMError,
    ControlType,
    ControlTypeNames,
    ExpandCollapseState,
    PatternId,
    PropertyId,
    Rect,
    ScrollAmount,
    ScrollPattern,
    ToggleState,
    comtypes,
)


class FakeControl:
    """One element. Properties read through `_read`, which counts, sleeps and may vanish."""

    def __init__(self, desktop: FakeUIAutomation, type_name: str, name: str = "",
                 rect: tuple[int, int, int, int] = (0, 0, 0, 0), **kw: Any) -> None:
        self.desktop, self.type_name, self.name, self.rect = desktop, type_name, name, rect
        self.automation_id, self.class_name = kw.pop("automation_id", ""), kw.pop("class_name", "")
        self.enabled, self.offscreen = kw.pop("enabled", True), kw.pop("offscreen", False)
        self.password, self.pid, self.hwnd = kw.pop("password", False), kw.pop("pid", None), kw.pop("hwnd", 0)
        self.delay, self.vanish_after = kw.pop("delay", 0.0), kw.pop("vanish_after", None)
        self.ok, self.activate_ok = kw.pop("ok", True), kw.pop("activate_ok", True)
        self.on_invoke: Callable[[FakeControl], None] | None = kw.pop("on_invoke", None)
        self.patterns: set[str] = set(kw.pop("patterns", ()))
        self.state: dict[str, Any] = kw.pop("state", {})
        if kw:
            raise TypeError(f"unknown fake control options {sorted(kw)}")
        self.children: list[FakeControl] = []
        self.parent: FakeControl | None = None
        self.gone = False
        self.reads = 0

    def add(self, type_name: str, name: str = "", rect: tuple[int, int, int, int] = (0, 0, 0, 0), **kw: Any) -> FakeControl:
        child = make_control(self.desktop, type_name, name, rect, **kw)
        child.parent = self
        self.children.append(child)
        return child

    def vanish(self) -> None:
        """The element and its subtree go away (a closed menu, a refreshed list)."""
        stack = [self]
        while stack:
            c = stack.pop()
            c.gone = True
            stack.extend(c.children)
        if self.parent is not None and self in self.parent.children:
            self.parent.children.remove(self)

    def _alive(self) -> None:
        if self.gone:
            raise COMError(UIA_E_ELEMENTNOTAVAILABLE, "The element is not available")

    def _read(self, attr: str) -> Any:
        self.desktop.reads += 1
        self.reads += 1
        if self.delay:
            time.sleep(self.delay)  # noqa: TID251 - models a slow cross-process UIA property read
        if self.vanish_after is not None and self.reads > self.vanish_after:
            self.vanish()
        self._alive()
        return getattr(self, attr)

    # properties of uiautomation.Control
    Name = property(lambda self: self._read("name"))
    AutomationId = property(lambda self: self._read("automation_id"))
    ClassName = property(lambda self: self._read("class_name"))
    ControlType = property(lambda self: getattr(ControlType_, self._read("type_name")))
    ControlTypeName = property(lambda self: self._read("type_name"))
    IsEnabled = property(lambda self: self._read("enabled"))
    IsOffscreen = property(lambda self: self._read("offscreen"))
    IsPassword = property(lambda self: self._read("password"))
    HasKeyboardFocus = property(lambda self: self._read("desktop").focused is self)
    NativeWindowHandle = property(lambda self: self._read("hwnd"))
    BoundingRectangle = property(lambda self: Rect(*self._read("rect")))

    @property
    def ProcessId(self) -> int:
        self._read("pid")
        node: FakeControl | None = self
        while node is not None and node.pid is None:
            node = node.parent
        return node.pid if node is not None and node.pid is not None else 0

    def GetChildren(self) -> list[FakeControl]:
        self._alive()
        return list(self.children)

    def GetFirstChildControl(self) -> FakeControl | None:
        self._alive()
        return self.children[0] if self.children else None

    def GetNextSiblingControl(self) -> FakeControl | None:
        self._alive()  # navigating from a dead element fails, as for real
        sibs = self.parent.children if self.parent else []
        i = sibs.index(self) + 1 if self in sibs else len(sibs)
        return sibs[i] if i < len(sibs) else None

    def GetParentControl(self) -> FakeControl | None:
        self._alive()
        return self.parent

    def GetPattern(self, patternId: int) -> Any:
        try:
            self._alive()
        except COMError:
            return None  # the real GetPattern swallows COMError and returns None
        for key, (pid, cls) in PATTERNS.items():
            if pid == patternId and key in self.patterns:
                return cls(self)
        return None

    def GetPropertyValue(self, propertyId: int) -> Any:
        self._read("patterns")
        if propertyId in AVAILABLE:
            return AVAILABLE[propertyId] in self.patterns
        if propertyId == PropertyId.IsEnabledProperty:
            return self.enabled
        return None

    def SetFocus(self) -> bool:
        self._alive()
        self.desktop.focused = self
        self.desktop.events.append(("focus", self.name))
        return True

    def IsTopLevel(self) -> bool:
        return self.parent is self.desktop.root

    def __repr__(self) -> str:
        return f"<Fake{self.type_name} {self.name!r} {self.rect}>"


ControlType_ = ControlType  # the class attribute `ControlType` shadows the constants inside FakeControl


class TopLevel:
    """SetActive / SwitchToThisWindow exist only on WindowControl and PaneControl."""

    def SetActive(self: Any, waitTime: float = OPERATION_WAIT_TIME) -> bool:
        self._alive()
        self.desktop.events.append(("set_active", self.name))
        if self.activate_ok:
            self.desktop.bring_to_front(self)
        return bool(self.activate_ok)

    def SwitchToThisWindow(self: Any, waitTime: float = OPERATION_WAIT_TIME) -> None:
        self._alive()
        self.desktop.events.append(("switch", self.name))
        self.desktop.bring_to_front(self)


def _typed_class(type_name: str) -> type:
    ns: dict[str, Any] = {}
    for pat in TYPED_GETTERS.get(type_name, ()):
        pid = getattr(PatternId, f"{pat}Pattern")
        ns[f"Get{pat}Pattern"] = lambda self, pid=pid: self.GetPattern(pid)
    bases = (FakeControl, TopLevel) if type_name in ("WindowControl", "PaneControl") else (FakeControl,)
    return type(type_name, bases, ns)


CLASSES = {name: _typed_class(name) for name in ControlTypeNames.values()}


def make_control(desktop: FakeUIAutomation, type_name: str, name: str = "",
                 rect: tuple[int, int, int, int] = (0, 0, 0, 0), **kw: Any) -> FakeControl:
    return CLASSES[type_name](desktop, type_name, name, rect, **kw)


class _Search:
    """What `uiautomation.WindowControl(searchDepth=1, Name=...)` returns: found on Exists()."""

    def __init__(self, desktop: FakeUIAutomation, type_name: str | None, depth: int, props: dict[str, Any]) -> None:
        self._desktop, self._type, self._depth, self._props, self._found = desktop, type_name, depth, props, None

    def _match(self, c: FakeControl, depth: int) -> bool:
        p = self._props
        return not ((self._type and c.type_name != self._type) or ("Name" in p and c.name != p["Name"])
                    or ("SubName" in p and p["SubName"] not in c.name)
                    or ("ClassName" in p and c.class_name != p["ClassName"])
                    or ("AutomationId" in p and c.automation_id != p["AutomationId"])
                    or ("Compare" in p and not p["Compare"](c, depth)))

    def Exists(self, maxSearchSeconds: float = 5, searchIntervalSeconds: float = 0.5, printIfNotExist: bool = False) -> bool:
        deadline = time.monotonic() + maxSearchSeconds
        while True:
            stack = [(c, 1) for c in reversed(self._desktop.root.children)]
            while stack:
                c, d = stack.pop()
                if not c.gone and self._match(c, d):
                    self._found = c
                    return True
                if d < self._depth:
                    stack.extend((k, d + 1) for k in reversed(c.children))
            if time.monotonic() >= deadline:
                return False

            time.sleep(min(searchIntervalSeconds, max(0.0, deadline - time.monotonic())))  # noqa: TID251

    def __getattr__(self, name: str) -> Any:
        if self._found is None and not self.Exists(self._desktop.search_timeout):
            raise LookupError(f"Find Control Timeout({self._desktop.search_timeout}s): {self._props}")
        return getattr(self._found, name)


class _Initializer:
    def __init__(self, desktop: FakeUIAutomation, debug: bool = False) -> None:
        self.desktop = desktop
        desktop.com_threads.append(threading.get_ident())
        self.inited = True

    def Uninitialize(self) -> None:
        self.inited = False


class FakeUIAutomation:
    """Stands in for the `uiautomation` module; holds the fake desktop's state."""

    VERSION = "2.0.29 (fake)"
    ControlType, ControlTypeNames, PatternId, PropertyId = ControlType, ControlTypeNames, PatternId, PropertyId
    ToggleState, ExpandCollapseState, ScrollAmount, Rect = ToggleState, ExpandCollapseState, ScrollAmount, Rect
    ScrollPattern, comtypes, COMError = ScrollPattern, comtypes, COMError

    def __init__(self, size: tuple[int, int] = (1280, 800), monitors: list[tuple[int, int, int, int]] | None = None) -> None:
        self.root = make_control(self, "PaneControl", "Desktop 1", (0, 0, *size), class_name="#32769", pid=0)
        self.monitors = monitors or [(0, 0, *size)]
        self.foreground: FakeControl | None = None
        self.focused: FakeControl | None = None
        self.reads = 0
        self.events: list[tuple[Any, ...]] = []
        self.sent_keys: list[str] = []
        self.com_threads: list[int] = []
        self.search_timeout = 10.0
        self._next_hwnd = 0x10010

    # -- building the desktop (test side) ---------------------------------------------

    def add_window(self, name: str, rect: tuple[int, int, int, int], pid: int = 4242, *,
                   type_name: str = "WindowControl", front: bool = True, **kw: Any) -> FakeControl:
        self._next_hwnd += 0x10
        win = make_control(self, type_name, name, rect, pid=pid, hwnd=kw.pop("hwnd", self._next_hwnd), **kw)
        win.parent = self.root
        self.root.children.insert(0 if front else len(self.root.children), win)
        if front or self.foreground is None:
            self.foreground = win
        return win

    def bring_to_front(self, win: FakeControl) -> None:
        self.root.children.remove(win)
        self.root.children.insert(0, win)
        self.foreground = win

    # -- the uiautomation API ---------------------------------------------------------

    def GetRootControl(self) -> FakeControl:
        return self.root

    def GetForegroundControl(self) -> FakeControl | None:
        return self.foreground

    def GetFocusedControl(self) -> FakeControl | None:
        return self.focused

    def ControlFromHandle(self, handle: int) -> FakeControl | None:
        return next((w for w in self.root.children if w.hwnd == handle), None)

    def ControlFromPoint(self, x: int, y: int) -> FakeControl | None:
        """The deepest element at (x, y) of the topmost window there (ElementFromPoint)."""
        for win in self.root.children:
            if win.gone or not Rect(*win.rect).contains(x, y):
                continue
            node = win
            while True:
                inner = next((c for c in reversed(node.children)
                              if not c.gone and not c.offscreen and Rect(*c.rect).contains(x, y)), None)
                if inner is None:
                    return node
                node = inner
        return self.root

    def WindowControl(self, searchFromControl: Any = None, searchDepth: int = 0xFFFFFFFF, searchInterval: float = 0.5,
                      foundIndex: int = 1, element: Any = None, **props: Any) -> _Search:
        return _Search(self, "WindowControl", searchDepth, props)

    def Control(self, searchFromControl: Any = None, searchDepth: int = 0xFFFFFFFF, searchInterval: float = 0.5,
                foundIndex: int = 1, element: Any = None, **props: Any) -> _Search:
        return _Search(self, props.pop("ControlType", None) and ControlTypeNames[props["ControlType"]], searchDepth, props)

    def SetGlobalSearchTimeout(self, seconds: float) -> None:
        self.search_timeout = seconds

    def UIAutomationInitializerInThread(self, debug: bool = False) -> _Initializer:
        return _Initializer(self, debug)

    def SendKeys(self, text: str, interval: float = 0.01, waitTime: float = OPERATION_WAIT_TIME,
                 charMode: bool = True, debug: bool = False) -> None:
        self.sent_keys.append(text)

    def GetMonitorsRect(self) -> list[Rect]:
        return [Rect(left, top, left + w, top + h) for left, top, w, h in self.monitors]

    def SetProcessDpiAwareness(self, dpiAwareness: int) -> None:
        return None


def demo_desktop(size: tuple[int, int] = (1280, 800)) -> FakeUIAutomation:
    """A settings form in the front and an editor behind it: the shapes real apps have."""
    desk = FakeUIAutomation(size)
    desk.add_window("Notes - Editor", (40, 40, 640, 500), pid=5151, class_name="Notepad")
    win = desk.add_window("Settings - Fake App", (200, 100, 1000, 700), pid=4242, class_name="FakeAppWindow")
    body = win.add("PaneControl", "", (200, 130, 1000, 700), class_name="Body")  # unnamed layout pane
    body.add("TextControl", "Name:", (220, 150, 300, 175))
    desk.focused = body.add("EditControl", "Name", (310, 150, 600, 175), automation_id="nameBox",
                            class_name="Edit", patterns={"value"}, state={"value": ""})
    body.add("EditControl", "Password", (310, 185, 600, 210), password=True, patterns={"value"}, state={"value": ""})
    body.add("EditControl", "City", (310, 220, 600, 245), patterns={"value"}, state={"value": "Paris"})
    body.add("EditControl", "Id", (310, 255, 600, 280), patterns={"value"}, state={"value": "42", "read_only": True})
    body.add("CheckBoxControl", "Subscribe", (220, 290, 400, 315), patterns={"toggle"}, state={"toggle": 0})
    size_group = body.add("GroupControl", "Size", (220, 325, 600, 390))
    size_group.add("RadioButtonControl", "Small", (230, 345, 330, 370), patterns={"selection_item"}, state={"selected": True})
    size_group.add("RadioButtonControl", "Large", (340, 345, 440, 370), patterns={"selection_item"}, state={"selected": False})
    body.add("ComboBoxControl", "Country", (220, 400, 500, 425), patterns={"expand_collapse", "value"},
             state={"expand": ExpandCollapseState.Collapsed, "value": "France", "read_only": True})
    body.add("ButtonControl", "Submit", (220, 640, 320, 670), automation_id="submit", patterns={"invoke"})
    body.add("ButtonControl", "Disabled", (330, 640, 430, 670), enabled=False, patterns={"invoke"})
    body.add("ButtonControl", "Plain", (700, 150, 900, 350))  # no patterns: input only
    body.add("HyperlinkControl", "Help", (450, 645, 500, 665), patterns={"invoke"})
    body.add("ButtonControl", "Dark mode", (520, 640, 640, 670), patterns={"toggle"}, state={"toggle": 1})
    items = body.add("ListControl", "Items", (620, 400, 980, 560), patterns={"scroll"},
                     state={"v_scrollable": True, "h_scrollable": False, "v_percent": 0.0, "h_percent": -1,
                            "v_view": 25.0, "h_view": 100.0})
    for i in range(8):  # five show, three are scrolled out of view
        items.add("ListItemControl", f"Item {i}", (620, 400 + 32 * i, 980, 432 + 32 * i), offscreen=i >= 5,
                  patterns={"selection_item", "invoke"}, state={"selected": False})
    tree = body.add("TreeControl", "Folders", (220, 440, 500, 620))
    tree.add("TreeItemControl", "Documents", (220, 440, 500, 465), patterns={"expand_collapse", "selection_item"},
             state={"expand": ExpandCollapseState.Collapsed, "selected": False})
    tree.add("TreeItemControl", "notes.txt", (220, 470, 500, 495), patterns={"expand_collapse", "selection_item"},
             state={"expand": ExpandCollapseState.LeafNode, "selected": False})
    empty = body.add("GroupControl", "", (0, 0, 0, 0))  # zero-size group holding a visible label
    empty.add("TextControl", "Status: ready", (620, 600, 800, 620))
    return desk


def make_fake_windows_device(**options: Any) -> Any:
    """The Windows device on the fake desktop, capturing and typing on the current X display."""
    from devices.windows.device import WindowsDevice

    desk = options.pop("uia", None) or demo_desktop()
    return WindowsDevice(uia=desk, display=options.pop("display", os.environ.get("DISPLAY")), **options)
