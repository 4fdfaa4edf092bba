"""Fonts for the simulated screens: DejaVu Sans when the system has it (readable, OCR-friendly),
Noto CJK for text outside Latin, else Pillow's bundled scalable font. Layout and rendering
measure text with the same fonts, so the bounds in the UI tree match the pixels."""

from __future__ import annotations

import functools
from pathlib import Path

from PIL import ImageFont

_SANS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
         "/usr/share/fonts/dejavu/DejaVuSans.ttf")
_SANS_BOLD = ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
              "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf")
_CJK = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
        "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc")

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def _first(paths: tuple[str, ...]) -> str | None:
    return next((p for p in paths if Path(p).is_file()), None)


@functools.lru_cache(maxsize=64)
def font(px: int, bold: bool = False, cjk: bool = False) -> Font:
    path = _first(_CJK) if cjk else None
    if path is None:
        path = _first(_SANS_BOLD if bold else _SANS) or _first(_SANS)
    if path is None:
        return ImageFont.load_default(size=px)
    return ImageFont.truetype(path, px)


def font_for(text: str, px: int, bold: bool = False) -> Font:
    """DejaVu covers Latin, Greek, Cyrillic; anything beyond goes to the CJK font if present."""
    needs_cjk = any(ord(c) > 0x2FFF for c in text)
    return font(px, bold=bold, cjk=needs_cjk)


def text_width(text: str, px: int, bold: bool = False) -> int:
    if not text:
        return 0
    left, _top, right, _bottom = font_for(text, px, bold).getbbox(text)
    return int(right - min(left, 0))


def ellipsize(text: str, px: int, max_width: int, bold: bool = False) -> str:
    """`text`, cut with an ellipsis so it fits `max_width` pixels."""
    if text_width(text, px, bold) <= max_width:
        return text
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if text_width(text[:mid] + "…", px, bold) <= max_width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo] + "…"


def wrap(text: str, px: int, max_width: int) -> list[str]:
    """Greedy word wrap; a single over-long word is cut by ellipsis."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if text_width(candidate, px) <= max_width or not line:
                line = candidate
            else:
                lines.append(line)
                line = word
        lines.append(ellipsize(line, px, max_width))
    return lines
