import os


def make(project):
    """Replace data/examples.jsonl with a symbolic link to a file outside the project."""
    outside = project.parent / "outside.jsonl"
    outside.write_text('{"id": "secret", "question": "?", "answer": "leaked"}\n')
    data = project / "data/examples.jsonl"
    data.unlink()
    os.symlink(outside, data)
