"""Settling on a big screen by watching the windows the action touched, not the whole screen.

On 4K a full-frame poll (grab + grayscale + compare) costs ~35 ms, so the frame-difference settle
took ~110 ms a step. Here the windows under the pointer and holding the focus are watched (a
few hundred kB a grab): once they changed and stayed quiet for `quiet` s, one full frame
confirms that nothing changed outside them (a menu or a dialog opening in a window of its own).
Whenever that cannot be said -- no window found, the watched windows unchanged at the first
look, a change outside -- the caller falls back to the full-frame settle, so a step never
returns earlier than the screen allows, only with fewer full frames.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PIL import Image, ImageChops

from devices.base import SettleResult, frame_signature, frames_differ
from devices.coords import Monitor

Box = tuple[int, int, int, int]
MIN_PIXELS = 3_000_000  # below this (1280x800 is 1 Mpx) full frames are cheap: nothing to gain


def watch_box(rects: list[Box], capture: Monitor) -> Box | None:
    """The union of window rectangles (root coordinates) in capture pixels, clipped; None when
    there is none or it covers most of the capture (then watching it saves nothing)."""
    boxes = [(max(r[0] - capture.left, 0), max(r[1] - capture.top, 0),
              min(r[2] - capture.left, capture.width), min(r[3] - capture.top, capture.height)) for r in rects]
    boxes = [b for b in boxes if b[2] - b[0] > 0 and b[3] - b[1] > 0]
    if not boxes:
        return None
    box = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
    if (box[2] - box[0]) * (box[3] - box[1]) > 0.5 * capture.width * capture.height:
        return None
    return box


def _outside_differs(reference: Image.Image, full: Image.Image, box: Box) -> bool:
    """`full` differs from `reference` somewhere outside `box`. One pass in C finds the bounding
    box of every difference; only a difference reaching outside is compared pixel by pixel, with
    the noise threshold of `frames_differ`, band by band around the box."""
    diff = ImageChops.difference(full, reference).getbbox()
    left, top, right, bottom = box
    if diff is None or (diff[0] >= left and diff[1] >= top and diff[2] <= right and diff[3] <= bottom):
        return False
    a, b = frame_signature(reference), frame_signature(full)
    bands = [(slice(0, top), slice(None)), (slice(bottom, None), slice(None)),
             (slice(top, bottom), slice(0, left)), (slice(top, bottom), slice(right, None))]
    return any(a[ys, xs].size and frames_differ(a[ys, xs], b[ys, xs]) for ys, xs in bands)


def settle_in_box(grab_box: Callable[[Box], Image.Image], grab_full: Callable[[], Image.Image],
                  reference: Image.Image, box: Box, timeout: float, quiet: float,
                  poll: float) -> SettleResult | None:
    """Wait until the screen inside `box` changed from `reference` and stayed quiet for `quiet`
    s, then check the whole frame once. None: fall back to the full-frame settle (the box did not
    change at the first look, or the screen changed outside it)."""
    t0 = time.monotonic()
    poll = min(poll, 0.01)  # a window-sized grab costs ~1 ms: look more often
    ref = frame_signature(reference.crop(box))
    last = frame_signature(grab_box(box))
    frames = 1
    if not frames_differ(ref, last):
        return None  # not reacting here (yet): the full-frame settle watches everywhere
    quiet_since = time.monotonic()
    while True:
        now = time.monotonic()
        if now - quiet_since >= quiet:
            full = grab_full()
            frames += 1
            if frames_differ(frame_signature(full.crop(box)), last) or _outside_differs(reference, full, box):
                return None  # the box moved again, or something else moves: watch everything
            return SettleResult(True, True, time.monotonic() - t0, frames, full)
        if now - t0 >= timeout:
            return SettleResult(False, True, now - t0, frames, None)
        time.sleep(poll)
        sig = frame_signature(grab_box(box))
        frames += 1
        if frames_differ(sig, last):
            quiet_since = time.monotonic()
        last = sig
