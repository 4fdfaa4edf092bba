"""A small POSIX-ish shell, the part of mksh that drivers actually send through `adb shell`:
quoting ('...', "...", backslash), `;` `&&` `||` `|` `&`, redirections (`>`, `>>`, `<`, `2>`,
`2>&1`, `>&2`), `$?`, `$$`, `$NAME`, `${NAME}` and `#` comments. No globbing, no word
splitting of expansions, no command substitution (a clear error instead).

Commands are coroutines `cmd(inv) -> exit status` looked up in a registry by basename.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from devices.simphone.fs import FsError

SH = "/system/bin/sh"


class Writer(Protocol):
    async def write(self, data: bytes) -> None: ...


class BufferWriter:
    def __init__(self) -> None:
        self.data = bytearray()

    async def write(self, data: bytes) -> None:
        self.data += data


class NullWriter:
    async def write(self, data: bytes) -> None:
        return None


class ShellSyntaxError(Exception):
    pass


class ShellExit(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


# --- parsing ---------------------------------------------------------------------------------

@dataclass
class Word:
    parts: list[tuple[str, str]] = field(default_factory=list)  # (kind, text): lit | qlit | var | qvar

    def add(self, kind: str, text: str) -> None:
        self.parts.append((kind, text))


@dataclass
class Redirect:
    fd: int
    op: str  # ">", ">>", "<", ">&"
    target: Word


@dataclass
class Command:
    words: list[Word] = field(default_factory=list)
    redirects: list[Redirect] = field(default_factory=list)


Pipeline = list[Command]
AndOr = list[tuple[str, Pipeline]]  # connector before each pipeline ("" first, "&&", "||")

_OPERATORS = ("&&", "||", ";;", ">>", ">&", "<&", ";", "&", "|", "<", ">", "\n")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _read_var(s: str, i: int) -> tuple[str | None, int]:
    """At s[i] == '$': (variable name, next index) or (None, i + 1) for a literal '$'."""
    j = i + 1
    if j < len(s) and s[j] in "?$#!0123456789":
        return s[j], j + 1
    if j < len(s) and s[j] == "{":
        end = s.find("}", j)
        if end == -1:
            raise ShellSyntaxError("${ has no closing }")
        return s[j + 1:end], end + 1
    if j < len(s) and s[j] == "(":
        raise ShellSyntaxError("command substitution $(...) is not supported by this shell")
    m = _NAME.match(s, j)
    if m:
        return m.group(0), m.end()
    return None, j


def tokenize(s: str) -> list[Word | str]:
    tokens: list[Word | str] = []
    word: Word | None = None
    i, n = 0, len(s)

    def flush() -> None:
        nonlocal word
        if word is not None:
            tokens.append(word)
            word = None

    while i < n:
        c = s[i]
        if c in " \t":
            flush()
            i += 1
        elif c == "#" and word is None:
            while i < n and s[i] != "\n":
                i += 1
        elif c == "\\":
            if i + 1 < n and s[i + 1] == "\n":
                i += 2
                continue
            word = word or Word()
            word.add("qlit", s[i + 1] if i + 1 < n else "\\")
            i += 2
        elif c == "'":
            end = s.find("'", i + 1)
            if end == -1:
                raise ShellSyntaxError("no closing quote")
            word = word or Word()
            word.add("qlit", s[i + 1:end])
            i = end + 1
        elif c == '"':
            word = word or Word()
            i += 1
            buf = ""
            while True:
                if i >= n:
                    raise ShellSyntaxError("no closing quote")
                ch = s[i]
                if ch == '"':
                    i += 1
                    break
                if ch == "\\" and i + 1 < n and s[i + 1] in '$`"\\\n':
                    buf += s[i + 1] if s[i + 1] != "\n" else ""
                    i += 2
                elif ch == "$":
                    name, i = _read_var(s, i)
                    if name is None:
                        buf += "$"
                    else:
                        word.add("qlit", buf)
                        buf = ""
                        word.add("qvar", name)
                elif ch == "`":
                    raise ShellSyntaxError("command substitution `...` is not supported by this shell")
                else:
                    buf += ch
                    i += 1
            word.add("qlit", buf)
        elif c == "$":
            name, i = _read_var(s, i)
            word = word or Word()
            word.add("lit", "$") if name is None else word.add("var", name)
        elif c == "`":
            raise ShellSyntaxError("command substitution `...` is not supported by this shell")
        elif c in "(){}" and word is None:
            raise ShellSyntaxError(f"'{c}' unexpected (subshells and groups are not supported)")
        else:
            op = next((o for o in _OPERATORS if s.startswith(o, i)), None)
            if op is not None:
                # an IO number: digits right before a redirection ("2>")
                if op[0] in "<>" and word is not None and all(k == "lit" for k, _ in word.parts) \
                        and "".join(t for _, t in word.parts).isdigit():
                    tokens.append("fd:" + "".join(t for _, t in word.parts))
                    word = None
                else:
                    flush()
                tokens.append(op)
                i += len(op)
            else:
                word = word or Word()
                word.add("lit", c)
                i += 1
    flush()
    return tokens


def parse(s: str) -> list[tuple[AndOr, bool]]:
    """Lists of and-or chains; the bool says the chain ended with `&` (run in background)."""
    tokens = tokenize(s)
    lists: list[tuple[AndOr, bool]] = []
    chain: AndOr = []
    pipeline: Pipeline = []
    cmd = Command()
    connector = ""
    fd: int | None = None
    i = 0

    def end_command() -> None:
        nonlocal cmd
        if cmd.words or cmd.redirects:
            pipeline.append(cmd)
        elif pipeline:
            raise ShellSyntaxError("'|' unexpected")
        cmd = Command()

    def end_pipeline(next_connector: str) -> None:
        nonlocal pipeline, connector
        end_command()
        if pipeline:
            chain.append((connector, pipeline))
        elif next_connector in ("&&", "||") or (connector and not pipeline):
            raise ShellSyntaxError(f"'{next_connector or connector}' unexpected")
        pipeline = []
        connector = next_connector

    while i < len(tokens):
        t = tokens[i]
        if isinstance(t, Word):
            cmd.words.append(t)
        elif t.startswith("fd:"):
            fd = int(t[3:])
        elif t in (">", ">>", "<", ">&", "<&"):
            if i + 1 >= len(tokens) or not isinstance(tokens[i + 1], Word):
                raise ShellSyntaxError(f"missing target after '{t}'")
            target = tokens[i + 1]
            assert isinstance(target, Word)
            op = ">&" if t in (">&", "<&") else t
            cmd.redirects.append(Redirect(fd if fd is not None else (0 if t == "<" else 1), op, target))
            fd = None
            i += 1
        elif t == "|":
            end_command()
            if not pipeline:
                raise ShellSyntaxError("'|' unexpected")
        elif t in ("&&", "||"):
            end_pipeline(t)
        elif t in (";", "\n", "&", ";;"):
            end_pipeline("")
            if chain:
                lists.append((chain, t == "&"))
            elif t not in ("\n",) and t != ";":
                raise ShellSyntaxError(f"'{t}' unexpected")
            chain = []
        i += 1
    end_pipeline("")
    if connector:
        raise ShellSyntaxError(f"unexpected end of input after '{connector}'")
    if chain:
        lists.append((chain, False))
    return lists


# --- execution -------------------------------------------------------------------------------

@dataclass
class Invocation:
    argv: list[str]
    stdin: bytes
    out: Writer
    err: Writer
    shell: Shell

    @property
    def args(self) -> list[str]:
        return self.argv[1:]

    async def print(self, text: str) -> None:
        await self.out.write(text.encode())

    async def error(self, text: str) -> None:
        await self.err.write(text.encode())


CommandFn = Callable[[Invocation], Awaitable[int]]


class Shell:
    def __init__(self, commands: dict[str, CommandFn], context: Any = None) -> None:
        self.commands = commands
        self.context = context  # the phone, for commands
        self.status = 0
        self.cwd = "/"
        self.env: dict[str, str] = {"HOME": "/", "PATH": "/product/bin:/apex/com.android.runtime/bin:/system/bin",
                                    "EXTERNAL_STORAGE": "/sdcard", "ANDROID_DATA": "/data", "USER": "shell",
                                    "HOSTNAME": "localhost", "TMPDIR": "/data/local/tmp"}

    def expand(self, word: Word) -> str | None:
        out, quoted = "", False
        for kind, text in word.parts:
            if kind in ("qlit", "qvar"):
                quoted = True
            if kind in ("lit", "qlit"):
                out += text
            elif text == "?":
                out += str(self.status)
            elif text == "$":
                out += "4242"
            elif text == "#":
                out += "0"
            else:
                out += self.env.get(text, "")
        return out if (out or quoted) else None

    async def run(self, script: str, out: Writer, err: Writer, stdin: bytes = b"") -> int:
        try:
            lists = parse(script)
        except ShellSyntaxError as exc:
            await err.write(f"{SH}: <stdin>[1]: syntax error: {exc}\n".encode())
            self.status = 1
            return 1
        try:
            for chain, _background in lists:  # `&` runs in the foreground here: nothing to wait for
                for connector, pipeline in chain:
                    if (connector == "&&" and self.status != 0) or (connector == "||" and self.status == 0):
                        continue
                    self.status = await self._pipeline(pipeline, out, err, stdin)
        except ShellExit as exc:
            self.status = exc.status
        return self.status

    async def _pipeline(self, pipeline: Pipeline, out: Writer, err: Writer, stdin: bytes) -> int:
        data = stdin
        status = 0
        for n, cmd in enumerate(pipeline):
            last = n == len(pipeline) - 1
            sink: Writer = out if last else BufferWriter()
            status = await self._command(cmd, data, sink, err)
            if not last:
                assert isinstance(sink, BufferWriter)
                data = bytes(sink.data)
        return status

    async def _command(self, cmd: Command, stdin: bytes, out: Writer, err: Writer) -> int:
        argv = [a for a in (self.expand(w) for w in cmd.words) if a is not None]
        fs = getattr(self.context, "fs", None)
        files: list[tuple[str, BufferWriter, bool]] = []
        for r in cmd.redirects:
            target = self.expand(r.target) or ""
            if r.op == ">&":
                if target in ("1", "2"):
                    chosen = out if target == "1" else err
                    out, err = (chosen, err) if r.fd == 1 else (out, chosen)
                continue
            if r.op == "<":
                if target == "/dev/null":
                    stdin = b""
                    continue
                try:
                    stdin = fs.read(posixpath.join(self.cwd, target)) if fs else b""
                except FsError as exc:
                    await err.write(f"{SH}: {exc}\n".encode())
                    return 1
                continue
            sink: Writer
            if target in ("/dev/null", "/dev/zero"):
                sink = NullWriter()
            else:
                buf = BufferWriter()
                files.append((posixpath.join(self.cwd, target), buf, r.op == ">>"))
                sink = buf
            out, err = (sink, err) if r.fd == 1 else (out, sink)
        if not argv:
            status = 0
        else:
            fn = self.commands.get(posixpath.basename(argv[0]))
            if fn is None:
                await err.write(f"{SH}: {argv[0]}: inaccessible or not found\n".encode())
                status = 127
            else:
                status = await fn(Invocation(argv, stdin, out, err, self))
        for path, buf, append in files:
            if fs is None:  # no filesystem behind this shell: the output goes nowhere, as `<` reads nothing
                continue
            try:
                fs.write(path, bytes(buf.data), append=append)
            except FsError as exc:
                await err.write(f"{SH}: can't create {path}: {str(exc).split(': ', 1)[-1]}\n".encode())
                status = 1
        return status
