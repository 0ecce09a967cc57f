"""Plain helpers shared by the test modules: paths, fixture projects, edits and readers.

Fixtures live in conftest.py; this module holds what test modules import by name, so that no
test module imports from another.
"""

from __future__ import annotations

import contextlib
import json
import os
import runpy
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from compiler.expand import expand, maker
from compiler.model import Project, Record
from compiler.resolve import resolve
from compiler.validate import validate
from compiler.yamldoc import Document, parse_yaml
from tests import forked

ROOT = Path(__file__).resolve().parent.parent
CASES = Path(__file__).resolve().parent / "cases"
CORPUS = Path(__file__).resolve().parent / "errors"

# --- the coding case (tests/cases/coding) and what its builds say --------------------------

GOLDEN = CASES / "coding" / "expected"
BUILT = "built 12 records (train 10, val 1, test 1; dropped 0) into build/\n"
UP_TO_DATE = "build/ is up to date\n"
CONCEPTS = "specs/tasks/explain_concept.yaml"
DATA = "data/refactor.jsonl"
BUILD_FILES = [
    "README.md",
    "dataset_info.json",
    "metadata.json",
    "tasks/explain_concept.jsonl",
    "tasks/refactor.jsonl",
    "test.jsonl",
    "train.jsonl",
    "val.jsonl",
]

# How many records at most change split when one record (a new group) is added to a dataset
# of many strata: the bound test_split.py checks on the split itself (its comment on locality
# says where 10 comes from) and test_determinism.py on a whole build.
SINGLETON_MOVES = 10

# --- the bad-input corpus (tests/errors) ---------------------------------------------------

ERROR_CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "specs").is_dir())
RECIPE = "make.py"
EXPECTED = "expected.txt"


def copy_project(source: Path, dest: Path) -> Path:
    """Copy a project's spec files (not its build, expected outputs or stat cache) into dest."""
    ignore = shutil.ignore_patterns("build", "expected", "build.*", "__pycache__", ".dsc")
    shutil.copytree(source, dest, ignore=ignore)
    return dest


def copy_example(dest: Path) -> Path:
    """A copy of the shipped example project (specs/, brands/ and data/ if any) in dest."""
    dest.mkdir()
    for part in ("specs", "brands"):
        shutil.copytree(ROOT / part, dest / part)
    data = ROOT / "data"
    if data.is_dir():
        shutil.copytree(data, dest / "data")
    return dest


def read_tree(folder: Path) -> dict[str, bytes]:
    """Every file below folder, by sorted relative POSIX path."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def snapshot(folder: Path) -> dict[str, tuple[int, int, bytes | None]]:
    """Every file and folder below folder (itself included): inode, mtime in ns and bytes."""
    paths = [folder, *sorted(folder.rglob("*"))]
    return {
        p.relative_to(folder).as_posix(): (
            p.stat().st_ino,
            p.stat().st_mtime_ns,
            p.read_bytes() if p.is_file() else None,
        )
        for p in paths
    }


def without_state(tree: dict[str, object]) -> dict[str, object]:
    """A snapshot or tree without .dsc/, the stat cache a build or an up-to-date check may
    update (docs/review.md: the stat cache); tests/test_statcache.py says when it does."""
    return {p: v for p, v in tree.items() if ".dsc" not in p.split("/")}


def edit(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of old in a text file."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not in {path} exactly once"
    path.write_text(text.replace(old, new), encoding="utf-8")


def add_row(project: Path, **row: str) -> None:
    """Append a row to the coding case's data file."""
    with open(project / DATA, "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")


def add_duplicate_and_short_rows(project: Path) -> None:
    """Rows for a record equal to rs-worker's under another id, and a record too short."""
    add_row(
        project,
        id="rs-worker-copy",
        lang="rust",
        code="std::thread::spawn(move || work(rx));",
        answer="tokio::spawn(async move { work(rx).await });",
    )
    add_row(project, id="py-tiny", lang="python", code="t.join()", answer="await t")


def records(build_dir: Path) -> dict[str, tuple[str, dict]]:
    """id -> (split, record) of a build folder, read straight from its split files."""
    found = {}
    for split_name in ("train", "val", "test"):
        for line in (build_dir / f"{split_name}.jsonl").read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            found[record["id"]] = (split_name, record)
    return found


# --- edits of the coding project, in its specs and data or in its build --------------------


def edit_concept(project: Path) -> None:
    edit(project / CONCEPTS, "what cleanup runs", "what cleanup code runs")


def edit_data(project: Path) -> None:
    edit(project / DATA, "await sleep(1000);", "await sleep(500);")


def edit_dataset_seed(project: Path) -> None:
    edit(project / "specs/dataset.yaml", "seed: 7", "seed: 8")


def edit_train_by_hand(project: Path) -> None:
    with open(project / "build/train.jsonl", "a", encoding="utf-8") as f:
        f.write('{"id": "mine", "instruction": "hi", "input": "", "output": "hello"}\n')


def add_stray_file(project: Path) -> None:
    (project / "build/notes.txt").write_text("my notes\n", encoding="utf-8")


def delete_val(project: Path) -> None:
    (project / "build/val.jsonl").unlink()


# --- the bad-input corpus -------------------------------------------------------------------


def to_crlf(project: Path) -> None:
    """Rewrite every file of the project with Windows line endings."""
    for path in project.rglob("*"):
        if path.is_file() and not path.is_symlink():
            path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))


def prepare_error_case(name: str, tmp_path: Path, crlf: bool) -> Path:
    """A copy of tests/errors/<name> with its mistake made (make.py), optionally in CRLF."""
    source = CORPUS / name
    project = tmp_path / name
    shutil.copytree(source, project, ignore=shutil.ignore_patterns(EXPECTED, RECIPE, "__pycache__"))
    if crlf:
        to_crlf(project)
    if (source / RECIPE).is_file():
        runpy.run_path(str(source / RECIPE))["make"](project)
    return project


# --- projects made in memory, for the unit tests of the stages ------------------------------

DATASET_YAML = "name: unit\nseed: 7\n"


def parse_spec(path: str, text: str, kind: str) -> Document:
    """A spec file parsed and validated, as the loader hands it to resolve."""
    doc = parse_yaml(path, text)
    validate(doc, kind)
    return doc


def project_from(
    tasks: dict[str, str],
    dataset: str = DATASET_YAML,
    brands: dict[str, str] | None = None,
    contexts: str | None = None,
) -> Project:
    """Resolve a project given as texts: task name -> YAML, brand id -> YAML. No files."""
    return resolve(
        parse_spec("specs/dataset.yaml", dataset, "dataset"),
        parse_spec("specs/contexts.yaml", contexts, "contexts") if contexts else None,
        [
            parse_spec(f"brands/{b}.yaml", text, "brand")
            for b, text in sorted((brands or {}).items())
        ],
        [parse_spec(f"specs/tasks/{t}.yaml", text, "task") for t, text in sorted(tasks.items())],
        {},
    )


def records_of(project: Project) -> list[Record]:
    """Every record the rules make, rule by rule in id order, before any check drops one."""
    rules, errors = expand(project)
    errors.raise_if_any()
    return [
        maker(project, plan, found)(position) for plan, found in rules for position in found.order
    ]


class Hang(BaseException):
    """Raised in the test by a timer; a BaseException so that no `except Exception` eats it."""


@contextlib.contextmanager
def hang_guard(seconds: float = 10) -> Iterator[None]:
    """Fail (instead of stalling the suite) when one example runs far past its deadline."""

    def stop(signum: int, frame: object) -> None:
        raise Hang(f"no result after {seconds} s: the compiler hangs")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# How many examples a property test tries: `make test` runs each at its own count (scale 1),
# `make fuzz` at ten times it (DSC_EXAMPLES=10), for a longer search before a release.
EXAMPLES_SCALE = float(os.environ.get("DSC_EXAMPLES", "1"))


def examples(count: int) -> int:
    """The max_examples of a property test that tries `count` examples in `make test`."""
    return max(1, round(count * EXAMPLES_SCALE))


def dsc(*args: str | Path, **options) -> subprocess.CompletedProcess[str]:
    """dsc in a process of its own with a timeout: a hang fails the test, it is not timed.

    Forked from the test's dsc server (tests/forked.py); a new interpreter when given options
    (an env, a preexec_fn) that only a new interpreter honours.
    """
    if not options:
        return forked.run(*args)
    return subprocess.run(
        [sys.executable, "-m", "compiler", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        **options,
    )


# A 13-line code answer, and the same answer with one line edited (the 8th).
CRAWL = """import asyncio

async def crawl(urls, limit=8):
    semaphore = asyncio.Semaphore(limit)

    async def one(url):
        async with semaphore:
            page = await fetch(url)
            return await store(page)

    tasks = [one(url) for url in urls]
    results = await asyncio.gather(*tasks)
    return results"""
CRAWL_EDITED = CRAWL.replace("fetch(url)", "fetch(url, timeout=10)")
