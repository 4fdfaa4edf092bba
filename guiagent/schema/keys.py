"""Canonical key names shared by every device ("Return" -> "enter", "cmd" -> "meta")."""

from __future__ import annotations

KEY_ALIASES: dict[str, str] = {
    "return": "enter", "esc": "escape", "del": "delete", "control": "ctrl", "ctl": "ctrl",
    "cmd": "meta", "command": "meta", "win": "meta", "super": "meta", "windows": "meta",
    "option": "alt", "pgup": "pageup", "pgdn": "pagedown", "page_up": "pageup",
    "page_down": "pagedown", "arrowup": "up", "arrowdown": "down", "arrowleft": "left",
    "arrowright": "right", "bksp": "backspace", "spacebar": "space", "ins": "insert",
}
NAMED_KEYS: frozenset[str] = frozenset(
    {"enter", "tab", "escape", "backspace", "delete", "space", "up", "down", "left", "right",
     "home", "end", "pageup", "pagedown", "insert", "ctrl", "alt", "shift", "meta", "menu",
     "capslock", "printscreen", "volumeup", "volumedown", "power", "search", "camera"}
    | {f"f{i}" for i in range(1, 13)}
)
MODIFIERS: frozenset[str] = frozenset({"ctrl", "alt", "shift", "meta"})


def normalize_key(name: str) -> str:
    """Canonical name of one key ("Return" -> "enter", "A" -> "a")."""
    k = name.strip().lower().replace(" ", "")
    k = KEY_ALIASES.get(k, k)
    if k in NAMED_KEYS or len(k) == 1:
        return k
    raise ValueError(f"unknown key {name!r}; use one character or one of {sorted(NAMED_KEYS)}")
