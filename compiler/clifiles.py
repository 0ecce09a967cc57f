"""The commands on any JSONL file: dsc convert, validate and stats."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from compiler.clibase import QUIET, VALIDATE_PROGRESS_BYTES, progress_bar, sigterm_unwinds

# formats.FORMATS, written out so that every command does not import the formats at start-up
# (tests/test_validate_files.py holds the two equal).
ROW_FORMATS = click.Choice(
    [
        "alpaca",
        "messages",
        "sharegpt",
        "prompt_completion",
        "prompt_completion_chat",
        "text",
        "preference",
        "preference_chat",
        "kto",
        "kto_chat",
    ]
)
FROM = click.option(
    "--from",
    "source",
    type=ROW_FORMATS,
    default=None,
    help="Read every file as this format (default: told by each file's first row).",
)
REPORT = click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
PATHS = click.argument("paths", nargs=-1, required=True, metavar="FILE…|DIR")

CONVERT_FORMATS = click.Choice(["alpaca", "sharegpt", "messages"])  # convert.CONVERT_FORMATS


@click.command()
@click.argument("in_file", metavar="IN", type=click.Path(path_type=Path))
@click.option("--to", "target", required=True, type=CONVERT_FORMATS, help="Format to write.")
@click.option(
    "--from", "source", type=CONVERT_FORMATS, help="Format of IN (default: its first row's)."
)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="File to write (default: stdout)."
)
@QUIET
def convert(
    in_file: Path, target: str, source: str | None, output: Path | None, quiet: bool
) -> None:
    """Convert a JSONL file of alpaca, sharegpt or messages rows into another of the three.

    Rows keep their id, metadata and other keys; nothing is written when a row is wrong.
    """
    from compiler.convertfile import convert_file

    if source is not None and source == target:
        raise click.UsageError("--from and --to name the same format: nothing to convert")
    with sigterm_unwinds():
        result = convert_file(in_file, target, source, output, sys.stdout.buffer)
    if not quiet:
        click.echo(result.summary(target, output), err=True)


@click.command()
@PATHS
@FROM
@REPORT
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@click.option("--min-instruction", type=click.IntRange(min=0), default=10, show_default=True)
@click.option("--max-instruction", type=click.IntRange(min=0), default=1000, show_default=True)
@click.option("--min-output", type=click.IntRange(min=0), default=20, show_default=True)
@click.option("--max-output", type=click.IntRange(min=0), default=4000, show_default=True)
@click.option(
    "--max-length-bias",
    type=click.IntRange(0, 100),
    default=60,
    show_default=True,
    help="Warn when chosen is longer than rejected in more than this % of pairs.",
)
@click.option(
    "--kto-share",
    type=(click.IntRange(0, 100), click.IntRange(0, 100)),
    default=(40, 60),
    show_default=True,
    help="Warn when the desirable % of KTO rows is outside LOW HIGH.",
)
def validate(
    paths: tuple[str, ...],
    source: str | None,
    fmt: str,
    strict: bool,
    min_instruction: int,
    max_instruction: int,
    min_output: int,
    max_output: int,
    max_length_bias: int,
    kto_share: tuple[int, int],
) -> None:
    """Check JSONL files of any format the build writes: errors and quality warnings.

    A folder stands for every .jsonl file below it. Exit 1 on errors (--strict: on warnings).
    """
    from compiler.examine import validate_files, validate_paths
    from compiler.jsonlfile import total_size
    from compiler.rowcheck import Limits, total_summary, validation_document

    limits = Limits(
        min_instruction, max_instruction, min_output, max_output, max_length_bias, *kto_share
    )
    files = validate_paths(paths)
    text = fmt == "text"
    say = (lambda d: click.echo(d.render())) if text else (lambda d: None)
    done = (lambda check: click.echo(check.summary())) if text else (lambda check: None)
    size = total_size(files)
    with progress_bar("validating", size, VALIDATE_PROGRESS_BYTES) as update:
        checks = validate_files(files, limits, source, say, done, update)
    if not text:
        click.echo(json.dumps(validation_document(checks), ensure_ascii=False, indent=2))
    elif len(checks) > 1:
        click.echo(total_summary(checks))
    if any(c.errors or (strict and c.warnings) for c in checks):
        sys.exit(1)


@click.command()
@PATHS
@FROM
@REPORT
@click.option(
    "--by",
    multiple=True,
    metavar="KEY",
    help="Count rows by this metadata key (repeatable; default: every key of few values).",
)
@click.option(
    "--tokenizer",
    type=click.Path(dir_okay=False),
    default=None,
    help="A tokenizer.json: lengths in its tokens too (needs the `tokens` extra).",
)
@click.option(
    "--html",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the figures as one self-contained HTML page with charts.",
)
def stats(
    paths: tuple[str, ...],
    source: str | None,
    fmt: str,
    by: tuple[str, ...],
    tokenizer: str | None,
    html: Path | None,
) -> None:
    """Counts, length distributions, duplicates and split balance of JSONL files.

    A dsc build folder, or one that holds train/val/test .jsonl files, is read as its splits.
    """
    from compiler.examine import stats_files, stats_paths
    from compiler.files import shown
    from compiler.jsonlfile import total_size
    from compiler.outfile import check_output, write_beside
    from compiler.statstext import stats_text

    files = stats_paths(paths)
    if html is not None:
        check_output(html, files, "dsc stats", "the report")
    with progress_bar("reading", total_size(files), VALIDATE_PROGRESS_BYTES) as update:
        document = stats_files(files, source, by or None, tokenizer, update)
    if html is not None:
        from compiler.htmlreport import html_report

        page = html_report(document).encode("utf-8")
        write_beside(html, lambda writer: writer.write(page))
        click.echo(f"wrote {shown(str(html))}", err=True)
    if fmt == "json":
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        click.echo(stats_text(document))
    skipped = sum(f["skipped"] for f in document["files"])
    if skipped:
        click.echo(
            f"note: {skipped} line{'s' * (skipped != 1)} that are not rows were skipped; "
            "dsc validate says why",
            err=True,
        )
