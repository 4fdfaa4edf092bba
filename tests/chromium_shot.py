"""A real Chromium's rendering of a local page: a headless screenshot (no display needed).
Skips the test when Chromium is missing or cannot take one here."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image


def page_shot(html: Path, size: str = "400,300") -> Image.Image:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("chromium is not installed")
    out = html.with_suffix(".png")
    subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--force-device-scale-factor=1", f"--window-size={size}", f"--screenshot={out}", html.as_uri()],
                   capture_output=True, timeout=60, check=False)
    if not out.exists():
        pytest.skip("chromium could not take a screenshot here")
    return Image.open(out).convert("RGB")
