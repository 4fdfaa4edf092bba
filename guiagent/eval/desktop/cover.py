"""The "hidden target" sabotage: a blank override-redirect X window mapped over an element, so
the app still runs but the element can neither be seen nor clicked. The element is found the
way the agent would find it (a11y tree + OCR), before the agent starts."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

from guiagent.schema import Element
from guiagent.schema.errors import DeviceError


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def find_element(target: str, timeout: float = 10.0, with_field: bool = False) -> Element:
    """The smallest element whose name is `target` (case-insensitive), waiting for it to appear;
    `with_field`: its box grown over the text field it names from its right (a search box)."""
    from guiagent.registry import build_device
    from guiagent.runner import build_screen_parser

    device = build_device("desktop")
    parser = build_screen_parser(True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            device.wait_until_stable(timeout=3.0)
            image = device.screenshot()
            a11y = device.ui_tree()
            elements = parser.parse(image, a11y) if parser is not None else a11y
            named = [e for e in elements if _norm(e.name) == _norm(target)]
            if named:
                found = min(named, key=lambda e: (e.bbox[2] - e.bbox[0]) * (e.bbox[3] - e.bbox[1]))
                if with_field:
                    from grounding.text_matcher import field_left_of
                    from guiagent.schema import Role

                    field = field_left_of(found, frozenset({Role.TEXT_FIELD}), elements, image.size[0])
                    if field is None:
                        raise DeviceError(f"sabotage: no text field left of {target!r} to hide")
                    box = tuple(f(a, b) for f, a, b in zip((min, min, max, max), found.bbox, field.bbox, strict=True))
                    found = found.model_copy(update={"bbox": box})
                return found
            if time.monotonic() > deadline:
                raise DeviceError(f"sabotage: no element named {target!r} to hide "
                                  f"(seen: {sorted({e.name for e in elements if e.name})[:30]})")
    finally:
        device.close()


@contextmanager
def cover_element(target: str, margin: int = 3, with_field: bool = False) -> Iterator[Element]:
    """Map a blank window (the colour of the element's corner) over the element named `target`."""
    from Xlib import X, display

    element = find_element(target, with_field=with_field)
    left, top, right, bottom = (int(v) for v in element.bbox)
    d = display.Display()
    try:
        screen = d.screen()
        root = screen.root
        raw = root.get_image(max(0, left - margin), max(0, top - margin), 1, 1, X.ZPixmap, 0xFFFFFFFF).data
        pixel = raw[2] << 16 | raw[1] << 8 | raw[0]  # BGRX on the 24-bit visuals Xvfb serves
        win = root.create_window(max(0, left - margin), max(0, top - margin), right - left + 2 * margin,
                                 bottom - top + 2 * margin, 0, screen.root_depth, X.InputOutput,
                                 X.CopyFromParent, background_pixel=pixel, override_redirect=True,
                                 event_mask=X.ButtonPressMask | X.ButtonReleaseMask)
        win.map()
        win.raise_window()
        d.sync()
        try:
            yield element
        finally:
            win.destroy()
            d.sync()
    finally:
        d.close()
