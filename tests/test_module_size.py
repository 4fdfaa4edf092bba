"""Modules stay small (DESIGN.md, quality bar: "modules under ~400 lines"): a module of the library
over LIMIT lines fails this test, which names every offender so it can be split along a real seam."""

from __future__ import annotations

from pathlib import Path

from layers_check import PACKAGES

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 420  # the ~400-line bar plus a little slack, so a small fix does not force a split


def line_count(path: Path) -> int:
    """Lines as `wc -l` counts them (a last line without a newline counts too)."""
    text = path.read_text(encoding="utf-8")
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def oversized(root: Path, limit: int = LIMIT) -> list[tuple[str, int]]:
    """(path relative to root, lines) of every .py under the library's packages longer than `limit`."""
    found = [(p.relative_to(root).as_posix(), line_count(p))
             for pkg in PACKAGES for p in sorted((root / pkg).rglob("*.py")) if "__pycache__" not in p.parts]
    return sorted(((rel, n) for rel, n in found if n > limit), key=lambda x: -x[1])


def test_no_library_module_is_over_the_limit() -> None:
    assert set(PACKAGES) == {"guiagent", "devices", "grounding", "app"}  # the folders this test covers
    offenders = oversized(ROOT)
    assert not offenders, f"{len(offenders)} module(s) over {LIMIT} lines (split them along a real seam):\n" + \
        "\n".join(f"  {rel}: {n} lines" for rel, n in offenders)


def test_the_check_counts_lines_and_names_offenders(tmp_path: Path) -> None:
    for pkg in PACKAGES:
        (tmp_path / pkg).mkdir()
    (tmp_path / "guiagent" / "small.py").write_text("x = 1\n" * LIMIT, encoding="utf-8")
    (tmp_path / "devices" / "deep").mkdir()
    (tmp_path / "devices" / "deep" / "big.py").write_text("x = 1\n" * LIMIT + "y = 2", encoding="utf-8")  # no final \n
    (tmp_path / "app" / "notes.txt").write_text("\n" * 1000, encoding="utf-8")  # not a module
    assert line_count(tmp_path / "devices" / "deep" / "big.py") == LIMIT + 1
    assert oversized(tmp_path) == [("devices/deep/big.py", LIMIT + 1)]
