"""EDGE: dsc schema, the JSON Schema of each kind of spec file, for editors."""

from __future__ import annotations

import os
from pathlib import Path

import click

from compiler import specschema


@click.command()
@click.argument("kind", required=False, type=click.Choice(specschema.KINDS))
@click.option(
    "--write",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    metavar="DIR",
    help="Write the schema files (all four, or KIND's) into this folder instead of printing.",
)
def schema(kind: str | None, folder: Path | None) -> None:
    """Print the JSON Schema of a kind of spec file (dataset, contexts, task, brand).

    It is the schema dsc validates with, with a description of every key: attach it in the
    editor (docs/editor.md). Without KIND, list the kinds and the files each describes.
    """
    if folder is not None:
        _write(folder, (kind,) if kind else specschema.KINDS)
    elif kind is not None:
        click.echo(specschema.text(kind), nl=False)
    else:
        for name, files in specschema.FILES.items():
            click.echo(f"{name:<10}{'  '.join(files)}")
        click.echo("print one with `dsc schema KIND`; write them all with `dsc schema --write DIR`")


def _write(folder: Path, kinds: tuple[str, ...]) -> None:
    from compiler.errors import Location, fail
    from compiler.outfile import build_folder, check_output, write_beside

    existing = folder.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    build = build_folder(os.path.realpath(existing))
    if build is not None:  # refused before a folder is made in it
        raise fail(
            Location(str(folder)),
            f"{folder} is inside the dsc build folder {os.path.basename(build)}/",
            "every build replaces that folder: write the schemas elsewhere, e.g. schemas/",
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise fail(
            Location(str(folder)),
            f"cannot create {folder}: {exc.strerror}",
            "check that every folder above it is a folder you may write to",
        ) from None
    for kind in kinds:
        out = folder / specschema.file_name(kind)
        check_output(out, [], "dsc schema", "the schemas")
        data = specschema.text(kind).encode("utf-8")
        write_beside(out, lambda writer, data=data: writer.write(data))
        click.echo(f"wrote {out}")
