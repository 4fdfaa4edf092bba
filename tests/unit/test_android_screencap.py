"""Decoding `screencap` output: the raw format's header variants and pixel formats, PNG."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image

from devices.android.screencap import (
    decode_png_screencap,
    decode_raw_screencap,
    encode_raw_screencap,
    is_black,
)
from guiagent.schema.errors import DeviceDisconnected, DeviceError


def picture(w: int = 36, h: int = 64) -> Image.Image:
    rng = np.random.default_rng(7)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), "RGB")


@pytest.mark.parametrize("header", [12, 16])
def test_raw_rgba_both_header_variants(header: int) -> None:
    img = picture()
    data = encode_raw_screencap(img, header=header)
    assert len(data) == header + 36 * 64 * 4
    out = decode_raw_screencap(data)
    assert out.mode == "RGB" and out.size == (36, 64)
    assert np.array_equal(np.asarray(out), np.asarray(img))


def test_raw_equals_png() -> None:
    img = picture()
    buf = io.BytesIO()
    img.save(buf, "PNG")
    assert np.array_equal(np.asarray(decode_png_screencap(buf.getvalue())),
                          np.asarray(decode_raw_screencap(encode_raw_screencap(img))))


def test_raw_bgra_rgbx_rgb565() -> None:
    img = picture(4, 2)
    arr = np.asarray(img)
    bgra = np.concatenate([arr[..., ::-1], np.full((2, 4, 1), 255, np.uint8)], axis=-1)
    out = decode_raw_screencap(struct.pack("<IIII", 4, 2, 5, 0) + bgra.tobytes())
    assert np.array_equal(np.asarray(out), arr)
    rgbx = np.concatenate([arr, np.zeros((2, 4, 1), np.uint8)], axis=-1)
    out = decode_raw_screencap(struct.pack("<III", 4, 2, 2) + rgbx.tobytes())
    assert np.array_equal(np.asarray(out), arr)
    # RGB565: pure red, green, blue, white
    px = np.array([[0xF800, 0x07E0, 0x001F, 0xFFFF]], dtype="<u2")
    out = np.asarray(decode_raw_screencap(struct.pack("<IIII", 4, 1, 4, 0) + px.tobytes()))
    assert out.tolist() == [[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]]]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x01\x00", "too short"),
        (struct.pack("<III", 0, 10, 1), "not usable"),
        (struct.pack("<III", 2, 2, 99) + b"\0" * 16, "pixel format 99"),
        (struct.pack("<III", 2, 2, 1) + b"\0" * 21, "do not match"),
        (b"/system/bin/sh: screencap: not found\n", "do not match|not usable"),
    ],
)
def test_raw_errors_are_clear(data: bytes, message: str) -> None:
    with pytest.raises(DeviceError, match=message):
        decode_raw_screencap(data)


def test_png_error_is_clear() -> None:
    with pytest.raises(DeviceError, match="did not return a PNG"):
        decode_png_screencap(b"Error: could not take screenshot")


def test_a_frame_cut_short_is_a_lost_device_not_junk() -> None:
    # adb shell streams have no exit status: a phone that drops mid-transfer just ends the stream
    # (seen in the daemon fault run: 3145728 of 3686416 bytes). That is a disconnection, which the
    # daemon and the loop handle by reconnecting, not a malformed-frame error.
    full = encode_raw_screencap(picture())
    for cut in (full[: len(full) * 5 // 6], full[:-1], full[:13], b""):
        with pytest.raises(DeviceDisconnected, match="stream ended"):
            decode_raw_screencap(cut)
    png = io.BytesIO()
    picture().save(png, format="PNG")
    with pytest.raises(DeviceDisconnected, match="stream ended"):
        decode_png_screencap(png.getvalue()[: len(png.getvalue()) // 2])
    assert decode_png_screencap(png.getvalue()).size == picture().size


def test_black_detection() -> None:
    assert is_black(Image.new("RGB", (1080, 2400)))
    assert is_black(Image.new("RGB", (100, 100), (1, 1, 1)))
    assert not is_black(picture())
    dark_ui = Image.new("RGB", (100, 200), (0, 0, 0))
    dark_ui.paste((200, 200, 200), (0, 0, 100, 20))  # a status bar on a black app
    assert not is_black(dark_ui)
