"""Shared fixtures: a real virtual X display per test session, paths, the llama.cpp server, and a
private adb server with the default virtual phone behind it (per module; a module may define its own)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devices.x11.xvfb import VirtualDisplay
from guiagent.daemon.fleet import AdbServer
from guiagent.eval.llama_server import LlamaServer, find_gguf

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"


@pytest.fixture
def browser(xdisplay, tmp_path, monkeypatch):
    """The X display, with MiniWoB's Chromium settings (wrapper, driver, profile) in the environment."""
    from guiagent.eval.miniwob_env import browser_settings

    for key, value in browser_settings(2.0, tmp_path).items():
        monkeypatch.setenv(key, value)
    return xdisplay


@pytest.fixture(scope="session")
def xdisplay() -> Iterator[VirtualDisplay]:
    """A fresh Xvfb 1280x800 for the whole session; DISPLAY points at it. With it, a private a11y
    bus (when AT-SPI is installed): without one, libdbus autolaunches a session bus recorded on the
    display, and a test that kills an app's process group can kill that bus and leave every later
    app on the display failing to register (seen: a Qt window with an empty tree)."""
    from guiagent.recorder.a11y_bus import A11yBus

    vd = VirtualDisplay(1280, 800).start()
    bus = A11yBus().start() if A11yBus.available() else None
    try:
        yield vd
    finally:
        if bus is not None:
            bus.stop()
        vd.stop()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """The real llama.cpp server with SmolLM2-135M-Instruct on a free loopback port, for the whole
    session (`srv.base_url`, `srv.model`, `srv.chat_options()`). `make install` builds it; when it
    is missing this fails with the install command: never skipped. Its log: <session tmp>/llama*/server.log."""
    log_path = tmp_path_factory.mktemp("llama") / "server.log"
    with LlamaServer(find_gguf(), n_ctx=4096, log_path=log_path) as srv:
        yield srv


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Any]:
    """A throwaway PostgreSQL cluster (tests/pg.py -> guiagent/daemon/pgcluster.py) for the session; fails, never skips,
    when PostgreSQL cannot run."""
    from pg import PgCluster

    with PgCluster() as cluster:
        yield cluster


@pytest.fixture
def pg_url(pg_cluster: Any) -> Iterator[str]:
    """A fresh empty database in the session's cluster: postgresql://postgres@127.0.0.1:PORT/t_..."""
    url = pg_cluster.create_database()
    yield url
    pg_cluster.drop_database(url)


@pytest.fixture(autouse=True)
def _offline_models(monkeypatch: pytest.MonkeyPatch) -> None:
    # No model hub is reachable here: make every transformers/HF load offline and fast-failing.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("ADB_LIBUSB", os.environ.get("ADB_LIBUSB", "0"))


@pytest.fixture(scope="module")
def adb() -> Iterator[AdbServer]:
    """A private adb server: the module sees only its own phones."""
    with AdbServer() as server:
        yield server


@pytest.fixture(scope="module")
def phone(adb: AdbServer) -> Iterator[Any]:
    """The default virtual phone, connected to the module's private adb server."""
    from devices.simphone import SimPhone
    from devices.simphone.launch import _client, adb_connect, adb_disconnect

    client = _client(adb_port=adb.port)
    with SimPhone(scenario="default") as p:
        adb_connect(p.serial, client=client)
        yield p
        adb_disconnect(p.serial, client)
