"""Keep the shape honest: data flows one way, the core does no I/O, YAML is loaded safely."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "compiler"

# Pipeline order: a module may import only from modules of the same or an earlier rank.
RANK = {
    "errors": 0,
    "model": 0,
    "hashing": 0,
    "text": 0,
    "hints": 0,  # pure: did-you-mean hints, for every stage and the file gate
    "files": 0,
    "uptodate": 1,  # reads the spec seed with load's guarded loader
    "statcache": 1,  # EDGE: .dsc/state.json, the stat cache of the up-to-date check
    "yamlerrors": 1,
    "yamlcompose": 1,  # pure: YAML text to nodes within bounds
    "yamldoc": 1,
    "rows": 1,
    "load": 1,
    "validate": 2,
    "specschema": 0,  # pure: the spec schemas (package data), for validate and editors
    "configure": 3,
    "catalogue": 3,
    "resolve": 3,
    "sandbox": 4,
    "render": 4,
    "templateerrors": 4,  # pure: template failures as located errors
    "plan": 5,
    "bindings": 5,
    "expand": 5,
    "check": 6,
    "split": 7,
    "stats": 8,
    "encode": 6,  # pure: a record as its JSON line
    "formats": 6,  # pure: a record's rows in each output format
    "lines": 7,  # pure: every format's JSON lines of a record, each text quoted once
    "convert": 7,  # pure: dsc convert's rows, by the formats' definitions
    "convertfile": 10,  # EDGE: dsc convert's files
    "outfile": 2,  # EDGE: a file the user names as an output, written beside and renamed
    "scaffold": 10,  # EDGE: dsc init's starter files
    "jsonl": 1,  # pure: one line of any JSONL file, decoded or refused
    "jsonlfile": 2,  # EDGE: JSONL files named on the command line, a line at a time
    "shapes": 8,  # pure: rows of any JSONL file in the build's formats
    "rowcheck": 9,  # pure: dsc validate's checks
    "rowstats": 9,  # pure: dsc stats' figures
    "statstext": 9,  # pure: dsc stats' figures as text
    "examine": 10,  # EDGE: dsc validate and dsc stats over files and folders
    "stream": 9,  # pure: the per-record work of a run, indifferent to its runner
    "emit": 9,
    "cardfiles": 9,  # pure: the files, columns and non-empty splits a card describes
    "trainerinfo": 9,  # pure: dataset_info.json and the card's lines for each trainer
    "card": 9,  # pure: the dataset card and dataset_info.json of a build
    "parallel": 0,
    "budget": 0,  # EDGE: CPU timer (signals) and memory cap (rlimit) around rendering
    "bounds": 4,
    "pipeline": 10,
    "readback": 10,
    "diff": 11,
    "textdiff": 11,  # pure: line hunks and word marks of one changed field
    "explain": 8,  # pure: describes a record of a compiled project
    "report": 12,
    "htmlreport": 12,  # pure: the stats document as a self-contained HTML page
    "clibase": 12,  # EDGE: the commands' common ground (options, errors, signals, progress)
    "cliproject": 13,  # EDGE: build, check, diff, explain, init
    "watch": 13,  # EDGE: dsc build --watch, the loop around one build (watchfiles)
    "clifiles": 13,  # EDGE: convert, validate, stats
    "clischema": 13,  # EDGE: dsc schema
    "cli": 14,
    "__main__": 15,
    "__init__": 0,
    "shards": 0,  # pure: shard file names and the rows each holds (output.shards)
    "distsplit": 8,  # pure: the stratified split placed bucket by bucket (dsc build --runner beam)
    "beamsteps": 10,  # EDGE: the build's steps as Apache Beam transforms
    "beamrun": 11,  # EDGE: dsc build --runner beam, the driver of the Beam pipeline
}
PURE = (
    "jsonl",
    "shapes",
    "rowcheck",
    "rowstats",
    "statstext",
    "yamlerrors",
    "yamlcompose",
    "yamldoc",
    "rows",
    "validate",
    "specschema",
    "configure",
    "catalogue",
    "resolve",
    "sandbox",
    "bounds",
    "render",
    "templateerrors",
    "plan",
    "bindings",
    "expand",
    "check",
    "split",
    "stats",
    "diff",
    "textdiff",
    "explain",
    "encode",
    "formats",
    "lines",
    "convert",
    "stream",
    "report",
    "htmlreport",
    "card",
    "cardfiles",
    "trainerinfo",
    "hashing",
    "model",
    "errors",
    "text",
    "hints",
    "shards",
    "distsplit",
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
    """(Imports for type checking only are not imports: explain names pipeline's Compiled.)"""
    for other in _compiler_imports(name):
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


# Modules that touch the file system, processes, signals or the terminal.
EDGE = {
    "files",
    "uptodate",
    "load",
    "emit",
    "parallel",
    "readback",
    "pipeline",
    "convertfile",
    "outfile",
    "scaffold",
    "jsonlfile",
    "examine",
    "clibase",
    "cliproject",
    "clifiles",
    "watch",
    "clischema",
    "cli",
    "__main__",
}
# budget arms the per-record CPU timer and memory cap: process limits around rendering, which
# the core must reach (render and expand run inside them); it opens no file.
ALLOWED_EDGE = {"budget"}
PATH_IO = {
    "read_text",
    "read_bytes",
    "write_text",
    "write_bytes",
    "open",
    "iterdir",
    "glob",
    "rglob",
    "exists",
    "is_file",
    "is_dir",
    "stat",
    "lstat",
    "mkdir",
    "unlink",
    "rename",
    "resolve",
}
FORKING = {"multiprocessing", "concurrent", "threading", "signal", "resource"}
# specschema reads the package's own JSON Schemas (importlib.resources), never a project file.
PACKAGE_DATA = {"specschema": {"read_text"}}


def _compiler_imports(name: str) -> set[str]:
    """The compiler modules name imports (at run time, not for type checking only)."""
    tree = _tree(name)
    checking = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING")
        for stmt in node.body
        for n in ast.walk(stmt)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in checking:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("compiler"):
            if node.module == "compiler":
                found.update(a.name for a in node.names if a.name in RANK)
            else:
                found.add(node.module.split(".")[1])
    return found


def _reaches(name: str) -> set[str]:
    seen: set[str] = set()
    todo = [name]
    while todo:
        for other in _compiler_imports(todo.pop()) - seen:
            seen.add(other)
            todo.append(other)
    return seen


@pytest.mark.parametrize("name", PURE)
def test_core_modules_reach_no_edge_module(name: str) -> None:
    """Not even through another module: explain compiling in worker processes, or stats
    importing a module that reads files, would make them I/O in disguise."""
    edges = _reaches(name) & EDGE - ALLOWED_EDGE
    assert not edges, f"{name} reaches the edge modules {sorted(edges)}"


@pytest.mark.parametrize("name", PURE)
def test_core_modules_do_no_path_io_and_start_nothing(name: str) -> None:
    tree = _tree(name)
    roots = {m.split(".")[0] for m in _imports(tree)}
    assert not roots & FORKING, f"{name} imports {roots & FORKING}"
    methods = {
        n.func.attr
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
    }
    io = methods & PATH_IO - PACKAGE_DATA.get(name, set())
    assert not io, f"{name} calls {io}"


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


def test_architecture_doc_names_every_module() -> None:
    """docs/architecture.md has a paragraph for each module, so the map cannot drift."""
    doc = (PACKAGE.parent / "docs/architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"\*\*`(\w+)\.py`\*\*", doc))
    assert named == set(MODULES) - {"__init__", "__main__"}
