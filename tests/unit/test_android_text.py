"""`input text` escaping, chunking and the IME decision (device-free unit tests).

The escaped commands are also checked against a real POSIX shell: `sh -c 'printf %s ARG'`
must give back exactly what Android's `input` receives before its own "%s" -> space rule.
"""

from __future__ import annotations

import base64
import subprocess

import pytest

from devices.android.text import (
    ADB_KEYBOARD_IME,
    KEYCODE_ENTER,
    KEYCODE_TAB,
    TextTyper,
    escape_input_text,
    ime_chunks,
    input_text_commands,
    input_text_plan,
    is_plain_ascii,
    keycode_for,
)
from guiagent.schema.errors import DeviceError


def android_input_text(arg: str) -> str:
    """What Android's InputShellCommand.sendText does with its argument: only "%s" -> " "."""
    out, i = [], 0
    while i < len(arg):
        if arg[i] == "%" and i + 1 < len(arg) and arg[i + 1] == "s":
            out.append(" ")
            i += 2
        else:
            out.append(arg[i])
            i += 1
    return "".join(out)


def through_shell(escaped: str) -> str:
    """Run the escaped word through a real shell, as adb's `shell:` service does."""
    return subprocess.run(["sh", "-c", f"printf '%s' {escaped}"], capture_output=True, text=True,
                          check=True).stdout


def typed(text: str, max_chunk: int = 80) -> str:
    """The text a device ends with after the plan (keycodes rendered as \\n and \\t)."""
    out = []
    for step in input_text_plan(text, max_chunk):
        if isinstance(step, int):
            out.append({KEYCODE_ENTER: "\n", KEYCODE_TAB: "\t"}[step])
        else:
            out.append(android_input_text(through_shell(step)))
    return "".join(out)


@pytest.mark.parametrize(
    "text",
    [
        "hello world",
        "it's a \"quote\"",
        "cost $5 & tax; (maybe) <b> | x * y ~ z `cmd` \\ back",
        "50%s off and 100% sure %%s",
        "glob? [a-z] {a,b} #hash !bang",
        "  leading and trailing  ",
        "%",
        "s%",
        "line one\nline two\tTabbed",
    ],
)
def test_escaped_text_arrives_exactly_through_a_real_shell(text: str) -> None:
    assert typed(text) == text


def test_space_and_metacharacters_are_escaped() -> None:
    assert escape_input_text("a b") == "a%sb"
    assert escape_input_text("$HOME & ;") == "\\$HOME%s\\&%s\\;"
    assert escape_input_text("it's") == "it\\'s"


def test_percent_s_is_split_between_percent_and_s() -> None:
    plan = input_text_plan("50%sale")
    assert plan == ["50%", "sale"]
    with pytest.raises(ValueError, match="%s"):
        escape_input_text("50%sale")


def test_long_text_is_chunked() -> None:
    text = "word " * 100
    plan = input_text_plan(text, max_chunk=40)
    assert len(plan) == 13 and all(isinstance(p, str) for p in plan)
    assert typed(text, max_chunk=40) == text


def test_commands_use_keyevents_for_newlines() -> None:
    assert input_text_commands("a\nb") == ["input text a", f"input keyevent {KEYCODE_ENTER}", "input text b"]


def test_non_ascii_detection() -> None:
    assert is_plain_ascii("plain ~ text\n")
    assert not is_plain_ascii("café")
    assert not is_plain_ascii("\x07bell")
    with pytest.raises(ValueError, match="IME"):
        escape_input_text("é")


def test_ime_chunks_roundtrip_on_character_boundaries() -> None:
    text = "日本語テキスト🚀" * 50
    chunks = ime_chunks(text, max_bytes=64)
    assert len(chunks) > 1
    decoded = [base64.b64decode(c).decode("utf-8") for c in chunks]  # each chunk decodes alone
    assert "".join(decoded) == text
    assert all(len(d.encode()) <= 64 for d in decoded)


def test_keycodes() -> None:
    assert keycode_for("enter") == 66 and keycode_for("backspace") == 67 and keycode_for("escape") == 4
    assert keycode_for("a") == 29 and keycode_for("z") == 54 and keycode_for("0") == 7
    assert keycode_for("f12") == 142 and keycode_for("volumeup") == 24
    with pytest.raises(DeviceError, match="'bogus'"):
        keycode_for("bogus")


class RecordingShell:
    """Answers like a device shell would; records every command."""

    def __init__(self, imes: list[str], current: str = "com.android.inputmethod.latin/.LatinIME") -> None:
        self.imes, self.current, self.commands = imes, current, []

    def __call__(self, cmd: str) -> str:
        self.commands.append(cmd)
        if cmd == "ime list -s":
            return "\n".join(self.imes) + "\n"
        if cmd == "settings get secure default_input_method":
            return self.current + "\n"
        if cmd.startswith("ime set "):
            self.current = cmd.split()[-1]
            return f"Input method {self.current} selected for user #0\n"
        if cmd.startswith("am broadcast"):
            return "Broadcasting: Intent { act=ADB_INPUT_B64 flg=0x400000 (has extras) }\nBroadcast completed: result=0\n"
        return ""


def test_ime_path_switches_and_restores() -> None:
    shell = RecordingShell([ADB_KEYBOARD_IME, "com.android.inputmethod.latin/.LatinIME"])
    typer = TextTyper(shell, ime_settle_s=0)
    assert typer.type("naïve ☕") == "ime"
    broadcasts = [c for c in shell.commands if c.startswith("am broadcast")]
    assert len(broadcasts) == 1
    payload = broadcasts[0].split("--es msg ")[1]
    assert base64.b64decode(payload).decode() == "naïve ☕"
    assert shell.commands.index(f"ime set {ADB_KEYBOARD_IME}") < shell.commands.index(broadcasts[0])
    assert shell.commands[-1] == "ime set com.android.inputmethod.latin/.LatinIME"
    assert shell.current == "com.android.inputmethod.latin/.LatinIME"


def test_ime_missing_gives_the_fix() -> None:
    shell = RecordingShell(["com.android.inputmethod.latin/.LatinIME"])
    with pytest.raises(DeviceError, match="ime enable com.android.adbkeyboard/.AdbIME") as info:
        TextTyper(shell, ime_settle_s=0).type("Grüße")
    assert "'ü'" in str(info.value)
    assert not any(c.startswith("am broadcast") for c in shell.commands)


def test_ascii_uses_input_text_only() -> None:
    shell = RecordingShell([ADB_KEYBOARD_IME])
    assert TextTyper(shell).type("a b") == "input"
    assert shell.commands == ["input text a%sb"]
