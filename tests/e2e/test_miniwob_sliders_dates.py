"""Several sliders set from one sentence and a calendar paged to another month, end to end on
MiniWoB pages (Xvfb, Chromium, the desktop device, the rule planner): each episode must be
scored a success by the page itself."""

from __future__ import annotations

from miniwob_runs import run_episodes


def test_three_sliders_and_a_calendar_two_months_away(browser) -> None:
    # dev seeds: "Set the sliders to the combination [8,2,9] and submit." (three sliders, each
    # value drawn under its slider); "Select 10/07/2016 as the date and hit submit." on a
    # read-only field whose calendar opens on December (two months back)
    seen = run_episodes((("use-slider-2", 100), ("choose-date", 102)))
    failed = [r for r in seen if not r.success]
    assert not failed, [(r.task, r.reason, r.actions) for r in failed]
    paged = [a for r in seen if r.task == "choose-date" for a in r.actions if "month arrow" in a]
    assert paged, seen[-1].actions
