"""The floors of DESIGN.md ("Layers"), checked over the source with the standard library's `ast`.

A test tool, not product code: tests/test_layers.py runs `check(ROOT)` and fails on any violation.

Why `ast` and not import-linter: we need every import counted -- module level, inside functions, under
`if TYPE_CHECKING:`, in `try/except ImportError`, and `importlib.import_module("literal")` -- with the
exact file:line of each, and a check that runs on a copy of the tree (tmp_path) without installing it.
grimp (import-linter's engine) does count function-level imports, but it needs the packages importable
from sys.path, reports contract breaks in its own format and would be one more dependency for ~200 lines
of code that is easy to read. Here the whole policy is the one table below.

Rules:
  floor     a module imports only its own floor and the floors below (floor 1 imports nothing of ours above
            it; a package's __init__ runs whenever a submodule is imported, so `guiagent/__init__.py` is
            floor 1 and must stay light).
  apart     components listed in APART never import each other (devices/ and grounding/).
  cycle     no import cycle between library modules (any import counts: function-level, TYPE_CHECKING...).
  unplaced  every library module has a floor in LAYERS (a new top-level module must be placed).
  syntax    every file parses.
"""

from __future__ import annotations

import ast
import functools
from collections import deque
from dataclasses import dataclass
from pathlib import Path

# The library's top-level packages; only imports of these count ("ours").
PACKAGES = ("guiagent", "grounding", "devices", "app")

# pattern -> (floor, component). "x.*" means x and everything under it; "x" means module x only.
# The most specific pattern wins. Moving a module to another floor means editing this table only.
LAYERS: dict[str, tuple[int, str]] = {
    # floor 1: the vocabulary and pure codecs over it; imports nothing of ours above it.
    "guiagent": (1, "schema"),  # the package __init__ runs before any guiagent.* module: stays light
    "guiagent.schema.*": (1, "schema"),
    "guiagent.formats.*": (1, "formats"),
    # floor 2: the world and the eyes.
    "devices.*": (2, "devices"),
    "grounding.*": (2, "grounding"),
    # floor 3: the loop and its users.
    "guiagent.agent": (3, "loop"),
    "guiagent.turn": (3, "loop"),
    "guiagent.runner": (3, "loop"),
    "guiagent.safety.*": (3, "loop"),
    "guiagent.registry": (3, "loop"),
    "guiagent.events": (3, "loop"),
    "guiagent.demo": (3, "loop"),
    "guiagent.planning.*": (3, "planning"),
    "guiagent.recorder.*": (3, "recorder"),
    "guiagent.daemon.*": (3, "daemon"),
    "guiagent.eval.*": (3, "eval"),
    "guiagent.explore.*": (3, "explore"),
    "guiagent.models.*": (3, "models"),
    # floor 4: the faces.
    "guiagent.cli.*": (4, "cli"),
    "guiagent.__main__": (4, "cli"),
    "app.*": (4, "app"),
}

# Components that never import each other, whatever their floors.
APART: list[tuple[str, str]] = [("devices", "grounding")]


@dataclass(frozen=True)
class Import:
    src: str  # importing module
    dst: str  # imported module of ours (resolved to the module, not the attribute)
    path: Path
    line: int

    def where(self, root: Path) -> str:
        return f"{self.path.relative_to(root)}:{self.line}"


@dataclass(frozen=True)
class Violation:
    rule: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: [{self.rule}] {self.message}"


def floor_of(module: str) -> tuple[int, str] | None:
    best: tuple[int, tuple[int, str]] | None = None
    for pattern, place in LAYERS.items():
        if pattern.endswith(".*"):
            base = pattern[:-2]
            hit = module == base or module.startswith(base + ".")
            weight = 2 * base.count(".") + 1
        else:
            hit = module == pattern
            weight = 2 * pattern.count(".") + 2
        if hit and (best is None or weight > best[0]):
            best = (weight, place)
    return best[1] if best else None


def discover(root: Path) -> dict[str, Path]:
    """module name -> file, for every .py of the library packages under root."""
    modules: dict[str, Path] = {}
    for pkg in PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            rel = path.relative_to(root).with_suffix("")
            parts = list(rel.parts)
            if "__pycache__" in parts:
                continue
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of a dotted name that is one of our modules (None: not ours)."""
    if name.split(".")[0] not in PACKAGES:
        return None
    parts = name.split(".")
    while parts:
        cand = ".".join(parts)
        if cand in modules:
            return cand
        parts.pop()
    return None


def _base_package(module: str, path: Path, level: int) -> str:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    parts = package.split(".") if package else []
    if level - 1 > len(parts):
        raise ImportError(f"relative import beyond the top-level package (level {level})")
    return ".".join(parts[: len(parts) - (level - 1)])


def _targets(node: ast.AST, module: str, path: Path, modules: dict[str, Path]) -> list[str]:
    """The modules of ours one import statement (or importlib.import_module("x") call) loads."""
    names: list[str] = []
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            pkg = _base_package(module, path, node.level)
            base = f"{pkg}.{base}" if base and pkg else (pkg or base)
        # `from pkg import mod` loads pkg.mod when it is a module; otherwise the name is an attribute of base.
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            names.append(sub if sub in modules else base)
    elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        func = node.func
        fname = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        arg = node.args[0].value
        if fname in ("import_module", "__import__") and isinstance(arg, str) and not arg.startswith("."):
            names = [arg]
    out = []
    for name in names:
        dst = _resolve(name, modules)
        if dst is not None and dst != module and dst not in out:
            out.append(dst)
    return out


@functools.cache
def _import_nodes(source: str) -> tuple[ast.AST, ...]:
    """Every import statement and call of a source text, anywhere in it (cached: copies of the tree
    in tests parse once)."""
    return tuple(n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Import | ast.ImportFrom | ast.Call))


def collect(root: Path) -> tuple[dict[str, Path], list[Import], list[Violation]]:
    modules = discover(root)
    imports: list[Import] = []
    problems: list[Violation] = []
    for module, path in modules.items():
        rel = path.relative_to(root)
        try:
            nodes = _import_nodes(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError) as exc:
            line = getattr(exc, "lineno", 0) or 0
            problems.append(Violation("syntax", f"{rel}:{line}", f"cannot parse: {exc}"))
            continue
        for node in nodes:
            try:
                targets = _targets(node, module, path, modules)
            except ImportError as exc:
                problems.append(Violation("syntax", f"{rel}:{node.lineno}", str(exc)))
                continue
            imports.extend(Import(module, dst, path, node.lineno) for dst in targets)
    imports.sort(key=lambda i: (str(i.path), i.line, i.dst))
    return modules, imports, problems


def _layer_violations(root: Path, modules: dict[str, Path], imports: list[Import]) -> list[Violation]:
    out: list[Violation] = []
    for module, path in modules.items():
        if floor_of(module) is None:
            out.append(Violation("unplaced", f"{path.relative_to(root)}:1",
                                 f"{module} has no floor: add it to LAYERS in tests/layers_check.py"))
    apart = {frozenset(pair) for pair in APART}
    for imp in imports:
        src, dst = floor_of(imp.src), floor_of(imp.dst)
        if src is None or dst is None:
            continue
        (sf, sc), (df, dc) = src, dst
        if df > sf:
            out.append(Violation(
                "floor", imp.where(root),
                f"{imp.src} (floor {sf}, {sc}) imports {imp.dst} (floor {df}, {dc}): imports only go down"))
        elif sc != dc and frozenset((sc, dc)) in apart:
            out.append(Violation(
                "apart", imp.where(root),
                f"{imp.src} ({sc}) imports {imp.dst} ({dc}): {sc}/ and {dc}/ never import each other"))
    return out


def _sccs(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components (Tarjan, iterative) with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, it = work[-1]
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        top = stack.pop()
                        on_stack.discard(top)
                        comp.append(top)
                        if top == node:
                            break
                    if len(comp) > 1:
                        result.append(sorted(comp))
    return result


def _shortest_cycle(graph: dict[str, set[str]], start: str, members: set[str]) -> list[str]:
    """The shortest path start -> ... -> start inside one component."""
    prev: dict[str, str] = {}
    queue = deque([start])
    seen = {start}
    while queue:
        node = queue.popleft()
        for nxt in sorted(graph[node] & members):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(prev[path[-1]])
                return [*reversed(path), start]
            if nxt not in seen:
                seen.add(nxt)
                prev[nxt] = node
                queue.append(nxt)
    return []


def _cycle_violations(root: Path, modules: dict[str, Path], imports: list[Import]) -> list[Violation]:
    graph: dict[str, set[str]] = {m: set() for m in modules}
    first: dict[tuple[str, str], Import] = {}
    for imp in imports:
        graph[imp.src].add(imp.dst)
        first.setdefault((imp.src, imp.dst), imp)
    out: list[Violation] = []
    for comp in _sccs(graph):
        # One report per cycle group: its shortest cycle (cut that, rerun, and the next one shows).
        members = set(comp)
        cycle = min((_shortest_cycle(graph, m, members) for m in comp), key=len)
        hops = list(zip(cycle, cycle[1:], strict=False))
        out.append(Violation(
            "cycle", first[hops[0]].where(root),
            "import cycle " + " -> ".join(cycle) + "".join(
                f"\n      {a} -> {b} ({first[(a, b)].where(root)})" for a, b in hops)
            + (f"\n      (one cycle of a group of {len(comp)} modules: {', '.join(comp)})" if len(comp) > 2 else "")))
    return out


def check(root: Path) -> list[Violation]:
    """Every violation of the floors and every import cycle in the library under root."""
    modules, imports, problems = collect(root)
    return problems + _layer_violations(root, modules, imports) + _cycle_violations(root, modules, imports)
