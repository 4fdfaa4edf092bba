"""Things named by colour, drags in a direction and a paragraph's text selected, end to end on
MiniWoB pages (Xvfb, Chromium, the desktop device, the rule planner): the colour shown as a
sample in the instruction (read as "#rrggbb"), every shade of a hue, a shape dragged a way and
checked on the pixels, a paragraph highlighted by a drag. The page itself must score each
episode a success."""

from __future__ import annotations

from miniwob_runs import run_episodes


def test_colour_shades_direction_and_highlight_end_to_end(browser) -> None:
    # dev seeds: click-color 100 shows its colour as a sample, not a word
    seen = run_episodes((("click-color", 100), ("click-shades", 101),
                         ("drag-single-shape", 100), ("highlight-text-2", 101)))
    assert len(seen) == 4
    failed = [r for r in seen if not r.success]
    assert not failed, [(r.task, r.instruction, r.reason, r.actions) for r in failed]
    assert seen[0].instruction == "Click on the #ff0000 colored box."
