"""A committed build/ is untrusted: its metadata.json and files never make dsc read outside it.

Each case takes a copy of tests/cases/minimal and its build (built once for the module),
then plants what a hostile pull request could commit into build/ and runs dsc. Commands that
could hang on a pipe or /dev/zero run in a subprocess with a generous timeout (it catches a
hang; it measures nothing), and the cases about outside files record every path dsc asks the
system about.
"""

from __future__ import annotations

import builtins
import json
import os
import shutil
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from compiler.encode import dump_json
from tests.helpers import CASES, copy_project, dsc

BUILT = "built 4 records (train 3, val 1, test 0; dropped 0) into build/\n"
SHA = "0" * 64


@pytest.fixture(scope="module")
def built_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = copy_project(CASES / "minimal", tmp_path_factory.mktemp("hostile") / "project")
    done = dsc("build", "-C", project)
    assert (done.returncode, done.stdout) == (0, BUILT), done.stderr
    return project


@pytest.fixture
def built(built_once: Path, tmp_path: Path) -> Path:
    """A project and its build, as a clone of a repository that has both would be."""
    return Path(shutil.copytree(built_once, tmp_path / "project", symlinks=True))


def rewrite_metadata(project: Path, change: Callable[[dict], None]) -> None:
    """Edit build/metadata.json and seal it again, as a careful attacker would."""
    from compiler.hashing import SEAL_KEY, seal

    path = project / "build/metadata.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    change(meta)
    # A lone surrogate cannot be encoded: write it as the JSON escape a hostile file would hold.
    text = dump_json({**meta, SEAL_KEY: SHA}).encode("utf-8", "backslashreplace").decode()
    path.write_text(seal(text), encoding="utf-8")


@pytest.fixture
def touched(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every path given to open, stat, lstat or scandir while the test runs in-process."""
    seen: list[str] = []

    def spy(real: Callable) -> Callable:
        def call(path: object, *args: object, **kwargs: object) -> object:
            if isinstance(path, str | bytes | os.PathLike):
                seen.append(os.fsdecode(path))
            return real(path, *args, **kwargs)

        return call

    for module, name in [(os, "open"), (os, "stat"), (os, "lstat"), (os, "scandir")]:
        monkeypatch.setattr(module, name, spy(getattr(module, name)))
    monkeypatch.setattr(builtins, "open", spy(builtins.open))
    yield seen


def build_in_process(project: Path) -> tuple[int, str, str]:
    from click.testing import CliRunner

    from compiler.cli import main

    result = CliRunner().invoke(main, ["build", "-C", str(project)])
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout, result.stderr


def test_an_output_path_out_of_build_is_never_opened(
    built: Path, tmp_path: Path, touched: list[str]
) -> None:
    victim = tmp_path / "outside/victim"
    victim.mkdir(parents=True)
    (victim / "keep.txt").write_text("secret", encoding="utf-8")
    path = "../../outside/victim/keep.txt"
    rewrite_metadata(built, lambda meta: meta["outputs"].update({path: SHA}))

    code, out, err = build_in_process(built)

    assert (code, err) == (0, "")
    assert out == (
        f"rebuilding: build/metadata.json was edited by hand (outputs names {path!r}, "
        f"which is not a path of a project file)\n{BUILT}"
    )
    assert not [p for p in touched if "victim" in p]
    assert path not in json.loads((built / "build/metadata.json").read_text())["outputs"]


def test_an_output_that_links_out_of_build_is_not_hashed(
    built: Path, tmp_path: Path, touched: list[str]
) -> None:
    secret = tmp_path / "secret.jsonl"
    secret.write_text("secret\n", encoding="utf-8")
    (built / "build/train.jsonl").unlink()
    (built / "build/train.jsonl").symlink_to(secret)

    code, out, _ = build_in_process(built)

    assert (code, out) == (0, f"rebuilding: build/train.jsonl is not a regular file\n{BUILT}")
    assert str(secret) not in touched


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("/dev/zero", "'/dev/zero'"),
        ("../../../../dev/zero", "'../../../../dev/zero'"),
        ("data/\x00x", "'data/\\x00x'"),
        ("data/\ud800", "'data/\\ud800'"),
        ("C:/x", "'C:/x'"),
    ],
    ids=["absolute", "parent", "nul", "surrogate", "drive"],
)
def test_an_input_path_that_does_not_belong_means_rebuild(
    built: Path, path: str, shown: str
) -> None:
    rewrite_metadata(built, lambda meta: meta["inputs"].update({path: SHA}))

    done = dsc("build", "-C", built)

    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (
        f"rebuilding: build/metadata.json was edited by hand (inputs names {shown}, "
        f"which is not a path of a project file)\n{BUILT}"
    )


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda m: m.update(inputs=[]), "inputs is not a mapping"),
        (lambda m: m.update(outputs=None), "outputs is not a mapping"),
        (lambda m: m["outputs"].update({"train.jsonl": "ab"}), "outputs holds 'ab' for"),
        (lambda m: m.update(seed="1"), "seed is not an integer"),
        (lambda m: m.update(compiler={"version": "x\ud800"}), "compiler.version is not a"),
        (lambda m: m["outputs"].update({"metadata.json": SHA}), "outputs names 'metadata.json'"),
    ],
    ids=["inputs-list", "outputs-null", "short-hash", "seed-string", "version", "itself"],
)
def test_metadata_of_the_wrong_shape_means_rebuild(
    built: Path, change: Callable[[dict], None], problem: str
) -> None:
    rewrite_metadata(built, change)

    done = dsc("build", "-C", built)

    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith(f"rebuilding: build/metadata.json was edited by hand ({problem}")
    assert done.stdout.endswith(BUILT)


def test_an_input_that_links_to_dev_zero_is_not_read(built: Path) -> None:
    (built / "data/zero.jsonl").symlink_to("/dev/zero")
    rewrite_metadata(built, lambda meta: meta["inputs"].update({"data/zero.jsonl": SHA}))

    done = dsc("build", "-C", built)

    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"rebuilding: data/zero.jsonl cannot be read\n{BUILT}"


def test_an_input_that_is_a_pipe_is_not_read(built: Path) -> None:
    os.mkfifo(built / "data/pipe.jsonl")
    rewrite_metadata(built, lambda meta: meta["inputs"].update({"data/pipe.jsonl": SHA}))

    done = dsc("build", "-C", built)

    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"rebuilding: data/pipe.jsonl cannot be read\n{BUILT}"


@pytest.mark.parametrize("target", ["/dev/zero", "pipe"])
def test_metadata_json_that_never_ends_is_not_read(built: Path, target: str) -> None:
    meta = built / "build/metadata.json"
    meta.unlink()
    if target == "pipe":
        os.mkfifo(meta)
    else:
        meta.symlink_to(target)

    done = dsc("build", "-C", built)

    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == BUILT  # unreadable metadata: built again, with nothing to report


def test_a_deep_dataset_spec_is_refused_by_the_up_to_date_check_too(built: Path) -> None:
    dataset = built / "specs/dataset.yaml"
    dataset.write_text(
        dataset.read_text(encoding="utf-8") + "deep: " + "[" * 1000 + "]" * 1000 + "\n",
        encoding="utf-8",
    )

    done = dsc("build", "-C", built)

    assert done.returncode == 1
    assert done.stdout == ""  # "rebuilding: …" only once a build succeeded
    assert done.stderr == (
        "specs/dataset.yaml:5:70: error: lists and mappings are nested more than 64 levels deep\n"
        "  hint: flatten the data\n"
    )


def test_check_does_not_follow_a_committed_link(built: Path) -> None:
    (built / "build/train.jsonl").unlink()
    (built / "build/train.jsonl").symlink_to("/etc/passwd")
    (built / "build/val.jsonl").unlink()
    (built / "build/val.jsonl").symlink_to("/dev/zero")

    done = dsc("check", "-C", built)

    assert done.returncode == 1
    assert done.stderr == (
        "build/ does not match the specs:\n"
        "  build/train.jsonl is not a regular file\n"
        "  build/val.jsonl is not a regular file\n"
        f"  hint: run `dsc build -C {built}` and commit build/\n"
    )


@pytest.mark.parametrize("kind", ["link", "pipe"])
def test_diff_does_not_read_a_committed_link_or_pipe(
    built: Path, tmp_path: Path, kind: str
) -> None:
    old = tmp_path / "old"
    (built / "build").rename(old)
    dsc("build", "-C", built)
    (old / "val.jsonl").unlink()
    if kind == "pipe":
        os.mkfifo(old / "val.jsonl")
    else:
        (old / "val.jsonl").symlink_to("/dev/zero")

    done = dsc("diff", old, built / "build")

    assert done.returncode == 1
    message = (
        "path 'val.jsonl' is a named pipe (FIFO), not a regular file"
        if kind == "pipe"
        else "path 'val.jsonl' is a symbolic link"
    )
    assert done.stderr.startswith(f"old/val.jsonl: error: {message}\n  hint: ")


def test_a_data_file_that_is_a_character_device_is_refused(built: Path) -> None:
    data = built / "data/examples.jsonl"
    data.unlink()
    try:
        os.mknod(data, stat.S_IFCHR | 0o644, os.makedev(1, 5))  # /dev/zero's numbers
    except PermissionError:
        pytest.skip("making a device needs CAP_MKNOD")

    done = dsc("build", "-C", built)

    assert done.returncode == 1
    assert done.stderr == (
        "specs/tasks/caption.yaml:12:23: error: path 'data/examples.jsonl' is a character "
        "device, not a regular file\n"
        "  hint: name an ordinary file: dsc reads no pipes, devices or sockets\n"
    )


def test_links_that_stay_inside_the_project_keep_working(built: Path) -> None:
    """Only links that leave the project (or loop) are refused: the records stay the same."""
    before = {p.name: p.read_bytes() for p in (built / "build").glob("*.jsonl")}
    (built / "shared").mkdir()
    for name in ("data/examples.jsonl", "brands/acme.yaml"):
        target = built / "shared" / Path(name).name
        (built / name).rename(target)
        (built / name).symlink_to(os.path.relpath(target, (built / name).parent))

    code, _, err = build_in_process(built)

    assert (code, err) == (0, "")
    assert {p.name: p.read_bytes() for p in (built / "build").glob("*.jsonl")} == before
