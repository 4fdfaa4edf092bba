"""`open_app` on Android: by package or by the label a person sees.

Android has no shell command that maps a launcher label to a package (labels live in the APK
resources; `aapt` is not on phones). The approach, cheapest first:

1. the name is an installed package (`pm list packages`) -> `monkey -p PKG -c
   android.intent.category.LAUNCHER 1`;
2. a label seen before -> its cached package;
3. a package whose last segment equals the label ("Settings" -> com.android.settings,
   "Notes" -> com.example.notes); several candidates are tried shortest first, `monkey`
   refuses the ones without a launcher activity;
4. the launcher: HOME, find the icon by its label in the UI tree (then in the app drawer,
   opened with a swipe up), tap it, and learn the package from the window that gets focus.
   The label -> package pair is cached, so the next time is step 2.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Protocol

from guiagent.schema import Element, Point, Target
from guiagent.schema.errors import DeviceError

log = logging.getLogger(__name__)

PACKAGE = re.compile(r"^[A-Za-z][\w]*(\.[A-Za-z_][\w]*)+$")


def _norm(label: str) -> str:
    return re.sub(r"[^0-9a-z]", "", label.casefold())


class _ScreenInfo(Protocol):
    @property
    def screen_size(self) -> tuple[int, int]: ...


class Phone(Protocol):
    """What opening an app needs of a phone (`devices.android.device.AndroidDevice` is one)."""

    @property
    def serial(self) -> str: ...

    @property
    def info(self) -> _ScreenInfo: ...

    def shell(self, cmd: str, *, timeout: float | None = None) -> str: ...

    def ui_tree(self) -> list[Element]: ...

    def foreground(self) -> str | None: ...

    def keyevent(self, *codes: int) -> None: ...

    def swipe_px(self, a: tuple[int, int], b: tuple[int, int], seconds: float) -> None: ...

    def tap(self, target: Target, /) -> object: ...


class AppResolver:
    def __init__(self, device: Phone, focus_timeout: float = 5.0) -> None:
        self.device = device
        self.focus_timeout = focus_timeout
        self.labels: dict[str, str] = {}  # normalized label -> package
        self._packages: set[str] | None = None

    def packages(self, refresh: bool = False) -> set[str]:
        if self._packages is None or refresh:
            out = self.device.shell("pm list packages")
            self._packages = {line.split(":", 1)[1].strip() for line in out.splitlines()
                              if line.startswith("package:")}
        return self._packages

    def open(self, name: str) -> str:
        """Open an app by package or label; returns how ("monkey" or "launcher")."""
        name = name.strip()
        for pkg in self.candidates(name):
            if self.launch(pkg):
                self.labels.setdefault(_norm(name), pkg)
                return "monkey"
        self.launch_from_launcher(name)
        return "launcher"

    def candidates(self, name: str) -> list[str]:
        """Packages `name` may mean, most likely first (may be empty)."""
        pkgs = self.packages()
        if PACKAGE.match(name):
            if name in pkgs or name in self.packages(refresh=True):
                return [name]
            raise DeviceError(f"package {name!r} is not installed on {self.device.serial}")
        key = _norm(name)
        if not key:
            raise DeviceError(f"cannot open an app named {name!r}")
        if key in self.labels:
            return [self.labels[key]]
        return sorted((p for p in pkgs if _norm(p.rsplit(".", 1)[-1]) == key), key=len)

    def launch(self, package: str) -> bool:
        """Start `package`'s launcher activity; False when it has none."""
        out = self.device.shell(f"monkey -p {package} -c android.intent.category.LAUNCHER 1")
        if "No activities found" in out or "aborted" in out:
            log.debug("%s has no launcher activity: %s", package, out.strip()[:120])
            return False
        if "Exception" in out or "not found" in out:
            raise DeviceError(f"monkey could not start {package}: {out.strip()[:200]!r}")
        return True

    def _find(self, label: str) -> Element | None:
        key = _norm(label)
        named = [e for e in self.device.ui_tree() if e.name and e.enabled]
        exact = [e for e in named if _norm(e.name) == key]
        if exact:
            return min(exact, key=lambda e: not e.clickable)
        prefix = [e for e in named if _norm(e.name).startswith(key)]
        return prefix[0] if len(prefix) == 1 else None

    def launch_from_launcher(self, label: str) -> str:
        """Tap the launcher icon labelled `label`; returns (and caches) its package."""
        dev = self.device
        dev.keyevent(3)  # HOME
        icon = self._find(label)
        if icon is None:  # not on the home screen: open the app drawer
            w, h = dev.info.screen_size
            dev.swipe_px((w // 2, int(h * 0.85)), (w // 2, int(h * 0.3)), 0.3)
            icon = self._find(label)
        if icon is None:
            known = ", ".join(sorted(self.packages())[:15])
            raise DeviceError(f"no app called {label!r} on {dev.serial}: not a package, no package named "
                              f"like it, no launcher icon with that label (packages: {known}, ...)")
        before = dev.foreground()
        dev.tap(Target(point=Point.from_pixels(*icon.center, dev.info.screen_size)))
        deadline = time.monotonic() + self.focus_timeout
        while time.monotonic() < deadline:
            now = dev.foreground()
            if now and now != before and "/" in now:
                package = now.split("/", 1)[0]
                self.labels[_norm(label)] = package
                log.info("app label %r is package %s (learned from the launcher)", label, package)
                return package
            time.sleep(0.1)
        raise DeviceError(f"tapped the {label!r} icon on {dev.serial} but no app window took focus")
