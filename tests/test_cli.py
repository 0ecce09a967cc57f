"""The command line's conventions: -h, -q, -v, NO_COLOR, how folders are named, one error path."""

from __future__ import annotations

import ast
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from compiler.cli import main
from compiler.clibase import Failed
from compiler.errors import Collector, CompileError, Location
from tests.helpers import BUILD_FILES, BUILT, CONCEPTS, ROOT, UP_TO_DATE, edit, edit_concept


@pytest.mark.parametrize("command", [[], ["build"], ["check"], ["diff"], ["explain"], ["convert"]])
def test_h_is_help(command: list[str]) -> None:
    short = CliRunner().invoke(main, [*command, "-h"])
    long = CliRunner().invoke(main, [*command, "--help"])
    assert (short.exit_code, short.output) == (long.exit_code, long.output)
    assert short.exit_code == 0 and "Usage: " in short.output


def test_quiet_build_and_check_print_nothing_on_success(built: Path, cli) -> None:
    edit_concept(built)
    assert (cli("build", "-C", built, "-q").stdout, cli("build", "-C", built, "-q").stdout) == (
        "",
        "",
    )
    assert cli("build", "-C", built).stdout == UP_TO_DATE
    result = cli("check", "-C", built, "-q")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


def test_quiet_build_still_prints_errors(built: Path, cli) -> None:
    edit(built / CONCEPTS, "lang: languages", "lang: langauges")
    result = CliRunner().invoke(main, ["build", "-C", str(built), "-q"])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith(f"{CONCEPTS}:")


def test_verbose_build_lists_every_reason_and_file(built: Path, cli) -> None:
    edit_concept(built)
    result = cli("build", "-C", built, "-v")
    assert result.stdout == (
        f"rebuilding: {CONCEPTS} changed\n"
        + "".join(f"wrote build/{name}\n" for name in BUILD_FILES if name != "metadata.json")
        + "wrote build/metadata.json\n"
        + BUILT
    )


def test_rebuilding_is_said_only_after_the_build_succeeded(built: Path, cli) -> None:
    """A spec that is then refused rebuilt nothing: no "rebuilding: seed changed (7 -> -1)"."""
    edit(built / "specs/dataset.yaml", "seed: 7", "seed: -1")
    result = CliRunner().invoke(main, ["build", "-C", str(built)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("specs/dataset.yaml:")


def test_diff_is_coloured_in_a_terminal_unless_no_color(built: Path, tmp_path: Path) -> None:
    old = tmp_path / "old"
    (built / "build").rename(old)
    edit_concept(built)
    assert CliRunner().invoke(main, ["build", "-C", str(built)]).exit_code == 0
    args = ["diff", str(old), str(built / "build")]
    coloured = CliRunner().invoke(main, args, color=True)
    plain = CliRunner().invoke(main, args, color=True, env={"NO_COLOR": "1"})
    piped = CliRunner().invoke(main, args)
    assert "\x1b[" in coloured.stdout
    assert "\x1b[" not in plain.stdout and plain.stdout == piped.stdout
    assert CliRunner().invoke(main, args, color=True, env={"NO_COLOR": ""}).stdout == (
        coloured.stdout
    )  # no-color.org: an empty NO_COLOR is not set


def test_a_missing_project_folder_is_named_as_given(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = CliRunner().invoke(main, ["build", "-C", str(missing)])
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"{missing}: error: no such project folder\n"
        "  hint: give -C the folder that holds specs/dataset.yaml\n"
    )


def test_a_folder_without_dataset_yaml_is_named_as_given(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["check", "-C", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"specs/dataset.yaml: error: no specs/dataset.yaml in {tmp_path}\n"
    )


def test_failed_is_a_click_exception_that_shows_every_diagnostic_and_the_count(
    capsys: pytest.CaptureFixture[str],
) -> None:
    collector = Collector(limit=1)
    collector.add(Location("a.yaml", 1, 2), "first", "fix a")
    collector.add(Location("b.yaml", 3, 4), "second", "fix b")
    with pytest.raises(CompileError) as raised:
        collector.raise_if_any()
    failed = Failed(raised.value)
    assert isinstance(failed, click.ClickException) and failed.exit_code == 1
    failed.show()
    assert capsys.readouterr().err == (
        "a.yaml:1:2: error: first\n  hint: fix a\n2 errors (1 more not shown)\n"
    )


def test_commands_do_not_catch_compile_errors_themselves() -> None:
    """One place turns a CompileError into its message and exit code (the group's invoke)."""
    trees = [ast.parse(p.read_text(encoding="utf-8")) for p in (ROOT / "compiler").glob("cli*.py")]
    catching = [
        node.lineno
        for tree in trees
        for node in ast.walk(tree)
        if isinstance(node, ast.ExceptHandler)
        and isinstance(node.type, ast.Name)
        and node.type.id == "CompileError"
    ]
    assert len(catching) == 1
