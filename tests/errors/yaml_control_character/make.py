def make(project):
    """Put an escape character (U+001B) into line 2 of specs/contexts.yaml."""
    path = project / "specs/contexts.yaml"
    path.write_bytes(path.read_bytes().replace(b"id: launch", b"id: la\x1bunch"))
