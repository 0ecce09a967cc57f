import os


def make(project):
    """Make build/ a symbolic link to a folder outside the project."""
    outside = project.parent / "elsewhere"
    outside.mkdir()
    os.symlink(outside, project / "build")
