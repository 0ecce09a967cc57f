"""The commands on a project: dsc build, check, diff, explain and init."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import click
from click.globals import resolve_color_default

from compiler.clibase import (
    BUILD_PROGRESS_RECORDS,
    OUT,
    PROJECT,
    QUIET,
    SEED,
    output_folder,
    output_name,
    progress_bar,
    sigterm_unwinds,
)


def _rebuild_command(project: Path) -> str:
    """How to rebuild this project: the Makefile's target when it has one (dsc's scaffold)."""
    try:
        makefile = (project / "Makefile").read_text(encoding="utf-8", errors="replace")
    except OSError:
        makefile = ""
    if any(line.startswith("dataset:") for line in makefile.splitlines()):
        return "`make dataset` (dsc build)"
    return "`dsc build`" if str(project) == "." else f"`dsc build -C {project}`"


@click.command()
@PROJECT
@OUT
@SEED
@click.option("--force", is_flag=True, help="Rebuild even when the build is up to date.")
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default: one per usable CPU); the output is the same for any number.",
)
@QUIET
@click.option(
    "-v", "--verbose", is_flag=True, help="Print every rebuild reason and every file written."
)
@click.option(
    "--watch",
    is_flag=True,
    help="Build again whenever a file of the project is saved, until Ctrl-C (the `watch` extra).",
)
@click.option(
    "--runner",
    type=click.Choice(["local", "beam"]),
    default="local",
    show_default=True,
    help="Who runs the build: this machine, or Apache Beam (the beam extra; Beam's own "
    "options after --). The same bytes either way.",
)
@click.argument("beam_args", nargs=-1, type=click.UNPROCESSED, metavar="[-- BEAM_OPTIONS]")
def build(
    project: Path,
    out: Path | None,
    seed: int | None,
    force: bool,
    jobs: int | None,
    quiet: bool,
    verbose: bool,
    watch: bool,
    runner: str,
    beam_args: tuple[str, ...],
) -> None:
    """Compile the specs into build/ (skipped when nothing changed)."""
    from compiler.uptodate import check_output_dir

    if beam_args and runner != "beam":
        raise click.UsageError(
            f"got {beam_args[0]!r}: Beam's options are for --runner beam "
            "(dsc build --runner beam -- --runner=DataflowRunner ...)"
        )
    if watch and runner == "beam":
        raise click.UsageError("--watch builds on this machine: it does not take --runner beam")
    out_dir = output_folder(project, out)
    check_output_dir(project, out_dir)
    say = (lambda *args, **kwargs: None) if quiet else click.echo
    name = output_name(out_dir, out)
    beam = beam_args if runner == "beam" else None
    with sigterm_unwinds():
        if not watch:
            _build(project, out_dir, name, seed, force, jobs, say, verbose, beam)
            return
        from compiler.watch import watch_builds

        def once() -> bool:
            return _build(project, out_dir, name, seed, force, jobs, say, verbose)

        watch_builds(project, out_dir, name, once, say)


def _build(
    project: Path,
    out_dir: Path,
    name: str,
    seed: int | None,
    force: bool,
    jobs: int | None,
    say: Any,
    verbose: bool,
    beam_args: tuple[str, ...] | None = None,
) -> bool:
    """One build (on Beam when given Beam's options); False when it was skipped (up to date)."""
    from compiler.statcache import Cache
    from compiler.uptodate import stale_reasons

    cache = Cache(project, out_dir)
    reasons: list[str] = []
    if out_dir.exists() and not force:
        reasons = stale_reasons(project, out_dir, seed, cache)
        if not reasons:
            cache.save_check()
            say(f"{name} is up to date")
            return False
        if not (out_dir / "metadata.json").is_file():
            reasons = []
    from compiler.pipeline import build as run_build

    with contextlib.ExitStack() as bars, cache.recording(seed) as record:

        def progress(records: int) -> Any:
            return bars.enter_context(progress_bar("building", records, BUILD_PROGRESS_RECORDS))

        if beam_args is None:
            result = run_build(project, out_dir, seed, jobs, progress=progress)
        else:
            result = _beam_build()(project, out_dir, seed, beam_args, jobs)
        record(result.metadata, result.stats)
    # Said once the build succeeded: a seed or spec that is then refused rebuilt nothing.
    if reasons:
        shown = reasons if verbose else reasons[:10]
        more = len(reasons) - len(shown)
        say("rebuilding: " + "; ".join(shown) + (f"; and {more} more" if more else ""))
    for note in result.notes:
        say(f"note: {note}", err=True)
    meta = result.metadata
    records = meta["records"]
    dropped = sum(d["records"] for d in meta["dropped"].values())
    if dropped:
        reasons = ", ".join(f"{reason} {d['records']}" for reason, d in meta["dropped"].items())
        say(f"note: dropped {dropped} records ({reasons}); see dropped in metadata.json", err=True)
    if verbose:
        for path in meta["outputs"]:
            say(f"wrote {name}{path}")
        say(f"wrote {name}metadata.json")
    conflicts = meta["conflicts"]
    if conflicts["records"]:
        first = conflicts["pairs"][0]
        click.echo(
            f"warning: {conflicts['records']} records repeat the prompt of another record "
            f"with a different output (first: {first[1]} vs {first[0]}); "
            "see conflicts in metadata.json",
            err=True,
        )
    say(
        f"built {records['total']} records (train {records['train']}, val {records['val']}, "
        f"test {records['test']}; dropped {dropped}) into {name}"
    )
    return True


@click.command()
@PROJECT
@OUT
@QUIET
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one document on stdout, every problem listed (docs/ci.md).",
)
def check(project: Path, out: Path | None, quiet: bool, fmt: str) -> None:
    """Fail when build/ is not exactly what the specs compile to. Writes nothing."""
    from compiler.pipeline import build as run_build
    from compiler.readback import PROBLEMS, compare_trees
    from compiler.uptodate import check_output_dir

    out_dir = output_folder(project, out)
    check_output_dir(project, out_dir)
    with tempfile.TemporaryDirectory(prefix="dsc-check-") as scratch:
        fresh = Path(scratch) / "build"
        run_build(project, fresh)
        problems = compare_trees(out_dir, fresh)
    name = output_name(out_dir, out)
    hint = f"run {_rebuild_command(project)} and commit {name}"
    if fmt == "json":
        document = {
            "folder": name,
            "matches": not problems,
            "problems": [{"path": path, "problem": problem} for path, problem in problems],
            "hint": hint if problems else None,
        }
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
    elif problems:
        click.echo(f"{name} does not match the specs:", err=True)
        for path, problem in problems[:20]:
            click.echo(f"  {path} {PROBLEMS[problem]}", err=True)
        if len(problems) > 20:
            click.echo(f"  … and {len(problems) - 20} more", err=True)
        click.echo(f"  hint: {hint}", err=True)
    elif not quiet:
        click.echo(f"{name} matches the specs")
    if problems:
        sys.exit(1)


@click.command()
@click.argument("old", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.argument("new", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--rev",
    default=None,
    help="Compare the build committed at this git revision with the current build/ folder.",
)
@PROJECT
@OUT
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
)
@click.option("--exit-code", is_flag=True, help="Exit 1 when the builds differ, as in git.")
@click.option("--full", is_flag=True, help="Show whole old and new texts, not only what changed.")
def diff(
    old: Path | None,
    new: Path | None,
    rev: str | None,
    project: Path,
    out: Path | None,
    fmt: str,
    exit_code: bool,
    full: bool,
) -> None:
    """Records added, removed, changed and moved between two builds.

    Give two build folders (OLD NEW), or --rev REV to compare the build committed at REV
    with the current one.
    """
    from compiler.diff import diff as compare
    from compiler.diff import to_json
    from compiler.readback import read_folder, read_revision
    from compiler.report import diff_markdown, diff_text

    if rev is None and (old is None or new is None):
        raise click.UsageError("give two build folders OLD NEW, or --rev REV")
    if rev is not None and new is not None:
        raise click.UsageError("--rev compares with the current build: give at most one folder")
    if rev is not None:
        current = old if old is not None else output_folder(project, out)
        before, after = read_revision(project, current, rev), read_folder(current)
    else:
        before, after = read_folder(old), read_folder(new)
    result = compare(before, after)
    if fmt == "json":
        click.echo(json.dumps(to_json(result), ensure_ascii=False, indent=2))
    elif fmt == "markdown":
        click.echo(diff_markdown(result, full))
    else:
        # Colours only in a terminal, and never under NO_COLOR: without them, changed words
        # are marked [-so-]{+instead+}.
        terminal = not click.utils.should_strip_ansi(sys.stdout, resolve_color_default())
        colour = terminal and not os.environ.get("NO_COLOR")
        click.echo(diff_text(result, colour, full), color=colour)
    if exit_code and not result.empty:
        sys.exit(1)


@click.command()
@click.argument("record_id")
@PROJECT
@SEED
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
def explain(record_id: str, project: Path, seed: int | None, as_json: bool) -> None:
    """Where a record came from, the checks it passed, and why it is in its split."""
    from compiler.pipeline import explain_record, load_project
    from compiler.report import explain_text

    result = explain_record(load_project(project, seed), record_id)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        click.echo(explain_text(result))


EXAMPLES = click.Choice(["marketing", "coding"])  # scaffold.EXAMPLES


@click.command()
@click.argument("folder", metavar="[DIR]", default=".", type=click.Path(path_type=Path))
@click.option(
    "--example", type=EXAMPLES, default="marketing", show_default=True, help="The starter project."
)
@click.option(
    "--force",
    is_flag=True,
    help="Write the starter files into a folder that is not empty (no other file is removed).",
)
def init(folder: Path, example: str, force: bool) -> None:
    """Start a project in DIR (default: the current folder) that builds at once.

    DIR is created when missing, and must be empty unless --force is given.
    """
    from compiler.scaffold import scaffold

    click.echo(scaffold(folder, example, force).summary())


def _beam_build() -> Any:
    """beamrun.build, or a located error when Apache Beam is not installed."""
    try:
        from compiler.beamrun import build as beam_build
    except ModuleNotFoundError as exc:
        if exc.name is None or not exc.name.startswith("apache_beam"):
            raise
        from compiler.errors import Location, fail

        raise fail(
            Location(""),
            "--runner beam needs Apache Beam, which is not installed",
            "pip install 'dsc-dataset-compiler[beam]'",
        ) from None
    return beam_build
