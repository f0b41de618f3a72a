"""The module graph of src/lenet, read from every import (inside functions too): its cycles,
and imports that point up the tiers.

    python .ci/import_graph.py            # fails (exit 1) on a cycle or an upward import
    python .ci/import_graph.py --graph    # also prints every module and what it imports

The tiers, lowest first: ``engine``, ``data``, ``run``, ``teach``, ``cli`` (the subpackages of
that name). A module may import its own tier and the tiers below it, never one above: an engine
module importing from ``run`` fails. Modules beside the tiers (``paper``, ``_version``,
``_openmp``; ``reference`` and ``reference_network``, the tests' oracle) import no tier, and no
module but the oracle's own imports the oracle. The package's ``__init__`` is the facade over
every tier and is not ranked.

A module that imports from the package itself (``from . import __version__``) depends on
``lenet/__init__.py``, which imports most modules: such an edge counts like any other. An
import inside a function is allowed only for an optional dependency or start-up time, and
must say which in a comment on its line or the line above (``# optional: ...`` or
``# start-up: ...``); any other is reported as an error too.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

PACKAGE = "lenet"
ROOT = Path(__file__).resolve().parents[1] / "src" / PACKAGE


def _set_root(folder: Path) -> None:
    """Read another package (its folder's name is the package's): for the script's own test."""
    global PACKAGE, ROOT
    ROOT, PACKAGE = folder.resolve(), folder.resolve().name


#: the tiers, lowest first; each may import only its own and those before it
TIERS = ("engine", "data", "run", "teach", "cli")
#: beside the tiers, imported by none of them (the tests' oracle and reading material)
ORACLE = ("reference", "reference_network", "reference_drawing")

#: the words a comment must hold to justify an import inside a function
REASONS = ("optional:", "start-up:")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    found = {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}
    for pyx in sorted(ROOT.rglob("*.pyx")):  # the binding: its Python-level imports count
        found.setdefault(module_name(pyx), pyx)
    return found


def _resolve(current: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = current.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports(name: str, path: Path, known: dict[str, Path]):
    """(target module, line, inside a function?, justified?) for every import of the package."""
    source = path.read_text()
    if path.suffix != ".py":  # the binding: its Python imports, each on a line of its own
        source = "\n".join(
            line if line.startswith(("import ", "from ")) and " cimport " not in line else ""
            for line in source.splitlines()
        )
    lines = source.splitlines()
    tree = ast.parse(source, str(path))
    is_package = path.name == "__init__.py"

    def justified(lineno: int) -> bool:
        nearby = lines[lineno - 1] + (lines[lineno - 2] if lineno >= 2 else "")
        return any(reason in nearby for reason in REASONS)

    def visit(node: ast.AST, in_function: bool):
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
            )
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.split(".")[0] == PACKAGE:
                        yield (
                            _known(alias.name, known),
                            child.lineno,
                            in_function,
                            justified(child.lineno),
                        )
            elif isinstance(child, ast.ImportFrom):
                target = _resolve(name, is_package, child)
                if target.split(".")[0] != PACKAGE:
                    continue
                for alias in child.names:  # a submodule imported by name, or a name of target
                    sub = f"{target}.{alias.name}"
                    yield (
                        (sub if sub in known else _known(target, known)),
                        child.lineno,
                        in_function,
                        justified(child.lineno),
                    )
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                continue  # imports for the type checker only: never run
            yield from visit(child, inner)

    yield from visit(tree, False)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _known(name: str, known: dict[str, Path]) -> str:
    while name not in known and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def graph() -> tuple[dict[str, set[str]], list[str]]:
    known = modules()
    edges: dict[str, set[str]] = {name: set() for name in known}
    problems = []
    for name, path in known.items():
        for target, line, in_function, ok in imports(name, path, known):
            if target != name:
                edges[name].add(target)
            if in_function and not ok:
                problems.append(
                    f"{path.relative_to(ROOT.parent.parent)}:{line}: an import "
                    f"inside a function ({target}) without a comment saying why "
                    f"({' or '.join(REASONS)})"
                )
    return edges, problems


def tier(module: str) -> int | None:
    """The rank of a module's tier (None beside the tiers: paper, _version, ...)."""
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in TIERS:
        return TIERS.index(parts[1])
    return None


def upward(edges: dict[str, set[str]]) -> list[str]:
    """Every import that points up the tiers, or from beside them into one."""
    found = []
    for source in sorted(edges):
        if source == PACKAGE:
            continue  # the facade: the public names of every tier
        mine = tier(source)
        for target in sorted(edges[source]):
            theirs = tier(target)
            oracle = target.split(".")[1:2], source.split(".")[1:2]
            if oracle[0] and oracle[0][0] in ORACLE and not (oracle[1] and oracle[1][0] in ORACLE):
                found.append(f"{source} imports {target}: the oracle is not for the package")
            elif theirs is not None and (mine is None or theirs > mine):
                where = TIERS[mine] if mine is not None else "beside the tiers"
                found.append(
                    f"{source} ({where}) imports {target} ({TIERS[theirs]}): an import up the "
                    f"tiers ({' < '.join(TIERS)})"
                )
    return found


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            strong(v)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", action="store_true", help="print every module's imports")
    parser.add_argument("--package", type=Path, help="another package's folder (default: lenet)")
    args = parser.parse_args(argv)
    if args.package is not None:
        _set_root(args.package)
    edges, problems = graph()
    if args.graph:
        for name in sorted(edges):
            print(f"{name} -> {', '.join(sorted(edges[name])) or '(nothing of the package)'}")
    found = cycles(edges)
    for component in found:
        print("import cycle: " + " <-> ".join(component))
    problems += upward(edges)
    for problem in problems:
        print(problem)
    if not found and not problems:
        print(f"no import cycle among {len(edges)} modules, and none up the tiers")
    return 1 if found or problems else 0


if __name__ == "__main__":
    sys.exit(main())
