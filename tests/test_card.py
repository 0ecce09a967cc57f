"""The dataset card (build/README.md) and dataset_info.json: what `datasets` and LLaMA-Factory
read, checked with the real `datasets`, and card.md as an input of the build."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from compiler.card import ISO_639_1, size_category
from compiler.cardfiles import COLUMNS
from compiler.formats import FORMATS, PLAIN_FORMATS
from compiler.pipeline import build
from tests.helpers import CASES, UP_TO_DATE, copy_project, edit

CASE = CASES / "card"  # every format, a card: section, specs/card.md, tasks named like splits
HF_SPLITS = {"train": "train", "val": "validation", "test": "test"}


@pytest.fixture(scope="module")
def card_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The card case built once: the tests only read it (and `datasets` writes its cache
    elsewhere)."""
    base = tmp_path_factory.mktemp("card")
    out = base / "build"
    build(copy_project(CASE, base / "card"), out)
    return out


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _file(name: str, split: str) -> str:
    return f"{split}.jsonl" if name == "alpaca" else f"{name}/{split}.jsonl"


def _front_matter(build_dir: Path) -> dict:
    text = (build_dir / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


@pytest.mark.parametrize("name", FORMATS)
def test_each_configuration_loads_exactly_its_files(
    card_build: Path, load_dataset, name: str
) -> None:
    """load_dataset(build, name) gives each split the rows of its file, value for value, in
    one schema; a split whose file is empty is left out (datasets cannot load it)."""
    loaded = load_dataset(str(card_build), name)
    expected = {
        HF_SPLITS[split]: _rows(card_build / _file(name, split))
        for split in HF_SPLITS
        if _rows(card_build / _file(name, split))
    }
    assert sorted(loaded) == sorted(expected)
    for split, rows in expected.items():
        assert loaded[split].to_list() == rows, split
    assert len({repr(loaded[split].features) for split in loaded}) == 1


def test_the_card_case_has_an_empty_split_and_every_format(card_build: Path) -> None:
    """What the tests above rely on: the case leaves a file empty, and builds every format."""
    meta = json.loads((card_build / "metadata.json").read_text(encoding="utf-8"))
    assert sorted(meta["formats"]) == sorted(FORMATS)
    assert meta["formats"]["preference"]["test"] == 0
    assert all(meta["formats"][name]["rows"] for name in FORMATS)


def test_loading_the_folder_gives_the_alpaca_splits_alone(card_build: Path, load_dataset) -> None:
    """Without configurations, datasets takes splits from file names: tasks/ab_test_captions
    would join test, tasks/dev_eval_valid_train the others. The default configuration names
    train.jsonl, val.jsonl and test.jsonl only."""
    assert sorted(p.name for p in (card_build / "tasks").iterdir()) == [
        "ab_test_captions.jsonl",
        "dev_eval_valid_train.jsonl",
    ]
    loaded = load_dataset(str(card_build))
    sizes = {split: len(rows) for split, rows in loaded.items()}
    assert sizes == {"train": 20, "validation": 2, "test": 2}
    for split, hf_split in HF_SPLITS.items():
        assert loaded[hf_split].to_list() == _rows(card_build / f"{split}.jsonl")


def test_a_metadata_key_null_in_every_row_of_a_file_loads(card_build: Path, load_dataset) -> None:
    """`reviewer` is null in every row of kto/train.jsonl and set in a later split's file:
    from values alone datasets types it null in the first file and fails on the string in
    the next (DatasetGenerationError). The card's features type every metadata key a string."""
    files = {split: _rows(card_build / f"kto/{split}.jsonl") for split in HF_SPLITS}
    assert all(row["metadata"]["reviewer"] is None for row in files["train"])
    assert any(row["metadata"]["reviewer"] == "kim" for row in files["val"] + files["test"])
    loaded = load_dataset(str(card_build), "kto")
    for split, rows in files.items():
        reviewers = [row["metadata"]["reviewer"] for row in rows]
        assert [row["metadata"]["reviewer"] for row in loaded[HF_SPLITS[split]]] == reviewers
    assert loaded["train"].features["metadata"]["reviewer"].dtype == "string"
    assert loaded["train"].features["label"].dtype == "bool"


def test_card_header_names_every_file_and_column(card_build: Path) -> None:
    front = _front_matter(card_build)
    assert front["pretty_name"] == "Barista answers"
    assert front["license"] == "cc-by-4.0"
    assert front["language"] == ["en", "th"]
    assert front["size_categories"] == ["n<1K"]
    assert front["task_categories"] == ["text-generation", "question-answering"]
    assert front["tags"] == ["coffee", "synthetic"]
    configs = {config["config_name"]: config for config in front["configs"]}
    meta = json.loads((card_build / "metadata.json").read_text(encoding="utf-8"))
    assert list(configs) == list(meta["formats"])  # as specs/dataset.yaml declares them
    assert [name for name, config in configs.items() if config.get("default")] == ["alpaca"]
    for info in front["dataset_info"]:
        name = info["config_name"]
        columns = [feature["name"] for feature in info["features"]]
        for entry in configs[name]["data_files"]:
            for row in _rows(card_build / entry["path"]):
                assert list(row) == columns, (name, entry["path"])
        assert columns[1:-1] == [column for column, _ in COLUMNS[name]] + (
            ["system"] if name == "alpaca" else []
        )


def _user_turn(entry: dict, row: dict) -> str:
    """The user turn LLaMA-Factory makes of a row (its converters, data/README.md)."""
    columns = entry["columns"]
    if entry.get("formatting") == "sharegpt":
        tags = entry["tags"]
        turns = [t for t in row[columns["messages"]] if t[tags["role_tag"]] != tags["system_tag"]]
        assert turns[0][tags["role_tag"]] == tags["user_tag"]
        assert turns[-1][tags["role_tag"]] == tags["assistant_tag"]
        return turns[0][tags["content_tag"]]
    parts = [row[columns["prompt"]], row[columns["query"]] if "query" in columns else ""]
    return "\n".join(part for part in parts if part)


def test_dataset_info_describes_each_file_as_llama_factory_reads_it(card_build: Path) -> None:
    """Every entry names a file with rows and columns that are in it, and LLaMA-Factory's
    reading of each gives the user turn of the messages format (with the line break that ends
    a plain prompt, docs/formats.md)."""
    info = json.loads((card_build / "dataset_info.json").read_text(encoding="utf-8"))
    formats = ["alpaca", "messages", "sharegpt", "preference", "kto", "text"]
    names = [f"card-demo_{name}_{split}" for name in formats for split in ("train", "val", "test")]
    assert list(info) == [n for n in names if n != "card-demo_preference_test"]
    user = {}
    for split in ("train", "val", "test"):
        for row in _rows(card_build / f"messages/{split}.jsonl"):
            user[row["id"]] = next(m["content"] for m in row["messages"] if m["role"] == "user")
    for name, entry in info.items():
        rows = _rows(card_build / entry["file_name"])
        form = entry["file_name"].split("/")[0] if "/" in entry["file_name"] else "alpaca"
        assert rows, name
        for row in rows:
            assert set(entry["columns"].values()) <= set(row), name
            record_id = row["id"].removesuffix(".chosen").removesuffix(".rejected")
            if record_id in user and form != "text":
                end = "\n" if form in PLAIN_FORMATS else ""
                assert _user_turn(entry, row) == user[record_id] + end, name
            if entry.get("ranking"):
                assert row["chosen"] != row["rejected"]
            if "kto_tag" in entry["columns"]:
                assert isinstance(row[entry["columns"]["kto_tag"]], bool)


def test_language_is_the_iso_codes_among_lang_values(tmp_path: Path) -> None:
    """The coding case's `lang` values are programming languages: no `language:` key."""
    out = tmp_path / "build"
    build(copy_project(CASES / "coding", tmp_path / "coding"), out)
    assert "language" not in _front_matter(out)
    assert {"en", "th"} <= ISO_639_1 and not {"python", "rust", "go"} & ISO_639_1


@pytest.mark.parametrize(
    ("records", "category"),
    [
        (0, "n<1K"),
        (999, "n<1K"),
        (1000, "1K<n<10K"),
        (99_999, "10K<n<100K"),
        (1_000_000, "1M<n<10M"),
        (10**12 - 1, "100B<n<1T"),
        (10**12, "n>1T"),
    ],
)
def test_size_category_is_huggingface_bucket(records: int, category: str) -> None:
    assert size_category(records) == category


# --- specs/card.md: the project's own words, an input of the build ---------------------------

CARD_TEXT = "## Intended use\n\nExamples for teaching coroutines.\n"


def test_card_md_is_an_input(case, cli) -> None:
    project = case("coding")
    assert cli("build", "-C", project).exit_code == 0
    (project / "specs/card.md").write_text(CARD_TEXT, encoding="utf-8")
    added = cli("build", "-C", project)
    assert added.stdout.startswith("rebuilding: specs/card.md was added\n")
    readme = (project / "build/README.md").read_text(encoding="utf-8")
    assert "\n\n## Intended use\n\nExamples for teaching coroutines.\n\n## Contents\n" in readme
    meta = json.loads((project / "build/metadata.json").read_text(encoding="utf-8"))
    assert "specs/card.md" in meta["inputs"]
    assert cli("build", "-C", project).stdout == UP_TO_DATE
    edit(project / "specs/card.md", "coroutines", "async code")
    assert cli("build", "-C", project).stdout.startswith("rebuilding: specs/card.md changed\n")
    (project / "specs/card.md").unlink()
    assert cli("build", "-C", project).stdout.startswith("rebuilding: specs/card.md was deleted\n")
    assert "Intended use" not in (project / "build/README.md").read_text(encoding="utf-8")


def test_card_md_with_crlf_gives_the_same_card(case, tmp_path: Path) -> None:
    project = case("coding")
    (project / "specs/card.md").write_text(CARD_TEXT, encoding="utf-8")
    build(project, tmp_path / "lf")
    (project / "specs/card.md").write_bytes(CARD_TEXT.replace("\n", "\r\n").encode())
    build(project, tmp_path / "crlf")
    lf, crlf = (
        (tmp_path / out / "README.md").read_text(encoding="utf-8") for out in ("lf", "crlf")
    )
    assert "\r" not in crlf
    assert crlf.split("### Reproducing")[0] == lf.split("### Reproducing")[0]


def test_card_md_with_a_control_character_is_refused(case, cli) -> None:
    project = case("coding")
    (project / "specs/card.md").write_text("# Notes\n\nbell \x07 here\n", encoding="utf-8")
    result = cli("build", "-C", project)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "specs/card.md:3:6: error: control character U+0007 is not allowed\n"
        "  hint: remove it: the card is Markdown text\n"
    )


@pytest.mark.parametrize("name", ["README.md", "dataset_info.json"])
def test_a_hand_edited_card_is_rebuilt_and_fails_check(case, cli, name: str) -> None:
    project = case("coding")
    assert cli("build", "-C", project).exit_code == 0
    with open(project / "build" / name, "a", encoding="utf-8") as f:
        f.write("\n")
    assert cli("check", "-C", project).stderr.startswith(
        f"build/ does not match the specs:\n  build/{name} differs (stale or edited by hand)\n"
    )
    rebuilt = cli("build", "-C", project)
    assert rebuilt.stdout.startswith(f"rebuilding: build/{name} was edited by hand\n")
    assert cli("check", "-C", project).exit_code == 0


def test_card_values_survive_the_yaml_header(case, tmp_path: Path) -> None:
    """A pretty_name YAML would misread unquoted (a colon, a hash, a leading quote, Thai and
    a line separator) comes back from the header as it was written."""
    project = case("coding")
    name = "'Coroutines: a #1 set' ไทย \u2028 next"
    with open(project / "specs/dataset.yaml", "a", encoding="utf-8") as f:
        f.write(f"card: {{pretty_name: {json.dumps(name)}, license: apache-2.0}}\n")
    build(project, tmp_path / "out")
    front = _front_matter(tmp_path / "out")
    assert (front["pretty_name"], front["license"]) == (name, "apache-2.0")
    text = (tmp_path / "out/README.md").read_text(encoding="utf-8")
    assert "\n# 'Coroutines: a #1 set' ไทย next\n" in text  # the title is one line
