"""The shape of the package: imports run one way, from the pipeline's later stages to its earlier
ones, with no cycle between modules (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "cobalt"

# Each package may import its own floor and the floors below it, never one above.
FLOORS = [
    {"records", "jsonl", "config", "hardware", "tokenizer"},  # foundations
    {"sandbox"},  # the only place untrusted code runs
    {"data", "reward"},  # problems in; the reward of one program
    {"rollout"},  # the only place that talks to language models
    {"evaluate", "bandit", "hacking"},  # trajectories in
    {"train"},  # glue around TRL (and the verl export)
    {"demo"},  # the whole pipeline on a tiny model
    {"cli"},  # one thin module per verb
]
FLOOR = {package: level for level, packages in enumerate(FLOORS) for package in packages}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in ROOT.rglob("*.py")}


def imports(module: str) -> set[str]:
    """Cobalt modules ``module`` imports anywhere (top level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cobalt"):
            for alias in node.names:
                target = f"{node.module}.{alias.name}"
                found.add(target if target in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("cobalt"))
    return found - {module}


def package(module: str) -> str:
    return module.split(".")[1] if "." in module else module


def test_every_package_has_a_floor():
    assert {package(m) for m in MODULES if m != "cobalt"} <= set(FLOOR)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_a_later_stage(module):
    if module == "cobalt":
        return
    upward = [m for m in imports(module) if m != "cobalt" and FLOOR[package(m)] > FLOOR[package(module)]]
    assert not upward, f"{module} imports {upward}, which sit above it"


def test_no_import_cycle_between_modules():
    graph = {module: imports(module) & set(MODULES) for module in MODULES}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycle = [*path[path.index(target) :], target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
