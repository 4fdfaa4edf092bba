"""Finding an item and acting on it on real MiniWoB pages (Chromium on Xvfb, the desktop
device, pixels + OCR only): a message is opened by its sender, forwarded through its Forward
control and the recipient field its form shows, then sent once; a contact book is paged
through with its ">" control until the person shows, and the value beside their "Address:"
label is clicked (not the label)."""

from __future__ import annotations

from miniwob_runs import run_episodes


def test_forward_a_message_and_click_a_contacts_value_end_to_end(browser) -> None:
    # dev seeds: email-inbox 101 is "Find the email by Maye and forward that email to Brenda.";
    # phone-book 105 asks for a person who is not on the first page
    seen = run_episodes((("email-inbox", 101), ("phone-book", 105)))
    forward, book = seen
    assert forward.success, forward
    assert sum(a.startswith("click 'the Send") for a in forward.actions) == 1, forward.actions  # sent once
    assert any("into 'the recipient field'" in a for a in forward.actions), forward.actions
    assert book.success, book
    assert any(a.startswith("click 'the next page control'") for a in book.actions), book.actions
