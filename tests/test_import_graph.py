"""The import rules of the house, checked on the source: no import circle within or
across apps, and no function-level import hiding one.

The one rule for services and tasks: tasks import the services they call, at the top;
services trigger a task by its registered name (send_task, on commit) and never import a
tasks module. So the only function-level import allowed is AppConfig.ready()'s, which
connects the receivers, and a function-level import counts as an edge of the graph.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "handoffs", "followups", "config")


def _modules() -> dict[str, Path]:
    modules = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            modules[name.removesuffix(".__init__")] = path
    return modules


def _imported(node: ast.AST, modules: dict[str, Path], current: str) -> set[str]:
    names: set[str] = set()
    if isinstance(node, ast.Import):
        names = {alias.name for alias in node.names}
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        names = {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in names if name in modules and name != current}


def _graph() -> tuple[dict[str, set[str]], list[tuple[str, str, int]]]:
    modules = _modules()
    edges: dict[str, set[str]] = {name: set() for name in modules}
    nested: list[tuple[str, str, int]] = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, ast.If):  # `if TYPE_CHECKING:` imports are not run
                continue
            edges[name] |= _imported(node, modules, name)
        for function in ast.walk(tree):
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                for node in ast.walk(function):
                    for target in _imported(node, modules, name):
                        nested.append((name, target, node.lineno))
                        # Run later, but still a dependency: a circle through a function counts.
                        if name.rsplit(".", 1)[-1] != "apps":
                            edges[name].add(target)
    return edges, nested


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    cycles, state, stack = [], {}, []

    def visit(node: str) -> None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(edges[node]):
            if state.get(target) == "open":
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return cycles


def test_no_module_imports_itself_back_through_others():
    # given
    edges, _ = _graph()
    # then
    assert _cycles(edges) == []


def test_only_tasks_and_app_configs_import_inside_functions():
    # given
    _, nested = _graph()
    # then
    allowed = {"apps"}
    assert [(module, target, line) for module, target, line in nested if module.rsplit(".", 1)[-1] not in allowed] == []


def test_no_app_imports_an_app_above_it():
    # given: accounts at the bottom, handoffs above it, followups on top
    edges, nested = _graph()
    rank = {"accounts": 0, "handoffs": 1, "followups": 2, "config": 3}
    # then
    upward = [
        (module, target)
        for module, targets in edges.items()
        for target in targets
        if rank[target.split(".")[0]] > rank[module.split(".")[0]] and not module.startswith("config")
    ]
    upward += [
        (module, target) for module, target, _ in nested if rank[target.split(".")[0]] > rank[module.split(".")[0]]
    ]
    assert upward == []
