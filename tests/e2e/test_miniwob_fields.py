"""Text areas told from text inputs by their pixels, and a text area scrolled to its end, end
to end on MiniWoB pages (Xvfb, Chromium, the desktop device, the rule planner). Each episode
must be scored a success by the page itself."""

from __future__ import annotations

from miniwob_runs import run_episodes


def test_text_area_by_kind_and_scroll_to_the_end(browser) -> None:
    # dev seeds: 'Click on a "textarea" widget.' (a text input above it, a radio labelled with a
    # leading "O" read into its label); 'Scroll to the bottom of the textarea, enter the name
    # "Juan" then press "Cancel"' (the name field wakes up only at the end of the text)
    seen = run_episodes((("click-widget", 148), ("sign-agreement", 100)))
    failed = [r for r in seen if not r.success]
    assert len(seen) == 2 and not failed, [(r.task, r.reason, r.actions) for r in failed]
