"""dsc build --runner beam: every output the local build's bytes, on Beam's DirectRunner.

One pipeline builds every project below at once (Beam's workers start once: a pipeline costs
seconds however small its project), in multi_processing mode with 2 workers, so that every
object that crosses a process is really pickled.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.project import write_project
from compiler.errors import CompileError
from compiler.pipeline import build
from tests.helpers import CASES, ROOT, copy_example, copy_project, prepare_error_case, read_tree

pytestmark = pytest.mark.beam
# Run by `make test-beam` (and by .ci/run after `make test`), not by `make test`. By default it
# builds the shipped example, the golden case of every format (whole and in 3 shards) and a
# mistake found in a worker: one pipeline of ~30 s on 2 cores. DSC_BEAM_ALL=1 (which
# `make test-beam` and `make fuzz` set) builds every golden case, both projects in shards, a
# generated project of 20,000 records whole and in 4 shards, and three mistakes found in
# workers (rendering, guardrails, the byte budget).
ALL = os.environ.get("DSC_BEAM_ALL") == "1"
ALL_GOLDEN = sorted(p.name for p in CASES.iterdir() if (p / "specs").is_dir())
GOLDEN = ALL_GOLDEN if ALL else ["formats"]
WORKER_ERRORS = (
    ("guard_banned_phrase", "tpl_undefined_variable", "combo_max_output_bytes")
    if ALL
    else ("tpl_undefined_variable",)
)
GENERATED = 20_000  # records of the generated project (bench/project.py)
TWO_WORKERS = [
    "--runner=DirectRunner",
    "--direct_running_mode=multi_processing",
    "--direct_num_workers=2",
]


def _shard(project: Path, shards: int) -> Path:
    with open(project / "specs/dataset.yaml", "a", encoding="utf-8") as f:
        f.write(f"output: {{shards: {shards}}}\n")
    return project


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("beam")
    made = {"example": copy_example(base / "example")}
    made.update({name: copy_project(CASES / name, base / name) for name in GOLDEN})
    made["formats-shards"] = _shard(copy_project(CASES / "formats", base / "f-shards"), 3)
    if ALL:
        made["example-shards"] = _shard(copy_example(base / "example-shards"), 3)
        generated = base / "generated"
        generated.mkdir()
        write_project(generated, GENERATED, formats=("messages", "kto"))
        made["generated"] = generated
        made["generated-shards"] = _shard(copy_project(generated, base / "generated-shards"), 4)
    for name in WORKER_ERRORS:
        made[name] = prepare_error_case(name, base / "errors", crlf=False)
    return made


@pytest.fixture(scope="module")
def beam_builds(projects: dict[str, Path]) -> dict[str, object]:
    from compiler.beamrun import build_many

    names = list(projects)
    found = build_many([(projects[n], projects[n] / "beam", None) for n in names], TWO_WORKERS)
    return dict(zip(names, found, strict=True))


def test_beam_builds_the_local_bytes(projects, beam_builds) -> None:
    for name, project in projects.items():
        if name in WORKER_ERRORS:
            continue
        build(project, project / "local")
        assert read_tree(project / "beam") == read_tree(project / "local"), name


def test_beam_builds_the_golden_files_and_the_committed_example(projects, beam_builds) -> None:
    for name in GOLDEN:
        assert read_tree(projects[name] / "beam") == read_tree(CASES / name / "expected"), name
    assert read_tree(projects["example"] / "beam") == read_tree(ROOT / "build")


@pytest.mark.parametrize("name", WORKER_ERRORS)
def test_a_mistake_found_in_a_worker_is_the_local_error(projects, beam_builds, name) -> None:
    project = projects[name]
    with pytest.raises(CompileError) as local:
        build(project, project / "local")
    found = beam_builds[name]
    assert isinstance(found, CompileError)
    assert (found.render(), found.more) == (local.value.render(), local.value.more)
    # Nothing written: the staging folder is gone, no output folder was made.
    assert sorted(p.name for p in project.iterdir()) == ["brands", "data", "specs"]


def test_the_local_runner_and_help_never_import_beam(tmp_path: Path) -> None:
    project = copy_project(CASES / "minimal", tmp_path / "minimal")
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from compiler.cli import main\n"
        "assert CliRunner().invoke(main, ['--help']).exit_code == 0\n"
        f"assert CliRunner().invoke(main, ['build', '-q', '-C', {str(project)!r}]).exit_code == 0\n"
        "print(sorted(m for m in sys.modules if m.startswith('apache_beam')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "[]\n", "")


def test_beam_options_without_the_beam_runner_are_refused(cli, tmp_path: Path) -> None:
    project = copy_project(CASES / "minimal", tmp_path / "minimal")
    result = cli("build", "-C", project, "--", "--runner=DataflowRunner")
    assert result.exit_code == 2
    assert "Beam's options are for --runner beam" in result.stderr


def test_the_watch_builds_here_and_refuses_the_beam_runner(cli, tmp_path: Path) -> None:
    project = copy_project(CASES / "minimal", tmp_path / "minimal")
    result = cli("build", "-C", project, "--watch", "--runner", "beam")
    assert result.exit_code == 2
    assert result.stderr.endswith(
        "Error: --watch builds on this machine: it does not take --runner beam\n"
    )
    assert not (project / "build").exists()


IN_MEMORY = ["--runner=DirectRunner", "--direct_running_mode=in_memory"]


def test_rows_lost_between_the_steps_fail_the_build(monkeypatch, tmp_path: Path) -> None:
    # A run's rows lost on their way to the shards (as a 100,000-record build once lost 909,
    # docs/distributed.md): the driver's check of every file's rows against the tally stops
    # the build. In-process (in_memory mode) so that the step can be replaced.
    from compiler import beamsteps
    from compiler.beamrun import build_many

    project = copy_project(CASES / "minimal", tmp_path / "minimal")
    build(project)
    before = read_tree(project / "build")
    shard_rows = beamsteps.ShardRows.process

    def lossy(self, item, table):
        if item[0] != 2:  # the second run of two records (run_size=2) is lost
            yield from shard_rows(self, item, table)

    monkeypatch.setattr(beamsteps.ShardRows, "process", lossy)
    (found,) = build_many([(project, None, None)], IN_MEMORY, run_size=2)
    assert isinstance(found, CompileError)
    hint = (
        "\n  hint: rows were lost or doubled between the pipeline's steps, a fault of the runner "
        "or of dsc, not of the project: nothing was written and the previous build is "
        "untouched; build again, and report it with the Beam options used "
        "(docs/distributed.md)"
    )
    assert found.render() == (
        "build/tasks/caption.jsonl: error: the pipeline wrote 2 rows to tasks/caption.jsonl; "
        f"the build counted 4{hint}\n"
        f"build/train.jsonl: error: the pipeline wrote 1 row to train.jsonl; the build counted 3"
        f"{hint}"
    )
    assert read_tree(project / "build") == before
    assert sorted(p.name for p in project.iterdir()) == ["brands", "build", "data", "specs"]
