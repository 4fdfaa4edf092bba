"""The one device protocol every backend implements (desktop, Android, Windows UIA).

A device owns the conversion from normalized points to its own pixels (DPI scale, rotation,
monitor origin); nobody else converts. Actions reach `execute` already grounded: every target
carries a point. `execute` is written once, here: it checks the capability, converts every
target to a `Spot` (screenshot pixels) once and dispatches to small primitives (`tap`,
`type_text`, `scroll`, ...) that each backend overrides and that return the `via` of the Outcome.
"""

from __future__ import annotations

import abc
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, assert_never

import numpy as np
from PIL import Image

from guiagent.schema import (
    Action,
    ActionClass,
    Back,
    Click,
    Done,
    DoubleClick,
    Drag,
    Element,
    Home,
    Hover,
    Key,
    LongPress,
    Modifier,
    OpenApp,
    Outcome,
    RightClick,
    Scroll,
    ScrollDirection,
    Swipe,
    Target,
    TypeText,
    Wait,
    action_targets,
    describe_action,
    mouse_only,
)
from guiagent.schema.errors import DeviceError, UnsupportedAction

if TYPE_CHECKING:
    from devices.killswitch import KillSwitch

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
    supported: frozenset[ActionClass] = field(default_factory=frozenset)  # action classes it can run
    touch: bool = False  # a touch screen (swipes; a right click is a long press there)
    trusts_a11y: bool = False  # its a11y tree names what is on screen (OCR only where it is empty)
    resettable: bool = False  # `reset()` puts the whole device back to its start state (virtual phone)

    def can(self, action: Action | ActionClass) -> bool:
        """Whether the device runs this action (class); an empty `supported` declares nothing."""
        cls = action if isinstance(action, type) else type(action)
        return not self.supported or cls in self.supported


@dataclass(frozen=True)
class Spot:
    """A grounded target converted once: its screenshot pixel, and the element id the
    observation named (a device acting on elements, Windows UIA, uses it)."""

    x: int
    y: int
    element: str | None = None


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
    return np.asarray(img.convert("L"))


def frames_differ(a: np.ndarray, b: np.ndarray, min_pixels: int = 6, level: int = 24) -> bool:
    """True when at least `min_pixels` pixels changed by more than `level` gray levels
    (compression and dithering noise stay below that). Only the rows that differ at all are
    compared closely: on a 4K frame a quiet screen costs one equality scan."""
    if a.shape != b.shape:
        return True
    rows = np.flatnonzero((a != b).any(axis=1))
    if len(rows) == 0:
        return False
    diff = np.abs(a[rows].astype(np.int16) - b[rows].astype(np.int16))
    return int(np.count_nonzero(diff > level)) >= min_pixels


class Device(abc.ABC):
    """A screen to look at and act on.

    Subclasses implement `screenshot` and the primitives for the actions their
    `info.supported` lists; a primitive not overridden raises UnsupportedAction.
    """

    info: DeviceInfo
    # lent by devices.wrappers.KillSwitchDevice: a trip cuts `sleep` (waits, long presses) short
    kill_switch: KillSwitch | None = None

    @abc.abstractmethod
    def screenshot(self) -> Image.Image:
        """The current screen, RGB, `info.screen_size` pixels."""

    def ui_tree(self) -> list[Element]:
        """Accessibility nodes as Elements (pixel boxes of the screenshot). May be empty."""
        return []

    def foreground(self) -> str | None:
        """The focused app or window, when the platform tells."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections and helpers."""

    def reset(self) -> None:
        """Back to the start state; only where `info.resettable` (the virtual phone)."""
        raise UnsupportedAction(f"{self.info.platform} device {self.info.id} cannot be reset")

    # -- acting: one dispatch for every device ------------------------------------------

    def execute(self, action: Action) -> Outcome:
        """Carry out one grounded action. Raises DeviceError subclasses on failure."""
        self.check_supported(action)
        spots = [self.spot(t) for t in action_targets(action)]
        with self.acting(action):
            via = self._dispatch(action, spots)
        return Outcome(status="ok", via=via)

    def _dispatch(self, action: Action, spots: list[Spot]) -> str:
        match action:
            case Click() if action.modifiers:
                return self.modified_tap(spots[0], action.modifiers)
            case Click():
                return self.tap(spots[0])
            case DoubleClick():
                return self.double_tap(spots[0])
            case RightClick():
                return self.secondary_tap(spots[0])
            case LongPress():
                return self.long_press(spots[0], action.duration)
            case Hover():
                return self.hover(spots[0])
            case TypeText():
                return self.type_text(action.text, into=spots[0] if spots else None, clear=action.clear,
                                      submit=action.submit)
            case Key():
                return self.press_keys(action.keys)
            case Scroll():
                return self.scroll(action.direction, action.amount, spots[0] if spots else None)
            case Swipe():
                return self.swipe(spots[0], spots[1], action.duration)
            case Drag():
                return self.drag(spots[0], spots[1], action.duration)
            case OpenApp():
                return self.open_app(action.name)
            case Back():
                return self.back()
            case Home():
                return self.home()
            case Wait():
                return self.wait(action.seconds)
            case Done():
                return "noop"
            case _:
                assert_never(action)

    @contextlib.contextmanager
    def acting(self, action: Action) -> Iterator[None]:
        """Around every dispatch (after the checks): a device's lock, error translation, cache
        invalidation."""
        yield

    def _lacks(self, what: str) -> UnsupportedAction:
        return UnsupportedAction(f"{self.info.platform} device {self.info.id} cannot {what}")

    # The primitives. Points are screenshot pixels; each returns the Outcome's `via`.

    def tap(self, at: Spot) -> str:
        raise self._lacks("click")

    def modified_tap(self, at: Spot, modifiers: tuple[Modifier, ...]) -> str:
        """A click with `modifiers` held down around it (released whatever happens)."""
        raise self._lacks(f"{'+'.join(modifiers)}+click")

    def double_tap(self, at: Spot) -> str:
        raise self._lacks("double click")

    def secondary_tap(self, at: Spot) -> str:
        raise self._lacks("right click")

    def long_press(self, at: Spot, seconds: float) -> str:
        raise self._lacks("long press")

    def hover(self, at: Spot) -> str:
        """Move the pointer to `at`, pressing nothing."""
        raise self._lacks("hover")

    def type_text(self, text: str, *, into: Spot | None, clear: bool, submit: bool) -> str:
        """Focus `into` first when given, empty the field when `clear`, press Enter when `submit`."""
        raise self._lacks("type")

    def press_keys(self, keys: tuple[str, ...]) -> str:
        raise self._lacks("press keys")

    def scroll(self, direction: ScrollDirection, amount: float, at: Spot | None) -> str:
        raise self._lacks("scroll")

    def swipe(self, start: Spot, end: Spot, seconds: float) -> str:
        raise self._lacks("swipe")

    def drag(self, start: Spot, end: Spot, seconds: float) -> str:
        raise self._lacks("drag")

    def open_app(self, name: str) -> str:
        raise self._lacks("open apps")

    def back(self) -> str:
        raise self._lacks("go back")

    def home(self) -> str:
        raise self._lacks("go home")

    def wait(self, seconds: float) -> str:
        self.sleep(seconds)
        return "sleep"

    # -- shared behaviour ---------------------------------------------------------------

    def sleep(self, seconds: float) -> None:
        """A pause that a tripped kill switch cuts short (raising StopRequested)."""
        ks = self.kill_switch
        if ks is None:
            time.sleep(seconds)
        elif ks.wait(seconds):
            ks.check()

    def check_supported(self, action: Action) -> None:
        if self.info.touch and mouse_only(action):
            raise UnsupportedAction(
                f"{self.info.platform} device {self.info.id} has no mouse for {describe_action(action)}"
            )
        if not self.info.can(action):
            raise UnsupportedAction(
                f"{self.info.platform} device {self.info.id} cannot run a {action.type} action"
            )
        for t in action_targets(action):
            if t.point is None:
                raise DeviceError(f"{action.type} target {t.description or t.element!r} was not grounded to a point")

    def spot(self, target: Target) -> Spot:
        x, y = self.to_pixels(target)
        return Spot(x, y, target.element)

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
