"""Startup and shutdown of the daemon.

    start(): the token (given, read from its file, or generated; see auth.py) -> take the lock beside the database
             (one daemon per database; the kernel drops it when the process dies, even on
             kill -9) -> recover the attempts the previous daemon left running -> start the
             device pool -> bind the listening socket
    serve(): uvicorn until SIGINT/SIGTERM, then stop(): the runs in flight are stopped and
             their tasks re-queued without using an attempt.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import socket
import threading
from pathlib import Path
from typing import IO, Any

from guiagent.daemon.auth import resolve_token
from guiagent.daemon.config import DaemonConfig
from guiagent.daemon.gate import is_wildcard
from guiagent.daemon.pool import DevicePool, new_daemon_id
from guiagent.daemon.store import TaskStore
from guiagent.schema.errors import ConfigError

log = logging.getLogger(__name__)


class Daemon:
    def __init__(self, config: DaemonConfig) -> None:
        self.config = config
        self.daemon_id = new_daemon_id()
        self.store: TaskStore | None = None
        self.pool: DevicePool | None = None
        self.recovered: list[tuple[str, str]] = []
        self.token = ""
        self.token_file: Path | None = None  # where the token came from (None: --token / $GUIAGENT_TOKEN)
        self.token_generated = False  # made on this start: the command prints it, once
        self.port = config.port
        self._sock: socket.socket | None = None
        self._lockfile: IO[str] | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.warm = threading.Event()  # set once optional models are loaded

    @property
    def url(self) -> str:
        host = self.config.host
        if is_wildcard(host):  # 0.0.0.0 / :: is no address to send requests to, nor a Host the daemon answers to
            host = "::1" if ":" in host else "127.0.0.1"
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    def start(self) -> Daemon:
        try:
            import fastapi  # noqa: F401 - fail before anything starts
            import uvicorn  # noqa: F401
        except ImportError as exc:
            raise ConfigError(f"the daemon needs its extra ({exc.name} is missing): "
                              "pip install 'guiagent[daemon]'") from exc
        self.token, self.token_file, self.token_generated = resolve_token(
            self.config.token, self.config.token_file, self.config.default_token_file)
        self._lock()
        try:
            self.store = TaskStore(self.config.db_url, host=self.config.host_name)
            # SQLite: the file lock makes every running task a dead daemon's. PostgreSQL: the
            # host's lock makes this host's running tasks its dead predecessor's; other hosts'
            # dead runs are reaped when their leases expire.
            self.store.lock_host()
            self.recovered = self.store.recover(host=None if self.config.engine == "sqlite" else self.store.host)
            for task_id, status in self.recovered:
                log.warning("task %s was running when the last daemon died; now %s", task_id, status)
            self.config.trajectories.mkdir(parents=True, exist_ok=True)
            self._sock = _bind(self.config.host, self.config.port)
            self.port = self._sock.getsockname()[1]
            self.store.register_host(self.daemon_id, self.url)
            self.pool = DevicePool(self.store, self.config, self.daemon_id)
            self.pool.start()
            threading.Thread(target=self._warm_up, name="warm-up", daemon=True).start()
        except BaseException:
            self.stop()
            raise
        return self

    def _warm_up(self) -> None:
        """Load the sentence-embedding model now (when installed: the guard and the grounder use
        it) instead of inside the first tasks, where every device would wait for it."""
        try:
            from grounding import semantic

            if semantic.available():
                semantic.embed(["warm up"])
                log.info("semantic matcher loaded")
        except Exception as exc:  # a broken optional model must not stop the daemon
            log.warning("could not preload the semantic matcher: %s", exc)
        finally:
            self.warm.set()

    def _app(self) -> Any:
        from guiagent.daemon.api import create_app

        assert self.store is not None and self.pool is not None
        from guiagent.daemon.dashboard import live_screenshot

        pool = self.pool
        return create_app(self.store, self.config, token=self.token, daemon_id=self.daemon_id, online=self.pool.online,
                          warming=lambda: not self.warm.is_set(), screenshot=lambda s, busy: live_screenshot(pool, s, busy))

    def _uvicorn(self) -> Any:
        import uvicorn

        # uvicorn's access log stays off: gate.py writes one that blanks token-like query values
        config = uvicorn.Config(self._app(), log_level="warning", timeout_graceful_shutdown=3,
                                access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        return self._server

    def serve(self) -> None:
        """Serve until SIGINT/SIGTERM (main thread), then stop everything."""
        server = self._uvicorn()
        seen: list[int] = []
        # uvicorn re-raises the signal that stopped it once it is done; these handlers take it
        # instead, so that the pool still shuts down cleanly after SIGTERM.
        previous = {sig: signal.signal(sig, lambda s, f: seen.append(s)) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            server.run(sockets=[self._sock])
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.stop()

    def serve_in_thread(self) -> Daemon:
        """For tests and embedding: serve from a thread; stop() ends it."""
        server = self._uvicorn()
        self._thread = threading.Thread(target=server.run, kwargs={"sockets": [self._sock]},
                                        name="daemon-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(10)
            self._thread = None
        if self.pool is not None:
            self.pool.stop()
            self.pool = None
        if self.store is not None:
            self.store.close()
            self.store = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._unlock()

    # -- one daemon per database ---------------------------------------------------------------

    def _lock(self) -> None:
        if self.config.db_url.path is None:  # PostgreSQL: several hosts share it (see TaskStore.lock_host)
            return
        path = Path(f"{self.config.db}.lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        f = open(path, "a+")  # noqa: SIM115 - held open while the daemon runs
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            f.seek(0)
            holder = f.read().strip() or "unknown"
            f.close()
            raise ConfigError(f"another daemon (pid {holder}) serves {self.config.db}") from exc
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        self._lockfile = f

    def _unlock(self) -> None:
        if self._lockfile is not None:
            fcntl.flock(self._lockfile.fileno(), fcntl.LOCK_UN)
            self._lockfile.close()
            self._lockfile = None


def _bind(host: str, port: int) -> socket.socket:
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except OSError as exc:
        raise ConfigError(f"cannot resolve the address to listen on, {host!r}: {exc}") from exc
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restart right after a crash
        sock.bind(addr)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc}") from exc
    return sock
