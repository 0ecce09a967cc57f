def make(project):
    """Put a raw NUL byte into a field of the CSV file."""
    data = project / "data/examples.csv"
    data.write_bytes(data.read_bytes().replace(b"cut with", b"cut\x00with"))
