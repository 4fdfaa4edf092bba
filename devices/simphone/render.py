"""Draws the laid-out node tree to pixels with PIL, and encodes frames the way `screencap`
does (PNG, or raw: width, height, format=1 RGBA_8888, colorspace=1 sRGB as u32 LE, then RGBA)."""

from __future__ import annotations

import io
import struct

from PIL import Image, ImageDraw

from devices.simphone.fonts import ellipsize, font_for, wrap
from devices.simphone.layout import Box, Node

INK = (32, 33, 36)
MUTED = (95, 99, 104)
ACCENT = (26, 115, 232)
DIVIDER = (224, 224, 224)
WALLPAPER = (30, 58, 76)

RAW_FORMAT_RGBA_8888 = 1
RAW_COLORSPACE_SRGB = 1


def _hex(color: str) -> tuple[int, int, int]:
    c = color.lstrip("#")
    try:
        return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)
    except (ValueError, IndexError):
        return 63, 81, 181


def render(windows: list[Node], size: tuple[int, int], density: int) -> Image.Image:
    img = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(img)
    dp = density / 160.0
    for win in windows:
        _draw(img, draw, win, dp, (0, 0))
    return img


def _shift(b: Box, off: tuple[int, int]) -> Box:
    return b[0] - off[0], b[1] - off[1], b[2] - off[0], b[3] - off[1]


def _text(draw: ImageDraw.ImageDraw, box: Box, text: str, px: int, color: tuple[int, int, int],
          bold: bool = False, center: bool = False) -> None:
    if not text:
        return
    text = ellipsize(text, px, max(1, box[2] - box[0]), bold)
    f = font_for(text, px, bold)
    y = (box[1] + box[3]) / 2
    if center:
        draw.text(((box[0] + box[2]) / 2, y), text, font=f, fill=color, anchor="mm")
    else:
        draw.text((box[0], y), text, font=f, fill=color, anchor="lm")


def _draw(img: Image.Image, draw: ImageDraw.ImageDraw, n: Node, dp: float, off: tuple[int, int]) -> None:
    b = _shift(n.bounds, off)
    s = n.style
    k = n.kind
    px = int(s.get("px", 16 * dp))
    if k == "window":
        draw.rectangle(b, fill=WALLPAPER if s.get("wallpaper") else (255, 255, 255))
    elif k == "statusbar":
        draw.rectangle(b, fill=(32, 33, 36))
    elif k == "navbar":
        draw.rectangle(b, fill=(0, 0, 0))
    elif k == "toolbar":
        draw.rectangle(b, fill=_hex(s.get("color", "#3F51B5")))
    elif k == "clock":
        _text(draw, b, n.text, px, (255, 255, 255))
    elif k.startswith("status_"):
        _status_icon(draw, b, k[len("status_"):], dp)
    elif k.startswith("nav_"):
        _nav_icon(draw, b, k[len("nav_"):], dp)
    elif k == "up":
        cx, cy, r = (b[0] + b[2]) // 2, (b[1] + b[3]) // 2, round(8 * dp)
        wd = max(2, round(2 * dp))
        draw.line((cx - r, cy, cx + r, cy), fill=(255, 255, 255), width=wd)
        draw.line((cx - r, cy, cx - r + round(6 * dp), cy - round(6 * dp)), fill=(255, 255, 255), width=wd)
        draw.line((cx - r, cy, cx - r + round(6 * dp), cy + round(6 * dp)), fill=(255, 255, 255), width=wd)
    elif k == "title":
        _text(draw, b, n.text, px, (255, 255, 255), bold=True)
    elif k == "text":
        color = MUTED if s.get("muted") else INK
        line_h = round(px * 1.35)
        y = b[1]
        for line in wrap(n.text, px, max(1, b[2] - b[0])):
            _text(draw, (b[0], y, b[2], y + line_h), line, px, color, bold=bool(s.get("bold")))
            y += line_h
    elif k == "label":
        full = _shift(s.get("full", n.bounds), off)
        _text(draw, full, n.text, px, MUTED if s.get("muted") else INK)
    elif k == "button":
        _button(draw, b, n, px, dp)
    elif k == "switch":
        _switch(draw, b, n.checked, n.enabled, dp)
    elif k == "checkbox":
        _checkbox(draw, b, n, px, dp)
    elif k == "edit":
        _edit(draw, b, n, px, dp)
    elif k == "divider":
        draw.rectangle(b, fill=DIVIDER)
    elif k == "list":
        _list(img, n, dp, off)
        return  # children drawn on the list's own canvas (clipped)
    elif k == "list_row":
        full = _shift(s["full"], off)
        if s.get("divider"):
            draw.line((full[0] + round(16 * dp), full[3] - 1, full[2], full[3] - 1), fill=DIVIDER, width=1)
    elif k == "icon":
        _icon(draw, b, n, px, dp)
    elif k == "notification":
        draw.rounded_rectangle(b, radius=round(12 * dp), fill=(241, 243, 244), outline=DIVIDER,
                               width=max(1, round(dp)))
    elif k == "toast":
        draw.rounded_rectangle(b, radius=(b[3] - b[1]) // 2, fill=(60, 64, 67))
        _text(draw, b, n.text, px, (255, 255, 255), center=True)
    for c in n.children:
        _draw(img, draw, c, dp, off)


def _list(img: Image.Image, n: Node, dp: float, off: tuple[int, int]) -> None:
    b = _shift(n.bounds, off)
    w, h = max(1, b[2] - b[0]), max(1, b[3] - b[1])
    canvas = Image.new("RGB", (w, h), (255, 255, 255))
    cdraw = ImageDraw.Draw(canvas)
    sub_off = (off[0] + b[0], off[1] + b[1])
    for c in n.children:
        _draw(canvas, cdraw, c, dp, sub_off)
    img.paste(canvas, (b[0], b[1]))


def _button(draw: ImageDraw.ImageDraw, b: Box, n: Node, px: int, dp: float) -> None:
    radius = round(4 * dp)
    if n.style.get("variant") == "outlined":
        draw.rounded_rectangle(b, radius=radius, fill=(255, 255, 255), outline=ACCENT if n.enabled else DIVIDER,
                               width=max(1, round(dp)))
        color = ACCENT if n.enabled else MUTED
    else:
        draw.rounded_rectangle(b, radius=radius, fill=ACCENT if n.enabled else DIVIDER)
        color = (255, 255, 255) if n.enabled else MUTED
    _text(draw, b, n.text.upper(), px, color, bold=True, center=True)


def _switch(draw: ImageDraw.ImageDraw, b: Box, on: bool, enabled: bool, dp: float) -> None:
    cx, cy = (b[0] + b[2]) // 2, (b[1] + b[3]) // 2
    tw, th, r = round(36 * dp), round(14 * dp), round(10 * dp)
    track = (cx - tw // 2, cy - th // 2, cx + tw // 2, cy + th // 2)
    draw.rounded_rectangle(track, radius=th // 2, fill=(138, 180, 248) if on else (189, 193, 198))
    tx = track[2] - r + round(2 * dp) if on else track[0] + r - round(2 * dp)
    thumb = (tx - r, cy - r, tx + r, cy + r)
    color = ACCENT if on else (241, 243, 244)
    if not enabled:
        color = (218, 220, 224)
    draw.ellipse(thumb, fill=color, outline=(154, 160, 166) if not on else color, width=max(1, round(dp / 2)))


def _checkbox(draw: ImageDraw.ImageDraw, b: Box, n: Node, px: int, dp: float) -> None:
    size = round(18 * dp)
    x0, cy = b[0] + round(19 * dp), (b[1] + b[3]) // 2
    box = (x0, cy - size // 2, x0 + size, cy + size // 2)
    if n.checked:
        draw.rounded_rectangle(box, radius=round(2 * dp), fill=ACCENT)
        wd = max(2, round(2 * dp))
        draw.line((box[0] + size * 0.2, cy, box[0] + size * 0.42, box[3] - size * 0.25,
                   box[2] - size * 0.18, box[1] + size * 0.25), fill=(255, 255, 255), width=wd, joint="curve")
    else:
        draw.rounded_rectangle(box, radius=round(2 * dp), outline=MUTED, width=max(2, round(2 * dp)))
    _text(draw, (box[2] + round(16 * dp), b[1], b[2] - round(16 * dp), b[3]), n.text, px,
          INK if n.enabled else MUTED)


def _edit(draw: ImageDraw.ImageDraw, b: Box, n: Node, px: int, dp: float) -> None:
    hint = bool(n.style.get("hint"))
    focused = bool(n.style.get("focused"))
    text_box = (b[0] + round(4 * dp), b[1], b[2] - round(4 * dp), b[3] - round(6 * dp))
    shown = ellipsize(n.text, px, max(1, text_box[2] - text_box[0] - round(4 * dp)))
    _text(draw, text_box, shown, px, (154, 160, 166) if hint else INK)
    line_w = max(1, round(2 * dp)) if focused else max(1, round(dp))
    draw.rectangle((b[0], b[3] - round(4 * dp) - line_w, b[2], b[3] - round(4 * dp)),
                   fill=ACCENT if focused else (154, 160, 166))
    if focused:
        f = font_for(shown or "x", px)
        x = text_box[0] + (0 if hint else int(f.getlength(shown))) + 1
        cy = (text_box[1] + text_box[3]) // 2
        draw.line((x, cy - px * 0.6, x, cy + px * 0.6), fill=ACCENT, width=max(1, round(dp)))


def _icon(draw: ImageDraw.ImageDraw, b: Box, n: Node, px: int, dp: float) -> None:
    size = int(n.style.get("icon", 56 * dp))
    cx = (b[0] + b[2]) // 2
    top = b[1] + round(8 * dp)
    draw.ellipse((cx - size // 2, top, cx + size // 2, top + size), fill=_hex(n.style.get("color", "#3F51B5")))
    letter = n.text[:1].upper()
    _text(draw, (cx - size // 2, top, cx + size // 2, top + size), letter, round(size * 0.45),
          (255, 255, 255), bold=True, center=True)
    label_top = top + size + round(6 * dp)
    _text(draw, (b[0] + round(2 * dp), label_top, b[2] - round(2 * dp), label_top + round(px * 1.5)),
          n.text, px, (255, 255, 255), center=True)


def _status_icon(draw: ImageDraw.ImageDraw, b: Box, kind: str, dp: float) -> None:
    white = (255, 255, 255)
    x0, y0, x1, y1 = b
    if kind == "battery":
        draw.rectangle((x0 + (x1 - x0) // 4, y0 + 2, x1 - (x1 - x0) // 4, y1), fill=white)
    elif kind == "wifi":
        draw.pieslice((x0, y0, x1, y1 + (y1 - y0)), 225, 315, fill=white)
    elif kind == "airplane":
        cx = (x0 + x1) // 2
        draw.polygon([(cx, y0), (x1, (y0 + y1) // 2 + 2), (cx, (y0 + y1) // 2), (x0, (y0 + y1) // 2 + 2)], fill=white)
        draw.line((cx, y0, cx, y1), fill=white, width=max(1, round(2 * dp)))
    elif kind == "bluetooth":
        cx = (x0 + x1) // 2
        wd = max(1, round(1.5 * dp))
        draw.line((cx, y0, cx, y1), fill=white, width=wd)
        draw.line((x0 + 2, y0 + (y1 - y0) // 4, x1 - 3, y1 - (y1 - y0) // 4, cx, y1), fill=white, width=wd)
        draw.line((x0 + 2, y1 - (y1 - y0) // 4, x1 - 3, y0 + (y1 - y0) // 4, cx, y0), fill=white, width=wd)


def _nav_icon(draw: ImageDraw.ImageDraw, b: Box, kind: str, dp: float) -> None:
    cx, cy, r = (b[0] + b[2]) // 2, (b[1] + b[3]) // 2, round(8 * dp)
    white, wd = (255, 255, 255), max(2, round(2 * dp))
    if kind == "back":
        draw.polygon([(cx - r, cy), (cx + r, cy - r), (cx + r, cy + r)], outline=white, width=wd)
    elif kind == "home":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=white, width=wd)
    else:
        draw.rectangle((cx - r + 2, cy - r + 2, cx + r - 2, cy + r - 2), outline=white, width=wd)


# --- frame encoders ----------------------------------------------------------------------------

def encode_png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    # compress_level 1: a phone encodes fast too; level 6 costs ~3x the time for ~25% fewer bytes
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def encode_raw(img: Image.Image) -> bytes:
    """`screencap` without -p on Android 9+: a 16-byte header, then RGBA rows, no padding."""
    rgba = img.convert("RGBA")
    w, h = rgba.size
    return struct.pack("<4I", w, h, RAW_FORMAT_RGBA_8888, RAW_COLORSPACE_SRGB) + rgba.tobytes()


def encode_framebuffer(img: Image.Image) -> bytes:
    """The `framebuffer:` service, header version 2 (with colorspace), RGBA 32 bpp."""
    rgba = img.convert("RGBA")
    w, h = rgba.size
    size = w * h * 4
    head = struct.pack("<13I", 2, 32, RAW_COLORSPACE_SRGB, size, w, h, 0, 8, 16, 8, 8, 8, 24)
    return head + struct.pack("<I", 8) + rgba.tobytes()
