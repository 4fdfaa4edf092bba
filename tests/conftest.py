"""Shared fixtures: a real virtual X display per test session, paths."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from devices.x11.xvfb import VirtualDisplay

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"


@pytest.fixture(scope="session")
def xdisplay() -> Iterator[VirtualDisplay]:
    """A fresh Xvfb 1280x800 for the whole session; DISPLAY points at it."""
    vd = VirtualDisplay(1280, 800).start()
    try:
        yield vd
    finally:
        vd.stop()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(autouse=True)
def _offline_models(monkeypatch: pytest.MonkeyPatch) -> None:
    # No model hub is reachable here: make every transformers/HF load offline and fast-failing.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("ADB_LIBUSB", os.environ.get("ADB_LIBUSB", "0"))
