"""What is SQLite's alone, or no engine's: a queue file from before multi-host is migrated in
place, `--db` URLs are parsed (and refused) clearly, the config puts the token and trajectories
where each engine keeps them, and the overlap check of the fault tests works.
The queue's contract over both engines is tests/conformance/test_conformance_store.py."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from guiagent.daemon.config import DaemonConfig
from guiagent.daemon.fleet import overlapping_attempts
from guiagent.daemon.models import RunRecord
from guiagent.daemon.store import TaskStore
from guiagent.daemon.store_base import parse_db_url
from guiagent.schema.errors import ConfigError

V1_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('schema', '1');
CREATE TABLE tasks (id TEXT PRIMARY KEY, task TEXT NOT NULL, device TEXT, planner TEXT NOT NULL,
    max_steps INTEGER NOT NULL, timeout_s REAL NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL, created REAL NOT NULL, queued_at REAL NOT NULL, started REAL, finished REAL,
    updated REAL NOT NULL, assigned TEXT, owner TEXT, lease_until REAL, run_id INTEGER,
    steps INTEGER NOT NULL DEFAULT 0, result TEXT, error TEXT, approval TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0);
CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, task_id TEXT NOT NULL, attempt INTEGER NOT NULL,
    owner TEXT NOT NULL, device TEXT NOT NULL, ready_at REAL NOT NULL, claimed REAL NOT NULL, started REAL,
    run_ended REAL, ended REAL, heartbeat REAL NOT NULL, status TEXT NOT NULL DEFAULT 'running', reason TEXT,
    episode TEXT);
CREATE TABLE devices (serial TEXT PRIMARY KEY, state TEXT NOT NULL, adb_state TEXT, current_task TEXT,
    since REAL NOT NULL, error TEXT, tasks_run INTEGER NOT NULL DEFAULT 0);
INSERT INTO tasks (id, task, planner, max_steps, timeout_s, status, max_attempts, created, queued_at, updated)
    VALUES ('t-old', 'open Settings', 'rule', 5, 30, 'queued', 2, 1, 1, 1);
INSERT INTO devices VALUES ('emulator-5554', 'idle', 'device', NULL, 1, NULL, 3);
"""


def test_a_single_host_queue_file_is_migrated_in_place(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as con:
        con.executescript(V1_SCHEMA)
    store = TaskStore(db, host="h1")
    try:
        old = store.get_task("t-old")
        assert old is not None and old.status == "queued" and old.secrets == {} and old.requested_host is None
        claim = store.claim("d/A", "emulator-5554", lease_s=30)
        assert claim is not None and claim.task.id == "t-old" and store.runs()[0].host == "h1"
        assert store.list_devices() == []  # a stale device list is dropped, as at every start
        store.set_device("emulator-5554", "idle")
        assert [(d.host, d.serial) for d in store.list_devices()] == [("h1", "emulator-5554")]
    finally:
        store.close()
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == ("2",)
    with sqlite3.connect(db) as con:  # a file from a newer version is refused, not damaged
        con.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    with pytest.raises(ConfigError, match="schema 99"):
        TaskStore(db)


def test_db_urls_are_parsed_and_bad_ones_refused(tmp_path: Path) -> None:
    assert parse_db_url(f"sqlite://{tmp_path}/q.db").path == tmp_path / "q.db"
    assert parse_db_url("queue.db").path == Path("queue.db") and parse_db_url(tmp_path).engine == "sqlite"
    pg = parse_db_url("postgres://fleet:s3cret@db.lan:5433/guiagent")
    assert pg.engine == "postgres" and pg.path is None and pg.url == "postgresql://fleet:s3cret@db.lan:5433/guiagent"
    assert "s3cret" not in str(pg) and "db.lan:5433/guiagent" in str(pg)
    for bad, why in (("sqlite://relative.db", "three slashes"), ("mysql://h/db", "unknown database scheme"),
                     ("postgresql://h", "name the database"), ("  ", "empty")):
        with pytest.raises(ConfigError, match=why):
            parse_db_url(bad)


def test_the_config_keeps_token_and_trajectories_where_each_engine_does(tmp_path: Path) -> None:
    lite = DaemonConfig(db=f"sqlite://{tmp_path}/q.db")
    assert lite.db == tmp_path / "q.db" and lite.engine == "sqlite"
    assert lite.default_token_file == tmp_path / "q.token" and lite.trajectories == tmp_path / "q.trajectories"
    fleet = DaemonConfig(db="postgresql://u@h/guiagent", data_dir=tmp_path / "h1", host_id="h1")
    assert fleet.engine == "postgres" and fleet.host_name == "h1"
    assert fleet.default_token_file == tmp_path / "h1" / "fleet.token"
    assert fleet.trajectories == tmp_path / "h1" / "trajectories"
    assert DaemonConfig(db=tmp_path / "q.db").host_name  # defaults to the machine's name


def test_overlap_check_catches_overlapping_and_double_open_attempts() -> None:
    def run(i: int, claimed: float, ended: float | None) -> RunRecord:
        return RunRecord(id=i, task_id="t", attempt=i, owner="o", device="A", ready_at=claimed, claimed=claimed,
                         ended=ended, heartbeat=claimed, status="running" if ended is None else "interrupted")

    assert overlapping_attempts([run(1, 0, 5), run(2, 6, None)]) == []
    assert overlapping_attempts([run(1, 0, 5), run(2, 4, 9)]) == ["t"]
    assert overlapping_attempts([run(1, 0, None), run(2, 6, None)]) == ["t"]
