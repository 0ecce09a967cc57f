"""Shared fixtures: fixture projects, the CLI runner, the built coding case and the golden flag."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import settings

from tests.helpers import BUILT, CASES, copy_example, copy_project

# `make test` (and so CI, which runs once) tries the same examples on every run and machine:
# a property test is red for a reason anyone can replay, never by the luck of a new search.
# `make fuzz` searches afresh (DSC_HYPOTHESIS=search), with ten times the examples, and keeps
# what it finds in .hypothesis/ to replay.
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("search", derandomize=False)
settings.load_profile(os.environ.get("DSC_HYPOTHESIS", "repeatable"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite expected build outputs of tests/cases/*/expected (review the diff!)",
    )


@pytest.fixture(scope="session", autouse=True)
def ctrl_c_as_in_a_terminal() -> None:
    """Tests interrupt builds with SIGINT as Ctrl-C in a terminal would. A test run started in
    the background (`cmd &` in a script, nohup, some CI runners) ignores SIGINT, and every
    process it starts would inherit that: take the default handler back."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def case(tmp_path: Path):
    """Copy tests/cases/<name> into a temporary folder and return its path."""

    def make(name: str) -> Path:
        return copy_project(CASES / name, tmp_path / name)

    return make


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of the shipped example project (specs/ and brands/)."""
    return copy_example(tmp_path / "example")


@pytest.fixture
def cli():
    """Run dsc in-process; returns click's Result (stdout, stderr and exit code apart)."""
    from compiler.cli import main

    def run(*args: str):
        return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)

    return run


@pytest.fixture(scope="session")
def coding_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The coding case built once per session through the CLI: read it, or copy it (`built`)."""
    from compiler.cli import main

    project = copy_project(CASES / "coding", tmp_path_factory.mktemp("built") / "coding")
    result = CliRunner().invoke(main, ["build", "-C", str(project)], catch_exceptions=False)
    assert (result.exit_code, result.stdout, result.stderr) == (0, BUILT, "")
    return project


@pytest.fixture
def built(coding_build: Path, tmp_path: Path) -> Path:
    """The coding project with its build/ folder, in tmp_path/coding: a copy of the session's
    one build (the same bytes a build in place writes; builds are deterministic)."""
    project = copy_project(coding_build, tmp_path / "coding")
    shutil.copytree(coding_build / "build", project / "build")
    return project


@pytest.fixture
def load_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """datasets.load_dataset, offline, with its caches in tmp_path: no network, no home."""
    for name in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE"):
        monkeypatch.setenv(name, "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "datasets"))
    import datasets  # the hf extra, installed by make test

    # Read at import, which an earlier test may have done with other settings.
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True, raising=False)

    def load(*args: str, **options: str):
        return datasets.load_dataset(*args, **options, cache_dir=str(tmp_path / "datasets"))

    return load


# The trainers' tests (TRL in test_trainers.py, LLaMA-Factory in test_llamafactory.py) read the
# golden case of every format, with a tokenizer trained on its own text: nothing from the Hub.
CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


@pytest.fixture(scope="module")
def formats_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The golden case of every format, built once for a module; its tests only read it."""
    from compiler.pipeline import build

    base = tmp_path_factory.mktemp("formats")
    out = base / "build"
    build(copy_project(CASES / "formats", base / "formats"), out)
    return out


@pytest.fixture(scope="module")
def chatml_tokenizer(formats_build: Path):
    """A byte-level BPE trained on the build's own text, with ChatML's tokens and template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    texts = [
        line
        for path in sorted(formats_build.rglob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    bpe = Tokenizer(models.BPE(unk_token=None))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        chat_template=CHATML,
    )
