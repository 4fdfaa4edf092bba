"""The foreground app of an Android device, read from `dumpsys window`.

`mCurrentFocus` names the focused window: "package/Activity" for an app, but a bare title for
system windows (NotificationShade, StatusBar, a PopupWindow) and nothing at all while an app
starts. The app allowlist needs the app, so such a focus falls back to `mFocusedApp`, the
activity record of the resumed app.
"""

from __future__ import annotations

import re

_FOCUS = re.compile(r"mCurrentFocus=Window\{[^}]*?\s(\S+)\}")
_FOCUSED_APP = re.compile(r"mFocusedApp=\S*\{[^}]*?\s(\S+/\S+)")


def parse_foreground(dumpsys_window: str) -> str | None:
    """"package/Activity" of the focused app, else the focused window's title, else None."""
    focus = _FOCUS.search(dumpsys_window)
    if focus and "/" in focus.group(1):
        return focus.group(1)
    app = _FOCUSED_APP.search(dumpsys_window)
    if app:
        return app.group(1)
    return focus.group(1) if focus else None
