"""The layout holds: no import cycle among the forwarder's modules, counting the imports made only for type checking
and those inside functions; `core/` imports nothing above it; no folder grows past a dozen modules; the choice of
bus is read only where the target is chosen; docs/architecture.md names only modules that exist.

Read from the source (AST), not by importing: an import under `TYPE_CHECKING` or inside a function is a
dependency all the same, and a cycle through one is what makes the next move of a type break at import time.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
PACKAGE = SRC / "forwarder"
MAX_MODULES_PER_FOLDER = 12


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imports_of(name: str) -> set[str]:
    """The forwarder's modules `name` imports, anywhere in it. `from forwarder.pkg import module` is an import of
    that module; `from forwarder.pkg import thing` of the package (its __init__)."""
    path = MODULES[name]
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in MODULES)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, name, is_package)
            for alias in node.names:
                if f"{base}.{alias.name}" in MODULES:
                    found.add(f"{base}.{alias.name}")
                elif base in MODULES:
                    found.add(base)
    # Python runs a package's __init__ before any module in it: an edge too. (The root package's __init__ only
    # imports the library inside its module __getattr__, on first use of `forwarder.put_events`: not counted.)
    package = name.rpartition(".")[0]
    if package and package != "forwarder":
        found.add(package)
    found.discard(name)
    return found


def _absolute(node: ast.ImportFrom, name: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    parts = name.split(".") if is_package else name.split(".")[:-1]
    parts = parts[: len(parts) - node.level + 1]
    return ".".join([*parts, *([node.module] if node.module else [])])


GRAPH = {name: imports_of(name) for name in MODULES}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder():
    # The finder itself, on a made-up graph: a -> b -> c -> a is one cycle, d alone is none.
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle():
    found = cycles(GRAPH)
    described = ["; ".join(f"{m} -> {sorted(GRAPH[m] & set(c))}" for m in c) for c in found]
    assert not found, "import cycles (TYPE_CHECKING and function-level imports counted):\n" + "\n".join(described)


def test_core_imports_nothing_above_it():
    for name, imported in GRAPH.items():
        if name.startswith("forwarder.core."):
            above = {m for m in imported if not m.startswith("forwarder.core")}
            assert not above, f"{name} imports {sorted(above)}"


@pytest.mark.parametrize("folder", sorted(p for p in PACKAGE.iterdir() if (p / "__init__.py").exists()),
                         ids=lambda p: p.name)
def test_no_folder_holds_more_than_a_dozen_modules(folder):
    modules = [p for p in folder.glob("*.py") if p.name != "__init__.py"]
    assert len(modules) <= MAX_MODULES_PER_FOLDER, f"{folder.name}/ holds {len(modules)} modules"


def test_the_choice_of_bus_is_read_only_where_the_target_is_chosen():
    # Every difference between the buses (entries per request, the size count, the API, the deduplication window)
    # belongs to the target; `custom_bus` is read by target_for alone (settings.py defines it).
    readers = set()
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "custom_bus" and isinstance(node.ctx, ast.Load):
                readers.add(name)
    assert readers == {"forwarder.targets.buses"}


def test_no_re_export_under_its_own_name():
    # `from x import NAME as NAME` keeps an old import path alive; inside src/ every importer names the source.
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                kept = [a.name for a in node.names if a.asname == a.name]
                assert not kept, f"{name} re-exports {kept} from {node.module}"


ARCHITECTURE = ROOT / "docs" / "architecture.md"


def test_every_module_the_architecture_page_names_exists():
    text = ARCHITECTURE.read_text()
    named = set(re.findall(r"`?((?:[a-z_0-9]+/)+[a-z_0-9]+\.py)`?", text))
    assert named, "the page names no module by its path"
    missing = sorted(p for p in named if not (PACKAGE / p).exists() and not (ROOT / p).exists())
    assert not missing, f"docs/architecture.md names modules that do not exist: {missing}"
    folders = set(re.findall(r"`([a-z_]+)/`", text))
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert packages <= folders, f"folders the page does not name: {sorted(packages - folders)}"


def test_every_module_is_on_the_architecture_page():
    text = ARCHITECTURE.read_text()
    unnamed = sorted(
        str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
        if path.name not in ("__init__.py", "__main__.py") and str(path.relative_to(PACKAGE)) not in text
    )
    assert not unnamed, f"modules docs/architecture.md does not place: {unnamed}"


def test_the_root_package_imports_nothing_at_import_time():
    # Why the graph leaves out the edge from every module to `forwarder` itself: its __init__ imports the library
    # only inside its module __getattr__ (on first use of `forwarder.put_events`), never when a submodule loads.
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    at_import = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)
                 and getattr(node, "module", None) != "__future__"]
    assert at_import == []
