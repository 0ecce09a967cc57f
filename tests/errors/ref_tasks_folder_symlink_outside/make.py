import os
import shutil


def make(project):
    """Make specs/tasks a link to a folder of task files outside the project."""
    outside = project.parent / "outside-tasks"
    shutil.move(project / "specs/tasks", outside)
    os.symlink(outside, project / "specs/tasks")
