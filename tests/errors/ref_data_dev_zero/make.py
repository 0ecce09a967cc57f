import os


def make(project):
    """Replace data/examples.jsonl with a link to /dev/zero: an endless file."""
    data = project / "data/examples.jsonl"
    data.unlink()
    os.symlink("/dev/zero", data)
