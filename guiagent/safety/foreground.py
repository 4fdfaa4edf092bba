"""The app allowlist, judged on the foreground app after every action (not only on `open_app`).

What an allowlist entry may name (case-insensitive; spaces, dots and dashes ignored where noted):
- Android: the foreground is "package/Activity" (the focused app's resumed activity). An entry
  matches the package ("com.example.notes"), or the package's last segment, which is how the
  launcher label usually reads ("Notes" -> com.example.notes, "Settings" -> com.android.settings).
- Desktop (X11, Windows): the foreground is the title of the window holding the focus. An entry
  matches the whole title, or the application part of it: the text after the last " - ", " — "
  or " – " ("Inbox - Thunderbird" is allowed by "Thunderbird"), or before the first one.
- Always allowed: the home screen and system UI (a package with a "launcher" or "home" segment,
  com.android.systemui), and an unknown foreground (None: nothing holds the focus).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_SEPARATORS = re.compile(r"\s+[-—–]\s+")
_SYSTEM_UI = frozenset({"com.android.systemui", "android"})


def _norm(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.casefold())


def _package(foreground: str) -> str | None:
    """The package of an Android "package/Activity" foreground, None for a window title."""
    head, slash, _ = foreground.partition("/")
    return head if slash and "." in head and " " not in head else None


def app_of(foreground: str | None) -> str:
    """The app a foreground names: its package on Android, the window title on a desktop."""
    if not foreground:
        return ""
    return _package(foreground) or foreground


def is_home(foreground: str) -> bool:
    pkg = _package(foreground)
    if pkg is None:
        return False
    return pkg in _SYSTEM_UI or any("launcher" in part or part == "home" for part in pkg.lower().split("."))


def _matches(foreground: str, entry: str) -> bool:
    key = _norm(entry)
    if not key:
        return False
    pkg = _package(foreground)
    if pkg is not None:
        return entry.strip().casefold() == pkg.casefold() or key == _norm(pkg.rsplit(".", 1)[-1])
    parts = _SEPARATORS.split(foreground.strip())
    return key in {_norm(foreground), _norm(parts[-1]), _norm(parts[0])}


def foreground_allowed(foreground: str | None, allowlist: Iterable[str] | None) -> bool:
    """Whether the run may act in `foreground` (see the module docstring)."""
    if allowlist is None or not foreground or is_home(foreground):
        return True
    return any(_matches(foreground, entry) for entry in allowlist)


def app_allowed(name: str, allowlist: Iterable[str] | None) -> bool:
    """Whether `open_app(name)` may run: a name of the allowlist, or a package it allows."""
    if allowlist is None:
        return True
    entries = list(allowlist)
    key = _norm(name)
    return any(_norm(a) == key for a in entries) or ("." in name and foreground_allowed(name + "/", entries))
