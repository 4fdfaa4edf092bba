"""Text and keys for Android over adb: `input text` escaping, chunking, the IME path.

`input text ARG` goes through two parsers: the device shell (mksh), then Android's `input`
command, which turns "%s" into a space and nothing else. So:

- a space is sent as "%s" (a shell-quoted space would also work, but "%s" survives any shell);
- shell metacharacters are backslash-escaped: ( ) < > | ; & * \\ ~ " ' ` $ ? [ ] { } # !
- a literal "%" directly followed by "s" cannot be typed in one command (`input` would make it
  a space), so the text is split between the "%" and the "s";
- newline and tab become KEYCODE_ENTER / KEYCODE_TAB between chunks;
- long text is cut into chunks (real devices drop characters from very long `input text`).

`input text` carries only printable ASCII. Anything else goes through ADB Keyboard
(com.android.adbkeyboard/.AdbIME), which receives UTF-8 as base64 in a broadcast. It is
selected with `ime set` for the duration and the previous IME is restored afterwards.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable

from guiagent.schema.errors import DeviceError

log = logging.getLogger(__name__)

ADB_KEYBOARD_IME = "com.android.adbkeyboard/.AdbIME"
ADB_KEYBOARD_FIX = (
    "install ADB Keyboard (https://github.com/senzhk/ADBKeyBoard: `adb install ADBKeyboard.apk`), "
    f"then `adb shell ime enable {ADB_KEYBOARD_IME}`"
)
SHELL_SPECIAL = frozenset("()<>|;&*\\~\"'`$?[]{}#!")
MAX_CHUNK = 80  # raw characters per `input text` call
MAX_IME_CHUNK = 2000  # UTF-8 bytes per broadcast, before base64

KEYCODE_ENTER = 66
KEYCODE_TAB = 61
KEYCODE_DEL = 67
KEYCODE_MOVE_END = 123

# Key names of guiagent.schema (normalize_key) -> Android KeyEvent codes.
# Decisions: "escape" -> BACK (4): Android apps treat BACK as cancel/dismiss, KEYCODE_ESCAPE is
# ignored by most of them. "home" -> HOME (3), the Android meaning, not the text-caret Home.
KEYCODES: dict[str, int] = {
    "enter": KEYCODE_ENTER, "tab": KEYCODE_TAB, "escape": 4, "back": 4, "backspace": KEYCODE_DEL,
    "delete": 112, "space": 62, "up": 19, "down": 20, "left": 21, "right": 22, "home": 3,
    "end": KEYCODE_MOVE_END, "pageup": 92, "pagedown": 93, "insert": 124, "ctrl": 113, "alt": 57,
    "shift": 59, "meta": 117, "menu": 82, "capslock": 115, "printscreen": 120, "volumeup": 24,
    "volumedown": 25, "power": 26, "search": 84, "camera": 27,
    ",": 55, ".": 56, "`": 68, "-": 69, "=": 70, "[": 71, "]": 72, "\\": 73, ";": 74, "'": 75,
    "/": 76, "@": 77, "+": 81, "*": 17, "#": 18,
}
KEYCODES.update({f"f{i}": 130 + i for i in range(1, 13)})
KEYCODES.update({chr(ord("a") + i): 29 + i for i in range(26)})
KEYCODES.update({str(d): 7 + d for d in range(10)})


def keycode_for(key: str) -> int:
    """Android keycode of a normalized key name; DeviceError naming the key when unknown."""
    try:
        return KEYCODES[key]
    except KeyError:
        raise DeviceError(f"no Android keycode for key {key!r}") from None


def is_plain_ascii(text: str) -> bool:
    """True when `input text` can carry every character (printable ASCII, newline, tab)."""
    return all(32 <= ord(c) < 127 or c in "\n\t" for c in text)


def escape_input_text(chunk: str) -> str:
    """One argument for `input text`: spaces -> %s, shell metacharacters backslash-escaped.

    The chunk must be printable ASCII and must not contain "%" followed by "s" (see
    `input_text_plan`, which splits those)."""
    if "%s" in chunk:
        raise ValueError("a chunk may not contain '%s'; split it with input_text_plan")
    out = []
    for c in chunk:
        if c == " ":
            out.append("%s")
        elif c in SHELL_SPECIAL:
            out.append("\\" + c)
        elif 32 <= ord(c) < 127:
            out.append(c)
        else:
            raise ValueError(f"`input text` cannot carry {c!r}; use the IME path")
    return "".join(out)


def input_text_plan(text: str, max_chunk: int = MAX_CHUNK) -> list[str | int]:
    """The text as a list of `input text` arguments (escaped str) and keycodes (int)."""
    plan: list[str | int] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            plan.append(escape_input_text("".join(current)))
            current.clear()

    for i, c in enumerate(text):
        if c == "\n":
            flush()
            plan.append(KEYCODE_ENTER)
            continue
        if c == "\t":
            flush()
            plan.append(KEYCODE_TAB)
            continue
        current.append(c)
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if (c == "%" and nxt == "s") or len(current) >= max_chunk:
            flush()
    flush()
    return plan


def input_text_commands(text: str, max_chunk: int = MAX_CHUNK) -> list[str]:
    """Shell commands that type printable-ASCII `text` with `input`."""
    return [
        f"input keyevent {step}" if isinstance(step, int) else f"input text {step}"
        for step in input_text_plan(text, max_chunk)
    ]


def ime_chunks(text: str, max_bytes: int = MAX_IME_CHUNK) -> list[str]:
    """Base64 payloads for ADB_INPUT_B64, cut on character boundaries."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for c in text:
        n = len(c.encode("utf-8"))
        if current and size + n > max_bytes:
            chunks.append(base64.b64encode("".join(current).encode("utf-8")).decode("ascii"))
            current, size = [], 0
        current.append(c)
        size += n
    if current:
        chunks.append(base64.b64encode("".join(current).encode("utf-8")).decode("ascii"))
    return chunks


Shell = Callable[[str], str]


class TextTyper:
    """Types text on a device through a `shell(cmd) -> output` function."""

    def __init__(self, shell: Shell, *, max_chunk: int = MAX_CHUNK, ime_settle_s: float = 0.3) -> None:
        self._shell = shell
        self.max_chunk = max_chunk
        self.ime_settle_s = ime_settle_s  # lets the freshly selected IME bind to the field
        self.last_path: str = ""

    def type(self, text: str) -> str:
        """Type `text` into the focused field; returns the path used ("input" or "ime")."""
        if not text:
            self.last_path = "input"
            return self.last_path
        if is_plain_ascii(text):
            for cmd in input_text_commands(text, self.max_chunk):
                self._run(cmd)
            self.last_path = "input"
        else:
            self._type_ime(text)
            self.last_path = "ime"
        return self.last_path

    def enabled_imes(self) -> list[str]:
        return [line.strip() for line in self._shell("ime list -s").splitlines() if line.strip()]

    def _type_ime(self, text: str) -> None:
        if ADB_KEYBOARD_IME not in self.enabled_imes():
            bad = next(c for c in text if not (32 <= ord(c) < 127 or c in "\n\t"))
            raise DeviceError(
                f"cannot type {bad!r} (non-ASCII) with `input text`, and ADB Keyboard is not "
                f"enabled on the device; {ADB_KEYBOARD_FIX}"
            )
        previous = self._shell("settings get secure default_input_method").strip()
        switched = previous != ADB_KEYBOARD_IME
        if switched:
            self._run(f"ime set {ADB_KEYBOARD_IME}")
            if self.ime_settle_s:
                time.sleep(self.ime_settle_s)
        try:
            for payload in ime_chunks(text):
                out = self._shell(f"am broadcast -a ADB_INPUT_B64 --es msg {payload}")
                if "Broadcast completed" not in out and "Broadcasting" not in out:
                    raise DeviceError(f"ADB Keyboard broadcast failed: {out.strip()[:200]!r}")
        finally:
            if switched and previous and previous != "null":
                self._shell(f"ime set {previous}")
        log.debug("typed %d characters through ADB Keyboard", len(text))

    def _run(self, cmd: str) -> None:
        out = self._shell(cmd)
        low = out.lower()
        if "exception" in low or "error:" in low or "not found" in low:
            raise DeviceError(f"`{cmd[:60]}` failed on the device: {out.strip()[:200]!r}")
