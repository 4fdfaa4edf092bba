"""The e2e MiniWoB tests' one loop: one episode per (task, seed), run by the real bench (Xvfb,
Chromium, the desktop device, the rule planner), scored by the page itself."""

from __future__ import annotations

from collections.abc import Iterable

from guiagent.eval.miniwob import BenchConfig, EpisodeRecord, MiniWoBBench


def run_episodes(pairs: Iterable[tuple[str, int]]) -> list[EpisodeRecord]:
    """The records of one episode of each (task, seed), in order (a harness failure is a record too)."""
    seen: list[EpisodeRecord] = []
    for task, seed in pairs:
        bench = MiniWoBBench(BenchConfig(tasks=(task,), episodes=1, seed=seed), on_episode=seen.append)
        try:
            bench.run()
        finally:
            bench.close()
    return seen
