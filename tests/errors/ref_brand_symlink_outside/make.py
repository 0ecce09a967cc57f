import os


def make(project):
    """Add brands/evil.yaml, a link to a brand file outside the project."""
    outside = project.parent / "outside.yaml"
    outside.write_text("id: evil\nname: SECRET FROM OUTSIDE\n")
    os.symlink(outside, project / "brands/evil.yaml")
