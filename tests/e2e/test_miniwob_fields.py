"""Text areas told from text inputs by their pixels, and a text area scrolled to its end, end
to end on MiniWoB pages (Xvfb, Chromium, the desktop device, the rule planner). Each episode
must be scored a success by the page itself."""

from __future__ import annotations

from guiagent.eval.miniwob import BenchConfig, EpisodeRecord, MiniWoBBench


def test_text_area_by_kind_and_scroll_to_the_end(browser) -> None:
    seen: list[EpisodeRecord] = []
    # dev seeds: 'Click on a "textarea" widget.' (a text input above it, a radio labelled with a
    # leading "O" read into its label); 'Scroll to the bottom of the textarea, enter the name
    # "Juan" then press "Cancel"' (the name field wakes up only at the end of the text)
    for task, seed in (("click-widget", 148), ("sign-agreement", 100)):
        bench = MiniWoBBench(BenchConfig(tasks=(task,), episodes=1, seed=seed), on_episode=seen.append)
        try:
            bench.run()
        finally:
            bench.close()
    failed = [r for r in seen if not r.success]
    assert len(seen) == 2 and not failed, [(r.task, r.reason, r.actions) for r in failed]
