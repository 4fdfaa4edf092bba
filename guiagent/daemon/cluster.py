"""Several hosts, one fleet, on one machine: for end-to-end tests and the bench.

Each host is a `Fleet` (fleet.py): its own daemon process (`--host-id host-N`), its own private
adb server and its own virtual phones. All of them share one token file and one PostgreSQL
database, each through its own `TcpProxy`, so that one host can be cut off from the database
while the others keep it.

    with Cluster(workdir, "postgresql://postgres@127.0.0.1:5432/fleet", hosts=3, phones=2) as c:
        c.start()
        ids = c.submit(["..."], via=1)
        c.kill(0); c.proxies[1].cut(); c.drop_phones(2, 5.0)
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from guiagent.daemon.fleet import AdbServer, Fleet, read_queue, write_token_file
from guiagent.daemon.models import TERMINAL, RunRecord, TaskRecord
from guiagent.daemon.tcp_proxy import TcpProxy
from guiagent.schema.errors import ConfigError


def with_port(url: str, host: str, port: int) -> str:
    """`url` pointing at host:port instead (user and database kept)."""
    parts = urlsplit(url)
    user = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=f"{user + '@' if user else ''}{host}:{port}"))


class Cluster:
    def __init__(self, workdir: Path, db_url: str, *, hosts: int, phones: int, scenario: str = "default") -> None:
        if not db_url.startswith(("postgresql://", "postgres://")):
            raise ConfigError(f"several hosts share a PostgreSQL queue; got {db_url!r}")
        if hosts < 1 or phones < 1:
            raise ConfigError(f"a cluster needs at least one host and one phone per host (got {hosts}, {phones})")
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.db_url, self.n_hosts, self.n_phones, self.scenario = db_url, hosts, phones, scenario
        parts = urlsplit(db_url)
        self.db_host, self.db_port = parts.hostname or "127.0.0.1", parts.port or 5432
        self.token_file = write_token_file(self.workdir / "fleet.token", secrets.token_urlsafe(32))
        self.adbs: list[AdbServer] = []
        self.proxies: list[TcpProxy] = []
        self.hosts: list[Fleet] = []

    def host_id(self, i: int) -> str:
        return f"host-{i}"

    def start(self, *, args: Iterable[str] = (), python: Iterable[str] | None = None, timeout: float = 90.0) -> Cluster:
        """Every host's adb server, phones and daemon; returns once every phone is online."""
        args, python = list(args), (list(python) if python is not None else None)
        try:
            for i in range(self.n_hosts):
                adb = AdbServer().start()
                self.adbs.append(adb)
                proxy = TcpProxy(self.db_host, self.db_port).start()
                self.proxies.append(proxy)
                host = Fleet(self.workdir / self.host_id(i), adb_port=adb.port, token_file=self.token_file,
                             db=with_port(self.db_url, proxy.host, proxy.port), host_id=self.host_id(i),
                             scenario=self.scenario)
                self.hosts.append(host)
                host.add_phones(self.n_phones)
            for host in self.hosts:  # the daemons start side by side
                host.new_port()  # phones, proxies and adb servers took ports since the host was made
                host.launch_daemon([p.serial for p in host.phones], args=args, python=python)
            for host in self.hosts:
                host.wait_ready(len(host.phones), timeout)
        except BaseException:
            self.close()
            raise
        return self

    # -- faults --------------------------------------------------------------------------------

    def kill(self, i: int) -> None:
        """SIGKILL host i's daemon (its phones and adb server stay)."""
        self.hosts[i].kill_daemon()

    def drop_phones(self, i: int, seconds: float) -> None:
        """Host i's phones refuse every connection for `seconds` (unplugged, then back)."""
        for phone in self.hosts[i].phones:
            phone.faults.drop(seconds)

    # -- views -----------------------------------------------------------------------------------

    def api(self, avoid: Iterable[int] = ()) -> Fleet:
        """A live host to talk to (any host's API serves the whole fleet)."""
        skip = set(avoid)
        for i, host in enumerate(self.hosts):
            if i not in skip and host.proc is not None and host.proc.poll() is None:
                return host
        raise ConfigError("no live host left to talk to")

    def submit(self, texts: Iterable[str], *, via: int | None = None, **fields: Any) -> list[str]:
        """Queue tasks through host `via`'s API (default: each task through the next host)."""
        ids: list[str] = []
        for n, text in enumerate(texts):
            host = self.hosts[via if via is not None else n % len(self.hosts)]
            ids += host.submit([text], **fields)
        return ids

    def phones(self) -> list[tuple[str, Any]]:
        """(host id, phone) for every phone of the fleet."""
        return [(self.host_id(i), p) for i, h in enumerate(self.hosts) for p in h.phones]

    def read_db(self) -> tuple[list[TaskRecord], list[RunRecord]]:
        """Tasks and run log straight from the database (not through any proxy)."""
        return read_queue(self.db_url)

    def terminal_count(self, ids: Iterable[str]) -> int:
        wanted = set(ids)
        return sum(1 for t in self.read_db()[0] if t.id in wanted and t.status in TERMINAL)

    def close(self) -> None:
        for proxy in self.proxies:  # a host cut off mid-run shuts down cleanly once it reaches the database
            proxy.restore()
        for host in self.hosts:
            try:
                host.close()
            except Exception:  # one host failing to close must not leak the others
                pass
        for proxy in self.proxies:
            proxy.stop()
        for adb in self.adbs:
            adb.stop()
        self.hosts, self.proxies, self.adbs = [], [], []

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
