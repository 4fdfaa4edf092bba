"""ADB services the phone serves on a stream: `shell:` (raw, and interactive with a pty-like
echo), `shell,v2,...:` (shell protocol packets: 1 stdout, 2 stderr, 3 exit), `exec:`,
`sync:` (STAT/LIST/RECV/SEND/QUIT), `framebuffer:`, and the few admin ones adbd refuses."""

from __future__ import annotations

import logging
import stat
import struct
from typing import TYPE_CHECKING

from devices.simphone.fs import FsError
from devices.simphone.protocol import (
    SHELL_CLOSE_STDIN,
    SHELL_EXIT,
    SHELL_STDERR,
    SHELL_STDIN,
    SHELL_STDOUT,
    parse_service,
    shell_packet,
    split_shell_packets,
)
from devices.simphone.transport import ServiceFn, Stream

if TYPE_CHECKING:
    from devices.simphone.context import PhoneContext

log = logging.getLogger(__name__)
SYNC_DATA_MAX = 64 * 1024
PROMPT = "{device}:/ $ "


class StreamOut:
    """Shell output straight onto a stream (v1: stdout and stderr share it)."""

    def __init__(self, stream: Stream, packet_id: int | None = None, crlf: bool = False) -> None:
        self.stream = stream
        self.packet_id = packet_id
        self.crlf = crlf

    async def write(self, data: bytes) -> None:
        if not data:
            return
        if self.crlf:
            data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        if self.packet_id is not None:
            data = shell_packet(self.packet_id, data)
        await self.stream.write(data)


def resolve(phone: PhoneContext, service: str) -> ServiceFn | None:
    name, args, command = parse_service(service)
    if name in ("shell", "exec"):
        v2 = "v2" in args
        if not command and name == "shell":
            return lambda s: interactive(phone, s, v2, pty="raw" not in args)
        return lambda s: run_command(phone, s, command, v2 and name == "shell")
    if name == "sync" and not command:
        return lambda s: sync(phone, s)
    if name == "framebuffer":
        return lambda s: framebuffer(phone, s)
    if name in ("root", "unroot", "remount", "reboot", "tcpip", "usb", "disable-verity", "enable-verity"):
        reply = {"root": "adbd cannot run as root in production builds\n",
                 "tcpip": f"restarting in TCP mode port: {command or phone.port}\n"}.get(name, f"{name} is not supported\n")
        return lambda s: s.write(reply.encode())
    return None


async def run_command(phone: PhoneContext, stream: Stream, command: str, v2: bool) -> None:
    sh = phone.new_shell()
    if v2:
        status = await sh.run(command, StreamOut(stream, SHELL_STDOUT), StreamOut(stream, SHELL_STDERR))
        await stream.write(shell_packet(SHELL_EXIT, bytes([status & 0xFF])))
    else:
        out = StreamOut(stream)
        await sh.run(command, out, out)


async def interactive(phone: PhoneContext, stream: Stream, v2: bool, pty: bool) -> None:
    """`adb shell` with no command. With a pty: a prompt, echo, CRLF, backspace editing; raw
    (stdin not a terminal): just run each line. Ends on `exit`, ^D or end of input."""
    sh = phone.new_shell()
    out = StreamOut(stream, SHELL_STDOUT if v2 else None, crlf=pty)
    err = StreamOut(stream, SHELL_STDERR) if v2 and not pty else out

    async def finish(code: int) -> None:
        if v2:
            await stream.write(shell_packet(SHELL_EXIT, bytes([code & 0xFF])))

    prompt = PROMPT.format(device=phone.scenario.device.device).encode() if pty else b""
    await out.write(prompt)
    line = bytearray()
    packets = bytearray()
    while True:
        chunk = await stream.read()
        if not chunk:
            return
        if v2:
            packets += chunk
            data = b""
            for pid, payload in split_shell_packets(packets):
                if pid == SHELL_STDIN:
                    data += payload
                elif pid == SHELL_CLOSE_STDIN:
                    data += b"\x04"
        else:
            data = chunk
        for byte in data:
            if byte in (0x0D, 0x0A):
                if pty:
                    await out.write(b"\n")
                text = line.decode("utf-8", "replace").strip()
                line.clear()
                words = text.split()
                if words[:1] == ["exit"]:
                    await finish(int(words[1]) if len(words) > 1 and words[1].isdigit() else sh.status)
                    return
                if text:
                    await sh.run(text, out, err)
                await out.write(prompt)
            elif byte in (0x7F, 0x08) and pty:
                if line:
                    line.pop()
                    await out.write(b"\b \b")
            elif byte == 0x04 and not line:
                await finish(sh.status)
                return
            elif byte == 0x03:
                line.clear()
                await out.write(b"^C\n" + prompt)
            else:
                line.append(byte)
                if pty:
                    await out.write(bytes([byte]))


def _sync_msg(tag: bytes, *values: int) -> bytes:
    return tag + struct.pack(f"<{len(values)}I", *values)


def _sync_fail(message: str) -> bytes:
    raw = message.encode()
    return b"FAIL" + struct.pack("<I", len(raw)) + raw


async def sync(phone: PhoneContext, stream: Stream) -> None:
    """The file sync protocol, v1 requests: id (4 bytes) + length (u32) + path."""
    fs = phone.fs
    buf = bytearray()
    while True:
        head = await stream.read_exactly(8, buf)
        tag, length = head[:4], struct.unpack("<I", head[4:])[0]
        if tag == b"QUIT":
            return
        if length > 4096:
            await stream.write(_sync_fail(f"path too long: {length}"))
            return
        path = (await stream.read_exactly(length, buf)).decode("utf-8", "replace")
        if tag == b"STAT":
            st = fs.stat(path) or (0, 0, 0)
            await stream.write(_sync_msg(b"STAT", *st))
        elif tag == b"LIST":
            try:
                names = fs.listdir(path)
            except FsError:
                names = []
            out = bytearray()
            for name in [".", "..", *names]:
                full = path.rstrip("/") + "/" + name if name not in (".", "..") else path
                mode, size, mtime = fs.stat(full) or (stat.S_IFDIR | 0o755, 4096, 0)
                raw = name.encode()
                out += _sync_msg(b"DENT", mode, size, mtime, len(raw)) + raw
            await stream.write(bytes(out) + _sync_msg(b"DONE", 0, 0, 0, 0))
        elif tag == b"RECV":
            try:
                data = fs.read(path)
            except FsError as exc:
                await stream.write(_sync_fail(f"remote object '{path}' does not exist" if "No such" in str(exc)
                                              else str(exc)))
                continue
            out = bytearray()
            for off in range(0, len(data), SYNC_DATA_MAX):
                chunk = data[off:off + SYNC_DATA_MAX]
                out += _sync_msg(b"DATA", len(chunk)) + chunk
            await stream.write(bytes(out) + _sync_msg(b"DONE", 0))
        elif tag == b"SEND":
            target, _, mode_text = path.rpartition(",")
            if not target:
                target, mode_text = path, "33188"
            content = bytearray()
            while True:
                h = await stream.read_exactly(8, buf)
                htag, n = h[:4], struct.unpack("<I", h[4:])[0]
                if htag == b"DATA":
                    if n > SYNC_DATA_MAX:
                        await stream.write(_sync_fail(f"data chunk of {n} bytes is too large"))
                        return
                    content += await stream.read_exactly(n, buf)
                elif htag == b"DONE":
                    break
                else:
                    await stream.write(_sync_fail(f"unexpected {htag!r} while receiving {target}"))
                    return
            try:
                fs.write(target, bytes(content), mode=int(mode_text) if mode_text.isdigit() else 0o644)
            except FsError as exc:
                await stream.write(_sync_fail(f"couldn't create file: {str(exc).split(': ', 1)[-1]}"))
                continue
            await stream.write(_sync_msg(b"OKAY", 0))
        else:
            await stream.write(_sync_fail(f"unknown sync request {tag!r}"))
            return


async def framebuffer(phone: PhoneContext, stream: Stream) -> None:
    await stream.write(await phone.capture("framebuffer"))
