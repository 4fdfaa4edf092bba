"""Decoding Android `screencap` output: raw (header + pixels) and PNG (`screencap -p`).

Raw is what the phone's framebuffer holds, no PNG encode on the phone: a header of width,
height and pixel format (u32 little-endian each), plus a colorspace u32 since Android 9, so
the header is 12 or 16 bytes; which one is told by the byte count. Old phones (< 7) whose
`shell:` service ran through a PTY turned LF into CRLF; that mangling is not undone here.
"""

from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image

from guiagent.schema.errors import DeviceDisconnected, DeviceError

_RAW_BPP = {1: 4, 2: 4, 3: 3, 4: 2, 5: 4}  # pixel formats: RGBA_8888, RGBX_8888, RGB_888, RGB_565, BGRA_8888
BLACK_MEAN = 2.0  # mean grey level under which a frame counts as blacked out (FLAG_SECURE)


def encode_raw_screencap(img: Image.Image, header: int = 16) -> bytes:
    """The raw format for an image (RGBA_8888): what a phone sends; used by tests and benches."""
    rgba = img.convert("RGBA")
    head = struct.pack("<III", rgba.width, rgba.height, 1) + (struct.pack("<I", 1) if header == 16 else b"")
    return head + rgba.tobytes()


def decode_raw_screencap(data: bytes) -> Image.Image:
    """RGB image from `screencap` without -p: width, height, format u32 (+ colorspace u32 on
    Android 9+, hence a 12- or 16-byte header), then the pixels."""
    if not data:  # the stream closed before a byte: the device went away mid-capture
        raise DeviceDisconnected("raw screencap stream ended before its header (0 bytes): the device disconnected")
    if len(data) < 12:
        raise DeviceError(f"raw screencap returned {len(data)} bytes, too short for a header")
    w, h, fmt = struct.unpack_from("<III", data)
    bpp = _RAW_BPP.get(fmt)
    if not 0 < w <= 16384 or not 0 < h <= 16384 or bpp is None:
        raise DeviceError(f"raw screencap header is not usable: {w}x{h} pixel format {fmt}")
    header = len(data) - w * h * bpp
    if header < 16 and header != 12:
        # adb shell streams carry no exit status: a stream that ends before the frame its header
        # announced was cut (the phone dropped mid-transfer), which is a lost device, not junk.
        raise DeviceDisconnected(f"raw screencap stream ended after {len(data)} of {w * h * bpp + 16} "
                                 f"bytes of a {w}x{h} frame: the connection dropped")
    if header not in (12, 16):
        raise DeviceError(f"raw screencap: {len(data)} bytes do not match {w}x{h} format {fmt} "
                          "with a 12- or 16-byte header")
    px = data[header:]
    if fmt == 4:  # RGB565, little-endian
        v = np.frombuffer(px, dtype="<u2").reshape(h, w).astype(np.uint32)
        rgb = np.stack([(v >> 11) * 255 // 31, ((v >> 5) & 63) * 255 // 63, (v & 31) * 255 // 31], axis=-1)
        return Image.fromarray(rgb.astype(np.uint8), "RGB")
    raw_mode = {1: "RGBA", 2: "RGBX", 3: "RGB", 5: "BGRA"}[fmt]
    mode = "RGBA" if fmt in (1, 5) else "RGB"
    return Image.frombuffer(mode, (w, h), px, "raw", raw_mode, 0, 1).convert("RGB")


def decode_png_screencap(data: bytes) -> Image.Image:
    if data.startswith(b"\x89PNG") and b"IEND" not in data[-16:]:
        raise DeviceDisconnected(f"screencap -p stream ended after {len(data)} bytes, before the PNG's end: "
                                 "the connection dropped")
    try:
        return Image.open(io.BytesIO(data)).convert("RGB")
    except Exception as exc:  # PIL raises several kinds for junk
        raise DeviceError(f"screencap -p did not return a PNG ({data[:40]!r}...): {exc}") from exc


def is_black(img: Image.Image) -> bool:
    """True for an all-black frame (FLAG_SECURE windows capture as black)."""
    return float(np.asarray(img.resize((36, 64)).convert("L")).mean()) < BLACK_MEAN
