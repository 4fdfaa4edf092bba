"""`uiautomator dump` output: the public XML format, one line, every window of the screen.

    <?xml version='1.0' encoding='UTF-8' standalone='yes' ?><hierarchy rotation="0"><node index="0"
    text="" resource-id="" class="..." package="..." content-desc="" checkable="false" ...
    bounds="[l,t][r,b]">...</node></hierarchy>

Bounds are the same boxes the renderer drew (visible part only, as AccessibilityNodeInfo's
boundsInScreen). An empty EditText reports its hint as `text`, like Android 8+.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

from devices.simphone.layout import Node

XML_HEADER = "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>"
DUMP_DEFAULT_PATH = "/sdcard/window_dump.xml"


_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def quoteattr(value: str) -> str:
    """Always double quotes (as Android's XmlSerializer writes), newlines kept as character refs."""
    value = _CONTROL.sub("", value)
    return '"' + escape(value, {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}) + '"'


def _b(v: bool) -> str:
    return "true" if v else "false"


def _node(n: Node, index: int, out: list[str]) -> None:
    left, top, right, bottom = n.bounds
    out.append(
        f"<node index=\"{index}\" text={quoteattr(n.text)} resource-id={quoteattr(n.rid)} "
        f"class={quoteattr(n.cls)} package={quoteattr(n.package)} content-desc={quoteattr(n.desc)} "
        f"checkable=\"{_b(n.checkable)}\" checked=\"{_b(n.checked)}\" clickable=\"{_b(n.clickable)}\" "
        f"enabled=\"{_b(n.enabled)}\" focusable=\"{_b(n.focusable)}\" focused=\"{_b(n.focused)}\" "
        f"scrollable=\"{_b(n.scrollable)}\" long-clickable=\"{_b(n.long_clickable)}\" "
        f"password=\"{_b(n.password)}\" selected=\"{_b(n.selected)}\" "
        f"bounds=\"[{left},{top}][{right},{bottom}]\""
    )
    visible = [c for c in n.children if c.bounds[2] > c.bounds[0] and c.bounds[3] > c.bounds[1]]
    if not visible:
        out.append(" />")
        return
    out.append(">")
    for i, c in enumerate(visible):
        _node(c, i, out)
    out.append("</node>")


def dump_xml(windows: list[Node], rotation: int) -> str:
    # uiautomator lists windows top-most first
    out = [XML_HEADER, f"<hierarchy rotation=\"{rotation}\">"]
    for i, w in enumerate(reversed(windows)):
        _node(w, i, out)
    out.append("</hierarchy>")
    return "".join(out)
