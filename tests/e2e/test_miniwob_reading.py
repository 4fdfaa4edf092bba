"""Reading text on real MiniWoB pages (Chromium on Xvfb, the desktop device, the instruction
read by OCR): the last word of a text area that must be scrolled to its end (its resize grip,
which OCR reads as a "4", is no word), the Nth word of a paragraph, copy from a text area the
detector does not see as a field into the textbox, and an autocomplete that is picked, read
back in the field and submitted. Dev seeds only (100+)."""

from __future__ import annotations

from miniwob_runs import run_episodes


def test_read_copy_and_autocomplete_end_to_end(browser) -> None:
    seen = run_episodes((("scroll-text", 102), ("find-word", 101),
                         ("copy-paste", 100), ("use-autocomplete", 100)))
    scroll, word, copy, auto = seen
    assert scroll.success, scroll
    assert scroll.actions[0].startswith("scroll down") and "type '4'" not in " ".join(scroll.actions)
    assert word.success and word.actions[0].startswith("type "), word
    assert copy.success, copy
    assert copy.actions[1:3] == ["key ctrl+a", "key ctrl+c"] and "key ctrl+v" in copy.actions
    assert auto.success, auto  # "Enter an item ...": picked, then submitted
    assert auto.actions[-1].startswith("click 'Submit'") or auto.actions[-2].startswith("click 'Submit'"), auto
