"""Parse `uiautomator dump` XML into `Element`s.

The format is the public one every Android since 4.1 prints::

    <hierarchy rotation="0"><node index="0" text="" resource-id="" class="android.widget.FrameLayout"
      package="com.android.settings" content-desc="" checkable="false" checked="false" clickable="false"
      enabled="true" focusable="false" focused="false" scrollable="false" long-clickable="false"
      password="false" selected="false" bounds="[0,0][1080,2400]"> ... </node></hierarchy>

Decisions (documented because callers rely on them):

- Bounds are already in the coordinates of the current orientation (like `screencap`), so a
  rotated hierarchy (`rotation="1"`) needs no transform; the rotation is kept in `extras`.
- Kept nodes: anything with a name (text or content-desc), anything actionable (clickable,
  long-clickable, checkable, scrollable, editable) and anything whose class maps to a real role.
  Pure layout containers (FrameLayout, LinearLayout, ... with no name and no action) are dropped.
- Clickability is inherited: Android list rows put `clickable="true"` on the row and
  `clickable="false"` on the TextView inside it, yet tapping the text taps the row. Such a
  child keeps its own (tighter, exact) bbox and gets `clickable=True`, with
  `extras["click_target"]` = the id of the clickable ancestor that receives the tap. The
  child's centre lies inside the ancestor, so tapping it is correct.
- Ids are the index path of the node ("u0.2.1"): stable while the screen's structure is.
- Zero-size nodes and nodes entirely off-screen are skipped; boxes are clipped to the screen.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from guiagent.schema import Element, Role
from guiagent.schema.errors import DeviceError

log = logging.getLogger(__name__)

_BOUNDS = re.compile(r"\[\s*(-?\d+)\s*,\s*(-?\d+)\s*\]\s*\[\s*(-?\d+)\s*,\s*(-?\d+)\s*\]")

# Simple class name (after the last "." or "$") -> role. Checked in order, first hit wins.
_ROLE_RULES: tuple[tuple[tuple[str, ...], Role], ...] = (
    (("EditText", "AutoCompleteTextView", "SearchAutoComplete", "ExtractEditText"), Role.TEXT_FIELD),
    (("RadioButton",), Role.RADIO),
    (("Switch", "SwitchCompat", "SwitchMaterial", "MaterialSwitch", "ToggleButton"), Role.SWITCH),
    (("CheckBox", "CheckedTextView", "MaterialCheckBox"), Role.CHECKBOX),
    (("ImageButton", "FloatingActionButton"), Role.ICON),
    (("Button",), Role.BUTTON),
    (("Spinner",), Role.COMBOBOX),
    (("SeekBar", "RatingBar", "Slider"), Role.SLIDER),
    (("TabView", "TabItem"), Role.TAB),
    (("ActionMenuItemView", "MenuItem", "ListMenuItemView"), Role.MENU_ITEM),
    (("ImageView",), Role.IMAGE),
    (("TextView", "Chronometer", "TextClock"), Role.TEXT),
    (("RecyclerView", "ListView", "GridView", "ScrollView", "HorizontalScrollView", "ViewPager",
      "ViewPager2", "WebView", "NestedScrollView", "TabWidget", "TabLayout"), Role.CONTAINER),
)
_EDITABLE_HINTS = ("EditText", "AutoCompleteTextView", "SearchAutoComplete")


class UiDumpError(DeviceError):
    """`uiautomator dump` printed something that is not a UI hierarchy."""


@dataclass
class _Ctx:
    """What a node inherits from its ancestors while walking."""

    path: str
    click_target: str | None  # id of the nearest clickable ancestor, if any


def _flag(node: ET.Element, name: str) -> bool:
    return node.get(name, "false").strip().lower() == "true"


def _simple_class(cls: str) -> str:
    return re.split(r"[.$]", cls)[-1] if cls else ""


def role_for(cls: str, *, clickable: bool, checkable: bool, named: bool) -> Role:
    """Role of a node from its Java class (falls back on what the node can do)."""
    simple = _simple_class(cls)
    for names, role in _ROLE_RULES:
        if any(simple == n or simple.endswith(n) for n in names):
            if role is Role.IMAGE and clickable:
                return Role.ICON
            return role
    if checkable:
        return Role.CHECKBOX
    if clickable and named:
        return Role.BUTTON  # Compose / custom views: a clickable thing with a label
    if named:
        return Role.TEXT
    return Role.CONTAINER if simple else Role.OTHER


def extract_hierarchy(raw: str | bytes) -> str:
    """The `<hierarchy>...</hierarchy>` part of a dump, without the junk around it.

    Real dumps print "UI hierchary dumped to: /dev/tty" after the XML, may print warnings
    before it, or "ERROR: could not get idle state." instead of it.
    """
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    if not text or not text.strip():
        raise UiDumpError("uiautomator dump returned nothing (is the screen on and unlocked?)")
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise UiDumpError("uiautomator dump contains a DTD; refusing to parse it")
    start = text.find("<hierarchy")
    if start < 0:
        first = text.strip().splitlines()[0][:200]
        raise UiDumpError(f"uiautomator dump has no <hierarchy> element; it said: {first!r}")
    end = text.rfind("</hierarchy>")
    if end >= 0:
        return text[start:end + len("</hierarchy>")]
    self_closed = re.match(r"<hierarchy\b[^>]*/>", text[start:])
    if self_closed:
        return self_closed.group(0)
    raise UiDumpError("uiautomator dump is truncated: <hierarchy> is never closed")


def parse_bounds(value: str) -> tuple[int, int, int, int] | None:
    m = _BOUNDS.search(value or "")
    if not m:
        return None
    left, top, right, bottom = (int(g) for g in m.groups())
    return left, top, right, bottom


def parse_uiautomator(
    raw: str | bytes,
    screen_size: tuple[int, int] | None = None,
    *,
    keep_containers: bool = False,
) -> list[Element]:
    """Elements of a `uiautomator dump`, in document order.

    `screen_size` (current orientation, screenshot pixels) clips boxes and drops off-screen
    nodes; without it, the bounds of the first top-level node are taken as the screen.
    """
    xml_text = extract_hierarchy(raw)
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise UiDumpError(f"uiautomator dump is not valid XML: {exc}") from exc
    if root.tag != "hierarchy":
        raise UiDumpError(f"expected <hierarchy> at the root of the dump, got <{root.tag}>")
    rotation = _int(root.get("rotation"), 0) % 4
    if screen_size is None:
        first = next((n for n in root if n.tag == "node"), None)
        b = parse_bounds(first.get("bounds", "")) if first is not None else None
        screen_size = (b[2], b[3]) if b and b[2] > 0 and b[3] > 0 else None

    out: list[Element] = []
    # An explicit stack instead of recursion: real trees can be hundreds of levels deep.
    stack: list[tuple[ET.Element, _Ctx]] = [
        (child, _Ctx(str(i), None)) for i, child in reversed(list(enumerate(_nodes(root))))
    ]
    while stack:
        node, ctx = stack.pop()
        element = _element(node, ctx, rotation, screen_size, keep_containers)
        # A clickable ancestor that is itself off-screen still receives taps on its children.
        click_target = "u" + ctx.path if _flag(node, "clickable") else ctx.click_target
        if element is not None:
            out.append(element)
        children = list(enumerate(_nodes(node)))
        for i, child in reversed(children):
            stack.append((child, _Ctx(f"{ctx.path}.{i}", click_target)))
    return _label_rows(out)


def _label_rows(elements: list[Element]) -> list[Element]:
    """A settings row is a clickable layout holding a title TextView and an unlabelled Switch;
    TalkBack reads the row as "Wi-Fi, switch". Unnamed switches, checkboxes and radios in such
    a row, and the unnamed row itself, take the row's first text (`extras["name_from"] = "row"`)."""
    row_label: dict[str, str] = {}
    for e in elements:
        row = e.extras.get("click_target")
        if isinstance(row, str) and e.name and e.role is Role.TEXT:
            row_label.setdefault(row, e.name)
    out = []
    for e in elements:
        row = e.id if e.id in row_label else e.extras.get("click_target")
        if not e.name and row in row_label and (e.id == row or e.role in (Role.SWITCH, Role.CHECKBOX, Role.RADIO)):
            e = e.model_copy(update={"name": row_label[row], "extras": {**e.extras, "name_from": "row"}})
        out.append(e)
    return out


def _nodes(parent: ET.Element) -> list[ET.Element]:
    return [c for c in parent if c.tag == "node"]


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _element(
    node: ET.Element,
    ctx: _Ctx,
    rotation: int,
    screen: tuple[int, int] | None,
    keep_containers: bool,
) -> Element | None:
    bounds = parse_bounds(node.get("bounds", ""))
    if bounds is None:
        log.debug("node %s has no usable bounds %r; skipped", ctx.path, node.get("bounds"))
        return None
    left, top, right, bottom = bounds
    if screen is not None:
        w, h = screen
        left, top, right, bottom = max(left, 0), max(top, 0), min(right, w), min(bottom, h)
    if right <= left or bottom <= top:
        return None  # zero-size or entirely off-screen

    cls = node.get("class", "")
    text = node.get("text", "") or ""
    desc = node.get("content-desc", "") or ""
    hint = node.get("hint", "") or ""
    own_clickable = _flag(node, "clickable") or _flag(node, "long-clickable")
    clickable = own_clickable or ctx.click_target is not None
    checkable = _flag(node, "checkable")
    editable = any(h in _simple_class(cls) for h in _EDITABLE_HINTS)
    scrollable = _flag(node, "scrollable")
    role = role_for(cls, clickable=clickable, checkable=checkable, named=bool(text or desc))

    if editable:
        # An EditText's text is its content (or its hint when empty, on some versions).
        name, value = desc or hint, text or None
    else:
        name, value = text or desc, None
    actionable = own_clickable or checkable or scrollable or editable
    if not (name or value or actionable or role not in (Role.CONTAINER, Role.OTHER) or keep_containers):
        return None

    extras: dict[str, str | int | float | bool | None] = {
        "class": cls,
        "resource_id": node.get("resource-id", ""),
        "package": node.get("package", ""),
        "index_path": ctx.path,
    }
    if rotation:
        extras["rotation"] = rotation
    if desc and desc != name:
        extras["content_desc"] = desc
    if hint and hint != name:
        extras["hint"] = hint
    if scrollable:
        extras["scrollable"] = True
    if _flag(node, "long-clickable"):
        extras["long_clickable"] = True
    if _flag(node, "focusable"):
        extras["focusable"] = True
    if not own_clickable and ctx.click_target is not None:
        extras["click_target"] = ctx.click_target

    return Element(
        id="u" + ctx.path,
        role=role,
        name=name,
        value=value,
        bbox=(left, top, right, bottom),
        enabled=_flag(node, "enabled") if "enabled" in node.attrib else True,
        focused=_flag(node, "focused"),
        checked=_flag(node, "checked") if checkable else None,
        selected=_flag(node, "selected"),
        editable=editable,
        clickable=clickable,
        password=_flag(node, "password"),
        source="a11y",
        extras=extras,
    )


def hierarchy_rotation(raw: str | bytes) -> int:
    """The `rotation` attribute of a dump (0..3)."""
    m = re.search(r"<hierarchy\b[^>]*\brotation=\"(\d)\"", extract_hierarchy(raw))
    return int(m.group(1)) % 4 if m else 0
