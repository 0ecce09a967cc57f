import os


def make(project):
    """Replace data/examples.jsonl with a named pipe: reading it would wait for a writer."""
    data = project / "data/examples.jsonl"
    data.unlink()
    os.mkfifo(data)
