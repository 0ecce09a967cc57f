"""The JSON Schema of each kind of spec file (package data): what dsc validates with, and what
`dsc schema` and `dsc init` give editors, byte for byte the same file."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

# Kind -> the project files it describes (globs from the project's folder). The order is that
# of `dsc schema`'s listing and of the yaml.schemas setting dsc init writes.
FILES = {
    "dataset": "specs/dataset.yaml",
    "contexts": "specs/contexts.yaml",
    "task": "specs/tasks/*.yaml",
    "brand": "brands/*.yaml",
}
KINDS = tuple(FILES)
FOLDER = "schemas"  # where dsc init puts them in a project, beside specs/ and brands/
SETTINGS = ".vscode/settings.json"


def file_name(kind: str) -> str:
    return f"{kind}.schema.json"


@cache
def text(kind: str) -> str:
    """The schema file of a kind, as shipped: self-contained (every $ref is inside the file)."""
    return resources.files("compiler.schemas").joinpath(file_name(kind)).read_text("utf-8")


def schema(kind: str) -> dict[str, Any]:
    """The schema of a kind, parsed (a new object on every call: callers may not share it)."""
    return json.loads(text(kind))


def modeline(kind: str, spec_path: str) -> str:
    """The yaml-language-server comment that attaches a project's copy of the schema (in
    FOLDER) to the spec file at spec_path (relative to the project, POSIX)."""
    up = "../" * spec_path.count("/")
    return f"# yaml-language-server: $schema={up}{FOLDER}/{file_name(kind)}"


def editor_files() -> dict[str, bytes]:
    """What dsc init writes for editors: the schemas in FOLDER, and VS Code's yaml.schemas
    setting mapping each to its files (paths relative to the workspace folder)."""
    found = {f"{FOLDER}/{file_name(kind)}": text(kind).encode("utf-8") for kind in KINDS}
    mapping = {f"./{FOLDER}/{file_name(kind)}": [FILES[kind]] for kind in KINDS}
    settings = json.dumps({"yaml.schemas": mapping}, indent=2, ensure_ascii=False) + "\n"
    found[SETTINGS] = settings.encode("utf-8")
    return found
