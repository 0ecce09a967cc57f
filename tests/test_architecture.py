"""Keep the shape honest: data flows one way, the core does no I/O, YAML is loaded safely."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "compiler"

# Pipeline order: a module may import only from modules of the same or an earlier rank.
RANK = {
    "errors": 0,
    "model": 0,
    "hashing": 0,
    "text": 0,
    "files": 0,
    "inputs": 1,  # reads the spec seed with load's guarded loader
    "load": 1,
    "validate": 2,
    "resolve": 3,
    "sandbox": 4,
    "render": 4,
    "expand": 5,
    "check": 6,
    "split": 7,
    "stats": 8,
    "emit": 9,
    "parallel": 0,
    "budget": 0,  # EDGE: CPU timer (signals) and memory cap (rlimit) around rendering
    "bounds": 4,
    "pipeline": 10,
    "builds": 10,
    "diff": 11,
    "explain": 11,
    "report": 12,
    "cli": 13,
    "__main__": 14,
    "__init__": 0,
}
PURE = (
    "validate",
    "resolve",
    "sandbox",
    "bounds",
    "render",
    "expand",
    "check",
    "split",
    "stats",
    "diff",
    "explain",
    "report",
    "hashing",
    "model",
    "errors",
    "text",
)
FORBIDDEN_IN_CORE = {"os", "subprocess", "time", "datetime", "random", "socket", "shutil"}
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py"))


def _tree(name: str) -> ast.Module:
    return ast.parse((PACKAGE / f"{name}.py").read_text(encoding="utf-8"))


def _imports(tree: ast.Module) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_every_module_has_a_rank() -> None:
    assert set(MODULES) <= set(RANK), set(MODULES) - set(RANK)


@pytest.mark.parametrize("name", MODULES)
def test_imports_flow_one_way(name: str) -> None:
    for module in _imports(_tree(name)):
        if module.startswith("compiler."):
            other = module.split(".")[1]
            assert RANK[other] <= RANK[name], f"{name} imports later stage {other}"


@pytest.mark.parametrize("name", PURE)
def test_core_modules_do_no_io(name: str) -> None:
    tree = _tree(name)
    roots = {m.split(".")[0] for m in _imports(tree)}
    assert not roots & FORBIDDEN_IN_CORE, f"{name} imports {roots & FORBIDDEN_IN_CORE}"
    calls = {
        n.func.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
    }
    assert not calls & {"open", "print", "exit", "input"}, f"{name} calls {calls}"


@pytest.mark.parametrize("name", MODULES)
def test_yaml_is_only_loaded_safely(name: str) -> None:
    unsafe = {
        "load",
        "load_all",
        "unsafe_load",
        "full_load",
        "Loader",
        "FullLoader",
        "UnsafeLoader",
        "UnsafeConstructor",
        "FullConstructor",
        "Constructor",
    }
    for node in ast.walk(_tree(name)):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "yaml"
        ):
            assert node.attr not in unsafe, f"{name} uses yaml.{node.attr}"


def test_no_module_reads_the_clock_or_random() -> None:
    for name in MODULES:
        roots = {m.split(".")[0] for m in _imports(_tree(name))}
        assert not roots & {"random", "time", "datetime", "uuid"}, name
