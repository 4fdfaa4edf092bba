"""Exploration quality: the novelty Q-value policy against uniform random with the same step
budget, on two environments of the virtual phone (the default apps and the `pantry` scenario),
medians over three seeds: screens found, distinct elements acted on, records kept. The sim
phone is deterministic per seed, so the margins below are stable, not lucky."""

from __future__ import annotations

import os
import subprocess

import pytest

from guiagent.explore.compare import compare_policies
from guiagent.explore.run import ExploreConfig, build_explore_guard
from guiagent.registry import build_device

adbutils = pytest.importorskip("adbutils")
STEPS = 20
SEEDS = (0, 1, 2)


@pytest.mark.parametrize("spec", ["sim", "sim:pantry"])
def test_novelty_beats_random_on_the_same_budget(spec: str) -> None:
    subprocess.run([adbutils.adb_path(), "start-server"], capture_output=True, timeout=20,
                   env={**os.environ, "ADB_LIBUSB": "0"})  # a no-op when it runs; never kill-server here
    device = build_device(spec)
    try:
        q = compare_policies(device, ExploreConfig(steps=STEPS, settle_quiet=0.05), SEEDS,
                             build_explore_guard(semantic=False))
    finally:
        device.close()
    novelty, rand = q["novelty"], q["random"]
    assert all(r.steps == STEPS for p in q.values() for r in p.runs)
    # a margin, not merely >=: at least one more screen and a fifth more elements and records
    assert novelty.median("screens") >= rand.median("screens") + 1, (novelty.runs, rand.runs)
    assert novelty.median("acted") >= 1.2 * rand.median("acted"), (novelty.runs, rand.runs)
    assert novelty.median("records") >= 1.2 * rand.median("records"), (novelty.runs, rand.runs)
