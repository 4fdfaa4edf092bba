"""A small TCP proxy to put between one host and its database, for fault tests and the bench:
`cut()` resets every connection and refuses new ones (a link that went down), `stall()` keeps
the connections but lets no byte through (a partition: nothing answers, nothing fails fast),
`restore()` lets traffic flow again.

    with TcpProxy("127.0.0.1", pg_port) as proxy:   # then connect to 127.0.0.1:proxy.port
        proxy.cut(); ...; proxy.restore()

Threads, two per connection: a database pool holds a handful of connections.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
from typing import Literal

log = logging.getLogger(__name__)

Mode = Literal["open", "cut", "stall"]


def _reset(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0), as a dead link looks to the peer."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RD)  # wakes a thread blocked in recv() on it; sends nothing
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, *, listen_host: str = "127.0.0.1", port: int = 0) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server((listen_host, port), reuse_port=False)
        self.host, self.port = listen_host, int(self._listener.getsockname()[1])
        self._mode: Mode = "open"
        self._cond = threading.Condition()
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._closed = False
        self.cuts = 0
        self._thread = threading.Thread(target=self._accept_loop, name=f"tcp-proxy-{self.port}", daemon=True)

    def start(self) -> TcpProxy:
        self._thread.start()
        return self

    @property
    def mode(self) -> Mode:
        return self._mode

    def cut(self) -> None:
        """Reset every connection now and every new one until restore()."""
        with self._cond:
            self._mode = "cut"
            self.cuts += 1
            pairs, self._pairs = self._pairs, set()
            self._cond.notify_all()
        for a, b in pairs:
            _reset(a)
            _reset(b)
        log.info("proxy %d: cut (%d connections reset)", self.port, len(pairs))

    def stall(self) -> None:
        """Hold every byte (both ways) until restore(); connections stay open."""
        with self._cond:
            self._mode = "stall"
            self._cond.notify_all()
        log.info("proxy %d: stalled", self.port)

    def restore(self) -> None:
        with self._cond:
            self._mode = "open"
            self._cond.notify_all()
        log.info("proxy %d: open again", self.port)

    def stop(self) -> None:
        with self._cond:
            self._closed = True
            pairs, self._pairs = self._pairs, set()
            self._cond.notify_all()
        _reset(self._listener)
        for a, b in pairs:
            _reset(a)
            _reset(b)
        if self._thread.is_alive():
            self._thread.join(5)

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the loops -----------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # the listener was closed by stop()
            if self._mode == "cut" or self._closed:
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError as exc:
                log.warning("proxy %d: cannot reach %s:%d: %s", self.port, *self.target, exc)
                _reset(client)
                continue
            upstream.settimeout(None)
            pair = (client, upstream)
            with self._cond:
                self._pairs.add(pair)
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst, pair), daemon=True,
                                 name=f"tcp-proxy-{self.port}-pump").start()

    def _pump(self, src: socket.socket, dst: socket.socket, pair: tuple[socket.socket, socket.socket]) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                with self._cond:  # bytes read during a stall wait for restore(); a cut drops them
                    while self._mode == "stall" and pair in self._pairs and not self._closed:
                        self._cond.wait()
                    if pair not in self._pairs:
                        return
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with self._cond:
                alive = pair in self._pairs
                self._pairs.discard(pair)
            if alive:  # a clean end of one side: close both (the other pump ends on its own)
                for s in pair:
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    s.close()
