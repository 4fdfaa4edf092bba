"""The floors of DESIGN.md ("Layers"): imports only go down, devices/ and grounding/ never import
each other, and there is no import cycle between library modules. The checker (tests/layers_check.py)
reads every .py of guiagent/, grounding/, devices/ and app/ with `ast`, so imports inside functions
and under `if TYPE_CHECKING:` count like any other."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from layers_check import LAYERS, PACKAGES, Violation, check, floor_of

ROOT = Path(__file__).resolve().parents[1]


def _report(violations: list[Violation]) -> str:
    return f"{len(violations)} layer violation(s) (see DESIGN.md, Layers):\n" + "\n".join(map(str, violations))


def test_the_library_keeps_its_floors_and_has_no_import_cycles() -> None:
    violations = check(ROOT)
    assert not violations, _report(violations)


def test_importing_guiagent_stays_light() -> None:
    heavy = ("torch", "transformers", "PySide6", "onnxruntime", "rapidocr", "fastapi", "uvicorn", "httpx",
             "numpy", "PIL", "adbutils", "datasets")
    code = (
        "import sys, guiagent\n"
        f"heavy = {heavy!r}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy + ('grounding', 'devices', 'app')\n"
        "             or m.startswith('guiagent.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", f"`import guiagent` loads {out.stdout.strip()}"


def test_the_table_is_consistent() -> None:
    assert floor_of("guiagent") == (1, "schema")  # the package __init__ runs before any guiagent.* module
    assert floor_of("guiagent.schema.assets") == (1, "schema")
    assert floor_of("guiagent.cli.run") == (4, "cli") and floor_of("app.main_window") == (4, "app")
    assert floor_of("devices.simphone.phone") == (2, "devices") and floor_of("grounding.vlm") == (2, "grounding")
    assert floor_of("guiagent.nonexistent") is None
    assert {p.split(".")[0].rstrip("*") for p in LAYERS} == set(PACKAGES)


def _plant(root: Path, rel: str, code: str) -> int:
    """Append `code` to root/rel (creating it); returns the line number of its first line."""
    path = root / rel
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if old and not old.endswith("\n"):
        old += "\n"
    path.write_text(old + code, encoding="utf-8")
    return old.count("\n") + 1


def _find(violations: list[Violation], rule: str, where: str, *words: str) -> Violation:
    hits = [v for v in violations if v.rule == rule and v.where == where and all(w in v.message for w in words)]
    assert hits, f"expected a [{rule}] violation at {where} naming {words}; got:\n{_report(violations)}"
    return hits[0]


def _copy_library(root: Path) -> set[str]:
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, root / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return {str(v) for v in check(root)}  # whatever the tree has now (others may be mid-edit)


def _only_planted(found: list[Violation], before: set[str], marks: list[str]) -> None:
    """Every new report is at a planted line, or is a cycle through one."""
    new = [v for v in found if str(v) not in before]
    assert all(any(m in str(v) for m in marks) for v in new), _report(new)


def test_the_checker_reports_imports_that_break_the_floors(tmp_path: Path) -> None:
    before = _copy_library(tmp_path)
    # floor 1 importing floor 3, inside a function, absolute and `from pkg import module` forms
    l_agent = _plant(tmp_path, "guiagent/schema/actions.py",
                     "\n\ndef _planted():\n    from guiagent.agent import Agent\n\n    return Agent\n") + 3
    l_mod = _plant(tmp_path, "guiagent/schema/errors.py", "\n\ndef _planted():\n    from guiagent import registry\n") + 3
    # relative `from .. import module`, and importlib with a literal name
    l_rel = _plant(tmp_path, "guiagent/schema/keys.py", "\n\ndef _planted():\n    from .. import runner\n") + 3
    l_lib = _plant(tmp_path, "guiagent/formats/action_json.py",
                   "\n\ndef _planted():\n    import importlib\n\n    return importlib.import_module('guiagent.cli.run')\n") + 5
    # the package __init__ runs before every guiagent.* module: it stays on floor 1
    l_init = _plant(tmp_path, "guiagent/__init__.py", "from guiagent.planning.base import Planner\n")
    # devices -> grounding under TYPE_CHECKING; grounding -> devices as `import x.y as z` in a function
    l_dg = _plant(tmp_path, "devices/coords.py",
                  "\nfrom typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from grounding.base import Grounder\n") + 4
    l_gd = _plant(tmp_path, "grounding/links.py", "\n\ndef _planted():\n    import devices.base as b\n\n    return b\n") + 3
    # floor 2 -> floor 3, floor 3 -> floor 4
    l_up = _plant(tmp_path, "devices/simphone/fonts.py", "\n\ndef _planted():\n    from guiagent.daemon import pool\n") + 3
    l_face = _plant(tmp_path, "guiagent/runner.py", "\n\ndef _planted():\n    from app.settings import Settings\n") + 3
    # a module nobody placed on a floor
    _plant(tmp_path, "guiagent/stray.py", "X = 1\n")

    found = check(tmp_path)
    _find(found, "floor", f"guiagent/schema/actions.py:{l_agent}", "guiagent.schema.actions (floor 1", "guiagent.agent (floor 3")
    _find(found, "floor", f"guiagent/schema/errors.py:{l_mod}", "guiagent.registry (floor 3")
    _find(found, "floor", f"guiagent/schema/keys.py:{l_rel}", "guiagent.runner (floor 3")
    _find(found, "floor", f"guiagent/formats/action_json.py:{l_lib}", "guiagent.cli.run (floor 4")
    _find(found, "floor", f"guiagent/__init__.py:{l_init}", "guiagent (floor 1", "guiagent.planning.base (floor 3")
    _find(found, "apart", f"devices/coords.py:{l_dg}", "devices.coords", "grounding.base", "never import each other")
    _find(found, "apart", f"grounding/links.py:{l_gd}", "grounding.links", "devices.base")
    _find(found, "floor", f"devices/simphone/fonts.py:{l_up}", "(floor 2", "guiagent.daemon.pool (floor 3")
    _find(found, "floor", f"guiagent/runner.py:{l_face}", "app.settings (floor 4")
    _find(found, "unplaced", "guiagent/stray.py:1", "guiagent.stray has no floor")
    _only_planted(found, before, [
        f"guiagent/schema/actions.py:{l_agent}", f"guiagent/schema/errors.py:{l_mod}", f"guiagent/schema/keys.py:{l_rel}",
        f"guiagent/formats/action_json.py:{l_lib}", f"guiagent/__init__.py:{l_init}", f"devices/coords.py:{l_dg}",
        f"grounding/links.py:{l_gd}", f"devices/simphone/fonts.py:{l_up}", f"guiagent/runner.py:{l_face}",
        "guiagent/stray.py:1"])


def test_the_checker_reports_import_cycles_with_their_path(tmp_path: Path) -> None:
    before = _copy_library(tmp_path)
    # two new modules: `from pkg import module` one way, a relative import in a function the other
    l_a = _plant(tmp_path, "grounding/_planted_a.py", "from grounding import _planted_b\n")
    _plant(tmp_path, "grounding/_planted_b.py", "def f():\n    from ._planted_a import _planted_b\n")
    # through existing modules: vlm imports coord_parse; render imports fonts (under TYPE_CHECKING here)
    l_cp = _plant(tmp_path, "grounding/coord_parse.py", "\n\ndef _planted():\n    from .vlm import VlmGrounder\n") + 3
    l_tc = _plant(tmp_path, "devices/simphone/fonts.py",
                  "\nfrom typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from devices.simphone.render import Box\n") + 4

    found = check(tmp_path)
    _find(found, "cycle", f"grounding/_planted_a.py:{l_a}",
          "grounding._planted_a -> grounding._planted_b -> grounding._planted_a", "(grounding/_planted_b.py:2)")
    _find(found, "cycle", f"grounding/coord_parse.py:{l_cp}", "grounding.coord_parse -> grounding.vlm -> grounding.coord_parse",
          "grounding.vlm -> grounding.coord_parse (grounding/vlm.py:")
    _find(found, "cycle", f"devices/simphone/fonts.py:{l_tc}",
          "devices.simphone.fonts -> devices.simphone.render -> devices.simphone.fonts")
    _only_planted(found, before, [f"grounding/_planted_a.py:{l_a}", f"grounding/coord_parse.py:{l_cp}",
                                  f"devices/simphone/fonts.py:{l_tc}"])
