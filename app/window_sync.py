"""Knowing, not assuming, that the window system applied a show or a hide.

Qt's `hide()` / `show()` return as soon as the request is queued for the X server; the server
applies it later, and a window manager may delay a map further. Before the agent acts on the
desktop, the app's main window must really be gone from the screen (else the agent's first
screenshot shows it, and its first click may land on it), so the app asks the server.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from PySide6.QtCore import QCoreApplication, QEventLoop
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

log = logging.getLogger(__name__)
_display: Any = None


def _x_display() -> Any:
    """Our own connection to the X server Qt uses (None when python-xlib is missing)."""
    global _display
    if _display is None:
        try:
            from Xlib.display import Display
        except ImportError:
            return None
        _display = Display(os.environ.get("DISPLAY"))
    return _display


def _map_state(wid: int) -> int | None:
    display = _x_display()
    if display is None:
        return None
    from Xlib import error as xerror

    try:
        return int(display.create_resource_object("window", wid).get_attributes().map_state)
    except xerror.XError as exc:
        log.debug("map state of window %#x: %s", wid, exc)
        return None


def settle_visibility(widget: QWidget, visible: bool, timeout: float = 10.0) -> bool:
    """Wait until the window server shows `widget`'s top-level window (or has unmapped it).

    On X11 the answer is the window's map state read from the server over a separate
    connection, after `QGuiApplication.sync()` made sure the server has processed every
    request Qt sent. Elsewhere (offscreen, Windows) Qt's own state is the only one there is.
    Returns False if the state did not arrive within `timeout` seconds.
    """
    if QGuiApplication.platformName() != "xcb":
        return widget.isVisible() == visible
    from Xlib import X

    wanted = X.IsViewable if visible else X.IsUnmapped
    wid = int(widget.winId())
    deadline = time.monotonic() + timeout
    while True:
        QGuiApplication.sync()  # a round trip on Qt's connection: our requests are applied
        state = _map_state(wid)
        if state is None:  # no python-xlib: the round trip is all the confirmation we get
            return widget.isVisible() == visible
        if state == wanted:
            return True
        if time.monotonic() > deadline:
            log.warning("window %#x: map state %s, wanted %s after %g s", wid, state, wanted, timeout)
            return False
        # a window manager applies maps itself: let Qt handle its events meanwhile
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        time.sleep(0.01)
