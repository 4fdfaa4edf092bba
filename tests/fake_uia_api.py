"""Part of the FAKE `uiautomation` (see tests/fake_uia.py): constants, Rect, COMError and the
control patterns, mirroring uiautomation 2.0.29's names. NOT real UI Automation."""

from __future__ import annotations

import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fake_uia import FakeControl

UIA_E_ELEMENTNOTAVAILABLE = -2147220991
UIA_E_ELEMENTNOTENABLED = -2147220992
OPERATION_WAIT_TIME = 0.5


class COMError(Exception):
    """Like `_ctypes.COMError`: args are (hresult, text, details)."""

    def __init__(self, hresult: int, text: str, details: Any = None) -> None:
        super().__init__(hresult, text, details)
        self.hresult, self.text, self.details = hresult, text, details


comtypes = types.SimpleNamespace(COMError=COMError)


class ControlType:
    AppBarControl, ButtonControl, CalendarControl, CheckBoxControl = 50040, 50000, 50001, 50002
    ComboBoxControl, CustomControl, DataGridControl, DataItemControl = 50003, 50025, 50028, 50029
    DocumentControl, EditControl, GroupControl, HeaderControl = 50030, 50004, 50026, 50034
    HeaderItemControl, HyperlinkControl, ImageControl, ListControl = 50035, 50005, 50006, 50008
    ListItemControl, MenuBarControl, MenuControl, MenuItemControl = 50007, 50010, 50009, 50011
    PaneControl, ProgressBarControl, RadioButtonControl, ScrollBarControl = 50033, 50012, 50013, 50014
    SemanticZoomControl, SeparatorControl, SliderControl, SpinnerControl = 50039, 50038, 50015, 50016
    SplitButtonControl, StatusBarControl, TabControl, TabItemControl = 50031, 50017, 50018, 50019
    TableControl, TextControl, ThumbControl, TitleBarControl = 50036, 50020, 50027, 50037
    ToolBarControl, ToolTipControl, TreeControl, TreeItemControl = 50021, 50022, 50023, 50024
    WindowControl = 50032


ControlTypeNames = {v: k for k, v in vars(ControlType).items() if k.endswith("Control")}


class PatternId:
    InvokePattern, SelectionPattern, ValuePattern, RangeValuePattern = 10000, 10001, 10002, 10003
    ScrollPattern, ExpandCollapsePattern, GridPattern, GridItemPattern = 10004, 10005, 10006, 10007
    MultipleViewPattern, WindowPattern, SelectionItemPattern, DockPattern = 10008, 10009, 10010, 10011
    TablePattern, TableItemPattern, TextPattern, TogglePattern = 10012, 10013, 10014, 10015
    TransformPattern, ScrollItemPattern = 10016, 10017


class PropertyId:
    IsEnabledProperty = 30010
    IsExpandCollapsePatternAvailableProperty = 30028
    IsInvokePatternAvailableProperty = 30031
    IsScrollPatternAvailableProperty = 30034
    IsSelectionItemPatternAvailableProperty = 30036
    IsTogglePatternAvailableProperty = 30041
    IsValuePatternAvailableProperty = 30043


class ToggleState:
    Off, On, Indeterminate = 0, 1, 2


class ExpandCollapseState:
    Collapsed, Expanded, PartiallyExpanded, LeafNode = 0, 1, 2, 3


class ScrollAmount:
    LargeDecrement, SmallDecrement, NoAmount, LargeIncrement, SmallIncrement = 0, 1, 2, 3, 4


class Rect:
    def __init__(self, left: int = 0, top: int = 0, right: int = 0, bottom: int = 0) -> None:
        self.left, self.top, self.right, self.bottom = left, top, right, bottom

    def width(self) -> int:
        return self.right - self.left

    def height(self) -> int:
        return self.bottom - self.top

    def xcenter(self) -> int:
        return self.left + self.width() // 2

    def ycenter(self) -> int:
        return self.top + self.height() // 2

    def isempty(self) -> bool:
        return self.width() == 0 or self.height() == 0

    def contains(self, x: int, y: int) -> bool:
        return self.left <= x < self.right and self.top <= y < self.bottom

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Rect) and (self.left, self.top, self.right, self.bottom) == (
            other.left, other.top, other.right, other.bottom)

    def __repr__(self) -> str:
        return f"Rect({self.left},{self.top},{self.right},{self.bottom})[{self.width()}x{self.height()}]"


# -- patterns: state lives in the control's `state` dict ------------------------------------


class _Pattern:
    kind = ""

    def __init__(self, control: FakeControl) -> None:
        self.c = control

    def _do(self, event: str, *detail: Any) -> bool:
        self.c._alive()
        self.c.desktop.events.append((event, self.c.name, *detail))
        return self.c.ok


class InvokePattern(_Pattern):
    def Invoke(self, waitTime: float = OPERATION_WAIT_TIME) -> bool:
        if not self.c.enabled:
            raise COMError(UIA_E_ELEMENTNOTENABLED, "element not enabled")
        ok = self._do("invoke")
        if ok and self.c.on_invoke is not None:
            self.c.on_invoke(self.c)
        return ok


class TogglePattern(_Pattern):
    @property
    def ToggleState(self) -> int:
        return self.c._read("state")["toggle"]

    def Toggle(self, waitTime: float = OPERATION_WAIT_TIME) -> bool:
        ok = self._do("toggle")
        if ok:
            self.c.state["toggle"] = (self.c.state["toggle"] + 1) % (3 if self.c.state.get("three_state") else 2)
        return ok


class SelectionItemPattern(_Pattern):
    @property
    def IsSelected(self) -> bool:
        return self.c._read("state")["selected"]

    def Select(self, waitTime: float = OPERATION_WAIT_TIME) -> bool:
        ok = self._do("select")
        if ok:
            for sib in self.c.parent.children if self.c.parent else []:
                if "selected" in sib.state:
                    sib.state["selected"] = False
            self.c.state["selected"] = True
        return ok


class ExpandCollapsePattern(_Pattern):
    @property
    def ExpandCollapseState(self) -> int:
        return self.c._read("state")["expand"]

    def Expand(self, waitTime: float = OPERATION_WAIT_TIME) -> bool:
        ok = self._do("expand")
        if ok:
            self.c.state["expand"] = ExpandCollapseState.Expanded
        return ok

    def Collapse(self, waitTime: float = OPERATION_WAIT_TIME) -> bool:
        ok = self._do("collapse")
        if ok:
            self.c.state["expand"] = ExpandCollapseState.Collapsed
        return ok


class ValuePattern(_Pattern):
    @property
    def Value(self) -> str:
        return self.c._read("state")["value"]

    @property
    def IsReadOnly(self) -> bool:
        return bool(self.c._read("state").get("read_only", False))

    def SetValue(self, value: str, waitTime: float = OPERATION_WAIT_TIME) -> bool:
        if self.c.state.get("read_only"):
            raise COMError(UIA_E_ELEMENTNOTENABLED, "read-only")
        ok = self._do("set_value", value)
        if ok:
            self.c.state["value"] = value
        return ok


class ScrollPattern(_Pattern):
    NoScrollValue = -1

    def _get(self, key: str) -> Any:
        return self.c._read("state")[key]

    VerticallyScrollable = property(lambda self: self._get("v_scrollable"))
    HorizontallyScrollable = property(lambda self: self._get("h_scrollable"))
    VerticalScrollPercent = property(lambda self: self._get("v_percent"))
    HorizontalScrollPercent = property(lambda self: self._get("h_percent"))
    VerticalViewSize = property(lambda self: self._get("v_view"))
    HorizontalViewSize = property(lambda self: self._get("h_view"))

    def Scroll(self, horizontalAmount: int, verticalAmount: int, waitTime: float = OPERATION_WAIT_TIME) -> bool:
        return self._do("scroll", horizontalAmount, verticalAmount)

    def SetScrollPercent(self, horizontalPercent: float, verticalPercent: float,
                         waitTime: float = OPERATION_WAIT_TIME) -> bool:
        ok = self._do("set_scroll_percent", horizontalPercent, verticalPercent)
        if ok:
            if horizontalPercent != self.NoScrollValue:
                self.c.state["h_percent"] = horizontalPercent
            if verticalPercent != self.NoScrollValue:
                self.c.state["v_percent"] = verticalPercent
        return ok


PATTERNS = {"invoke": (PatternId.InvokePattern, InvokePattern), "toggle": (PatternId.TogglePattern, TogglePattern),
            "selection_item": (PatternId.SelectionItemPattern, SelectionItemPattern),
            "expand_collapse": (PatternId.ExpandCollapsePattern, ExpandCollapsePattern),
            "value": (PatternId.ValuePattern, ValuePattern), "scroll": (PatternId.ScrollPattern, ScrollPattern)}
AVAILABLE = {getattr(PropertyId, f"Is{cls.__name__}AvailableProperty"): key for key, (_, cls) in PATTERNS.items()}
# the typed getters each real control class has (uiautomation 2.0.29), for the patterns faked here
TYPED_GETTERS = {
    "ButtonControl": ("ExpandCollapse", "Invoke", "Toggle"), "CheckBoxControl": ("Toggle",),
    "ComboBoxControl": ("ExpandCollapse", "Value"), "EditControl": ("Value",), "HyperlinkControl": ("Invoke", "Value"),
    "ListControl": ("Scroll",), "ListItemControl": ("SelectionItem", "ExpandCollapse", "Invoke", "Toggle", "Value"),
    "MenuItemControl": ("ExpandCollapse", "Invoke", "SelectionItem", "Toggle"), "PaneControl": ("Scroll",),
    "RadioButtonControl": ("SelectionItem",), "TabItemControl": ("SelectionItem",), "DocumentControl": ("Scroll", "Value"),
    "TreeItemControl": ("ExpandCollapse", "Invoke", "SelectionItem", "Toggle"),
}
