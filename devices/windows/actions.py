"""Actions through UIA control patterns, where they are more reliable than synthetic input.

A pattern works on the element itself: no pointer, no focus race, no occluding window, no DPI
arithmetic. Each helper returns the `via` it used ("uia:invoke", "uia:toggle", ...) or None to
tell the device to fall back to input at the element's point: when the element is disabled,
lacks the pattern, the pattern call reports failure (uiautomation returns False when the COM
call's HRESULT is not S_OK) or the element vanished (a COM error).

Choices for a click, in order:
- checkbox / switch with Toggle -> Toggle()
- combobox, or a tree item that is not a leaf, with ExpandCollapse -> Expand() / Collapse()
- radio / list item / tab with SelectionItem -> Select() (Invoke on a list item would open it,
  like a double click in Explorer, so select first)
- Invoke -> Invoke(); otherwise Toggle, SelectionItem, ExpandCollapse if that is all there is.
All pattern calls pass waitTime=0 (uiautomation sleeps 0.5 s after each by default); the device
waits by frame difference instead.
"""

from __future__ import annotations

import logging
from typing import Any

from devices.windows.tree import TreeSnapshot, UiaNode, pattern
from guiagent.schema import Role, ScrollDirection

log = logging.getLogger(__name__)

COLLAPSED, EXPANDED, PARTIALLY_EXPANDED, LEAF_NODE = 0, 1, 2, 3  # uiautomation.ExpandCollapseState
LARGE_DECREMENT, NO_AMOUNT, LARGE_INCREMENT = 0, 2, 3  # uiautomation.ScrollAmount
NO_SCROLL = -1  # uiautomation.ScrollPattern.NoScrollValue


def _call(errors: tuple[type[BaseException], ...], what: str, fn: Any, *args: Any) -> bool:
    try:
        ok = bool(fn(*args, waitTime=0))
    except errors as exc:
        log.info("UIA %s failed (%s); falling back to input", what, exc)
        return False
    if not ok:
        log.info("UIA %s reported failure; falling back to input", what)
    return ok


def _toggle(uia: Any, node: UiaNode, errors: tuple[type[BaseException], ...]) -> str | None:
    tp = pattern(uia, node.control, "toggle")
    return "uia:toggle" if tp is not None and _call(errors, "Toggle", tp.Toggle) else None


def _select(uia: Any, node: UiaNode, errors: tuple[type[BaseException], ...]) -> str | None:
    sp = pattern(uia, node.control, "selection_item")
    return "uia:select" if sp is not None and _call(errors, "Select", sp.Select) else None


def _expand_collapse(uia: Any, node: UiaNode, errors: tuple[type[BaseException], ...]) -> str | None:
    ep = pattern(uia, node.control, "expand_collapse")
    if ep is None:
        return None
    state = ep.ExpandCollapseState
    if state == LEAF_NODE:
        return None
    if state == EXPANDED:
        return "uia:collapse" if _call(errors, "Collapse", ep.Collapse) else None
    return "uia:expand" if _call(errors, "Expand", ep.Expand) else None


def _invoke(uia: Any, node: UiaNode, errors: tuple[type[BaseException], ...]) -> str | None:
    ip = pattern(uia, node.control, "invoke")
    return "uia:invoke" if ip is not None and _call(errors, "Invoke", ip.Invoke) else None


def click(uia: Any, node: UiaNode, errors: tuple[type[BaseException], ...]) -> str | None:
    """A left click through a pattern; None = use input."""
    e, p = node.element, node.patterns
    if not e.enabled or not p:
        return None
    is_tree_item = e.extras.get("control_type") == "TreeItemControl"
    try:
        if e.role in (Role.CHECKBOX, Role.SWITCH) and "toggle" in p:
            return _toggle(uia, node, errors)
        if (e.role == Role.COMBOBOX or is_tree_item) and "expand_collapse" in p:
            via = _expand_collapse(uia, node, errors)
            if via is not None or e.role == Role.COMBOBOX:
                return via
        if e.role in (Role.RADIO, Role.LIST_ITEM, Role.TAB) and "selection_item" in p:
            return _select(uia, node, errors)
        if "invoke" in p:
            return _invoke(uia, node, errors)
        if "toggle" in p:
            return _toggle(uia, node, errors)
        if "selection_item" in p:
            return _select(uia, node, errors)
        if "expand_collapse" in p:
            return _expand_collapse(uia, node, errors)
    except errors as exc:  # reading the pattern itself failed: the element went away
        log.info("UIA element %s vanished before the click (%s); falling back to input", e.id, exc)
    return None


def set_value(uia: Any, node: UiaNode, text: str, clear: bool,
              errors: tuple[type[BaseException], ...]) -> str | None:
    """Type by ValuePattern.SetValue when that replaces nothing the user meant to keep:
    the field is writable, not a password, and empty or to be cleared anyway."""
    e = node.element
    if not e.enabled or e.password or "value" not in node.patterns:
        return None
    try:
        vp = pattern(uia, node.control, "value")
        if vp is None or vp.IsReadOnly:
            return None
        if not clear and (vp.Value or ""):
            return None  # SetValue would replace the existing text; typing appends
        return "uia:value" if _call(errors, "SetValue", vp.SetValue, text) else None
    except errors as exc:
        log.info("UIA element %s vanished before SetValue (%s); falling back to input", e.id, exc)
        return None


def scrollable_ancestor(snapshot: TreeSnapshot, node: UiaNode | None) -> UiaNode | None:
    while node is not None and "scroll" not in node.patterns:
        node = snapshot.parent(node)
    return node


def scroll(uia: Any, node: UiaNode, direction: ScrollDirection, amount: float, screen_size: tuple[int, int],
           errors: tuple[type[BaseException], ...]) -> str | None:
    """Scroll the element's ScrollPattern by `amount` screens' worth of its viewport."""
    vertical = direction in ("up", "down")
    sign = 1 if direction in ("down", "right") else -1
    try:
        sp = pattern(uia, node.control, "scroll")
        if sp is None or not (sp.VerticallyScrollable if vertical else sp.HorizontallyScrollable):
            return None
        percent = sp.VerticalScrollPercent if vertical else sp.HorizontalScrollPercent
        view = sp.VerticalViewSize if vertical else sp.HorizontalViewSize
        span = node.element.height if vertical else node.element.width
        screen_span = screen_size[1] if vertical else screen_size[0]
        if percent < 0 or not 0 < view < 100 or span <= 0:
            # no usable percentages: page by page
            pages = max(1, round(amount * screen_span / max(span, 1)))
            step = LARGE_INCREMENT if sign > 0 else LARGE_DECREMENT
            for _ in range(pages):
                args = (NO_AMOUNT, step) if vertical else (step, NO_AMOUNT)
                if not _call(errors, "Scroll", sp.Scroll, *args):
                    return None
            return "uia:scroll"
        # amount is in screens; one viewport of content = view / (100 - view) * 100 percent
        screens = amount * screen_span / span
        target = min(100.0, max(0.0, percent + sign * screens * view / (100.0 - view) * 100.0))
        args2 = (NO_SCROLL, target) if vertical else (target, NO_SCROLL)
        return "uia:scroll" if _call(errors, "SetScrollPercent", sp.SetScrollPercent, *args2) else None
    except errors as exc:
        log.info("UIA scroll target %s vanished (%s); falling back to the wheel", node.element.id, exc)
        return None
