"""Android KeyEvent codes (android.view.KeyEvent), the subset a phone driver uses, plus the
characters they type. `input keyevent` accepts the number, `KEYCODE_NAME` or `NAME`."""

from __future__ import annotations

import string

KEYCODES: dict[str, int] = {
    "UNKNOWN": 0, "SOFT_LEFT": 1, "SOFT_RIGHT": 2, "HOME": 3, "BACK": 4, "CALL": 5, "ENDCALL": 6,
    "STAR": 17, "POUND": 18, "DPAD_UP": 19, "DPAD_DOWN": 20, "DPAD_LEFT": 21, "DPAD_RIGHT": 22,
    "DPAD_CENTER": 23, "VOLUME_UP": 24, "VOLUME_DOWN": 25, "POWER": 26, "CAMERA": 27, "CLEAR": 28,
    "COMMA": 55, "PERIOD": 56, "ALT_LEFT": 57, "ALT_RIGHT": 58, "SHIFT_LEFT": 59, "SHIFT_RIGHT": 60,
    "TAB": 61, "SPACE": 62, "SYM": 63, "EXPLORER": 64, "ENVELOPE": 65, "ENTER": 66, "DEL": 67,
    "GRAVE": 68, "MINUS": 69, "EQUALS": 70, "LEFT_BRACKET": 71, "RIGHT_BRACKET": 72, "BACKSLASH": 73,
    "SEMICOLON": 74, "APOSTROPHE": 75, "SLASH": 76, "AT": 77, "NUM": 78, "HEADSETHOOK": 79,
    "FOCUS": 80, "PLUS": 81, "MENU": 82, "NOTIFICATION": 83, "SEARCH": 84, "MEDIA_PLAY_PAUSE": 85,
    "MEDIA_STOP": 86, "MEDIA_NEXT": 87, "MEDIA_PREVIOUS": 88, "PAGE_UP": 92, "PAGE_DOWN": 93,
    "ESCAPE": 111, "FORWARD_DEL": 112, "CTRL_LEFT": 113, "CTRL_RIGHT": 114, "CAPS_LOCK": 115,
    "META_LEFT": 117, "META_RIGHT": 118, "MOVE_HOME": 122, "MOVE_END": 123, "INSERT": 124,
    "VOLUME_MUTE": 164, "APP_SWITCH": 187, "SLEEP": 223, "WAKEUP": 224,
}
KEYCODES.update({str(d): 7 + d for d in range(10)})
KEYCODES.update({c.upper(): 29 + i for i, c in enumerate(string.ascii_lowercase)})
for _d in range(10):
    KEYCODES[f"NUMPAD_{_d}"] = 144 + _d
KEYCODES.update({f"F{i}": 130 + i for i in range(1, 13)})

KEYCODE_NAMES: dict[int, str] = {}
for _name, _code in KEYCODES.items():
    KEYCODE_NAMES.setdefault(_code, _name)

# What a key types into a focused text field (unshifted US layout, like Android's virtual kcm).
KEY_CHARS: dict[int, str] = {7 + d: str(d) for d in range(10)}
KEY_CHARS.update({29 + i: c for i, c in enumerate(string.ascii_lowercase)})
KEY_CHARS.update({
    17: "*", 18: "#", 55: ",", 56: ".", 62: " ", 68: "`", 69: "-", 70: "=", 71: "[", 72: "]",
    73: "\\", 74: ";", 75: "'", 76: "/", 77: "@", 81: "+",
})
KEY_CHARS.update({144 + d: str(d) for d in range(10)})

# Characters `input text` can type through the virtual key character map: printable ASCII only.
TYPEABLE = frozenset(chr(c) for c in range(0x20, 0x7F)) | {"\n", "\t"}


def parse_keycode(token: str) -> int | None:
    """`4`, `KEYCODE_BACK` or `BACK` -> 4; None when unknown."""
    t = token.strip()
    if t.lstrip("-").isdigit():
        return int(t)
    name = t.upper()
    if name.startswith("KEYCODE_"):
        name = name[len("KEYCODE_"):]
    return KEYCODES.get(name)
