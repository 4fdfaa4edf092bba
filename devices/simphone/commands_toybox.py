"""Shell builtins and the toybox tools drivers use: echo, exit, cd, export, true, false, pwd,
ls, cat, rm, mkdir, touch, grep, head, tail, wc, sleep, id, whoami, date, uname, logcat, which."""

from __future__ import annotations

import asyncio
import posixpath
import re
import time
from typing import TYPE_CHECKING

from devices.simphone.fs import FsError
from devices.simphone.shell import SH, CommandFn, Invocation, ShellExit

if TYPE_CHECKING:
    from devices.simphone.context import PhoneContext


def _phone(inv: Invocation) -> PhoneContext:
    return inv.shell.context


async def _echo(inv: Invocation) -> int:
    args, newline = inv.args, True
    if args and args[0] == "-n":
        args, newline = args[1:], False
    await inv.print(" ".join(args) + ("\n" if newline else ""))
    return 0


async def _exit(inv: Invocation) -> int:
    raise ShellExit(int(inv.args[0]) if inv.args and inv.args[0].isdigit() else inv.shell.status)


async def _cd(inv: Invocation) -> int:
    target = posixpath.normpath(posixpath.join(inv.shell.cwd, inv.args[0] if inv.args else "/"))
    fs = getattr(inv.shell.context, "fs", None)
    if fs is not None and not fs.is_dir(target):
        await inv.error(f"{SH}: cd: {target}: No such file or directory\n")
        return 2
    inv.shell.cwd = target
    return 0


async def _export(inv: Invocation) -> int:
    for a in inv.args:
        k, sep, v = a.partition("=")
        if sep:
            inv.shell.env[k] = v
    return 0


async def _true(inv: Invocation) -> int:
    return 0


async def _false(inv: Invocation) -> int:
    return 1


async def _pwd(inv: Invocation) -> int:
    await inv.print(inv.shell.cwd + "\n")
    return 0


# --- toybox --------------------------------------------------------------------------------------

async def cmd_ls(inv: Invocation) -> int:
    fs = _phone(inv).fs
    flags = "".join(a[1:] for a in inv.args if a.startswith("-"))
    paths = [a for a in inv.args if not a.startswith("-")] or [inv.shell.cwd]
    status = 0
    for p in paths:
        st = fs.stat(p)
        if st is None:
            await inv.error(f"ls: {p}: No such file or directory\n")
            status = 1
            continue
        names = fs.listdir(p) if fs.is_dir(p) else [p]
        for name in names:
            if "l" in flags:
                full = p.rstrip("/") + "/" + name if fs.is_dir(p) else p
                mode, size, _ = fs.stat(full) or (0, 0, 0)
                kind = "d" if fs.is_dir(full) else "-"
                await inv.print(f"{kind}rw-rw---- 1 shell shell {size:8d} 2024-01-01 12:00 {name}\n")
            else:
                await inv.print(name + "\n")
    return status


async def cmd_cat(inv: Invocation) -> int:
    fs = _phone(inv).fs
    if not inv.args:
        await inv.out.write(inv.stdin)
        return 0
    status = 0
    for p in inv.args:
        try:
            await inv.out.write(fs.read(p if p.startswith("/") else inv.shell.cwd.rstrip("/") + "/" + p))
        except FsError as exc:
            await inv.error(f"cat: {exc}\n")
            status = 1
    return status


async def cmd_rm(inv: Invocation) -> int:
    fs = _phone(inv).fs
    flags = "".join(a[1:] for a in inv.args if a.startswith("-"))
    status = 0
    for p in (a for a in inv.args if not a.startswith("-")):
        try:
            fs.remove(p, recursive="r" in flags or "R" in flags)
        except FsError as exc:
            if "f" not in flags or "No such file" not in str(exc):
                await inv.error(f"rm: {exc}\n")
                status = 1
    return status


async def cmd_mkdir(inv: Invocation) -> int:
    fs = _phone(inv).fs
    status = 0
    for p in (a for a in inv.args if not a.startswith("-")):
        try:
            fs.mkdir(p, parents="-p" in inv.args)
        except FsError as exc:
            await inv.error(f"mkdir: {exc}\n")
            status = 1
    return status


async def cmd_touch(inv: Invocation) -> int:
    fs = _phone(inv).fs
    for p in (a for a in inv.args if not a.startswith("-")):
        if not fs.exists(p):
            try:
                fs.write(p, b"")
            except FsError as exc:
                await inv.error(f"touch: {exc}\n")
                return 1
    return 0


async def cmd_grep(inv: Invocation) -> int:
    flags = "".join(a[1:] for a in inv.args if a.startswith("-") and len(a) > 1)
    rest = [a for a in inv.args if not (a.startswith("-") and len(a) > 1)]
    if not rest:
        await inv.error("usage: grep [-EFivc] PATTERN [FILE...]\n")
        return 2
    pattern = rest[0]
    data = inv.stdin
    if len(rest) > 1:
        try:
            data = b"".join(_phone(inv).fs.read(p) for p in rest[1:])
        except FsError as exc:
            await inv.error(f"grep: {exc}\n")
            return 2
    try:
        rx = re.compile(re.escape(pattern) if "F" in flags else pattern, re.I if "i" in flags else 0)
    except re.error:
        rx = re.compile(re.escape(pattern), re.I if "i" in flags else 0)
    lines = [ln for ln in data.decode("utf-8", "replace").splitlines() if bool(rx.search(ln)) != ("v" in flags)]
    await inv.print(f"{len(lines)}\n" if "c" in flags else "".join(ln + "\n" for ln in lines))
    return 0 if lines else 1


async def _head_tail(inv: Invocation, head: bool) -> int:
    n = 10
    args = list(inv.args)
    for i, a in enumerate(args):
        if a == "-n" and i + 1 < len(args) and args[i + 1].lstrip("-").isdigit():
            n = abs(int(args[i + 1]))
        elif a.startswith("-") and a[1:].isdigit():
            n = int(a[1:])
    lines = inv.stdin.decode("utf-8", "replace").splitlines(keepends=True)
    await inv.print("".join(lines[:n] if head else lines[-n:] if n else []))
    return 0


async def cmd_head(inv: Invocation) -> int:
    return await _head_tail(inv, True)


async def cmd_tail(inv: Invocation) -> int:
    return await _head_tail(inv, False)


async def cmd_wc(inv: Invocation) -> int:
    text = inv.stdin.decode("utf-8", "replace")
    if "-l" in inv.args:
        await inv.print(f"{text.count(chr(10))}\n")
    else:
        await inv.print(f"{text.count(chr(10))} {len(text.split())} {len(inv.stdin)}\n")
    return 0


async def cmd_sleep(inv: Invocation) -> int:
    try:
        await asyncio.sleep(min(float(inv.args[0]) if inv.args else 0.0, 3600.0))
    except ValueError:
        await inv.error(f"sleep: invalid number '{inv.args[0]}'\n")
        return 1
    return 0


async def cmd_id(inv: Invocation) -> int:
    await inv.print("uid=2000(shell) gid=2000(shell) groups=2000(shell),1004(input),1007(log),3003(inet)"
                    " context=u:r:shell:s0\n")
    return 0


async def cmd_whoami(inv: Invocation) -> int:
    await inv.print("shell\n")
    return 0


async def cmd_date(inv: Invocation) -> int:
    fmt = next((a[1:] for a in inv.args if a.startswith("+")), "%a %b %d %H:%M:%S %Z %Y")
    await inv.print(time.strftime(fmt.replace("%s", str(int(time.time())))) + "\n")
    return 0


async def cmd_uname(inv: Invocation) -> int:
    await inv.print("Linux localhost 6.1.0-sim #1 SMP PREEMPT x86_64 Toybox\n" if "-a" in inv.args else "Linux\n")
    return 0


async def cmd_logcat(inv: Invocation) -> int:
    if any(a in ("-d", "-c", "--clear") or a.startswith("-t") for a in inv.args):
        return 0  # the simulated phone logs nothing
    await asyncio.Event().wait()  # a live logcat: nothing arrives until the stream is closed
    return 0


async def cmd_which(inv: Invocation) -> int:
    found = [a for a in inv.args if a in inv.shell.commands]
    await inv.print("".join(f"/system/bin/{a}\n" for a in found))
    return 0 if len(found) == len(inv.args) else 1


COMMANDS: dict[str, CommandFn] = {
    "echo": _echo, "exit": _exit, "cd": _cd, "export": _export, "true": _true, "false": _false, "pwd": _pwd,
    ":": _true, "ls": cmd_ls, "cat": cmd_cat, "rm": cmd_rm, "mkdir": cmd_mkdir, "touch": cmd_touch,
    "grep": cmd_grep, "head": cmd_head, "tail": cmd_tail, "wc": cmd_wc, "sleep": cmd_sleep, "id": cmd_id,
    "whoami": cmd_whoami, "date": cmd_date, "uname": cmd_uname, "logcat": cmd_logcat, "which": cmd_which,
}
