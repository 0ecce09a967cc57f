def make(project):
    """Prepend a UTF-8 byte order mark to specs/dataset.yaml."""
    path = project / "specs/dataset.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
