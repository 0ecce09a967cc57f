import os


def make(project):
    """Add specs/tasks/passwd.yaml, a link to /etc/passwd."""
    os.symlink("/etc/passwd", project / "specs/tasks/passwd.yaml")
