"""dsc schema and the spec schemas as editors get them: the very files dsc validates with, each
self-contained, a description for every key (the key reference of docs/spec-language.md is
generated from them: --update-golden rewrites it), defaults that are dsc's own, and valid for
every spec the repository ships. tests/test_editor.py puts them in the real language server."""

from __future__ import annotations

import configparser
import dataclasses
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from compiler import specschema
from compiler.configure import configuration
from compiler.errors import Collector
from compiler.scaffold import EXAMPLES, starter_files
from compiler.validate import validator
from compiler.yamldoc import parse_yaml
from tests.helpers import CASES, ROOT

SPEC_LANGUAGE = ROOT / "docs/spec-language.md"
PACKAGE_SCHEMAS = ROOT / "compiler/schemas"
LISTING = """\
dataset   specs/dataset.yaml
contexts  specs/contexts.yaml
task      specs/tasks/*.yaml  specs/tasks/*.yml
brand     brands/*.yaml  brands/*.yml
print one with `dsc schema KIND`; write them all with `dsc schema --write DIR`
"""


@pytest.mark.parametrize("kind", specschema.KINDS)
def test_dsc_schema_prints_the_file_dsc_validates_with(cli, kind: str) -> None:
    result = cli("schema", kind)
    assert result.exit_code == 0, result.output
    shipped = (PACKAGE_SCHEMAS / f"{kind}.schema.json").read_text(encoding="utf-8")
    assert result.stdout == shipped
    assert validator(kind).schema == json.loads(result.stdout)


def test_dsc_schema_alone_lists_the_kinds_and_their_files(cli) -> None:
    result = cli("schema")
    assert (result.exit_code, result.stdout) == (0, LISTING)


def test_dsc_schema_write_writes_the_files(cli, tmp_path: Path) -> None:
    out = tmp_path / "editor" / "schemas"
    result = cli("schema", "--write", out)
    assert result.exit_code == 0, result.output
    names = [f"{kind}.schema.json" for kind in specschema.KINDS]
    assert result.stdout == "".join(f"wrote {out / name}\n" for name in names)
    assert sorted(p.name for p in out.iterdir()) == sorted(names)
    for name in names:
        assert (out / name).read_bytes() == (PACKAGE_SCHEMAS / name).read_bytes()
    assert cli("schema", "task", "--write", out).stdout == f"wrote {out / 'task.schema.json'}\n"


def test_dsc_schema_write_refuses_a_folder_inside_a_build(cli, tmp_path: Path) -> None:
    build = tmp_path / "build"
    shutil.copytree(CASES / "coding/expected", build)
    result = cli("schema", "--write", build / "schemas")
    assert result.exit_code == 1
    assert result.stderr == (
        f"{build / 'schemas'}: error: {build / 'schemas'} is inside the dsc build folder build/\n"
        "  hint: every build replaces that folder: write the schemas elsewhere, e.g. schemas/\n"
    )
    assert not (build / "schemas").exists()


def test_an_unknown_kind_is_a_usage_error(cli) -> None:
    result = cli("schema", "brands")
    assert result.exit_code == 2
    assert "'brands' is not one of 'dataset', 'contexts', 'task', 'brand'" in result.stderr


def test_the_package_ships_exactly_the_four_schemas() -> None:
    """As package data (setup.cfg), so that an installed dsc, not only a checkout, has them.
    (Beside them, `output/` holds the schemas of the commands' JSON documents: docs/ci.md.)"""
    names = sorted(specschema.file_name(kind) for kind in specschema.KINDS)
    assert sorted(p.name for p in PACKAGE_SCHEMAS.glob("*.json")) == names
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg", encoding="utf-8")
    patterns = [p.strip() for p in config["options.package_data"]["compiler"].split(",")]
    shipped = {p.name for pattern in patterns for p in (ROOT / "compiler").glob(pattern)}
    assert set(names) <= shipped


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


@pytest.mark.parametrize("kind", specschema.KINDS)
def test_each_schema_is_self_contained(kind: str) -> None:
    """An editor given the one file needs no other: every $ref points inside it."""
    schema = specschema.schema(kind)
    jsonschema.Draft202012Validator.check_schema(schema)
    for ref in _refs(schema):
        assert ref.startswith("#/$defs/") and ref.split("/")[-1] in schema["$defs"], ref


def test_shared_definitions_are_the_same_in_every_schema() -> None:
    """The definitions each file holds for itself (ident, range, collections) do not drift."""
    seen: dict[str, tuple[str, Any]] = {}
    for kind in specschema.KINDS:
        for name, definition in specschema.schema(kind)["$defs"].items():
            first = seen.setdefault(name, (kind, definition))
            assert definition == first[1], f"$defs/{name} differs in {kind} and {first[0]}"


# -- the key reference -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Key:
    path: str
    schema: dict[str, Any]  # where the key is written: its description, default, examples
    resolved: dict[str, Any]  # the same with its $ref followed: its type, enum, children


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = root["$defs"][node["$ref"].split("/")[-1]]
    return node


def keys(kind: str) -> list[Key]:
    """Every key a spec file of kind may hold, in the schema's order, with a dotted path:
    `rules[].each.<name>.file` (a list's items [], a mapping of your own names <name>)."""
    root = specschema.schema(kind)
    found: list[Key] = []

    def walk(node: dict[str, Any], prefix: str) -> None:
        node = _resolve(node, root)
        for name, sub in node.get("properties", {}).items():
            path = f"{prefix}{name}"
            found.append(Key(path, sub, _resolve(sub, root)))
            walk(sub, path + ".")
        items = node.get("items")
        if isinstance(items, dict):
            walk(items, prefix[:-1] + "[]." if prefix else "[].")
        more = node.get("additionalProperties")
        if isinstance(more, dict):
            walk(more, f"{prefix}<name>.")
        for branch in node.get("anyOf", []):
            walk(branch, prefix)

    walk(root, "")
    return found


_WORDS = {"object": "mapping", "array": "list"}


def _type(node: dict[str, Any], root: dict[str, Any]) -> str:
    node = _resolve(node, root)
    if "enum" in node:
        return " \\| ".join(f"`{value}`" for value in node["enum"])
    if "anyOf" in node:
        return " or ".join(dict.fromkeys(_type(branch, root) for branch in node["anyOf"]))
    kinds = node.get("type", [])
    words = " or ".join(_WORDS.get(k, k) for k in (kinds if isinstance(kinds, list) else [kinds]))
    items = node.get("items")
    if words == "list" and isinstance(items, dict):
        of = _type(items, root)
        plural = " or ".join(w if "`" in w else w + "s" for w in of.split(" or "))
        words = f"list of {plural}"
    return words


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;")


def reference(kind: str) -> str:
    """The table of every key of a kind, as docs/spec-language.md shows it."""
    root = specschema.schema(kind)
    rows = ["| key | type | default | description |", "|---|---|---|---|"]
    for key in keys(kind):
        default = key.schema.get("default", key.resolved.get("default"))
        shown = "" if default is None else f"`{json.dumps(default, ensure_ascii=False)}`"
        cells = [f"`{key.path}`", _type(key.schema, root), shown]
        rows.append("| " + " | ".join([*cells, _cell(key.schema["description"])]) + " |")
    return "\n".join(rows)


BLOCK = re.compile(r"(<!-- keys of (\w+): [^\n]* -->\n)(.*?)(<!-- end of keys -->)", re.DOTALL)


@pytest.mark.parametrize("kind", specschema.KINDS)
def test_every_key_has_a_description(kind: str) -> None:
    found = keys(kind)
    assert len(found) >= 4
    assert [k.path for k in found if not k.schema.get("description")] == []


def test_the_key_reference_in_spec_language_md_is_the_schemas(update_golden: bool) -> None:
    """The tables of docs/spec-language.md are written from the schemas' descriptions, which
    hover shows: one text for both, and any difference fails here until --update-golden
    rewrites the tables from the schemas."""
    doc = SPEC_LANGUAGE.read_text(encoding="utf-8")
    fresh = BLOCK.sub(lambda m: m.group(1) + reference(m.group(2)) + "\n" + m.group(4), doc)
    assert sorted(m.group(2) for m in BLOCK.finditer(doc)) == sorted(specschema.KINDS)
    if update_golden and fresh != doc:
        SPEC_LANGUAGE.write_text(fresh, encoding="utf-8")
        return
    assert doc == fresh, "run pytest tests/test_schema.py --update-golden and review the diff"


# -- what the schemas accept -------------------------------------------------------------------


def _doc_examples() -> list[tuple[str, str]]:
    """The first YAML block under each file's heading in docs/spec-language.md: a whole file."""
    doc = SPEC_LANGUAGE.read_text(encoding="utf-8")
    headings = {
        "dataset": "## specs/dataset.yaml",
        "contexts": "## specs/contexts.yaml",
        "brand": "## brands/&lt;id&gt;.yaml",
        "task": "## specs/tasks/&lt;task&gt;.yaml",
    }
    found = []
    for kind, heading in headings.items():
        after = doc[doc.index(heading + "\n") :]
        found.append((kind, re.search(r"```yaml\n(.*?)```", after, re.DOTALL).group(1)))
    return found


@pytest.mark.parametrize(("kind", "text"), _doc_examples(), ids=lambda v: v[:12])
def test_the_spec_language_examples_are_valid(kind: str, text: str) -> None:
    _assert_valid(kind, "example.yaml", yaml.safe_load(text))


def _assert_valid(kind: str, where: str, data: Any) -> None:
    """Valid by the file alone, as an editor's validator reads it (the JSON Schema standard,
    no dsc code)."""
    editor = jsonschema.Draft202012Validator(specschema.schema(kind))
    assert [f"{where}: {e.message}" for e in editor.iter_errors(data)] == []


def _projects() -> list[Path]:
    return [ROOT, *sorted(p for p in CASES.iterdir() if (p / "specs").is_dir())]


def test_the_shipped_example_golden_cases_and_starters_are_valid() -> None:
    checked = 0
    for project in _projects():
        for path in sorted(project.rglob("*.y*ml")):
            relpath = path.relative_to(project).as_posix()
            kind = specschema.kind_of(relpath)
            if kind is not None:
                text = path.read_text(encoding="utf-8")
                _assert_valid(kind, str(path), parse_yaml(relpath, text).data)
                checked += 1
    for example in EXAMPLES:
        for relpath, data in starter_files(example).items():
            kind = specschema.kind_of(relpath)
            if kind is not None:
                _assert_valid(kind, relpath, parse_yaml(relpath, data.decode()).data)
                checked += 1
    assert checked > 25


def _defaults(kind: str) -> dict[str, Any]:
    """A spec that writes out every default the schema shows (on keys of mappings)."""
    root = specschema.schema(kind)

    def fill(node: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for name, sub in _resolve(node, root).get("properties", {}).items():
            if "default" in sub:
                out[name] = sub["default"]
            elif _resolve(sub, root).get("properties") and "default" not in sub:
                inner = fill(sub)
                if inner:
                    out[name] = inner
        return out

    return fill(root)


def test_the_defaults_shown_are_the_ones_dsc_applies() -> None:
    """A dataset spec that writes every default of the schema compiles to the same settings as
    one that writes none."""
    written = {"name": "x", "seed": 1, **_defaults("dataset")}
    assert set(written) >= {"split", "limits", "formats", "chat_template"}
    assert set(written["limits"]) == set(
        specschema.schema("dataset")["properties"]["limits"]["properties"]
    )

    def settings(data: dict[str, Any]) -> Any:
        doc = parse_yaml("specs/dataset.yaml", yaml.safe_dump(data))
        config = configuration(doc, Collector())
        return dataclasses.replace(config, output_budget_at=None)

    assert settings(written) == settings({"name": "x", "seed": 1})


# -- dsc init ----------------------------------------------------------------------------------


@pytest.mark.parametrize("example", EXAMPLES)
def test_init_attaches_the_schemas_both_ways(example: str) -> None:
    files = starter_files(example)
    for kind in specschema.KINDS:
        assert files[f"schemas/{kind}.schema.json"] == specschema.text(kind).encode()
    settings = json.loads(files[".vscode/settings.json"])
    assert settings == {
        "yaml.schemas": {
            "./schemas/dataset.schema.json": ["specs/dataset.yaml"],
            "./schemas/contexts.schema.json": ["specs/contexts.yaml"],
            "./schemas/task.schema.json": ["specs/tasks/*.yaml", "specs/tasks/*.yml"],
            "./schemas/brand.schema.json": ["brands/*.yaml", "brands/*.yml"],
        }
    }
    assert json.loads(files[".vscode/extensions.json"]) == {
        "recommendations": ["redhat.vscode-yaml"]
    }
    specs = [path for path in files if specschema.kind_of(path)]
    assert "specs/dataset.yaml" in specs and any(p.startswith("specs/tasks/") for p in specs)
    for path in specs:
        first = files[path].decode().split("\n", 1)[0]
        kind = specschema.kind_of(path)
        target = f"{'../' * path.count('/')}schemas/{kind}.schema.json"
        assert first == f"# yaml-language-server: $schema={target}"
        assert (Path("/p") / path).parent.joinpath(target).resolve() == Path(
            f"/p/schemas/{kind}.schema.json"
        )
