"""dsc init: each starter project builds green and passes dsc check at once, and its build is a
golden case (tests/cases/init-<example>/expected, rewritten only by --update-golden)."""

from __future__ import annotations

import configparser
import glob
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.cliproject import EXAMPLES as CLI_EXAMPLES
from compiler.errors import CompileError
from compiler.scaffold import COMMON, EXAMPLES, scaffold, starter_files
from tests.helpers import CASES, ROOT, examples, read_tree

PACKAGE = ROOT / "compiler"
NOT_EMPTY_HINT = (
    "  hint: choose an empty folder, or give --force to write the starter files over it\n"
)
EDITOR_FILES = [  # specschema.editor_files(), in path order among the others
    "schemas/brand.schema.json",
    "schemas/contexts.schema.json",
    "schemas/dataset.schema.json",
    "schemas/task.schema.json",
]
VSCODE_FILES = [".vscode/extensions.json", ".vscode/settings.json"]
MARKETING_FILES = [
    ".gitignore",
    *VSCODE_FILES,
    "Makefile",
    "README.md",
    "brands/bakehouse.yaml",
    "brands/pedalworks.yaml",
    *EDITOR_FILES,
    "specs/card.md",
    "specs/contexts.yaml",
    "specs/dataset.yaml",
    "specs/tasks/caption_generation.yaml",
    "specs/tasks/off_brand_rewrite.yaml",
]
CODING_FILES = [
    ".gitignore",
    *VSCODE_FILES,
    "Makefile",
    "README.md",
    "data/refactor.jsonl",
    *EDITOR_FILES,
    "specs/dataset.yaml",
    "specs/tasks/explain_concept.yaml",
    "specs/tasks/refactor.yaml",
]
BUILT = {
    "marketing": "built 14 records (train 11, val 2, test 1; dropped 0) into build/\n",
    "coding": "built 12 records (train 10, val 1, test 1; dropped 0) into build/\n",
}


def wrote(example: str, folder: str, files: list[str], replaced: tuple[str, ...] = ()) -> str:
    """What dsc init prints for a new project in folder (not the current one)."""
    listed = "".join(f"  {f}{' (replaced)' if f in replaced else ''}\n" for f in files)
    return (
        f"wrote the {example} example into {folder}/:\n{listed}"
        f"next: cd {folder} && make dataset    (without make: dsc build -C {folder})\n"
    )


def shim(tmp_path: Path) -> Path:
    """A `dsc` command that runs this checkout's compiler, as a user's installed one would."""
    path = tmp_path / "bin" / "dsc"
    path.parent.mkdir()
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m compiler "$@"\n', encoding="utf-8")
    path.chmod(0o755)
    return path


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


# --- each starter builds to its golden files and passes dsc check -------------------------


@pytest.mark.parametrize("example", EXAMPLES)
def test_starter_builds_green_to_golden_files(
    example: str, cli, tmp_path: Path, update_golden: bool
) -> None:
    project = tmp_path / "project"
    files = MARKETING_FILES if example == "marketing" else CODING_FILES
    result = cli("init", project, "--example", example)
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        wrote(example, str(project), files),
        "",
    )
    result = cli("build", "-C", project)
    assert (result.exit_code, result.stdout, result.stderr) == (0, BUILT[example], "")
    result = cli("check", "-C", project)
    assert (result.exit_code, result.stdout, result.stderr) == (0, "build/ matches the specs\n", "")
    expected = CASES / f"init-{example}" / "expected"
    if update_golden:
        shutil.rmtree(expected, ignore_errors=True)
        shutil.copytree(project / "build", expected)
    assert expected.is_dir(), f"no golden files: run pytest --update-golden for init-{example}"
    assert read_tree(project / "build") == read_tree(expected)


@pytest.mark.parametrize("example", EXAMPLES)
def test_make_dataset_builds_with_the_given_dsc_and_check_names_it(
    example: str, cli, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    cli("init", project, "--example", example)
    dsc = shim(tmp_path)
    make = ["make", "--no-print-directory", "-C", str(project), f"DSC={dsc}"]
    result = run([*make, "dataset"], ROOT)
    expected = (0, f"{dsc} build\n" + BUILT[example], "")
    assert (result.returncode, result.stdout, result.stderr) == expected
    assert read_tree(project / "build") == read_tree(CASES / f"init-{example}" / "expected")
    result = run([*make, "check"], ROOT)
    assert (result.returncode, result.stdout) == (0, f"{dsc} check\nbuild/ matches the specs\n")
    (project / "build" / "val.jsonl").unlink()
    result = cli("check", "-C", project)
    assert result.exit_code == 1
    assert result.stderr.endswith("  hint: run `make dataset` (dsc build) and commit build/\n")


def test_init_in_the_current_folder_by_default(tmp_path: Path) -> None:
    result = run([sys.executable, "-m", "compiler", "init"], tmp_path)
    expected = (
        "wrote the marketing example into the current folder:\n"
        + "".join(f"  {f}\n" for f in MARKETING_FILES)
        + "next: make dataset    (without make: dsc build)\n"
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, expected, "")
    assert sorted(read_tree(tmp_path)) == MARKETING_FILES


def test_missing_folders_are_created_with_their_parents(cli, tmp_path: Path) -> None:
    result = cli("init", tmp_path / "a" / "b", "--example", "coding")
    assert result.exit_code == 0
    assert sorted(read_tree(tmp_path / "a" / "b")) == CODING_FILES


def test_the_next_command_quotes_a_folder_name_for_the_shell(cli, tmp_path: Path) -> None:
    project = tmp_path / "my project"
    result = cli("init", project, "--example", "coding")
    assert result.stdout.endswith(
        f"next: cd '{project}' && make dataset    (without make: dsc build -C '{project}')\n"
    )


def test_two_inits_write_the_same_bytes(cli, tmp_path: Path) -> None:
    for example in EXAMPLES:
        cli("init", tmp_path / f"{example}-1", "--example", example)
        cli("init", tmp_path / f"{example}-2", "--example", example)
        first = read_tree(tmp_path / f"{example}-1")
        assert first == read_tree(tmp_path / f"{example}-2")
        assert first == starter_files(example)
        assert all(b"\r" not in data for data in first.values())


# --- what init refuses ---------------------------------------------------------------------


def test_a_folder_that_is_not_empty_is_refused(cli, tmp_path: Path) -> None:
    project = tmp_path / "notes"
    project.mkdir()
    (project / "todo.txt").write_text("buy beans\n", encoding="utf-8")
    (project / "archive").mkdir()
    result = cli("init", project)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"{project}: error: {project} is not empty (it holds archive and 1 more)\n" + NOT_EMPTY_HINT
    )
    assert sorted(p.name for p in project.iterdir()) == ["archive", "todo.txt"]


def test_a_hidden_entry_makes_a_folder_not_empty(cli, tmp_path: Path) -> None:
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    result = cli("init", tmp_path / "repo")
    assert result.exit_code == 1
    assert result.stderr == (
        f"{tmp_path}/repo: error: {tmp_path}/repo is not empty (it holds .git)\n" + NOT_EMPTY_HINT
    )


def test_force_writes_the_starter_over_a_folder_and_keeps_other_files(cli, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "specs").mkdir(parents=True)
    (project / "todo.txt").write_text("buy beans\n", encoding="utf-8")
    (project / "Makefile").write_text("all:\n\techo mine\n", encoding="utf-8")
    (project / "specs" / "notes.md").write_text("ideas\n", encoding="utf-8")
    result = cli("init", project, "--example", "coding", "--force")
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        wrote("coding", str(project), CODING_FILES, replaced=("Makefile",)),
        "",
    )
    tree = read_tree(project)
    assert tree.pop("todo.txt") == b"buy beans\n"
    assert tree.pop("specs/notes.md") == b"ideas\n"
    assert tree == starter_files("coding")


def test_an_unknown_example_is_a_usage_error(cli, tmp_path: Path) -> None:
    result = cli("init", tmp_path / "p", "--example", "cooking")
    assert result.exit_code == 2
    assert (
        "Error: Invalid value for '--example': 'cooking' is not one of 'marketing', 'coding'."
        in result.stderr
    )
    assert not (tmp_path / "p").exists()


def test_a_file_is_not_a_folder(cli, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x\n", encoding="utf-8")
    result = cli("init", tmp_path / "notes.txt", "--force")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"{tmp_path}/notes.txt: error: {tmp_path}/notes.txt is not a folder\n"
        "  hint: give a folder, or a name that is not taken\n"
    )


def test_a_folder_inside_a_file_cannot_be_created(cli, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x\n", encoding="utf-8")
    result = cli("init", tmp_path / "notes.txt" / "project")
    where = f"{tmp_path}/notes.txt/project"
    assert (result.exit_code, result.stderr) == (
        1,
        f"{where}: error: cannot create {where}: Not a directory\n"
        "  hint: check that every folder above it is a folder you may write to\n",
    )


@pytest.mark.parametrize("link", ["specs", "Makefile", "specs/tasks"])
def test_force_never_writes_through_a_symbolic_link(link: str, cli, tmp_path: Path) -> None:
    project, outside = tmp_path / "project", tmp_path / "outside"
    (project / link).parent.mkdir(parents=True)
    outside.mkdir()
    (project / link).symlink_to(outside, target_is_directory=True)
    result = cli("init", project, "--force")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"{project}/{link}: error: {project}/{link} is a symbolic link\n"
        "  hint: dsc init writes only into real folders inside the project: remove the link\n"
    )
    assert list(outside.iterdir()) == []
    assert not (project / "README.md").exists()  # refused before any file is written


def test_a_folder_where_the_starter_puts_a_file_is_refused(cli, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "README.md").mkdir(parents=True)
    result = cli("init", project, "--force")
    assert result.exit_code == 1
    assert result.stderr == (
        f"{project}/README.md: error: {project}/README.md is not a regular file: "
        "the starter writes one there\n  hint: move it away, or choose another folder\n"
    )


# --- the starters as package data ----------------------------------------------------------


def test_the_examples_are_the_starter_folders() -> None:
    assert list(CLI_EXAMPLES.choices) == list(EXAMPLES)
    folders = sorted(p.name for p in (PACKAGE / "starters").iterdir())
    assert folders == sorted([COMMON, *EXAMPLES])


def test_setup_cfg_ships_every_starter_file() -> None:
    """An installed (not editable) dsc has only the package data setup.cfg declares, and its
    globs skip names that start with a dot."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg", encoding="utf-8")
    patterns = [p.strip() for p in config["options.package_data"]["compiler"].split(",")]
    shipped = {
        Path(found)
        for pattern in patterns
        for found in glob.glob(str(PACKAGE / pattern), recursive=True)
    }
    files = {p for p in (PACKAGE / "starters").rglob("*") if p.is_file()}
    assert files and files <= shipped
    assert not [p for p in files if p.name.startswith(".")]


# --- a property: --force removes nothing and changes only the starter's files --------------

NAMES = st.sampled_from(["specs", "brands", "data", "Makefile", "README.md", "notes", "tasks"])
PATHS = st.lists(NAMES, min_size=1, max_size=3).map("/".join)


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(PATHS, st.binary(max_size=8), max_size=6), st.sampled_from(EXAMPLES))
def test_force_changes_only_the_starter_files(existing: dict[str, bytes], example: str) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(scratch) / "project"
        project.mkdir()
        for path, data in sorted(existing.items()):
            target = project / path
            if any(p.is_file() for p in [*target.parents][: len(Path(path).parts) - 1]):
                continue  # a file already holds this name's folder
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                target.write_bytes(data)
        before = read_tree(project)
        starter = starter_files(example)
        try:
            scaffold(project, example, force=True)
        except CompileError:
            assert read_tree(project) == before  # refused before writing anything
            return
        after = read_tree(project)
        assert {p: after[p] for p in starter} == starter
        assert {p: d for p, d in after.items() if p not in starter} == {
            p: d for p, d in before.items() if p not in starter
        }
