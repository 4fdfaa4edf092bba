"""A throwaway PostgreSQL cluster: Debian's server binaries (package `postgresql`), initdb +
pg_ctl in a temporary directory, run as an unprivileged user when the caller is root (PostgreSQL
refuses root). It listens on a free loopback TCP port (a proxy can sit in front of it) and on a
unix socket in its directory; fsync is off (a throwaway database need not survive a power cut).
Used by the tests (tests/pg.py) and by `guiagent bench daemon --engine postgres` without `--db`.

    with PgCluster() as cluster:
        url = cluster.create_database()   # postgresql://postgres@127.0.0.1:PORT/t_...

When it cannot start, it raises PgUnavailable with the reason and the server's log.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

from guiagent.schema.errors import ConfigError

PG_GLOB = "/usr/lib/postgresql/*/bin"
RUN_AS = "nobody"  # exists on every Debian system; owns nothing else we care about


class PgUnavailable(ConfigError):
    """PostgreSQL's server binaries are missing or the cluster would not start."""


def find_bin_dir() -> Path:
    found = [Path(d) for d in glob.glob(PG_GLOB) if (Path(d) / "initdb").exists() and (Path(d) / "pg_ctl").exists()]
    if not found:
        raise PgUnavailable(f"PostgreSQL server binaries not found ({PG_GLOB}/initdb): install the Debian package "
                            "'postgresql' (scripts/install-sysdeps.sh does)")
    return max(found, key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgCluster:
    def __init__(self) -> None:
        self.bin = find_bin_dir()
        self.host = "127.0.0.1"
        self.port = 0
        self.dir = Path(tempfile.mkdtemp(prefix="guiagent-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.user = RUN_AS if os.geteuid() == 0 else None
        self.started = False
        self._admin_con: Any = None
        self._admin_lock = threading.Lock()

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self.user is not None:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=self.dir)

    def _check(self, proc: subprocess.CompletedProcess[str], what: str) -> None:
        if proc.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise PgUnavailable(f"PostgreSQL ({self.bin}) could not {what}: exit {proc.returncode}\n"
                                f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}\n{log}")

    def start(self) -> PgCluster:
        if self.user is not None:
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.dir.chmod(0o700)
        self._check(self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                              "--no-sync", "--no-instructions"), "initialise a cluster")
        for attempt in range(3):  # the free port can be taken between probing and binding
            self.port = _free_port()
            opts = (f"-c listen_addresses={self.host} -p {self.port} -c unix_socket_directories={self.dir}"
                    " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
                    " -c shared_buffers=32MB")
            proc = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", opts, "start")
            if proc.returncode == 0:
                self.started = True
                return self
            if attempt == 2 or "could not bind" not in self.log.read_text(errors="replace"):
                self._check(proc, "start")
        raise AssertionError("unreachable")

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{dbname}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with self._admin_lock:
            if self._admin_con is None or self._admin_con.closed:
                self._admin_con = psycopg.connect(self.url(), autocommit=True, connect_timeout=10)
            self._admin_con.execute(sql)

    def create_database(self) -> str:
        """A fresh empty database; returns its URL."""
        name = "t_" + uuid.uuid4().hex[:12]
        self._admin(f'CREATE DATABASE "{name}" STRATEGY FILE_COPY')  # faster than WAL_LOG for a tiny template
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if self._admin_con is not None:
            self._admin_con.close()
            self._admin_con = None
        if self.started:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop")
            self.started = False
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PgCluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: Any) -> None:
        self.stop()
