"""The ADB wire protocol as seen from the device side (what adbd speaks over TCP).

Every message is a 24-byte little-endian header followed by `data_length` bytes of payload:

    command, arg0, arg1, data_length, data_crc32, magic   (six u32, magic = command ^ 0xffffffff)

`data_crc32` is historically a byte *sum*, not a CRC. Since protocol version 0x01000001 both
sides may skip it (send 0, never check it); we still fill it in for a peer that announced an
older version.
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass

A_SYNC = 0x434E5953
A_CNXN = 0x4E584E43
A_OPEN = 0x4E45504F
A_OKAY = 0x59414B4F
A_CLSE = 0x45534C43
A_WRTE = 0x45545257
A_AUTH = 0x48545541
A_STLS = 0x534C5453

A_VERSION_MIN = 0x01000000
A_VERSION_SKIP_CHECKSUM = 0x01000001
A_VERSION = 0x01000001
MAX_PAYLOAD = 1024 * 1024  # what we announce; the stream chunk size is min(ours, the peer's)
MAX_PAYLOAD_V1 = 4096  # peers older than 0x01000001 can only take this much

HEADER = struct.Struct("<6I")
NAMES = {A_SYNC: "SYNC", A_CNXN: "CNXN", A_OPEN: "OPEN", A_OKAY: "OKAY", A_CLSE: "CLSE",
         A_WRTE: "WRTE", A_AUTH: "AUTH", A_STLS: "STLS"}


class ProtocolError(Exception):
    """The peer sent something that is not an ADB message; the connection is dropped."""


@dataclass(frozen=True)
class Message:
    command: int
    arg0: int
    arg1: int
    data: bytes = b""

    @property
    def name(self) -> str:
        return NAMES.get(self.command, f"0x{self.command:08x}")

    def encode(self, checksum: bool = False) -> bytes:
        crc = sum(self.data) & 0xFFFFFFFF if checksum else 0
        head = HEADER.pack(self.command, self.arg0, self.arg1, len(self.data), crc,
                           self.command ^ 0xFFFFFFFF)
        return head + self.data


async def read_message(reader: asyncio.StreamReader, max_payload: int = MAX_PAYLOAD) -> Message:
    """One message from the peer. Raises asyncio.IncompleteReadError at EOF, ProtocolError on junk."""
    head = await reader.readexactly(HEADER.size)
    command, arg0, arg1, length, _crc, magic = HEADER.unpack(head)
    if magic != command ^ 0xFFFFFFFF:
        raise ProtocolError(f"bad magic 0x{magic:08x} for command 0x{command:08x}")
    if command not in NAMES:
        raise ProtocolError(f"unknown command 0x{command:08x}")
    if length > max_payload:
        raise ProtocolError(f"{NAMES[command]} payload of {length} bytes exceeds {max_payload}")
    data = await reader.readexactly(length) if length else b""
    return Message(command, arg0, arg1, data)


def device_banner(props: dict[str, str], features: list[str]) -> bytes:
    """The CNXN payload adbd sends: `device::key=value;...;features=a,b`."""
    parts = [f"{k}={v};" for k, v in props.items()]
    return ("device::" + "".join(parts) + "features=" + ",".join(features)).encode()


def parse_peer_banner(data: bytes) -> tuple[str, set[str]]:
    """(system type, features) from the host's CNXN payload, e.g. `host::features=shell_v2,cmd`."""
    text = data.rstrip(b"\0").decode("utf-8", "replace")
    system, _, rest = text.partition("::")
    features: set[str] = set()
    for item in rest.split(";"):
        key, _, value = item.partition("=")
        if key == "features":
            features = {f for f in value.split(",") if f}
    return system, features


# --- shell protocol v2: packets inside a stream: id (1 byte) + length (u32 LE) + data --------------

SHELL_STDIN = 0
SHELL_STDOUT = 1
SHELL_STDERR = 2
SHELL_EXIT = 3
SHELL_CLOSE_STDIN = 4
SHELL_WINDOW_SIZE = 5

_SHELL_HEAD = struct.Struct("<BI")


def shell_packet(packet_id: int, data: bytes) -> bytes:
    return _SHELL_HEAD.pack(packet_id, len(data)) + data


def split_shell_packets(buffer: bytearray) -> list[tuple[int, bytes]]:
    """Complete v2 packets at the front of `buffer` (consumed); a partial one stays."""
    out: list[tuple[int, bytes]] = []
    while len(buffer) >= _SHELL_HEAD.size:
        packet_id, length = _SHELL_HEAD.unpack_from(buffer)
        if len(buffer) < _SHELL_HEAD.size + length:
            break
        out.append((packet_id, bytes(buffer[_SHELL_HEAD.size:_SHELL_HEAD.size + length])))
        del buffer[:_SHELL_HEAD.size + length]
    return out


def parse_service(service: str) -> tuple[str, list[str], str]:
    """`shell,v2,TERM=xterm,raw:ls -l` -> ("shell", ["v2", "TERM=xterm", "raw"], "ls -l")."""
    head, sep, command = service.partition(":")
    if not sep:
        return service, [], ""
    name, *args = head.split(",")
    return name, args, command
