def make(project):
    """Write a Latin-1 'é' (byte 0xE9, invalid in UTF-8) into line 3 of brands/acme.yaml."""
    path = project / "brands/acme.yaml"
    path.write_bytes(path.read_bytes().replace(b"[friendly]", b"[friendly, caf\xe9]"))
