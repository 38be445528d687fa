"""The package's shape: no import cycle between its modules, modules that fit on a few screens, and a face
(docstring and `__all__`) for every subpackage."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "placement"
MAX_LINES = 620  # "about 600": a module holds one idea


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported(path: Path) -> set[str]:
    """The placement modules a module imports anywhere (at load or inside a function: a cycle deferred into a
    function is still a cycle between the two ideas), outside `if TYPE_CHECKING:` blocks."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    tree = ast.parse(path.read_text())
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and "TYPE_CHECKING" in ast.dump(block.test) for n in ast.walk(block)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        found |= {n for n in names if n in MODULES}
    return found


def test_no_import_cycle():
    graph = {name: imported(path) - {name} for name, path in MODULES.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for other in sorted(graph[name]):
            if state.get(other) == 1:
                cycle = path[path.index(other):] + [other]
                # a package importing its own submodule is how package faces work, not a cycle
                if not all(b.startswith(a + ".") or a.startswith(b + ".") for a, b in zip(cycle, cycle[1:])):
                    pytest.fail("import cycle: " + " -> ".join(cycle))
            elif other not in state:
                visit(other, path + [other])
        state[name] = 2

    for name in graph:
        if name not in state:
            visit(name, [name])


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_fits_on_a_few_screens(name):
    lines = MODULES[name].read_text().count("\n")
    assert lines <= MAX_LINES, f"{name}: {lines} lines"


@pytest.mark.parametrize("name", sorted(n for n, p in MODULES.items() if p.name == "__init__.py" and n != "placement"))
def test_every_subpackage_has_a_face(name):
    module = importlib.import_module(name)
    assert (module.__doc__ or "").strip(), name
    assert getattr(module, "__all__", None), name
    for exported in module.__all__:
        assert hasattr(module, exported), (name, exported)
