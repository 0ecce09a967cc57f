def make(project):
    """Put a file where the build folder should go."""
    (project / "build").write_text("not a folder\n")
