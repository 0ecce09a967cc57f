"""Run the command line as `python -m compiler`."""

from compiler.cli import main

main()
