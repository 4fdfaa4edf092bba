"""The store's fleet and event tables: devices (keyed by host and serial), hosts, and the event log.
TaskStore (store.py) builds the task queue on it."""

from __future__ import annotations

import json
from typing import Any

from guiagent.daemon.models import DeviceRecord, EventRecord, HostRecord
from guiagent.daemon.store_base import Connection, StoreEngine


class FleetStore:
    """This host's view of the fleet; every write goes through `db` and is stamped by its clock."""

    db: StoreEngine
    host: str

    def _event(self, con: Connection, kind: str, task_id: str | None, **data: Any) -> None:
        con.execute("INSERT INTO events (ts, kind, task_id, data) VALUES (?, ?, ?, ?)",
                    (self.db.now(con), kind, task_id, json.dumps(data, default=str)))

    def add_event(self, kind: str, task_id: str | None = None, **data: Any) -> None:
        with self.db.write() as con:
            self._event(con, kind, task_id, **data)

    # -- devices and hosts --------------------------------------------------------------------

    def set_device(self, serial: str, state: str, *, adb_state: str | None = None, current_task: str | None = None,
                   error: str | None = None, ran_one: bool = False) -> None:
        """This host's phone `serial` is now in `state`."""
        with self.db.write() as con:
            now = self.db.now(con)
            old = con.execute("SELECT state FROM devices WHERE host = ? AND serial = ?", (self.host, serial)).fetchone()
            con.execute(
                "INSERT INTO devices (host, serial, state, adb_state, current_task, since, error, tasks_run)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (host, serial) DO UPDATE SET state = excluded.state,"
                " adb_state = COALESCE(excluded.adb_state, devices.adb_state), current_task = excluded.current_task,"
                " since = CASE WHEN devices.state = excluded.state THEN devices.since ELSE excluded.since END,"
                " error = excluded.error, tasks_run = devices.tasks_run + excluded.tasks_run",
                (self.host, serial, state, adb_state, current_task, now, error, int(ran_one)))
            if old is None or old["state"] != state:
                self._event(con, "device", current_task, serial=serial, host=self.host, state=state, error=error)

    def set_adb_state(self, serial: str, adb_state: str) -> None:
        with self.db.write() as con:
            n = con.execute("UPDATE devices SET adb_state = ? WHERE host = ? AND serial = ?",
                            (adb_state, self.host, serial)).rowcount
            if not n:
                state = "unauthorized" if adb_state == "unauthorized" else "offline"
                con.execute("INSERT INTO devices (host, serial, state, adb_state, since) VALUES (?, ?, ?, ?, ?)"
                            " ON CONFLICT (host, serial) DO UPDATE SET adb_state = excluded.adb_state",
                            (self.host, serial, state, adb_state, self.db.now(con)))

    def list_devices(self, host: str | None = None) -> list[DeviceRecord]:
        """The whole fleet's phones (or one host's), by host then serial."""
        if host is None:
            rows = self.db.query("SELECT * FROM devices ORDER BY host, serial")
        else:
            rows = self.db.query("SELECT * FROM devices WHERE host = ? ORDER BY serial", (host,))
        return [DeviceRecord.from_row(r) for r in rows]

    def forget_devices(self) -> None:
        """At startup: what this host's previous daemon saw is stale (other hosts' phones stay)."""
        with self.db.write() as con:
            con.execute("DELETE FROM devices WHERE host = ?", (self.host,))

    def register_host(self, daemon_id: str, url: str = "") -> None:
        """This host's daemon `daemon_id` (re)started, serving its API at `url`."""
        with self.db.write() as con:
            now = self.db.now(con)
            con.execute("INSERT INTO hosts (host, daemon, url, started, heartbeat) VALUES (?, ?, ?, ?, ?)"
                        " ON CONFLICT (host) DO UPDATE SET daemon = excluded.daemon, url = excluded.url,"
                        " started = excluded.started, heartbeat = excluded.heartbeat",
                        (self.host, daemon_id, url, now, now))

    def list_hosts(self) -> list[HostRecord]:
        return [HostRecord.from_row(r) for r in self.db.query("SELECT * FROM hosts ORDER BY host")]

    # -- events ------------------------------------------------------------------------------

    def events_after(self, after: int, task_id: str | None = None, limit: int = 200) -> list[EventRecord]:
        if task_id is None:
            rows = self.db.query("SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?", (after, limit))
        else:
            rows = self.db.query("SELECT * FROM events WHERE id > ? AND task_id = ? ORDER BY id LIMIT ?",
                                 (after, task_id, limit))
        return [EventRecord.from_row(r) for r in rows]

    def last_event_id(self) -> int:
        return int(self.db.query("SELECT COALESCE(MAX(id), 0) AS n FROM events")[0]["n"])

    def prune_events(self, keep: int = 100_000) -> None:
        with self.db.write() as con:
            con.execute("DELETE FROM events WHERE id <= (SELECT COALESCE(MAX(id), 0) FROM events) - ?", (keep,))
