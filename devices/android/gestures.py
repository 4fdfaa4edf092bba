"""Gesture geometry for the phone: the swipe that scrolls content (pure, no device)."""

from __future__ import annotations

from guiagent.schema import ScrollDirection


def scroll_swipe(size: tuple[int, int], direction: ScrollDirection, amount: float,
                 at: tuple[int, int] | None) -> tuple[tuple[int, int], tuple[int, int]]:
    """(from, to) pixels of the swipe that scrolls `amount` screens in `direction` around `at`
    (default the centre), kept 5% inside the screen edges."""
    w, h = size
    cx, cy = at if at is not None else (w // 2, h // 2)
    vertical = direction in ("up", "down")
    span = amount * (h if vertical else w)
    # Content scrolls down = the finger moves up: swipe against the direction.
    sign = 1 if direction in ("down", "right") else -1
    mx, my = int(w * 0.05), int(h * 0.05)

    def clamp(v: float, lo: int, hi: int) -> int:
        return int(min(max(v, lo), hi))

    if vertical:
        return (cx, clamp(cy + sign * span / 2, my, h - my)), (cx, clamp(cy - sign * span / 2, my, h - my))
    return (clamp(cx + sign * span / 2, mx, w - mx), cy), (clamp(cx - sign * span / 2, mx, w - mx), cy)
