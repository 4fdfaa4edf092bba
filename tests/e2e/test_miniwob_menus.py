"""Menus, tabs and a timed wait on real MiniWoB pages (Chromium on Xvfb, the desktop device):
a three-level menu path is gone through by pointing and waiting (a click on a parent item
there already counts as choosing it), a link read inside a longer OCR line is clicked on its
own words, and "wait N seconds" between two clicks counts from the first."""

from __future__ import annotations

from miniwob_runs import run_episodes


def test_menu_path_tab_link_and_timed_wait_end_to_end(browser) -> None:
    # dev seeds: 101 is "Select Meade>Margareta>Aeriel" (three levels, the second read inside a
    # longer OCR box); click-tab-2 100 hides "cursus" in an OCR line "cursus potenti"
    seen = run_episodes((("click-menu", 101), ("click-tab-2", 100), ("button-delay", 101)))
    menu, tab, delay = seen
    assert menu.success and not any(a.startswith("click 'Meade'") for a in menu.actions), menu
    assert any(a.startswith("hover ") for a in menu.actions)  # the parents were pointed at, nothing pressed
    assert tab.raw_reward >= 0, tab  # never a click on the wrong link
    assert delay.success and delay.raw_reward >= 0.6, delay  # within 40% of the asked delay
