"""The project's code has no import cycle, deferred imports included (a function-level import only
hides a cycle until the day someone moves it), and every routing module imports in a fresh
interpreter."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "routing"
# Every folder of the project's own code (what ./dev lint checks, tests included).
TREE = ("monolith", "services", "routing", "infra", "contract_tests", "devtools", "devinbox", "kit",
        "tests", "scripts", "bench")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(*folders: Path) -> dict[str, Path]:
    return {module_name(p): p for folder in folders or (PACKAGE,)
            for p in sorted(folder.rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The `known` modules `name` imports anywhere in its body (top level, functions,
    TYPE_CHECKING blocks)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            submodules = {f"{base}.{alias.name}" for alias in node.names} & known
            # `from package import module` imports the module (a package's own __init__ always
            # runs before its modules: that is no cycle); any other name comes from `base`.
            found |= submodules
            if len(submodules) < len(node.names):
                found.add(base)
    return {m for m in found if m in known and m != name}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, str] = {}  # "open" while on the DFS path, "done" after

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = "open"
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                return [*path[path.index(target):], target]
            if target not in state and (cycle := visit(target, [*path, target])):
                return cycle
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start, [start])):
            return cycle
    return None


def test_the_graph_sees_imports_and_cycles() -> None:
    found = imports_of("routing.cli.parser", PACKAGE / "cli" / "parser.py", set(modules()))
    assert {"routing.cli.commands", "routing.cli.promote", "routing.cli.aws"} <= found
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_in_the_tree() -> None:
    known = modules(*(ROOT / folder for folder in TREE))
    graph = {name: imports_of(name, path, set(known)) for name, path in known.items()}
    assert len(graph) > 300  # the walk really found the tree
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_every_module_imports_in_a_fresh_interpreter() -> None:
    names = [n for n in modules() if not n.endswith("__main__") or n == "routing.gateway.__main__"]
    code = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    result = subprocess.run([sys.executable, "-c", code, *names], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
