"""fbtime's import graph, read from the source with ``ast`` (no module is imported).

Each import is one of three kinds:

* ``runtime``: at module level, run when the module is imported;
* ``lazy``: inside a function, run when the function is called;
* ``typing``: under ``if TYPE_CHECKING:``, never run.

``python tests/imports.py`` prints the layers, the runtime cycles and the lazy imports:
the figures quoted in the closing notes. ``tests/test_layers.py`` asserts the rules.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "fbtime"

#: Layers, lowest first: a module may import (at runtime) only its own layer or lower ones.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "base",
        (
            "fbtime._version",
            "fbtime.errors",
            "fbtime.config",
            "fbtime.text",
            "fbtime.files",
            "fbtime.progress",
            "fbtime.transport",
            "fbtime.clock",
        ),
    ),
    ("auth", ("fbtime.auth",)),
    ("api", ("fbtime.api",)),
    (
        "frames and analysis",
        (
            "fbtime.schema",
            "fbtime.frame",
            "fbtime.incremental",
            "fbtime.load",
            "fbtime.sync",
            "fbtime.weeks",
            "fbtime.analysis",
            "fbtime.audit",
            "fbtime.plots",
            "fbtime.export",
            "fbtime.rates",
            "fbtime.money",
            "fbtime.display",
            "fbtime.journal_frame",
            "fbtime.imports",
        ),
    ),
    ("bulk", ("fbtime.bulk",)),
    ("accessor", ("fbtime.accessor",)),
    ("widgets", ("fbtime.widgets",)),
    ("apps", ("fbtime.demo",)),
    ("cli", ("fbtime.cli", "fbtime.__main__")),
    ("package", ("fbtime",)),
)
#: Its own world: the FreshBooks stand-in uses the library only lazily.
SANDBOX = "fbtime.sandbox"


@dataclass(frozen=True)
class Import:
    """One import statement's target, as seen in ``source``."""

    source: str
    target: str
    names: tuple[str, ...]
    kind: str  # "runtime", "lazy" or "typing"
    line: int
    text: str


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST, kind: str) -> Iterator[tuple[ast.AST, str]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            yield from ((n, "typing") for n in ast.walk(child))
            continue
        inner = "lazy" if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else kind
        yield child, inner
        yield from _walk(child, inner)


def imports_of(name: str, path: Path, known: set[str]) -> list[Import]:
    """The imports of one module, with ``from x import submodule`` resolved to the submodule."""
    source = path.read_text()
    lines = source.splitlines()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[Import] = []
    for node, kind in _walk(ast.parse(source), "runtime"):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append(
                    Import(name, alias.name, (), kind, node.lineno, lines[node.lineno - 1])
                )
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            names = tuple(a.name for a in node.names)
            text = lines[node.lineno - 1]
            subs = [n for n in names if f"{base}.{n}" in known]
            for sub in subs:
                found.append(Import(name, f"{base}.{sub}", (), kind, node.lineno, text))
            rest = tuple(n for n in names if n not in subs)
            if rest or not subs:
                found.append(Import(name, base, rest, kind, node.lineno, text))
    return found


def graph() -> list[Import]:
    """Every import of every fbtime module."""
    mods = modules()
    known = set(mods)
    return [imp for name, path in mods.items() for imp in imports_of(name, path, known)]


def internal(imports: list[Import]) -> list[Import]:
    return [i for i in imports if i.target == "fbtime" or i.target.startswith("fbtime.")]


def layer_of(module: str) -> int | None:
    """Index in :data:`LAYERS` (None for the sandbox)."""
    if module == SANDBOX or module.startswith(SANDBOX + "."):
        return None
    best: tuple[int, int] | None = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            inside = module == prefix or module.startswith(prefix + ".")
            if inside and (best is None or len(prefix) > best[1]):
                best = (index, len(prefix))
    if best is None:
        raise KeyError(f"{module} is in no layer of tests/imports.py: add it")
    return best[0]


def cycles(imports: list[Import], kinds: tuple[str, ...] = ("runtime",)) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), over ``kinds``."""
    edges: dict[str, set[str]] = {}
    for imp in internal(imports):
        if imp.kind in kinds and imp.source != imp.target:
            edges.setdefault(imp.source, set()).add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    sys.setrecursionlimit(10_000)

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def main() -> None:
    imports = graph()
    mods = modules()
    print("modules per layer:")
    for index, (label, _) in enumerate(LAYERS):
        names = [m for m in mods if layer_of(m) == index]
        print(f"  {label}: {len(names)}")
    print(f"  sandbox: {sum(1 for m in mods if layer_of(m) is None)}")
    print(f"runtime cycles: {cycles(imports)}")
    lazy = [i for i in internal(imports) if i.kind == "lazy"]
    print(f"function-local imports of fbtime modules: {len(lazy)}")
    for imp in lazy:
        print(f"  {imp.source}:{imp.line} -> {imp.target}")
    print(f"cycles if every lazy import ran at import time: {cycles(imports, ('runtime', 'lazy'))}")


if __name__ == "__main__":
    main()
