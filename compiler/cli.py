"""The command line: the only place that prints or exits."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from compiler import __version__
from compiler.errors import CompileError


def _fail(error: CompileError) -> None:
    click.echo(error.render(), err=True)
    count = len(error.diagnostics)
    if count > 1:
        click.echo(f"{count} errors", err=True)
    sys.exit(1)


@click.group()
@click.version_option(__version__, prog_name="dsc")
def main() -> None:
    """dsc: compile YAML dataset specs into reproducible Alpaca JSONL."""


@main.command()
@click.option("-C", "--project", "project", type=click.Path(file_okay=False, path_type=Path),
              default=".", show_default=True, help="The project folder.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Output folder (default: PROJECT/build).")
@click.option("--seed", type=click.IntRange(min=0), default=None,
              help="Override the seed of specs/dataset.yaml.")
def build(project: Path, out: Path | None, seed: int | None) -> None:
    """Compile the specs into build/."""
    from compiler.pipeline import build as run_build

    try:
        result = run_build(project, out, seed)
    except CompileError as exc:
        _fail(exc)
        return
    records = result.metadata["records"]
    dropped = sum(d["records"] for d in result.metadata["dropped"].values())
    click.echo(
        f"built {records['total']} records (train {records['train']}, val {records['val']}, "
        f"test {records['test']}; dropped {dropped}) into {result.out_dir}"
    )
