"""The command line: the only place that prints or exits; dsc's commands in one group."""

from __future__ import annotations

import click

from compiler import __version__
from compiler.clibase import HELP, Guarded
from compiler.clifiles import convert, stats, validate
from compiler.cliproject import build, check, diff, explain, init
from compiler.clischema import schema


@click.group(cls=Guarded, context_settings=HELP)
@click.version_option(__version__, prog_name="dsc")
def main() -> None:
    """dsc: compile YAML dataset specs into reproducible Alpaca JSONL."""


for _command in (build, check, diff, explain, convert, validate, stats, init, schema):
    main.add_command(_command)
