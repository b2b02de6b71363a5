"""The package's import graph: no circle among its modules, and every module imports on its own.

A circle closed by an import inside a function still breaks when the order of imports changes (a host
importing one module first, a worker that never loads the app's ``ready()``), so the graph read here has
every import of a module, at any depth, ``TYPE_CHECKING`` blocks included.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import django_convites

PACKAGE_DIR = Path(django_convites.__file__).parent
ROOT = PACKAGE_DIR.parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


#: Every module of the package but its migrations (Django loads those itself, in its own order).
MODULES = sorted(
    _module_name(path) for path in PACKAGE_DIR.rglob("*.py") if "migrations" not in path.relative_to(PACKAGE_DIR).parts
)


def _imports(module: str) -> set[str]:
    """The package's modules that ``module`` imports anywhere in its text."""
    path = ROOT.joinpath(*module.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                origin = ".".join([*base, node.module] if node.module else base)
            else:
                origin = node.module or ""
            candidates = [f"{origin}.{alias.name}" for alias in node.names] + [origin]
        else:
            continue
        for candidate in candidates:
            # ``from package import module`` names a module; ``from module import name`` the module itself.
            while candidate and candidate not in MODULES:
                candidate = candidate.rpartition(".")[0]
            if candidate.startswith("django_convites") and candidate != module:
                found.add(candidate)
    return found


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return circles


def test_the_graph_reader_finds_a_circle() -> None:
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _circles({"a": {"b"}, "b": set()}) == []


def test_the_graph_reader_sees_imports_inside_functions() -> None:
    # services/two_factor.py imports the sessions service nowhere, not even inside a function.
    assert "django_convites.services.sessions" not in _imports("django_convites.services.two_factor")
    assert "django_convites.services.two_factor" in _imports("django_convites.services.sessions")
    assert "django_convites.models" in _imports("django_convites.audit")


def test_no_module_of_the_package_imports_itself_back() -> None:
    graph = {module: _imports(module) for module in MODULES}
    assert _circles(graph) == []


def test_models_import_no_service() -> None:
    models = [module for module in MODULES if module.startswith("django_convites.models")]
    for module in models:
        layers_above = ("django_convites.services", "django_convites.api", "django_convites.views")
        assert not {name for name in _imports(module) if name.startswith(layers_above)}, module


def test_signals_import_nothing_of_the_app() -> None:
    assert _imports("django_convites.signals") == set()


#: Modules below the app registry: they import with settings alone, before ``django.setup()``, so
#: ``conf`` and the settings checks can be read anywhere.
BEFORE_SETUP = {
    "django_convites",
    "django_convites.conf",
    "django_convites.exceptions",
    "django_convites.signals",
    "django_convites.tokens",
}

_PROBE = """
import importlib, sys
import django
from django.core.exceptions import AppRegistryNotReady
try:
    importlib.import_module(sys.argv[1])
    print("before-setup")
except AppRegistryNotReady:
    django.setup()
    importlib.import_module(sys.argv[1])
    print("after-setup")
"""


def _import_alone(module: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", _PROBE, module], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_every_module_imports_on_its_own_in_a_fresh_interpreter() -> None:
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = dict(zip(MODULES, pool.map(_import_alone, MODULES), strict=True))
    failed = {module: result.stderr[-2000:] for module, result in results.items() if result.returncode != 0}
    assert failed == {}
    before_setup = {module for module, result in results.items() if result.stdout.strip() == "before-setup"}
    assert before_setup >= BEFORE_SETUP
