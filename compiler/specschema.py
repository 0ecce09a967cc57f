"""The JSON Schema of each kind of spec file (package data): what dsc validates with, and what
`dsc schema` and `dsc init` give editors, byte for byte the same file."""

from __future__ import annotations

import fnmatch
import json
from functools import cache
from importlib import resources
from typing import Any

# Kind -> the project files it describes (globs from the project's folder; dsc reads task and
# brand files named .yaml or .yml). The order is that of `dsc schema`'s listing and of the
# yaml.schemas setting dsc init writes.
FILES = {
    "dataset": ("specs/dataset.yaml",),
    "contexts": ("specs/contexts.yaml",),
    "task": ("specs/tasks/*.yaml", "specs/tasks/*.yml"),
    "brand": ("brands/*.yaml", "brands/*.yml"),
}
KINDS = tuple(FILES)
FOLDER = "schemas"  # where dsc init puts them in a project, beside specs/ and brands/
SETTINGS = ".vscode/settings.json"
EXTENSIONS = ".vscode/extensions.json"
YAML_EXTENSION = "redhat.vscode-yaml"  # VS Code's YAML extension: the YAML language server


def file_name(kind: str) -> str:
    return f"{kind}.schema.json"


@cache
def text(kind: str) -> str:
    """The schema file of a kind, as shipped: self-contained (every $ref is inside the file)."""
    return resources.files("compiler.schemas").joinpath(file_name(kind)).read_text("utf-8")


def schema(kind: str) -> dict[str, Any]:
    """The schema of a kind, parsed (a new object on every call: callers may not share it)."""
    return json.loads(text(kind))


def kind_of(path: str) -> str | None:
    """The kind of spec file at path (relative to the project, POSIX), if it is one."""
    for kind, patterns in FILES.items():
        for pattern in patterns:
            if fnmatch.fnmatchcase(path, pattern) and path.count("/") == pattern.count("/"):
                return kind
    return None


def modeline(path: str) -> str | None:
    """The yaml-language-server comment that attaches the project's copy of its schema (in
    FOLDER) to the spec file at path (relative to the project, POSIX); None if it is no spec."""
    kind = kind_of(path)
    if kind is None:
        return None
    up = "../" * path.count("/")
    return f"# yaml-language-server: $schema={up}{FOLDER}/{file_name(kind)}"


def editor_files() -> dict[str, bytes]:
    """What dsc init writes for editors: the schemas in FOLDER, VS Code's yaml.schemas setting
    mapping each to its files (paths relative to the workspace folder), and the recommendation
    of the YAML extension that reads it."""
    found = {f"{FOLDER}/{file_name(kind)}": text(kind).encode("utf-8") for kind in KINDS}
    mapping = {f"./{FOLDER}/{file_name(kind)}": list(FILES[kind]) for kind in KINDS}
    found[SETTINGS] = _json({"yaml.schemas": mapping})
    found[EXTENSIONS] = _json({"recommendations": [YAML_EXTENSION]})
    return found


def _json(value: object) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
