"""What a service imports when it runs: never a development module, never a dev requirement.

The service images leave the development modules and the dev extra out (scripts/deploycheck/
dockerfile.py), so a service that imported one would start here and fail in its image. The
imports are read from the sources, every ``import`` counted, the lazy ones inside functions
too, from the service's ``__main__`` and ``app`` on.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from scripts.deploycheck.queries import ROOT

SERVICES = ("ingest", "tracker", "tariff", "webhooks")
# For `corridor run` and the demo only: the CLI and its dev stack (which starts the embedded
# broker), the journey generator and the carrier simulator. No service image holds them.
DEV_MODULES = (
    "corridor.cli",
    "corridor.devstack",
    "corridor.journeys",
    "services.ingest.simulator",
)
_OWN = ("corridor", "services")


def source_path(module: str) -> Path:
    """The package directory or the file of one of our modules (``corridor`` is under libs/)."""
    base = ROOT / "libs" if module.split(".")[0] == "corridor" else ROOT
    path = base.joinpath(*module.split("."))
    return path if path.is_dir() else path.with_suffix(".py")


def _file(module: str) -> Path | None:
    path = source_path(module)
    if path.is_dir():
        path = path / "__init__.py"
    return path if path.is_file() else None


def _imported(module: str, path: Path) -> set[str]:
    """Every module named by an import in the file (``from a import b``: ``a`` and ``a.b``)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def runtime_modules(service: str) -> set[str]:
    """Every module the service may import, ours by name, the others by top-level name."""
    seen: set[str] = set()
    # __main__ hands uvicorn the app by name ("services.<service>.app:create_app").
    todo = [f"services.{service}.__main__", f"services.{service}.app"]
    while todo:
        module = todo.pop()
        path = _file(module)
        if module in seen or path is None:
            continue
        seen.add(module)
        for name in _imported(module, path):
            parts = name.split(".")
            if parts[0] not in _OWN:
                seen.add(parts[0])
                continue
            # Importing a.b.c runs a/__init__ and a/b/__init__ first.
            todo += [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
    return seen


def dev_distributions() -> set[str]:
    """The requirements of the dev extra that are not runtime requirements (normalized)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    def names(requirements: list[str]) -> set[str]:
        return {_normalized(re.split(r"[\[=<>~!; ]", r, maxsplit=1)[0]) for r in requirements}

    return names(project["optional-dependencies"]["dev"]) - names(project["dependencies"])


def runtime_imports() -> list[str]:
    """No service imports a development module or a module of a dev-only requirement."""
    providers = packages_distributions()
    dev = dev_distributions()
    problems = []
    for service in SERVICES:
        modules = runtime_modules(service)
        for module in sorted(modules):
            if any(module == d or module.startswith(f"{d}.") for d in DEV_MODULES):
                problems.append(f"services.{service} imports {module}, a development module")
            elif module not in sys.stdlib_module_names and module not in _OWN:
                needs = {_normalized(d) for d in providers.get(module, [])} & dev
                problems += [
                    f"services.{service} imports {module}, from dev-only {d}" for d in needs
                ]
    return problems


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
