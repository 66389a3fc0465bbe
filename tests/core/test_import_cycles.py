"""No import cycles in the package: the layers only import downwards.

Two graphs, built with :mod:`ast` over ``wsframes/`` (``if TYPE_CHECKING:`` blocks are skipped,
their ``else:`` runs). Importing ``wsframes.a.b`` first runs ``wsframes/__init__.py`` and
``wsframes/a/__init__.py``, so an import is an edge to every parent package too, except the
importer's own parents (already running when it runs):

* module-level imports: what runs when a module is imported; a cycle there breaks depending on
  which module is imported first;
* every import, deferred ones inside functions included: a deferred import only hides a cycle
  (as between the loader and the archive once). The root package is every module's parent, so
  no edge leads to it, and the facade's own deferred imports (``load_activity(archive=...)``)
  are what it is there for.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import wsframes

ROOT = Path(wsframes.__file__).parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _walk(nodes: list[ast.stmt], deferred: bool):
    """Statements to scan: module level only, or everything (deferred imports too)."""
    for node in nodes:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from _walk(node.orelse, deferred)
            continue
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and not deferred:
            continue
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                yield from _walk([child], deferred)
        yield node


def _top_level_imports(tree: ast.Module, name: str, is_package: bool,
                       modules: frozenset[str] = frozenset(), deferred: bool = False) -> set[str]:
    """What *name* imports (``from pkg import sub`` -> ``pkg.sub`` when that is a module)."""
    found: set[str] = set()
    for sub in _walk(tree.body, deferred):
        if isinstance(sub, ast.Import):
            found.update(a.name for a in sub.names)
        elif isinstance(sub, ast.ImportFrom):
            base = sub.module or ""
            if sub.level:
                pkg = name.split(".") if is_package else name.split(".")[:-1]
                base = ".".join(pkg[: len(pkg) - sub.level + 1] + ([base] if base else []))
            subs = {f"{base}.{a.name}" for a in sub.names} & modules
            found.update(subs or {base})
            if len(subs) < len(sub.names):
                found.add(base)
    return {m for m in found if m == "wsframes" or m.startswith("wsframes.")}


def _with_parents(imports: set[str], name: str) -> set[str]:
    """Each import and the packages it runs first, less *name* and its own parents."""
    parts = [m.split(".") for m in imports]
    every = {".".join(p[:k]) for p in parts for k in range(1, len(p) + 1)}
    mine = name.split(".")
    return every - {".".join(mine[:k]) for k in range(1, len(mine) + 1)}


def _graph(deferred: bool = False) -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in ROOT.rglob("*.py")}
    known = frozenset(modules)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        imports = _top_level_imports(tree, name, path.name == "__init__.py", known, deferred)
        graph[name] = {m for m in _with_parents(imports, name) if m in modules}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycles_among_module_level_imports():
    graph = _graph()
    assert graph.get("wsframes.loader")  # the walk sees real edges
    cycle = _cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def test_no_import_cycles_even_through_deferred_imports():
    graph = _graph(deferred=True)
    assert "wsframes.loader" in graph["wsframes.archive.sync"]  # deferred edges are seen
    cycle = _cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def test_an_import_runs_its_parent_packages_but_not_the_importers():
    assert _with_parents({"wsframes.a.b"}, "wsframes.x") == {"wsframes.a", "wsframes.a.b"}
    assert _with_parents({"wsframes.a.b"}, "wsframes.a.c") == {"wsframes.a.b"}
    assert "wsframes.api" in _graph()["wsframes.loader"]  # via wsframes.api.client


def test_the_walk_finds_a_cycle_when_there_is_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_the_loader_knows_nothing_of_the_archive():
    imports = _top_level_imports(ast.parse((ROOT / "loader.py").read_text()), "wsframes.loader", False)
    source = (ROOT / "loader.py").read_text() + (ROOT / "_engine.py").read_text()
    assert not any(m.startswith("wsframes.archive") for m in imports)
    assert "wsframes.archive" not in source


def test_every_module_imports_first_in_a_fresh_interpreter():
    """Whichever module a user imports first, it imports (a cycle would fail for some order)."""
    names = sorted(n for n in _graph() if not n.endswith("__main__"))
    code = ("import importlib, sys\n"
            f"for name in {names!r}:\n"
            "    for m in [k for k in sys.modules if k == 'wsframes' or k.startswith('wsframes.')]:\n"
            "        del sys.modules[m]\n"
            "    importlib.import_module(name)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
