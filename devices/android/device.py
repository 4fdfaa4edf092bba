"""An Android phone through adbutils (the adb server's protocol; no `adb` subprocess).

Coordinates: a normalized point -> a pixel of the current screenshot (which follows the
rotation) -> an `input` coordinate (logical display pixels of the current orientation,
`wm size` with the override honoured, swapped when the screen is turned). The two differ only
when screencap and the logical display disagree (`scale` != 1).

Screenshots: `screencap` raw (header + RGBA, no PNG encode on the phone) or `screencap -p`.
"auto" times both once and keeps the faster: raw wins over USB, PNG can win over slow Wi-Fi adb.
All-black frames (FLAG_SECURE) set `last_frame_secure`; callers then rely on `ui_tree()`.

Errors: lost connection -> DeviceDisconnected (the next call re-runs `adb connect` with a
bounded backoff, so the device recovers when the phone returns); stall -> DeviceTimeout.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PIL import Image

from devices.android.apps import AppResolver
from devices.android.focus import parse_foreground
from devices.android.gestures import scroll_swipe
from devices.android.screencap import decode_png_screencap, decode_raw_screencap, is_black
from devices.android.text import (
    KEYCODE_DEL,
    KEYCODE_ENTER,
    KEYCODE_MOVE_END,
    KEYCODES,
    TextTyper,
    keycode_for,
)
from devices.android.transport import AdbTransport, make_client, resolve_serial
from devices.android.uiautomator import hierarchy_rotation, parse_uiautomator
from devices.base import Device, DeviceInfo, SettleResult, Spot
from guiagent.schema import TOUCH_ACTIONS, Element, ScrollDirection, Target
from guiagent.schema.errors import (
    ConfigError,
    DeviceDisconnected,
    DeviceError,
    DeviceTimeout,
    UnsupportedAction,
)

log = logging.getLogger(__name__)

DUMP_PATH = "/sdcard/window_dump.xml"
_OPTIONS = {"adb_host", "adb_port", "timeout", "screenshot_mode", "reconnect_timeout", "ime_settle_s"}


class AndroidDevice(Device):
    """One phone or emulator known to the adb server by `serial`."""

    def __init__(
        self,
        serial: str,
        *,
        client: Any = None,
        adb_host: str = "127.0.0.1",
        adb_port: int = 5037,
        timeout: float = 10.0,
        screenshot_mode: str = "auto",
        reconnect_timeout: float = 5.0,
        ime_settle_s: float = 0.3,
    ) -> None:
        if screenshot_mode not in ("auto", "raw", "png"):
            raise ConfigError(f"screenshot_mode must be auto, raw or png, not {screenshot_mode!r}")
        self.serial = serial
        self.timeout = float(timeout)
        self.screenshot_mode = screenshot_mode
        client = client or make_client(adb_host, adb_port, timeout)
        self.transport = AdbTransport(serial, client, timeout=timeout, reconnect_timeout=reconnect_timeout)
        self._dump_to_tty = True
        self._draganddrop: bool | None = None
        self._tree_sig: str | None = None
        self.last_frame_secure = False
        self.typer = TextTyper(self.shell, ime_settle_s=ime_settle_s)
        self.apps = AppResolver(self)
        self._sim_phone: Any = None
        self.on_close: list[Callable[[], None]] = []  # run by close(), e.g. a virtual phone's shutdown
        self.refresh_info()

    @property
    def sim_phone(self) -> Any:
        """The virtual phone behind this device (devices.simphone), None for a real phone."""
        return self._sim_phone

    @sim_phone.setter
    def sim_phone(self, phone: Any) -> None:
        self._sim_phone = phone
        self.info = replace(self.info, resettable=phone is not None)

    def close(self) -> None:
        for fn in self.on_close:
            fn()

    def reset(self) -> None:
        if self._sim_phone is None:
            super().reset()  # raises: only the virtual phone can be reset
        else:
            self._sim_phone.reset()

    def shell(self, cmd: str, *, timeout: float | None = None) -> str:
        """Run `cmd` on the device (with a timeout); adb errors become DeviceError subclasses."""
        return self.transport.shell(cmd, timeout=timeout)

    def shell_bytes(self, cmd: str, *, timeout: float | None = None) -> bytes:
        return self.transport.shell_bytes(cmd, timeout=timeout)

    # -- what the device is ---------------------------------------------------------------

    def refresh_info(self, frame_size: tuple[int, int] | None = None) -> DeviceInfo:
        """Screen size, density, rotation and model, read from the device."""
        size_out = self.shell("wm size")
        m = re.search(r"Override size:\s*(\d+)x(\d+)", size_out) or re.search(r"Physical size:\s*(\d+)x(\d+)", size_out)
        if not m:
            raise DeviceError(f"{self.serial}: `wm size` printed {size_out.strip()[:100]!r}")
        natural = (int(m.group(1)), int(m.group(2)))
        dm = re.search(r"Override density:\s*(\d+)", d := self.shell("wm density")) or re.search(r"(\d+)", d)
        rotation = self._rotation()
        if frame_size is not None:  # the frame is the truth about which way the screen is turned
            turned = (frame_size[0] > frame_size[1]) != (natural[0] > natural[1])
            if turned != (rotation % 2 == 1):
                rotation = 1 if turned else 0
        self.input_size = (natural[1], natural[0]) if rotation % 2 else natural
        screen = frame_size or self.input_size
        self.info = DeviceInfo(
            id=self.serial, platform="android", screen_size=screen,
            scale=screen[0] / self.input_size[0], rotation=rotation,
            density=int(dm.group(1)) if dm else None,
            model=self.shell("getprop ro.product.model").strip(), supported=TOUCH_ACTIONS,
            # uiautomator's tree names what is on screen: OCR is needed only where it is empty
            touch=True, trusts_a11y=True, resettable=self._sim_phone is not None,
        )
        return self.info

    def _rotation(self) -> int:
        probes = (("dumpsys display", r"orientation=(\d)"), ("dumpsys input", r"SurfaceOrientation:\s*(\d)"),
                  ("dumpsys window displays", r"mCurrentRotation=(?:ROTATION_)?(\d+)"))
        for cmd, pattern in probes:
            m = re.search(pattern, self.shell(cmd))
            if m:
                value = int(m.group(1))
                return value // 90 if value >= 4 else value
        return 0

    # -- looking --------------------------------------------------------------------------

    def screencap_raw(self) -> Image.Image:
        return self._frame(decode_raw_screencap, "screencap")

    def screencap_png(self) -> Image.Image:
        return self._frame(decode_png_screencap, "screencap -p")

    def _frame(self, decode: Callable[[bytes], Image.Image], cmd: str) -> Image.Image:
        try:
            return decode(self.shell_bytes(cmd))
        except DeviceDisconnected:
            self.transport.lost = True  # a frame cut short: reconnect before the next command
            raise

    def screenshot(self) -> Image.Image:
        if self.screenshot_mode == "auto":
            img = self._choose_screenshot_mode()
        else:
            img = self.screencap_raw() if self.screenshot_mode == "raw" else self.screencap_png()
        if img.size != self.info.screen_size:
            log.info("%s: frame is %sx%s now; re-reading screen info", self.serial, *img.size)
            self.refresh_info(img.size)
        secure = is_black(img)
        if secure and not self.last_frame_secure:
            log.warning("%s: the screen captures all black (FLAG_SECURE?); rely on the UI tree", self.serial)
        self.last_frame_secure = secure
        return img

    def _choose_screenshot_mode(self) -> Image.Image:
        results: dict[str, tuple[float, Image.Image]] = {}
        errors = []
        # The first raw grab is a warm-up (a lazy first frame capture would bias whoever goes first).
        raw, png = ("raw", self.screencap_raw), ("png", self.screencap_png)
        for mode, grab in (raw, raw, png):
            t0 = time.perf_counter()
            try:
                img = grab()
            except (DeviceDisconnected, DeviceTimeout):
                raise
            except DeviceError as exc:
                errors.append(f"{mode}: {exc}")
                continue
            results[mode] = (time.perf_counter() - t0, img)
        if not results:
            raise DeviceError(f"{self.serial}: no screencap mode works: {'; '.join(errors[:2])}")
        self.screenshot_mode = min(results, key=lambda k: results[k][0])
        log.info("%s: screenshots via %s (%s)", self.serial, self.screenshot_mode,
                 ", ".join(f"{k} {v[0] * 1000:.0f} ms" for k, v in results.items()))
        return results[self.screenshot_mode][1]

    def ui_dump(self) -> str:
        """The raw `uiautomator dump` XML (to /dev/tty when the device can, else a file + cat)."""
        t = max(self.timeout, 30.0)
        if self._dump_to_tty:
            out = self.shell("uiautomator dump /dev/tty", timeout=t)
            if "<hierarchy" in out:
                return out
            self._dump_to_tty = False
        out = self.shell(f"uiautomator dump {DUMP_PATH}", timeout=t)
        if "dumped to" not in out:
            raise DeviceError(f"{self.serial}: uiautomator dump failed: {out.strip()[:200]!r}")
        return self.shell(f"cat {DUMP_PATH}", timeout=t)

    def ui_tree(self) -> list[Element]:
        raw = self.ui_dump()
        self._tree_sig = hashlib.sha1(raw.encode("utf-8", "replace")).hexdigest()
        w, h = self.input_size
        if hierarchy_rotation(raw) % 2 != self.info.rotation % 2:  # turned since the last frame
            w, h = h, w
        elements = parse_uiautomator(raw, (w, h))
        s = self.info.scale
        if abs(s - 1.0) < 1e-3:
            return elements
        return [e.model_copy(update={"bbox": tuple(round(v * s) for v in e.bbox)}) for e in elements]

    def foreground(self) -> str | None:
        """"package/Activity" of the focused app (devices.android.focus), or the focused window's title."""
        return parse_foreground(self.shell("dumpsys window"))

    def wait_until_stable(self, reference: Image.Image | None = None, timeout: float = 3.0,
                          quiet: float = 0.1, poll: float = 0.02, min_wait: float = 0.0,
                          react: float = 0.5) -> SettleResult:
        """Frame difference as usual; while frames are black (FLAG_SECURE), UI-tree hashes."""
        if not self.last_frame_secure:
            return super().wait_until_stable(reference, timeout, quiet, poll, min_wait, react)
        t0 = time.monotonic()
        before = self._tree_sig
        self.ui_tree()
        last, frames, quiet_since = self._tree_sig, 1, time.monotonic()
        while True:
            now = time.monotonic()
            if now - quiet_since >= quiet or now - t0 >= timeout:
                changed = before is not None and last != before
                return SettleResult(now - quiet_since >= quiet, changed, now - t0, frames, None)
            time.sleep(poll)
            self.ui_tree()
            frames += 1
            if self._tree_sig != last:
                last, quiet_since = self._tree_sig, time.monotonic()

    # -- acting ---------------------------------------------------------------------------

    def run_input(self, cmd: str, *, timeout: float | None = None) -> str:
        out = self.shell(cmd, timeout=timeout)
        low = out.lower()
        if "exception" in low or "error" in low or "usage:" in low or "not found" in low:
            raise DeviceError(f"{self.serial}: `{cmd}` failed: {out.strip()[:200]!r}")
        return out

    def input_xy(self, at: Spot) -> tuple[int, int]:
        """`input` coordinates of a spot (screenshot pixels)."""
        s = self.info.scale or 1.0
        return round(at.x / s), round(at.y / s)

    def keyevent(self, *codes: int) -> None:
        self.run_input("input keyevent " + " ".join(str(c) for c in codes))

    def _swipe(self, a: tuple[int, int], b: tuple[int, int], seconds: float) -> None:
        """A swipe between two `input` coordinates."""
        ms = max(int(seconds * 1000), 1)
        self.run_input(f"input swipe {a[0]} {a[1]} {b[0]} {b[1]} {ms}", timeout=self.timeout + seconds)

    def swipe_px(self, a: tuple[int, int], b: tuple[int, int], seconds: float) -> None:
        """A swipe between two screenshot pixels."""
        s = self.info.scale or 1.0
        self._swipe((round(a[0] / s), round(a[1] / s)), (round(b[0] / s), round(b[1] / s)), seconds)

    # -- the primitives (devices.base dispatches every action to these) -------------------

    def tap(self, at: Spot | Target) -> str:
        """A tap at a spot, or at a grounded target (how devices.android.apps and the bench call it)."""
        x, y = self.input_xy(at if isinstance(at, Spot) else self.spot(at))
        self.run_input(f"input tap {x} {y}")
        return "input"

    def double_tap(self, at: Spot) -> str:
        # Two `input` calls; on old phones the JVM start between them can exceed the
        # double-tap window (300 ms).
        self.tap(at)
        return self.tap(at)

    def secondary_tap(self, at: Spot) -> str:
        """Android has no right button; a long press opens the context menu."""
        xy = self.input_xy(at)
        self._swipe(xy, xy, 0.8)
        return "input:long_press"

    def long_press(self, at: Spot, seconds: float) -> str:
        xy = self.input_xy(at)
        self._swipe(xy, xy, seconds)
        return "input"

    def type_text(self, text: str, *, into: Spot | None, clear: bool, submit: bool) -> str:
        if into is not None:
            self.tap(into)
        if clear:
            self.clear_focused_field()
        via = self.typer.type(text)
        if submit:
            self.keyevent(KEYCODE_ENTER)
        return via

    def swipe(self, start: Spot, end: Spot, seconds: float) -> str:
        self._swipe(self.input_xy(start), self.input_xy(end), seconds)
        return "input"

    def open_app(self, name: str) -> str:
        return self.apps.open(name)

    def back(self) -> str:
        self.keyevent(4)
        return "input"

    def home(self) -> str:
        self.keyevent(3)
        return "input"

    def clear_focused_field(self, fallback: int = 64) -> None:
        """Caret to the end, then as many DELs as the focused field holds characters."""
        try:
            focused = [e for e in self.ui_tree() if e.editable and e.focused]
            count = len(focused[0].value or "") if focused else fallback
        except (DeviceDisconnected, DeviceTimeout):
            raise
        except DeviceError as exc:  # no tree (e.g. dump failed): delete a fixed amount
            log.debug("no UI tree to size the clear: %s", exc)
            count = fallback
        self.keyevent(KEYCODE_MOVE_END)
        if count:
            self.keyevent(*([KEYCODE_DEL] * count))

    def press_keys(self, keys: tuple[str, ...]) -> str:
        if len(keys) == 1:
            if keys[0] not in KEYCODES:  # punctuation without a keycode ("!", "?"): type it
                return "input:" + self.typer.type(keys[0])
            self.keyevent(keycode_for(keys[0]))
            return "input"
        codes = " ".join(str(keycode_for(k)) for k in keys)
        try:
            self.run_input(f"input keycombination {codes}")
        except (DeviceDisconnected, DeviceTimeout):
            raise
        except DeviceError as exc:
            raise UnsupportedAction(f"key chord {'+'.join(keys)} needs `input keycombination` "
                                    f"(Android 13+); the device said: {exc}") from exc
        return "input:keycombination"

    def scroll(self, direction: ScrollDirection, amount: float, at: Spot | None) -> str:
        a, b = scroll_swipe(self.info.screen_size, direction, amount, (at.x, at.y) if at is not None else None)
        self.swipe_px(a, b, 0.4)
        return "input"

    def drag(self, start: Spot, end: Spot, seconds: float) -> str:
        a, b = self.input_xy(start), self.input_xy(end)
        if self._draganddrop is not False:
            ms = max(int(seconds * 1000), 1)
            try:
                self.run_input(f"input draganddrop {a[0]} {a[1]} {b[0]} {b[1]} {ms}",
                               timeout=self.timeout + seconds)
                self._draganddrop = True
                return "input:draganddrop"
            except DeviceError as exc:
                if self._draganddrop or isinstance(exc, DeviceDisconnected | DeviceTimeout):
                    raise
                log.info("%s: no `input draganddrop` (%s); dragging with a slow swipe", self.serial, exc)
                self._draganddrop = False
        self._swipe(a, b, max(seconds, 1.0))
        return "input:swipe"


def open_android(arg: str = "", **options: Any) -> AndroidDevice:
    """The device for a spec argument: a serial, "HOST:PORT" (adb connect first), or "" for
    the only connected device."""
    unknown = set(options) - _OPTIONS
    if unknown:
        raise ConfigError(f"unknown android option(s) {sorted(unknown)}; known: {sorted(_OPTIONS)}")
    timeout = float(options.get("timeout", 10.0))
    client = make_client(options.pop("adb_host", "127.0.0.1"), int(options.pop("adb_port", 5037)), timeout)
    return AndroidDevice(resolve_serial(client, arg, timeout), client=client, **options)
