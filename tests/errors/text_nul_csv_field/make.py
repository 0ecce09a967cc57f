"""A raw NUL byte in a CSV field: git and editors treat such a file as binary."""

from pathlib import Path


def make(project: Path) -> None:
    path = project / "data" / "examples.csv"
    path.write_bytes(path.read_bytes().replace(b"NUL", b"\x00"))
