"""The harness side of the MiniWoB++ benchmark: the browser, the task area on the screen, the
score. Nothing here is ever shown to the agent.

- The browser: MiniWoB opens each task in a real Chromium window (`render_mode="human"`) on
  the X display. As root a visible Chromium needs `--no-sandbox`, which miniwob only adds when
  headless, so `MINIWOB_CHROME_BINARY` points at a small wrapper script written here. The
  wrapper also sets `--force-device-scale-factor` (default 2): MiniWoB draws 10 px text in a
  160x210 area, and at 2x that text is 20 px, which OCR reads reliably. This is the harness's
  browser configuration (like a user's zoom level), not knowledge of any task.
- The task area is found from pixels (`locate_task_area`): the yellow instruction band at its
  top, the white area below it down to the page background. The "controlled by automated test
  software" infobar and the window position move it; nothing depends on where it is.
- The score is read from the page by the harness (`MiniWoBTask.outcome`): MiniWoB's globals
  `WOB_DONE_GLOBAL` / `WOB_RAW_REWARD_GLOBAL` / `WOB_REWARD_GLOBAL`, the same values
  `env.step(None)` returns, without the cost of a Selenium screenshot.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from guiagent.schema.errors import ConfigError, DeviceError

log = logging.getLogger(__name__)

Box = tuple[int, int, int, int]  # left, top, right, bottom (exclusive), screen pixels

CHROME_FLAGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-quic", "--disable-features=Translate",
                "--hide-scrollbars")
TASK_SIZE = (160, 210)  # MiniWoB's documented task area, CSS px (miniwob.constants.TASK_WIDTH/HEIGHT)


def _no_fields(utterance: str) -> list[tuple[str, str]]:
    """The field extractor of a task MiniWoB registers none for (the harness never reads fields)."""
    return []


def _find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if path := shutil.which(name):
            return path
    raise ConfigError("no Chromium found: apt-get install -y chromium chromium-driver")


def configure_browser(scale: float = 2.0, workdir: Path | None = None) -> dict[str, str]:
    """Write the Chromium wrapper and set MINIWOB_CHROME_BINARY / MINIWOB_CHROMEDRIVER.

    When both variables are already set, they are left alone (the user's own browser setup).
    Returns the two values in use."""
    if os.environ.get("MINIWOB_CHROME_BINARY") and os.environ.get("MINIWOB_CHROMEDRIVER"):
        return {k: os.environ[k] for k in ("MINIWOB_CHROME_BINARY", "MINIWOB_CHROMEDRIVER")}
    values = browser_settings(scale, workdir)
    os.environ.update(values)
    return values


def browser_settings(scale: float = 2.0, workdir: Path | None = None) -> dict[str, str]:
    """Write the Chromium wrapper into `workdir` (default: a new temp folder) and return the
    MINIWOB_CHROME_BINARY / MINIWOB_CHROMEDRIVER values that use it (the environment is not touched)."""
    if not 0.5 <= scale <= 4:
        raise ConfigError(f"browser scale must be between 0.5 and 4, got {scale}")
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if not Path(driver).exists():
        raise ConfigError("no chromedriver found: apt-get install -y chromium-driver")
    folder = workdir or Path(tempfile.mkdtemp(prefix="guiagent-miniwob-"))
    folder.mkdir(parents=True, exist_ok=True)
    wrapper = folder / "chromium-wrapper.sh"
    flags = " ".join([*CHROME_FLAGS, f"--force-device-scale-factor={scale:g}"])
    wrapper.write_text(f'#!/bin/sh\nexec {_find_chromium()} {flags} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return {"MINIWOB_CHROME_BINARY": str(wrapper), "MINIWOB_CHROMEDRIVER": driver}


# -- the task area, from pixels ---------------------------------------------------------------


@dataclass(frozen=True)
class TaskArea:
    """Where the task is on the screen: the whole area, the instruction band at its top, and
    the work area below the band (what the agent looks at and acts on). The work area runs
    past the area's bottom down to the end of the page (`page_bottom`): tasks may draw beyond
    their 210 px (an expanded section pushes its Submit button below)."""

    area: Box
    band: Box
    page_bottom: int = 0

    @property
    def work(self) -> Box:
        return self.area[0], self.band[3], self.area[2], max(self.area[3], self.page_bottom)

    @property
    def scale(self) -> float:
        """Screen pixels per CSS pixel (the browser's device scale factor)."""
        return (self.area[2] - self.area[0]) / TASK_SIZE[0]

    def region(self, box: Box | None = None) -> str:
        """"X,Y,W,H" for `devices.x11.device` (default: the work area)."""
        left, top, right, bottom = box or self.work
        return f"{left},{top},{right - left},{bottom - top}"


def _yellow(rgb: np.ndarray) -> np.ndarray:
    r, g, b = (rgb[..., i].astype(np.int16) for i in range(3))
    return (r > 220) & (g > 220) & (b < 90)


def _longest_run(mask: np.ndarray) -> tuple[int, int]:
    """(start, end) of the longest run of True in a 1-D mask ((0, 0) when none)."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    d = np.diff(padded)
    starts, ends = np.nonzero(d == 1)[0], np.nonzero(d == -1)[0]
    if len(starts) == 0:
        return 0, 0
    i = int(np.argmax(ends - starts))
    return int(starts[i]), int(ends[i])


def locate_task_area(image: Image.Image, min_width: int = 100) -> TaskArea | None:
    """Find the MiniWoB task area on a screenshot, or None when it is not showing.

    The instruction band is the widest solid yellow block; the area has its width and runs
    down from it while rows still hold the white task page, i.e. until the first row that is
    one flat colour other than white (the page background). The aspect ratio of the area
    (160x210 CSS px) is only a cross-check: a measured height far from it is replaced by it
    (a task that fills its bottom rows with one colour)."""
    rgb = np.asarray(image.convert("RGB"))
    yellow = _yellow(rgb)
    rows = yellow.sum(axis=1)
    if rows.max(initial=0) < min_width:
        return None
    # the band's rows: those whose yellow run is (nearly) as wide as the widest one
    widest = int(rows.max())
    band_rows = np.nonzero(rows >= 0.9 * widest)[0]
    top = int(band_rows[0])
    # rows crossing a text line are less yellow; the band goes on across such gaps
    gaps = np.nonzero(np.diff(band_rows) > max(12, 0.15 * widest))[0]  # a text line is ~0.08 of the width
    bottom = int(band_rows[gaps[0]] if len(gaps) else band_rows[-1]) + 1
    # the band's columns: the longest yellow run on its most yellow row (a padding row)
    left, right = _longest_run(yellow[int(rows.argmax())])
    if right - left < min_width or bottom - top < 8:
        return None
    width = right - left
    expected = round(width * TASK_SIZE[1] / TASK_SIZE[0])
    area_bottom = bottom
    h = rgb.shape[0]
    segment = rgb[:, left:right].astype(np.int16)
    while area_bottom < h:
        row = segment[area_bottom]
        flat = int(np.abs(row - row[0]).max()) <= 6
        if flat and int(row[0].min()) < 245:
            break  # one flat non-white colour across the whole width: the page background
        area_bottom += 1
    if abs((area_bottom - top) - expected) > 0.04 * expected:
        log.debug("measured task height %d px, expected about %d px: using the expected one",
                  area_bottom - top, expected)
        area_bottom = min(h, top + expected)
    # the page goes on below the area (its background, or content that overflows) until a flat
    # row of another colour (outside the browser) or the screen's end; at most one area more
    page_bottom = area_bottom
    if area_bottom < h:
        page = segment[area_bottom, 0]
        limit = min(h, area_bottom + (area_bottom - top))
        while page_bottom < limit:
            row = segment[page_bottom]
            if int(np.abs(row - row[0]).max()) <= 6 and int(np.abs(row[0] - page).max()) > 24:
                break
            page_bottom += 1
    return TaskArea(area=(left, top, right, area_bottom), band=(left, top, right, bottom), page_bottom=page_bottom)


def band_visible(image: Image.Image, area: TaskArea) -> bool:
    """The yellow band is where `area` says (a cheap per-episode re-check of a cached area)."""
    left, top, right, bottom = area.band
    crop = np.asarray(image.convert("RGB").crop((left, top, right, min(bottom, top + 4))))
    return bool(_yellow(crop).mean() > 0.9)


# -- one task in a browser --------------------------------------------------------------------


@dataclass(frozen=True)
class TaskOutcome:
    done: bool
    raw_reward: float
    reward: float  # time-decayed
    reason: str | None

    @property
    def success(self) -> bool:
        return self.done and self.raw_reward > 0


class MiniWoBTask:
    """One MiniWoB task in a visible Chromium window (gymnasium env, `render_mode="human"`).

    `reset(seed)` starts an episode (MiniWoB's 10 s clock starts there) and returns the
    harness-only observation (utterance, DOM). `outcome()` reads the score from the page."""

    def __init__(self, task: str) -> None:
        if not task or "/" in task or task.startswith("-"):
            raise ConfigError(f"not a MiniWoB task name: {task!r} (e.g. click-button)")
        if not os.environ.get("DISPLAY"):
            raise DeviceError("MiniWoB needs an X display for the visible browser: set DISPLAY or use Xvfb")
        try:
            import gymnasium
            import miniwob
            from miniwob.environment import MiniWoBEnvironment
        except ImportError as exc:
            raise ConfigError(f"MiniWoB is not installed ({exc}): pip install 'guiagent[miniwob]'") from exc
        gymnasium.register_envs(miniwob)
        self.task = task
        env_id = f"miniwob/{task}-v1"
        page = Path(miniwob.__file__).parent / "html" / "miniwob" / f"{task}.html"
        if env_id not in gymnasium.registry and page.is_file():
            # a task page the package ships without registering (e.g. button-delay): the generic env
            gymnasium.register(id=env_id, entry_point="miniwob.environment:MiniWoBEnvironment",
                               kwargs={"subdomain": task, "field_extractor": _no_fields})
        if env_id not in gymnasium.registry:
            raise ConfigError(f"unknown MiniWoB task {task!r}")
        try:
            self.env: Any = gymnasium.make(env_id, render_mode="human")
        except Exception as exc:
            raise DeviceError(f"could not start Chromium for {task}: {exc}") from exc
        env = self.env.unwrapped
        assert isinstance(env, MiniWoBEnvironment)  # what the miniwob/ ids make
        self.instance: Any = env.instance
        self.area: TaskArea | None = None

    def reset(self, seed: int) -> dict[str, Any]:
        # no Selenium screenshot: it would cost the agent time on MiniWoB's clock
        obs, _info = self.env.reset(seed=seed, options={"record_screenshots": False})
        return obs

    def clock_seconds(self) -> float:
        """The episode's time limit, as the task page sets it (MiniWoB's core.js: 10 s unless the
        task sets more). Harness knowledge: it sets the agent's budget, the agent never sees it."""
        try:
            ms = self.instance.driver.execute_script("return core.EPISODE_MAX_TIME")
        except Exception as exc:  # a page without MiniWoB's core: the common 10 s
            log.warning("cannot read %s's episode clock (%s); assuming 10 s", self.task, exc)
            return 10.0
        return float(ms) / 1000 if isinstance(ms, (int, float)) and ms > 0 else 10.0

    def outcome(self) -> TaskOutcome:
        meta = self.instance.get_metadata()
        return TaskOutcome(bool(meta.get("done")), float(meta.get("raw_reward") or 0.0),
                           float(meta.get("env_reward") or 0.0), meta.get("reason"))

    def wait_outcome(self, timeout: float = 0.5, poll: float = 0.05) -> TaskOutcome:
        """The outcome, giving the page up to `timeout` s to score the last action."""
        deadline = time.monotonic() + timeout
        out = self.outcome()
        while not out.done and time.monotonic() < deadline:
            time.sleep(poll)
            out = self.outcome()
        return out

    def dom_elements(self) -> list[dict[str, Any]]:
        """The page's DOM elements (harness-only: the grounding set's ground truth)."""
        from miniwob.dom import DOMElement

        root = DOMElement(self.instance.driver.execute_script("return core.getDOMInfo();"))
        return [
            {"ref": e.ref, "tag": e.tag, "text": e.text or "", "value": e.value, "id": e.id, "classes": e.classes,
             "left": float(e.left), "top": float(e.top), "width": float(e.width), "height": float(e.height),
             "is_leaf": e.is_leaf, "parent": e.parent.ref if e.parent is not None else None}
            for e in root.subtree_elements
        ]

    def close(self) -> None:
        try:
            self.env.close()
        except Exception as exc:  # a browser that already died must not hide the results
            log.warning("closing %s failed: %s", self.task, exc)


def area_signature(img: Image.Image, area: TaskArea) -> np.ndarray:
    """The task area's pixels, grey, to compare two frames."""
    return np.asarray(img.crop(area.area).convert("L"), dtype=np.int16)


def wait_for_task_area(grab: Any, timeout: float = 3.0, cached: TaskArea | None = None,
                       poll: float = 0.03, previous: np.ndarray | None = None,
                       stale_grace: float = 0.5) -> tuple[TaskArea, Image.Image]:
    """Poll screenshots (`grab()` -> PIL image of the whole screen) until the task area shows
    and two frames in a row agree (the page has painted). `previous` is the area before the
    reset: a frame still equal to it is the old episode not yet repainted, and is waited out
    for up to `stale_grace` s (the same task can come back). Raises DeviceError on timeout."""
    t0 = time.monotonic()
    prev: np.ndarray | None = None
    while True:
        img = grab()
        area = cached if cached is not None and band_visible(img, cached) else locate_task_area(img)
        if area is not None:
            sig = area_signature(img, area)
            stale = (previous is not None and previous.shape == sig.shape and time.monotonic() - t0 < stale_grace
                     and int(np.abs(sig - previous).max()) <= 8)
            if not stale and prev is not None and prev.shape == sig.shape and int(np.abs(sig - prev).max()) <= 8:
                return area, img
            prev = None if stale else sig
        if time.monotonic() - t0 > timeout:
            raise DeviceError("the MiniWoB task area did not appear on the screen "
                              f"within {timeout:g} s (is the browser window on this display?)")
        time.sleep(poll)
