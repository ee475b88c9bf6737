"""The layers of README "Architecture": accounts ← handoffs ← followups. An app imports
only from the apps below it, anywhere in its code (functions and TYPE_CHECKING blocks
too), and no import hides inside a function to dodge a circle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["accounts", "handoffs", "followups"]
# Imports inside a function that are the house style, not a dodged circle: a Celery task
# imports its service in its body (README "Tasks"), an AppConfig connects its receivers.
FUNCTION_IMPORTS_ALLOWED = {("followups/apps.py", "ready"), ("accounts/apps.py", "ready")}


def _modules(app: str) -> list[Path]:
    return sorted(path for path in (ROOT / app).rglob("*.py") if "migrations" not in path.parts)


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [node.module]
    return []


def _app_of(module: str) -> str | None:
    top = module.split(".")[0]
    return top if top in LAYERS else None


def _imports_of(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [(node.lineno, module) for node in ast.walk(tree) for module in _imported(node)]


@pytest.mark.parametrize("app", LAYERS)
def test_an_app_imports_nothing_from_the_apps_above_it(app):
    above = set(LAYERS[LAYERS.index(app) + 1 :])
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in _modules(app)
        for line, module in _imports_of(path)
        if _app_of(module) in above
    ]
    assert not wrong, f"{app} may import only from {LAYERS[: LAYERS.index(app) + 1]}:\n" + "\n".join(wrong)


def test_no_app_hides_an_import_of_the_project_inside_a_function():
    hidden = []
    for app in LAYERS:
        for path in _modules(app):
            relative = path.relative_to(ROOT).as_posix()
            for function in ast.walk(ast.parse(path.read_text(), filename=relative)):
                if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                if {(relative, "*"), (relative, function.name)} & FUNCTION_IMPORTS_ALLOWED:
                    continue
                hidden += [
                    f"{relative}:{node.lineno} ({function.name}) imports {module}"
                    for node in ast.walk(function)
                    for module in _imported(node)
                    if _app_of(module)
                ]
    assert not hidden, "Import at the top of the module (a circle is a design problem):\n" + "\n".join(hidden)


def test_the_layer_check_sees_an_upward_import(tmp_path):
    # given: a module of the bottom layer that reaches up
    module = tmp_path / "upward.py"
    module.write_text("def f():\n    from followups.models import CheckIn\n")
    # then
    assert [_app_of(name) for _, name in _imports_of(module)] == ["followups"]
