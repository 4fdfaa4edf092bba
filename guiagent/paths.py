"""Where the project's files live (assets ship beside the packages in a source checkout)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "assets"
PROMPTS = ASSETS / "prompts"
SCENARIOS = ASSETS / "scenarios"
