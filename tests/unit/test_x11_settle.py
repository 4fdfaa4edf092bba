"""Settling by watching the touched windows (devices.x11.settle), fed real frames in order."""

from __future__ import annotations

from collections.abc import Callable

from PIL import Image, ImageDraw

from devices.coords import Monitor
from devices.x11.settle import settle_in_box, watch_box

SIZE = (400, 300)
BOX = (100, 100, 200, 160)


def frame(*marks: tuple[int, int, int, int]) -> Image.Image:
    img = Image.new("RGB", SIZE, "white")
    for m in marks:
        ImageDraw.Draw(img).rectangle(m, fill="black")
    return img


def grabs(frames: list[Image.Image]) -> tuple[Callable[[tuple[int, int, int, int]], Image.Image],
                                              Callable[[], Image.Image], list[str]]:
    """grab_box / grab_full over a scripted sequence of screens (the last one repeats)."""
    seen: list[str] = []

    def now() -> Image.Image:
        return frames[min(len(seen), len(frames) - 1)]

    def grab_box(box: tuple[int, int, int, int]) -> Image.Image:
        img = now().crop(box)
        seen.append("box")
        return img

    def grab_full() -> Image.Image:
        img = now()
        seen.append("full")
        return img

    return grab_box, grab_full, seen


def test_a_change_inside_the_window_settles_with_one_full_frame() -> None:
    ref, ticked = frame(), frame((120, 120, 130, 130))
    grab_box, grab_full, seen = grabs([ticked])
    result = settle_in_box(grab_box, grab_full, ref, BOX, timeout=3, quiet=0.03, poll=0.01)
    assert result is not None and result.stable and result.changed
    assert result.last_frame is ticked and seen.count("full") == 1 and seen[0] == "box"


def test_a_window_that_did_not_react_yet_falls_back_to_the_whole_screen() -> None:
    grab_box, grab_full, seen = grabs([frame((10, 10, 40, 40))])  # changed, but outside the box
    assert settle_in_box(grab_box, grab_full, frame(), BOX, timeout=3, quiet=0.03, poll=0.01) is None
    assert seen == ["box"]


def test_a_change_outside_the_window_falls_back_to_the_whole_screen() -> None:
    # the box changes, and a menu opens elsewhere meanwhile: the final full frame sees it
    grab_box, grab_full, _ = grabs([frame((120, 120, 130, 130)), frame((120, 120, 130, 130), (300, 20, 390, 90))])
    assert settle_in_box(grab_box, grab_full, frame(), BOX, timeout=3, quiet=0.03, poll=0.01) is None


def test_a_window_still_moving_at_the_timeout_is_not_stable() -> None:
    moving = [frame((100 + i % 50, 120, 110 + i % 50, 130)) for i in range(1, 300)]
    grab_box, grab_full, _ = grabs(moving)
    result = settle_in_box(grab_box, grab_full, frame(), BOX, timeout=0.1, quiet=0.05, poll=0.01)
    assert result is not None and not result.stable and result.changed


def test_watch_box_clips_unites_and_gives_up_on_big_windows() -> None:
    cap = Monitor(100, 50, 1000, 800)
    assert watch_box([(150, 100, 350, 300), (300, 250, 500, 400)], cap) == (50, 50, 400, 350)
    assert watch_box([(0, 0, 300, 200)], cap) == (0, 0, 200, 150)  # clipped to the capture
    assert watch_box([(2000, 2000, 2100, 2100)], cap) is None  # off the capture
    assert watch_box([], cap) is None
    assert watch_box([(100, 50, 1000, 700)], cap) is None  # most of the screen: nothing to save
