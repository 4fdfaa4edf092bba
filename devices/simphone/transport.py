"""One ADB connection from the adb server (or any ADB host) to the phone, and its streams.

After the CNXN handshake the host OPENs streams by service name (`shell:ls`, `sync:`, ...);
we answer OKAY with our local id and run the service. Flow control as adbd does it: after a
WRTE we send nothing more on that stream until the peer's OKAY; every WRTE we receive is
acknowledged with OKAY once buffered. CLSE from either side ends the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

from devices.simphone.protocol import (
    A_AUTH,
    A_CLSE,
    A_CNXN,
    A_OKAY,
    A_OPEN,
    A_STLS,
    A_VERSION,
    A_VERSION_MIN,
    A_VERSION_SKIP_CHECKSUM,
    A_WRTE,
    MAX_PAYLOAD,
    MAX_PAYLOAD_V1,
    Message,
    ProtocolError,
    parse_peer_banner,
    read_message,
)

if TYPE_CHECKING:
    from devices.simphone.faults import Faults

log = logging.getLogger(__name__)


class StreamClosed(Exception):
    pass


class Stream:
    def __init__(self, conn: Connection, local_id: int, remote_id: int, service: str) -> None:
        self.conn = conn
        self.local_id = local_id
        self.remote_id = remote_id
        self.service = service
        self.closed = False
        self._inbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._ready = asyncio.Event()  # set when we may send the next WRTE
        self._ready.set()
        self._write_lock = asyncio.Lock()
        self.task: asyncio.Task[None] | None = None

    # called by the connection
    def on_okay(self) -> None:
        self._ready.set()

    def on_data(self, data: bytes) -> None:
        self._inbox.put_nowait(data)

    def on_remote_close(self) -> None:
        self.closed = True
        self._inbox.put_nowait(None)
        self._ready.set()
        if self.task is not None and not self.task.done():
            self.task.cancel()

    # used by services
    async def write(self, data: bytes) -> None:
        async with self._write_lock:
            view = memoryview(data)
            chunk = self.conn.max_payload
            for off in range(0, len(view), chunk):
                if self.closed:
                    raise StreamClosed(self.service)
                await self._ready.wait()
                if self.closed:
                    raise StreamClosed(self.service)
                self._ready.clear()
                await self.conn.send(Message(A_WRTE, self.local_id, self.remote_id, bytes(view[off:off + chunk])))

    async def read(self) -> bytes:
        """Next chunk from the host; b"" once the host closed the stream."""
        if self.closed and self._inbox.empty():
            return b""
        data = await self._inbox.get()
        return b"" if data is None else data

    async def read_exactly(self, n: int, buffer: bytearray) -> bytes:
        while len(buffer) < n:
            chunk = await self.read()
            if not chunk:
                raise StreamClosed(self.service)
            buffer += chunk
        out = bytes(buffer[:n])
        del buffer[:n]
        return out

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(ConnectionError, StreamClosed):
            await self.conn.send(Message(A_CLSE, self.local_id, self.remote_id))
        self.conn.streams.pop(self.local_id, None)


ServiceFn = Callable[[Stream], Awaitable[None]]


class Endpoint(Protocol):
    """What a connection needs of the phone it serves (`SimPhone` is one)."""

    @property
    def faults(self) -> Faults: ...

    def banner(self) -> bytes: ...

    def service(self, name: str) -> ServiceFn | None: ...


class Connection:
    def __init__(self, phone: Endpoint, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.phone = phone
        self.reader = reader
        self.writer = writer
        self.streams: dict[int, Stream] = {}
        self.version = A_VERSION
        self.max_payload = MAX_PAYLOAD_V1
        self.peer_features: set[str] = set()
        self._next_id = 1
        self._send_lock = asyncio.Lock()
        self.peer = writer.get_extra_info("peername")

    @property
    def checksum(self) -> bool:
        return self.version < A_VERSION_SKIP_CHECKSUM

    async def send(self, msg: Message) -> None:
        await self.phone.faults.wait_unstalled()
        async with self._send_lock:
            if self.writer.is_closing():
                raise ConnectionError("connection closed")
            self.writer.write(msg.encode(self.checksum))
            await self.writer.drain()

    def abort(self) -> None:
        """Drop the TCP connection at once (a fault, or the phone stopping)."""
        transport = self.writer.transport
        if transport is not None:
            transport.abort()

    async def run(self) -> None:
        log.debug("connection from %s", self.peer)
        try:
            while True:
                msg = await read_message(self.reader)
                await self.phone.faults.wait_unstalled()
                await self._handle(msg)
        except (asyncio.IncompleteReadError, ConnectionError):
            log.debug("connection from %s closed", self.peer)
        except ProtocolError as exc:
            log.warning("dropping connection from %s: %s", self.peer, exc)
        finally:
            for s in list(self.streams.values()):
                s.on_remote_close()
            self.streams.clear()
            self.abort()

    async def _handle(self, msg: Message) -> None:
        cmd = msg.command
        if cmd == A_CNXN:
            self.version = min(max(msg.arg0, A_VERSION_MIN), A_VERSION)
            peer_max = msg.arg1 if msg.arg1 else MAX_PAYLOAD_V1
            self.max_payload = min(peer_max, MAX_PAYLOAD if self.version >= A_VERSION_SKIP_CHECKSUM
                                   else MAX_PAYLOAD_V1)
            system, self.peer_features = parse_peer_banner(msg.data)
            log.debug("CNXN from %s (%s) version 0x%08x maxdata %d", self.peer, system, msg.arg0, msg.arg1)
            await self.send(Message(A_CNXN, self.version, MAX_PAYLOAD, self.phone.banner()))
        elif cmd == A_OPEN:
            await self._open(msg.arg0, msg.data.rstrip(b"\0").decode("utf-8", "replace"))
        elif cmd == A_OKAY:
            s = self.streams.get(msg.arg1)
            if s is not None:
                s.remote_id = msg.arg0
                s.on_okay()
        elif cmd == A_WRTE:
            s = self.streams.get(msg.arg1)
            if s is None or s.closed:
                await self.send(Message(A_CLSE, 0, msg.arg0))
                return
            s.on_data(msg.data)
            await self.send(Message(A_OKAY, s.local_id, s.remote_id))
        elif cmd == A_CLSE:
            s = self.streams.pop(msg.arg1, None)
            if s is not None:
                s.on_remote_close()
        elif cmd in (A_AUTH, A_STLS):
            log.debug("ignoring %s: this phone never asks for auth or TLS", msg.name)

    async def _open(self, remote_id: int, service: str) -> None:
        handler = self.phone.service(service)
        if handler is None:
            log.info("unsupported service %r: closing the stream", service)
            await self.send(Message(A_CLSE, 0, remote_id))
            return
        local_id = self._next_id
        self._next_id += 1
        stream = Stream(self, local_id, remote_id, service)
        self.streams[local_id] = stream
        await self.send(Message(A_OKAY, local_id, remote_id))
        stream.task = asyncio.create_task(self._serve(stream, handler), name=f"adb-{service[:40]}")

    async def _serve(self, stream: Stream, handler: ServiceFn) -> None:
        try:
            await handler(stream)
        except (StreamClosed, asyncio.CancelledError, ConnectionError):
            pass
        except Exception:
            log.exception("service %r failed", stream.service)
        finally:
            await stream.close()

