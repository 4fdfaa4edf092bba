"""The one device protocol every backend implements (desktop, Android, Windows UIA).

A device owns the conversion from normalized points to its own pixels (DPI scale, rotation,
monitor origin); nobody else converts. Actions reach `execute` already grounded: every target
carries a point.
"""

from __future__ import annotations

import abc
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from PIL import Image

from guiagent.errors import DeviceError, UnsupportedAction
from guiagent.schema import Action, Element, Outcome, Target, action_targets

Platform = Literal["linux", "windows", "macos", "android"]


@dataclass(frozen=True)
class DeviceInfo:
    """What a device is. `screen_size` is in screenshot pixels."""

    id: str
    platform: Platform
    screen_size: tuple[int, int]
    scale: float = 1.0  # screenshot pixels per logical (input) pixel
    rotation: int = 0  # 0..3, quarter turns (Android)
    density: int | None = None  # dpi (Android)
    model: str = ""
    supported: frozenset[str] = field(default_factory=frozenset)  # action types it can run


@dataclass(frozen=True)
class SettleResult:
    stable: bool  # False when the timeout was hit while the screen still moved
    changed: bool  # the screen differs from the reference frame
    waited_s: float
    frames: int
    last_frame: Image.Image | None = None


def frame_signature(img: Image.Image) -> np.ndarray:
    """The frame in grayscale at full resolution: a ticked checkbox or one typed character is a
    change of a few dozen pixels, which any downscaled thumbnail would average away."""
    return np.asarray(img.convert("L"), dtype=np.int16)


def frames_differ(a: np.ndarray, b: np.ndarray, min_pixels: int = 6, level: int = 24) -> bool:
    """True when at least `min_pixels` pixels changed by more than `level` gray levels
    (compression and dithering noise stay below that)."""
    if a.shape != b.shape:
        return True
    return int(np.count_nonzero(np.abs(a - b) > level)) >= min_pixels


class Device(abc.ABC):
    """A screen to look at and act on."""

    info: DeviceInfo

    @abc.abstractmethod
    def screenshot(self) -> Image.Image:
        """The current screen, RGB, `info.screen_size` pixels."""

    def ui_tree(self) -> list[Element]:
        """Accessibility nodes as Elements (pixel boxes of the screenshot). May be empty."""
        return []

    def foreground(self) -> str | None:
        """The focused app or window, when the platform tells."""
        return None

    @abc.abstractmethod
    def execute(self, action: Action) -> Outcome:
        """Carry out one grounded action. Raises DeviceError subclasses on failure."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections and helpers."""

    # -- shared behaviour ---------------------------------------------------------------

    def check_supported(self, action: Action) -> None:
        if self.info.supported and action.type not in self.info.supported:
            raise UnsupportedAction(
                f"{self.info.platform} device {self.info.id} cannot run a {action.type} action"
            )
        for t in action_targets(action):
            if t.point is None:
                raise DeviceError(f"{action.type} target {t.description or t.element!r} was not grounded to a point")

    def to_pixels(self, target: Target) -> tuple[int, int]:
        """Screenshot pixel of a grounded target. Devices add their own input mapping on top."""
        if target.point is None:
            raise DeviceError("target has no point")
        return target.point.to_pixels(self.info.screen_size)

    def wait_until_stable(
        self,
        reference: Image.Image | None = None,
        timeout: float = 3.0,
        quiet: float = 0.1,
        poll: float = 0.02,
        min_wait: float = 0.0,
        react: float = 0.5,
    ) -> SettleResult:
        """Wait until the screen stops changing (frame difference), not a fixed sleep.

        Returns once the frames of the last `quiet` seconds agree, or at `timeout`. When a
        `reference` (the pre-action frame) is given, a screen that has not changed from it yet
        is given `react` seconds to start reacting (a slow app launch) before it counts as
        settled-unchanged; a screen that did change returns as soon as it is quiet.
        """
        t0 = time.monotonic()
        if min_wait > 0:
            time.sleep(min_wait)
        ref_sig = frame_signature(reference) if reference is not None else None
        last = self.screenshot()
        last_sig = frame_signature(last)
        frames, quiet_since = 1, time.monotonic()
        react = max(react, quiet) if ref_sig is not None else 0.0
        while True:
            now = time.monotonic()
            changed = ref_sig is not None and frames_differ(ref_sig, last_sig)
            quiet_enough = now - quiet_since >= quiet
            if quiet_enough and (ref_sig is None or changed or now - t0 >= react):
                return SettleResult(True, changed, now - t0, frames, last)
            if now - t0 >= timeout:
                return SettleResult(False, changed, now - t0, frames, last)
            time.sleep(poll)
            img = self.screenshot()
            sig = frame_signature(img)
            frames += 1
            if frames_differ(sig, last_sig):
                quiet_since = time.monotonic()
            last, last_sig = img, sig

    def __enter__(self) -> Device:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
