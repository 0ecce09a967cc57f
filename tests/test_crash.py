"""The previous build survives every failure: SIGKILL, a second build, a full disk, bad build/.

A large project (3,000 records, a build of about a second, half of it starting Python) is
generated here; its old build is compiled once with seed 7 and the new one, after the seed
changed to 11, once more. Every
test then works on a copy and compares build/ byte for byte with these two reference trees.
The compiler runs as `python -m compiler` would, in a process of its own (forked from the
test's dsc server, tests/forked.py), so that it can be killed, stopped or given a small file
size limit.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import re
import resource
import shutil
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import forked
from tests.helpers import CASES, copy_project, dsc, read_tree

# 800 records: outputs of hundreds of kilobytes, so that writing, syncing and swapping take
# measurable time, while each of the ~70 builds of this module stays short. The SIGKILL trials
# aim at the phases (before and after the staging folder appears) rather than on sheer size.
LANGUAGES = 20
CONCEPTS = 40
OLD_SEED, NEW_SEED = 7, 11
TIMEOUT = 120
TRIALS = 14

LOCKED = (
    "build: error: another dsc build is writing build/\n"
    "  hint: wait for it to finish, then build again\n"
)
# The project folder after a build: no lock or staging left; .dsc/ holds the stat cache.
BUILT = [".dsc", "build", "data", "specs"]
KEPT = ["build", "data", "specs"]  # after a build that failed over an old one: nothing added
REMOVED_STAGING = "note: removed build.staging/ left by an interrupted build"


def dataset_yaml(seed: int) -> str:
    lines = [
        "name: crash-test",
        "description: A large project for the crash tests.",
        f"seed: {seed}",
        "collections:",
        "  languages:",
    ]
    lines += [
        f"    - {{id: lang{i:03d}, name: Language{i:03d}, runtime: runtime number {i}, "
        f'spawn: "spawn_{i}(fetch(url))"}}'
        for i in range(LANGUAGES)
    ]
    return "\n".join(lines) + "\n"


def concepts_yaml() -> str:
    concepts = "".join(
        f"        concept{j:03d}: how concept number {j} behaves while a task waits\n"
        for j in range(CONCEPTS)
    )
    return (
        "task: explain_concept\n"
        "description: Explain a concurrency concept for one language.\n"
        "defaults:\n  quality: synthesized\n  lang: null\n"
        "rules:\n"
        "  - id: concepts\n"
        "    each:\n"
        "      lang: languages\n"
        "      concept:\n"
        f"{concepts}"
        "    pick:\n"
        '      verb: ["Explain", "Describe", "Walk me through"]\n'
        '    instruction: "{{ verb }} {{ keys.concept }} in {{ lang.name }} coroutines."\n'
        "    output: |\n"
        "      In {{ lang.name }}, {{ keys.concept }} is about {{ concept }}.\n"
        "      The runtime ({{ lang.runtime }}) schedules coroutines cooperatively, so a task\n"
        "      notices it only at an await point; spawn work with `{{ lang.spawn }}`.\n"
        "    metadata:\n"
        '      lang: "{{ lang.id }}"\n'
    )


def start_build(project: Path, *args: str) -> forked.Forked:
    return forked.Forked("build", "-C", project, *args)


def wait_for(path: Path, process: forked.Forked, seconds: float = 60) -> None:
    end = time.monotonic() + seconds
    while not (path.exists() or path.is_symlink()):
        assert process.poll() is None, f"the build ended before {path.name} appeared"
        assert time.monotonic() < end, f"{path.name} did not appear"
        time.sleep(0.002)


def stopped_before_the_swap(
    large: Large, folder: Path, attempts: int = 5
) -> tuple[Path, forked.Forked]:
    """A rebuild (--force) of a copy of the project with its old build, stopped (SIGSTOP) while
    build.staging/ exists and holds no metadata.json yet: metadata.json is the last file written
    before the swap, so whatever the machine's load the old build is in place, and a signal
    sent now is handled before the swap. The caller continues the build (SIGCONT) or kills it.
    """
    for attempt in range(attempts):
        project = large.copy(folder / f"project{attempt}")
        process = start_build(project, "--force")
        wait_for(project / "build.staging", process)
        process.send_signal(signal.SIGSTOP)
        staging = project / "build.staging"
        if staging.is_dir() and not (staging / "metadata.json").exists():
            return project, process
        process.kill()  # stopped too late, at or after the swap: try a fresh copy
        process.communicate(timeout=TIMEOUT)
    raise AssertionError(f"no build stopped before its swap in {attempts} attempts")


def entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@dataclass(frozen=True)
class Timed:
    """A finished build and when, from its start, its staging folder first appeared."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    staging_at: float | None


def timed_build(project: Path, *args: str) -> Timed:
    """`dsc build`, watching for build.staging/ (the end of loading, the start of writing)."""
    started = time.monotonic()
    process = start_build(project, *args)
    staging_at = None
    while process.poll() is None:
        if staging_at is None and (project / "build.staging").exists():
            staging_at = time.monotonic() - started
        time.sleep(0.002)
    stdout, stderr = process.communicate(timeout=TIMEOUT)
    return Timed(process.returncode, stdout, stderr, time.monotonic() - started, staging_at)


@dataclass(frozen=True)
class Large:
    """The generated project (specs already changed to the new seed) and its two builds."""

    project: Path
    old_build: Path
    old: dict[str, bytes]
    new: dict[str, bytes]
    seconds: float
    loading: float  # the share of a build before build.staging/ appears
    built: str  # the first words of the summary line of a build

    def copy(self, dest: Path, with_old_build: bool = True) -> Path:
        project = copy_project(self.project, dest)
        if with_old_build:
            shutil.copytree(self.old_build, project / "build")
        return project


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Large:
    base = tmp_path_factory.mktemp("large")
    project = copy_project(CASES / "coding", base / "project")
    (project / "specs/dataset.yaml").write_text(dataset_yaml(OLD_SEED), encoding="utf-8")
    (project / "specs/tasks/explain_concept.yaml").write_text(concepts_yaml(), encoding="utf-8")
    old = dsc("build", "-C", project)
    assert old.returncode == 0, old.stderr
    built = re.match(r"built \d+ records", old.stdout)
    assert built and int(built.group().split()[1]) >= LANGUAGES * CONCEPTS, old.stdout
    old_build = base / "old-build"
    (project / "build").rename(old_build)
    (project / "specs/dataset.yaml").write_text(dataset_yaml(NEW_SEED), encoding="utf-8")
    reference = copy_project(project, base / "reference")
    new = timed_build(reference)
    assert new.returncode == 0, new.stderr
    assert new.staging_at is not None, "build.staging/ was never seen"
    large = Large(
        project,
        old_build,
        read_tree(old_build),
        read_tree(reference / "build"),
        new.seconds,
        new.staging_at / new.seconds,
        built.group(),
    )
    assert large.old != large.new and large.old.keys() == large.new.keys()
    return large


# --- 1. SIGKILL at random points ---------------------------------------------------------


@dataclass(frozen=True)
class Trial:
    delay: float
    writing: bool
    returncode: int
    outcome: str
    leftovers: tuple[str, ...]
    rebuild_seconds: float


def kill_trial(
    large: Large,
    project: Path,
    delay: float | None,
    writing: bool = False,
    checked: set[tuple[str, tuple[str, ...]]] | None = None,
) -> Trial:
    """Kill a rebuild `delay` seconds after its start, or (writing) after build.staging/
    appeared (delay None: frozen as soon as build.staging exists); check build/, `dsc check`
    and the next build. `dsc check` runs once for each kind of end state (outcome and
    leftovers) not yet in `checked`, always when `checked` is None: its verdict follows from
    the tree, already compared byte for byte, so repeating it for the same state proves
    nothing more."""
    for leftover in ("build", "build.staging", "build.old"):
        if (project / leftover).exists():
            shutil.rmtree(project / leftover)
    shutil.copytree(large.old_build, project / "build")

    process = start_build(project, "--force")
    frozen_staging = False
    if delay is None:
        wait_for(project / "build.staging", process)
        process.send_signal(signal.SIGSTOP)
        frozen_staging = (project / "build.staging").exists()
    else:
        if writing:
            wait_for(project / "build.staging", process)
        time.sleep(delay)
    process.kill()
    process.communicate(timeout=TIMEOUT)
    assert process.returncode in (0, -signal.SIGKILL), process.returncode

    tree = read_tree(project / "build")
    assert tree in (large.old, large.new), (
        f"killed after {delay:.3f} s: build/ is neither the old nor the new build"
    )
    outcome = "new" if tree == large.new else "old"
    if frozen_staging:  # stopped, then killed, while the staging folder existed
        assert process.returncode == -signal.SIGKILL
        assert (project / "build.staging").is_dir()
    if process.returncode == 0:
        assert outcome == "new", "a build that finished left the old build in place"
    leftovers = tuple(
        name
        for name in ("build.staging", "build.old")
        if (project / name).exists() or (project / name).is_symlink()
    )

    if checked is None or (outcome, leftovers) not in checked:
        check = dsc("check", "-C", project)
        if outcome == "new":
            assert (check.returncode, check.stdout) == (0, "build/ matches the specs\n"), (
                check.stderr
            )
        else:
            assert check.returncode == 1, check.stdout
            assert check.stderr.startswith("build/ does not match the specs:\n"), check.stderr
        if checked is not None:
            checked.add((outcome, leftovers))

    again = timed_build(project)
    assert again.returncode == 0, again.stderr
    assert read_tree(project / "build") == large.new
    notes = [line for line in again.stderr.splitlines() if line.startswith("note: ")]
    expected = [f"note: removed {name}/ left by an interrupted build" for name in leftovers]
    assert notes == expected, (
        f"killed after {delay:.3f} s leaving {leftovers or 'nothing'}; the next build "
        f"printed {again.stdout + again.stderr!r}"
    )
    assert entries(project) == BUILT
    return Trial(
        -1.0 if delay is None else delay,
        writing,
        process.returncode,
        outcome,
        leftovers,
        again.seconds if "built " in again.stdout else 0.0,
    )


def test_sigkill_at_random_points_leaves_old_or_new_build(large: Large, tmp_path: Path) -> None:
    rng = random.Random(20240105)
    # Kill points in two phases, each stratified: half while the build starts Python, loads
    # and resolves the specs (from its start until build.staging/ appears), half from then on
    # to a little past the end, so that kills fall in expanding, writing, fsync and the
    # exchange alike. A point is a fraction of its phase, made a delay with the worker's
    # latest measured build time: the spread holds on a loaded machine too, and each phase
    # gets its trials whatever the size of the project.
    half = TRIALS // 2
    points = [((i + rng.random()) / half, False) for i in range(half)]
    points += [(1.2 * (i + rng.random()) / (TRIALS - half), True) for i in range(TRIALS - half)]
    rng.shuffle(points)
    workers = max(1, min(2, os.cpu_count() or 1))
    projects = [large.copy(tmp_path / f"worker{w}", with_old_build=False) for w in range(workers)]

    checked: set[tuple[str, tuple[str, ...]]] = set()

    def run(worker: int) -> list[Trial]:
        seconds, trials = large.seconds, []
        for fraction, writing in points[worker::workers]:
            phase = seconds * (1 - large.loading if writing else large.loading)
            trial = kill_trial(large, projects[worker], fraction * phase, writing, checked)
            seconds = trial.rebuild_seconds or seconds
            trials.append(trial)
        return trials

    with ThreadPoolExecutor(workers) as pool:
        trials = [t for batch in pool.map(run, range(workers)) for t in batch]

    assert len(trials) == TRIALS >= 14
    summary = sorted((t.writing, round(t.delay, 3), t.outcome, t.leftovers) for t in trials)
    print("\n".join(map(str, summary)))
    # Two kills whose outcome does not depend on timing: at once (nothing written yet), and
    # frozen while build.staging exists (the next build must remove it).
    at_once = kill_trial(large, projects[0], 0.0)
    assert (at_once.outcome, at_once.leftovers) == ("old", ())
    for _ in range(5):  # until the build is frozen with build.staging there (at once, in practice)
        while_writing = kill_trial(large, projects[0], None)
        if while_writing.leftovers:
            break
    assert "build.staging" in while_writing.leftovers


def test_stale_staging_beside_an_up_to_date_build_is_removed(large: Large, tmp_path: Path) -> None:
    """A build killed after the swap, while it removed the old build, leaves build.staging/
    beside a complete new build; the next `dsc build` must clean it up and say so."""
    project = large.copy(tmp_path / "project", with_old_build=False)
    (project / "build").mkdir()
    for name, content in large.new.items():
        (project / "build" / name).parent.mkdir(parents=True, exist_ok=True)
        (project / "build" / name).write_bytes(content)
    shutil.copytree(large.old_build, project / "build.staging")
    (project / "build.staging/train.jsonl").unlink()

    result = dsc("build", "-C", project)
    assert result.returncode == 0, result.stderr
    assert REMOVED_STAGING in result.stderr.splitlines(), (result.stdout, result.stderr)
    assert not (project / "build.staging").exists()
    assert read_tree(project / "build") == large.new


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_while_writing_keeps_old_build(
    large: Large, tmp_path: Path, sig: signal.Signals
) -> None:
    """Ctrl-C and SIGTERM (a cancelled CI job) both unwind: the build removes its staging
    folder itself, exits 1, and build/ is the old build."""
    project, process = stopped_before_the_swap(large, tmp_path)
    process.send_signal(sig)  # pending until the build continues
    process.send_signal(signal.SIGCONT)
    _, stderr = process.communicate(timeout=TIMEOUT)
    assert read_tree(project / "build") == large.old
    assert (process.returncode, stderr) == (1, "\nAborted!\n")
    assert entries(project) == KEPT
    result = dsc("build", "-C", project)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == []
    assert read_tree(project / "build") == large.new


# --- 2. A second build while one holds the lock ------------------------------------------


@pytest.mark.parametrize("force", [True, False], ids=["force", "no-force"])
def test_second_build_is_refused_while_the_first_holds_the_lock(
    large: Large, tmp_path: Path, force: bool
) -> None:
    # The first build is frozen (SIGSTOP) so that it holds its lock as long as the test needs.
    project, first = stopped_before_the_swap(large, tmp_path)
    try:
        try:
            second = dsc("build", "-C", project, *(["--force"] if force else []))
            assert second.returncode == 1, second.stdout
            assert second.stderr == LOCKED
            assert read_tree(project / "build") == large.old
            assert (project / "build.staging").is_dir(), (
                "the second build removed the first build's staging folder"
            )
        finally:
            first.send_signal(signal.SIGCONT)
        stdout, stderr = first.communicate(timeout=TIMEOUT)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == 0, stderr
    assert stdout.startswith(large.built), stdout
    assert stderr == ""
    assert read_tree(project / "build") == large.new
    assert entries(project) == BUILT


@contextlib.contextmanager
def project_lock(project: Path) -> Iterator[None]:
    """Hold the lock a build takes (flock on the folder that holds build/); fail if taken."""
    fd = os.open(project, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield
    finally:
        os.close(fd)


def test_lock_held_by_another_process_refuses_build_and_writes_nothing(
    large: Large, tmp_path: Path
) -> None:
    project = large.copy(tmp_path / "project")
    with project_lock(project):
        result = dsc("build", "-C", project, "--force")
    assert (result.returncode, result.stdout, result.stderr) == (1, "", LOCKED)
    assert read_tree(project / "build") == large.old
    assert entries(project) == KEPT


def test_lock_of_a_killed_build_does_not_block_the_next(large: Large, tmp_path: Path) -> None:
    project, first = stopped_before_the_swap(large, tmp_path)
    first.kill()
    first.communicate(timeout=TIMEOUT)
    assert (project / "build.staging").is_dir()
    assert read_tree(project / "build") == large.old
    with project_lock(project):  # the flock died with the process
        pass

    result = dsc("build", "-C", project)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [REMOVED_STAGING]
    assert read_tree(project / "build") == large.new
    assert entries(project) == BUILT


# --- 3. Full disk ------------------------------------------------------------------------


@pytest.mark.parametrize("with_old_build", [True, False], ids=["old-build", "first-build"])
def test_full_disk_is_a_clean_error_and_keeps_the_old_build(
    large: Large, tmp_path: Path, with_old_build: bool
) -> None:
    project = large.copy(tmp_path / "project", with_old_build=with_old_build)
    limit = 64 * 1024  # tasks/explain_concept.jsonl and the split files are bigger than this

    result = forked.run("build", "-C", project, "--force", limits=[(resource.RLIMIT_FSIZE, limit)])
    assert result.returncode == 1, result.stdout
    assert result.stderr == (
        "build: error: cannot write build/: File too large\n"
        "  hint: free disk space or fix permissions; the previous build is untouched\n"
    )
    assert "Traceback" not in result.stdout + result.stderr
    if with_old_build:
        assert read_tree(project / "build") == large.old
        assert entries(project) == KEPT
    else:
        assert entries(project) == ["data", "specs"]


# --- 4. Read-only build/, build as a file or a symbolic link ----------------------------


def test_read_only_build_is_a_clean_error_and_stays_intact(large: Large, tmp_path: Path) -> None:
    project = large.copy(tmp_path / "project")
    (project / "build").chmod(0o555)
    try:
        result = dsc("build", "-C", project, "--force")
        assert result.returncode == 1, result.stdout
        assert result.stderr == (
            "build: error: build/ is read-only\n"
            "  hint: make it writable (chmod u+w build) to rebuild it\n"
        )
        assert read_tree(project / "build") == large.old
        assert (project / "build").stat().st_mode & 0o777 == 0o555
        assert not (project / "build.staging").exists()
    finally:
        (project / "build").chmod(0o755)


@pytest.mark.parametrize("force", [True, False], ids=["force", "no-force"])
def test_build_that_is_a_file_is_refused(large: Large, tmp_path: Path, force: bool) -> None:
    project = large.copy(tmp_path / "project", with_old_build=False)
    (project / "build").write_text("not a folder\n")
    before = entries(project)
    result = dsc("build", "-C", project, *(["--force"] if force else []))
    assert result.returncode == 1, result.stdout
    assert result.stderr == (
        "build: error: output path 'build' exists and is not a folder\n  hint: move the file away\n"
    )
    assert (project / "build").read_text() == "not a folder\n"
    assert entries(project) == before == ["build", "data", "specs"]


@pytest.mark.parametrize("force", [True, False], ids=["force", "no-force"])
@pytest.mark.parametrize("target", ["empty", "old-build", "missing"])
def test_build_that_is_a_symlink_out_of_the_project_is_refused(
    large: Large, tmp_path: Path, target: str, force: bool
) -> None:
    project = large.copy(tmp_path / "project", with_old_build=False)
    outside = tmp_path / "outside"
    if target == "old-build":
        shutil.copytree(large.old_build, outside / "target")
    elif target == "empty":
        (outside / "target").mkdir(parents=True)
    else:
        outside.mkdir()
    before_outside = read_tree(outside)
    (project / "build").symlink_to(outside / "target", target_is_directory=True)
    before = entries(project)

    result = dsc("build", "-C", project, *(["--force"] if force else []))
    assert result.returncode == 1, result.stdout
    assert result.stderr == (
        "build: error: output folder 'build' is a symbolic link\n"
        "  hint: remove the link; dsc writes only real folders\n"
    )
    assert read_tree(outside) == before_outside
    assert entries(outside) == (["target"] if target != "missing" else [])
    assert entries(project) == before == ["build", "data", "specs"]
    assert (project / "build").is_symlink()


@pytest.mark.parametrize("name", ["build.staging", "build.old"])
def test_leftover_symlinks_beside_build_do_not_write_outside(
    large: Large, tmp_path: Path, name: str
) -> None:
    """A leftover path committed as a link out of the project is removed, never followed."""
    project = large.copy(tmp_path / "project")
    outside = tmp_path / "outside"
    (outside / "kept").mkdir(parents=True)
    (outside / "kept" / "file.txt").write_text("keep me\n")
    (project / name).symlink_to(outside / "kept")

    result = dsc("build", "-C", project, "--force")
    assert read_tree(outside) == {"kept/file.txt": b"keep me\n"}, (
        f"{name} -> {outside / 'kept'} was followed out of the project: {result.stderr}"
    )
    assert entries(outside) == ["kept"]
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [f"note: removed {name}/ left by an interrupted build"]
    assert read_tree(project / "build") == large.new
    assert entries(project) == BUILT
