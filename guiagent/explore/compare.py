"""Exploration quality: the novelty Q-value policy against uniform random on the same budget.

Each (policy, seed) run starts from a reset device and collects into a throwaway folder, so
"records kept" counts what that run would have written. Reported per policy as medians over
the seeds: screens found, distinct elements acted on, records kept.
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from devices.base import Device
from guiagent.explore.collector import GroundingCollector
from guiagent.explore.run import ExploreConfig, Explorer, ExploreResult, GuardFilter, reset_device

METRICS = ("screens", "acted", "records")


@dataclass(frozen=True)
class PolicyQuality:
    policy: str
    runs: tuple[ExploreResult, ...]

    def median(self, metric: str) -> float:
        return float(statistics.median(getattr(r, metric) for r in self.runs))


def compare_policies(device: Device, config: ExploreConfig, seeds: Sequence[int], guard: GuardFilter,
                     policies: Sequence[str] = ("novelty", "random"),
                     on_run: Callable[[ExploreResult], None] | None = None) -> dict[str, PolicyQuality]:
    """Run every policy with every seed on `device` (reset before each run)."""
    out: dict[str, PolicyQuality] = {}
    for policy in policies:
        runs = []
        for seed in seeds:
            reset_device(device, config.settle_quiet)
            with tempfile.TemporaryDirectory(prefix="explore-quality-") as tmp:
                collector = GroundingCollector(Path(tmp), "explore:quality")
                try:
                    res = Explorer(device, replace(config, policy=policy, seed=seed), guard=guard,
                                   collector=collector).run()
                finally:
                    collector.close()
            runs.append(res)
            if on_run is not None:
                on_run(res)
        out[policy] = PolicyQuality(policy, tuple(runs))
    return out
