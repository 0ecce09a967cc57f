"""The spec schemas in a real editor: npm's yaml-language-server (the server of VS Code's YAML
extension, Neovim's yamlls, Helix, Zed ...) over LSP, in a project written by dsc init.

One server for the module. It attaches the schemas both ways dsc init writes: the modeline at
the top of each starter spec, and VS Code's yaml.schemas setting (.vscode/settings.json) for a
file without one. docs/editor.md tells what the server checks and what only dsc does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from lsprotocol import types

from compiler import specschema
from compiler.scaffold import scaffold
from tests.helpers import CASES, ROOT
from tests.yamlls import YamlLanguageServer

ERRORS = ROOT / "tests/errors"
SCHEMA_CASES = sorted(p.name for p in ERRORS.iterdir() if p.name.startswith("schema_"))
# The schema-stage mistakes of tests/errors that no JSON Schema can see, and why; every other
# schema_* case is an error in the editor too, on the line dsc names. docs/editor.md lists them.
BEYOND = {
    "schema_brand_id_file_name": "a brand's id equals its file name",
    "schema_task_file_name": "a task's name equals its file name",
    "schema_duplicate_brand_id": "two brand files with one id",
    "schema_duplicate_context_id": "two contexts with one id",
    "schema_duplicate_item_id": "two collection items with one id",
    "schema_duplicate_rule_id": "two rules with one id",
    "schema_duplicate_nested_id": "two bindings that make one record id",
    "schema_duplicate_data_id": "two rows of a data file with one id",
    "schema_compiler_metadata_key": "metadata keys the compiler sets (task, rule)",
    "schema_limits_min_over_max": "a length range whose min is over its max",
    "schema_ratios_sum": "split ratios that do not sum to 1",
    "schema_stratify_unknown_key": "stratify_by naming a metadata key no rule sets",
    "schema_no_dataset": "a project without specs/dataset.yaml",
    "schema_no_tasks": "a project without task files",
}
# Where the editor says it elsewhere: the YAML parser of the language server (npm's yaml, YAML
# 1.2) refuses the last line of this multi-line quoted id, at column 1 under an indented key,
# as a syntax error on the lines after it (PyYAML, dsc's reader, accepts it).
ELSEWHERE = {"schema_context_id_trailing_newline": "Missing closing 'quote"}
LOCATED = re.compile(r"^([^:\n]+):(\d+):(\d+): error: ", re.MULTILINE)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("editor") / "shop"
    scaffold(folder, "marketing", force=False)
    return folder


def spec_files(project: Path) -> list[Path]:
    """The spec files of a project, by the globs of specschema.FILES."""
    return [
        path
        for path in sorted(project.rglob("*.y*ml"))
        if specschema.kind_of(path.relative_to(project).as_posix()) is not None
    ]


def error_file(case: str) -> tuple[Path | None, str]:
    """The spec file dsc's message of an error case names (None when the mistake is a
    missing file or lies in a data file), and the message."""
    expected = (ERRORS / case / "expected.txt").read_text(encoding="utf-8")
    located = LOCATED.search(expected)
    if located is None or specschema.kind_of(located.group(1)) is None:
        return None, expected
    return ERRORS / case / located.group(1), expected


def examples(project: Path) -> list[Path]:
    """The starter's spec files (attached by their modelines); the shipped example's and the
    golden cases', which have none (attached by the setting, whose globs match in any folder)."""
    projects = [ROOT, *sorted(p for p in CASES.iterdir() if (p / "specs").is_dir())]
    return spec_files(project) + [path for folder in projects for path in spec_files(folder)]


# The documents the tests look at, with a mistake made in the starter's caption task.
TYPO = ("    instruction:", "    instrucion:")


@pytest.fixture(scope="module")
def server(project: Path) -> Iterator[YamlLanguageServer]:
    """The server in the project's folder, with the project's VS Code settings (no network:
    the SchemaStore catalogue off), and every document of the tests open.

    The server checks a document 200 ms after it changes (validationDelayMs, fixed): all are
    opened at once, so that they wait together. First a file that only the setting attaches
    to a schema, until it has its error: from then on, every document is checked with the
    settings."""
    settings = json.loads((project / specschema.SETTINGS).read_text(encoding="utf-8"))
    yaml_settings = {"schemas": settings["yaml.schemas"], "schemaStore": {"enable": False}}
    started = YamlLanguageServer(project, yaml_settings)
    try:
        uri = started.open(project / "brands/probe.yaml", "id: probe\nname: Probe\ntagine: x\n")
        started.diagnostics(uri, until=bool)
        caption = (project / "specs/tasks/caption_generation.yaml").read_text(encoding="utf-8")
        started.open(project / "specs/tasks/typo.yaml", caption.replace(*TYPO, 1))
        for path in examples(project):
            started.open(path, path.read_text(encoding="utf-8"))
        for case in SCHEMA_CASES:
            path, _ = error_file(case)
            if path is not None:
                started.open(path, path.read_text(encoding="utf-8"))
        yield started
    finally:
        started.close()


def found(diagnostics: list[types.Diagnostic]) -> list[tuple[int, int, str]]:
    """(line, column, message), 1-based as in dsc's messages."""
    return [(d.range.start.line + 1, d.range.start.character + 1, d.message) for d in diagnostics]


def test_the_vscode_setting_attaches_a_schema_to_a_file_without_modeline(
    server: YamlLanguageServer, project: Path
) -> None:
    uri = (project / "brands/probe.yaml").as_uri()
    assert found(server.diagnostics(uri)) == [(3, 1, "Property tagine is not allowed.")]


def test_a_misspelled_key_is_an_error_at_the_key(server: YamlLanguageServer, project: Path) -> None:
    caption = (project / "specs/tasks/caption_generation.yaml").read_text(encoding="utf-8")
    assert caption.startswith(specschema.modeline("specs/tasks/caption_generation.yaml") + "\n")
    lines = caption.replace(*TYPO, 1).splitlines()
    rule = lines.index("  - id: approved") + 1
    line = next(i for i, text in enumerate(lines) if "instrucion:" in text) + 1
    # The typo, and the rule (its mapping starts after "- ") that lacks the key.
    assert found(server.diagnostics((project / "specs/tasks/typo.yaml").as_uri())) == [
        (rule, 5, 'Missing property "instruction".'),
        (line, 5, "Property instrucion is not allowed."),
    ]


def test_completion_inside_a_rule_offers_the_rule_keys_not_yet_written(
    server: YamlLanguageServer, project: Path
) -> None:
    lines = (project / "specs/tasks/caption_generation.yaml").read_text("utf-8").splitlines()
    rule = lines.index("  - id: approved")
    written = set()
    for line in lines[rule + 1 :]:
        if not line.startswith("    ") and line.strip():
            break
        if re.match(r"^    [a-z_]+:", line):
            written.add(line.split(":")[0].strip())
    text = "\n".join([*lines[: rule + 1], "    ", *lines[rule + 1 :]]) + "\n"
    uri = server.open(project / "specs/tasks/complete.yaml", text)
    offered = {item.label for item in server.completion(uri, rule + 1, 4)}
    rule_keys = set(specschema.schema("task")["$defs"]["rule"]["properties"])
    assert written == {"each", "instruction", "input", "output", "metadata"}
    assert offered == rule_keys - written - {"id"}


def test_hover_shows_the_description_of_the_key(server: YamlLanguageServer, project: Path) -> None:
    path = project / "specs/tasks/caption_generation.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    rule = specschema.schema("task")["$defs"]["rule"]["properties"]
    each = lines.index("    each:")
    assert rule["each"]["description"] in server.hover(path.as_uri(), each, 5)
    # A key whose schema is a $ref shows its own description, not the shared definition's.
    task_key = lines.index("task: caption_generation")
    task_text = specschema.schema("task")["properties"]["task"]["description"]
    assert task_text in server.hover(path.as_uri(), task_key, 1)


def test_the_starter_and_the_shipped_example_have_no_diagnostics(
    server: YamlLanguageServer, project: Path
) -> None:
    files = examples(project)
    assert (ROOT / "specs/dataset.yaml") in files and (CASES / "coding/specs/dataset.yaml") in files
    assert len(files) > 20
    complaints = {path: found(server.diagnostics(path.as_uri())) for path in files}
    assert {path: said for path, said in complaints.items() if said} == {}


@pytest.mark.parametrize("case", SCHEMA_CASES)
def test_the_editor_gives_dsc_s_verdict_on_each_schema_error_case(
    case: str, server: YamlLanguageServer
) -> None:
    path, expected = error_file(case)
    if case in BEYOND:
        if path is not None:
            assert found(server.diagnostics(path.as_uri())) == [], BEYOND[case]
        return
    assert path is not None, expected
    said = found(server.diagnostics(path.as_uri()))
    if case in ELSEWHERE:
        assert ELSEWHERE[case] in {message for _, _, message in said}, said
    else:
        line = int(LOCATED.search(expected).group(2))
        assert line in {line for line, _, _ in said}, (expected, said)


def test_the_cases_beyond_a_schema_are_schema_cases_and_documented() -> None:
    assert set(BEYOND) <= set(SCHEMA_CASES)
    assert set(ELSEWHERE) <= set(SCHEMA_CASES) - set(BEYOND)
    doc = (ROOT / "docs/editor.md").read_text(encoding="utf-8")
    assert [case for case in [*BEYOND, *ELSEWHERE] if f"`{case}`" not in doc] == []
