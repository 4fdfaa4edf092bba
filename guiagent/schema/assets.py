"""The files guiagent ships beside its code: prompt templates, virtual-phone scenarios and the
demo form app. The one place that finds them.

In the source tree they live in the top-level `assets/` folder; pyproject.toml maps that folder
to the package `guiagent_assets` (setuptools `package-dir`), so an editable install and an
installed wheel both import it under that name and `importlib.resources` reads it the same way.
Nothing here imports other guiagent modules (floor 1): callers turn a missing file into their
own error.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from importlib.resources import as_file, files
from importlib.resources.abc import Traversable
from pathlib import Path

PACKAGE = "guiagent_assets"


def root() -> Traversable:
    """The assets folder (a directory in a checkout or an install; a Traversable in general)."""
    return files(PACKAGE)


def prompt_path(name: str) -> Traversable:
    """`prompts/NAME.txt` (it may not exist: check `.is_file()`)."""
    return root() / "prompts" / f"{name}.txt"


def prompt(name: str) -> str:
    """The text of the prompt template `prompts/NAME.txt`; FileNotFoundError naming it if missing."""
    path = prompt_path(name)
    if not path.is_file():
        raise FileNotFoundError(f"no prompt template {name!r} (looked for {path})")
    return path.read_text(encoding="utf-8")


def prompt_names() -> list[str]:
    return _stems(root() / "prompts", ".txt")


def scenario_path(name: str) -> Traversable:
    """`scenarios/NAME.json` (it may not exist: check `.is_file()`)."""
    return root() / "scenarios" / f"{name}.json"


def scenario_names() -> list[str]:
    return _stems(root() / "scenarios", ".json")


def demo_form_path() -> AbstractContextManager[Path]:
    """A context giving the demo form app as a real file, for `python PATH` in a subprocess
    (it is the installed file itself unless the package lives in a zip)."""
    return as_file(root() / "demo_form.py")


def _stems(folder: Traversable, suffix: str) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(p.name[: -len(suffix)] for p in folder.iterdir() if p.is_file() and p.name.endswith(suffix))
