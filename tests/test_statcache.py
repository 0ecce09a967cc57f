"""The stat cache (.dsc/state.json): a no-op `dsc build` reads no output, and a file the cache
cannot vouch for (changed stat, racily clean, unusable state) is hashed as before."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler import files, statcache
from tests.helpers import (
    BUILT,
    CONCEPTS,
    DATA,
    GOLDEN,
    ROOT,
    UP_TO_DATE,
    copy_project,
    examples,
    read_tree,
)

STATE = statcache.STATE
SPEC_EDIT = ("what cleanup runs", "what cleanup ends")  # the same number of bytes
TRAIN_EDIT = ("Explain", "Explaim")
# Same-size edits of inputs that keep the project valid: either text becomes the other.
TOGGLES = {
    CONCEPTS: SPEC_EDIT,
    DATA: ("tokio::spawn", "tokyo::spawn"),
    "specs/dataset.yaml": ("several languages", "several langwages"),
}


def toggle(path: Path, old: str, new: str) -> None:
    """same_size_edit from old to new, or back when the file holds new."""
    if new.encode() in path.read_bytes():
        old, new = new, old
    same_size_edit(path, old, new)


def same_size_edit(path: Path, old: str, new: str) -> None:
    """Change the file's bytes, keeping its size and its mtime (as an editor that restores
    times, or a change within one tick of the clock, would)."""
    assert len(old.encode()) == len(new.encode())
    before = path.stat()
    data = path.read_bytes()
    assert old.encode() in data
    path.write_bytes(data.replace(old.encode(), new.encode(), 1))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


class Spy:
    """Counts the files a build hashes and the files it opens, by path."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.hashed: list[str] = []
        self.opened: list[str] = []
        real_hash, real_open = files.sha256_stat, os.open

        def hashing(base: Path, relpath: str, *args: object) -> object:
            self.hashed.append(relpath)
            return real_hash(base, relpath, *args)

        def opening(path: object, *args: object, **kwargs: object) -> int:
            self.opened.append(os.fsdecode(path))
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr(files, "sha256_stat", hashing)
        monkeypatch.setattr(os, "open", opening)

    def opened_below(self, folder: Path) -> list[str]:
        real = os.path.realpath(folder)
        return sorted(p for p in self.opened if p.startswith(real + os.sep))


def load_state(project: Path) -> dict:
    return json.loads((project / STATE).read_text(encoding="utf-8"))


def save_state(project: Path, state: dict, mtime_ns: int | None = None) -> None:
    path = project / STATE
    path.write_text(json.dumps(state), encoding="utf-8")
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))


def let_the_clock_pass(project: Path) -> None:
    """Poll the file-system clock until it is past every mtime and ctime in the project, so
    that nothing recorded from now on is racily clean (without it, whether a file copied in
    this tick is trusted would depend on the timing of the test)."""
    paths = [project, *project.rglob("*")]
    newest = max(max(p.lstat().st_mtime_ns, p.lstat().st_ctime_ns) for p in paths)
    for _ in range(100_000):
        moment = statcache.clock(project)
        if moment is not None and moment > newest:
            return
    raise AssertionError("the file-system clock did not move")


def racily_clean(project: Path, folder: Path) -> list[str]:
    """The entries of folder's build that the state cannot vouch for by their stat alone
    (recorded in the tick of the clock reading): a no-op hashes exactly these."""
    state = load_state(project)
    written = (project / STATE).stat().st_mtime_ns
    found = []
    for name in statcache.GROUPS:
        group = state["builds"][os.path.realpath(folder)][name]
        settled = min(group["clock_ns"], written)
        for path, entry in group["files"].items():
            if max(entry["mtime_ns"], entry["ctime_ns"]) >= settled:
                found.append(path)
    return sorted(found)


@pytest.fixture
def fresh(case, cli) -> Path:
    """The coding case built in place once: its state file is the one that build wrote."""
    project = case("coding")
    let_the_clock_pass(project)
    result = cli("build", "-C", project)
    assert (result.exit_code, result.stdout, result.stderr) == (0, BUILT, "")
    return project


# --- a no-op reads nothing it need not ---------------------------------------------------


def test_a_noop_after_a_build_hashes_nothing_and_opens_no_output(
    fresh: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    racy = racily_clean(fresh, fresh / "build")  # outputs closed in the tick after: rare
    spy = Spy(monkeypatch)

    result = cli("build", "-C", fresh)

    assert (result.exit_code, result.stdout, result.stderr) == (0, UP_TO_DATE, "")
    assert sorted(spy.hashed) == racy
    assert len(racy) < len(
        load_state(fresh)["builds"][os.path.realpath(fresh / "build")]["outputs"]["files"]
    )
    # metadata.json is read (it says what the build was); no other output is opened.
    assert spy.opened_below(fresh / "build") == [
        str(Path(os.path.realpath(fresh)) / "build" / "metadata.json")
    ]


def test_a_noop_after_a_build_parses_no_spec(fresh: Path, cli, monkeypatch) -> None:
    # The seed of specs/dataset.yaml is recorded with the spec's entry: parsing a large
    # dataset.yaml took most of a no-op once the outputs were no longer hashed.
    import compiler.load

    def refuse(*args: object) -> None:
        raise AssertionError("the no-op parsed a spec")

    monkeypatch.setattr(compiler.load, "load_yaml", refuse)

    assert cli("build", "-C", fresh).stdout == UP_TO_DATE


def test_after_a_seed_option_the_spec_seed_is_read_again(fresh: Path, cli, monkeypatch) -> None:
    other = "built 12 records (train 10, val 1, test 1; dropped 0) into build/\n"
    assert (
        cli("build", "-C", fresh, "--seed", "3").stdout
        == f"rebuilding: seed changed (7 -> 3)\n{other}"
    )
    state = load_state(fresh)
    assert state["builds"][os.path.realpath(fresh / "build")]["spec_seed"] is None

    result = cli("build", "-C", fresh)

    assert result.stdout == f"rebuilding: seed changed (3 -> 7)\n{BUILT}"
    import compiler.load

    monkeypatch.setattr(compiler.load, "load_yaml", None)  # not called: the seed is known
    assert cli("build", "-C", fresh).stdout == UP_TO_DATE


def test_a_noop_that_had_to_hash_records_what_it_hashed(built: Path, cli, monkeypatch) -> None:
    # `built` is a copy without the state file (its files have new inodes and ctimes anyway),
    # so the first no-op hashes everything and writes a state.
    let_the_clock_pass(built)
    first_spy = Spy(monkeypatch)
    first = cli("build", "-C", built)
    assert (first.exit_code, first.stdout) == (0, UP_TO_DATE)
    assert "train.jsonl" in first_spy.hashed
    monkeypatch.undo()
    spy = Spy(monkeypatch)

    second = cli("build", "-C", built)

    assert (second.exit_code, second.stdout, second.stderr) == (0, UP_TO_DATE, "")
    assert spy.hashed == []
    assert [Path(p).name for p in spy.opened_below(built / "build")] == ["metadata.json"]


def test_a_noop_that_hashed_nothing_writes_nothing(fresh: Path, cli) -> None:
    cli("build", "-C", fresh)  # hashes what the build could not vouch for, if anything
    before = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in [fresh, *fresh.rglob("*")]}

    result = cli("build", "-C", fresh)

    assert result.stdout == UP_TO_DATE
    after = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in [fresh, *fresh.rglob("*")]}
    assert after == before


# --- what must still rebuild ---------------------------------------------------------------


def _replace_file_keeping_size_and_mtime(project: Path) -> None:
    """Another inode with other bytes of the same size and the same mtime (an atomic save)."""
    path = project / CONCEPTS
    before = path.stat()
    data = path.read_bytes().replace(SPEC_EDIT[0].encode(), SPEC_EDIT[1].encode())
    temporary = path.with_name("new.tmp")
    temporary.write_bytes(data)
    os.utime(temporary, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(temporary, path)
    assert path.stat().st_ino != before.st_ino


CHANGES = [
    (
        "input edited in place, size and mtime kept (ctime differs)",
        lambda p: same_size_edit(p / CONCEPTS, *SPEC_EDIT),
        f"rebuilding: {CONCEPTS} changed\n{BUILT}",
    ),
    (
        "input replaced, size and mtime kept (inode differs)",
        _replace_file_keeping_size_and_mtime,
        f"rebuilding: {CONCEPTS} changed\n{BUILT}",
    ),
    (
        "output edited by hand, size and mtime kept (ctime differs)",
        lambda p: same_size_edit(p / "build/train.jsonl", *TRAIN_EDIT),
        f"rebuilding: build/train.jsonl was edited by hand\n{BUILT}",
    ),
    (
        "output deleted",
        lambda p: (p / "build/val.jsonl").unlink(),
        f"rebuilding: build/val.jsonl is missing\n{BUILT}",
    ),
    (
        "data file edited, size and mtime kept",
        lambda p: same_size_edit(p / DATA, "tokio", "TOKIO"),
        f"rebuilding: {DATA} changed\n{BUILT}",
    ),
]


@pytest.mark.parametrize(
    ("change", "expected"), [pytest.param(c, e, id=name) for name, c, e in CHANGES]
)
def test_a_change_the_size_and_mtime_hide_still_rebuilds(
    fresh: Path, cli, tmp_path: Path, change, expected: str
) -> None:
    change(fresh)

    result = cli("build", "-C", fresh)

    assert (result.exit_code, result.stdout, result.stderr) == (0, expected, "")
    clean = cli("build", "-C", fresh, "--out", tmp_path / "clean")
    assert clean.exit_code == 0
    assert read_tree(fresh / "build") == read_tree(tmp_path / "clean")


def test_an_input_changed_during_the_build_is_hashed_by_the_next_one(
    case, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The build reads the spec, then the spec changes (same size, mtime put back) before the
    # build ends: the stat recorded after the build is of the new bytes, the sha256 of the old
    # ones. The change's ctime is not older than the clock read before the build: not trusted.
    # The build is made to end ten seconds of file-system clock later, and the state file's
    # mtime is put later still, so that only the clock read before the build can tell.
    import compiler.pipeline

    project = case("coding")
    real_build, real_clock = compiler.pipeline.build, statcache.clock
    later = {"by": 0}

    def build_then_edit(*args: object, **kwargs: object) -> object:
        result = real_build(*args, **kwargs)
        same_size_edit(project / CONCEPTS, *SPEC_EDIT)
        later["by"] = 10 * 10**9
        return result

    def clock(root: Path) -> int | None:
        moment = real_clock(root)
        return None if moment is None else moment + later["by"]

    monkeypatch.setattr(compiler.pipeline, "build", build_then_edit)
    monkeypatch.setattr(statcache, "clock", clock)
    assert cli("build", "-C", project).stdout == BUILT
    monkeypatch.undo()
    state = project / STATE
    os.utime(state, ns=(state.stat().st_atime_ns, state.stat().st_mtime_ns + 20 * 10**9))

    result = cli("build", "-C", project)

    assert result.stdout == f"rebuilding: {CONCEPTS} changed\n{BUILT}"


def _forge_current_stat(project: Path, group: str, path: str, folder: Path) -> int:
    """Make the state's entry for path carry the file's stat now, keeping the recorded sha256
    of the old bytes: what a state recorded in the tick of the change would say. Returns
    the file's ctime (its last change)."""
    state = load_state(project)
    entry = state["builds"][os.path.realpath(folder)][group]["files"][path]
    info = (folder / path if group == "outputs" else project / path).stat()
    entry.update(size=info.st_size, mtime_ns=info.st_mtime_ns, ino=info.st_ino)
    entry["ctime_ns"] = info.st_ctime_ns
    save_state(project, state)
    return info.st_ctime_ns


def _set_clock(project: Path, folder: Path, group: str, moment: int) -> None:
    """The group's clock and the state file's own mtime, both at moment."""
    state = load_state(project)
    state["builds"][os.path.realpath(folder)][group]["clock_ns"] = moment
    save_state(project, state, mtime_ns=moment)


@pytest.mark.parametrize(
    ("group", "path", "target", "edit", "reason"),
    [
        ("inputs", CONCEPTS, CONCEPTS, SPEC_EDIT, f"{CONCEPTS} changed"),
        (
            "outputs",
            "train.jsonl",
            "build/train.jsonl",
            TRAIN_EDIT,
            "build/train.jsonl was edited by hand",
        ),
    ],
)
def test_a_racily_clean_entry_is_hashed_and_a_strictly_older_one_trusted(
    fresh: Path, cli, group: str, path: str, target: str, edit: tuple[str, str], reason: str
) -> None:
    # Git's racy case (Documentation/technical/racy-git.txt): the file changed in the very
    # tick its stat was recorded, so the recorded stat matches the new bytes. Forced here by
    # writing that stat into the state and setting the state's clock and its own mtime to
    # the tick of the change.
    toggle(fresh / target, *edit)
    changed_at = _forge_current_stat(fresh, group, path, fresh / "build")
    _set_clock(fresh, fresh / "build", group, changed_at)

    racy = cli("build", "-C", fresh)

    assert racy.stdout == f"rebuilding: {reason}\n{BUILT}"

    # The control: the same forgery, recorded one nanosecond after the change, is trusted
    # (a state file vouches for the machine it was written on; it is never committed).
    toggle(fresh / target, *edit)
    changed_at = _forge_current_stat(fresh, group, path, fresh / "build")
    _set_clock(fresh, fresh / "build", group, changed_at + 1)

    trusted = cli("build", "-C", fresh)

    assert trusted.stdout == UP_TO_DATE


# --- an unusable state file means "hash as without it" ------------------------------------


def _huge(project: Path) -> None:
    (project / STATE).write_bytes(b" " * (statcache.STATE_LIMIT + 1))


def _deep(project: Path) -> None:
    (project / STATE).write_text("[" * 100_000, encoding="utf-8")


def _hostile_paths(project: Path) -> None:
    state = load_state(project)
    for groups in state["builds"].values():
        groups["outputs"]["files"]["../../etc/passwd"] = groups["outputs"]["files"]["train.jsonl"]
    save_state(project, state)


def _wrong_types(project: Path) -> None:
    state = load_state(project)
    for groups in state["builds"].values():
        groups["outputs"]["files"]["train.jsonl"]["size"] = True
    save_state(project, state)


def _long_number(project: Path) -> None:
    text = (project / STATE).read_text(encoding="utf-8")
    (project / STATE).write_text(text.replace('"clock_ns": ', '"clock_ns": 9' + "9" * 5000, 1))


def _other_version(project: Path) -> None:
    state = load_state(project)
    state["dsc"] = "0.0.1"
    save_state(project, state)


def _other_project(project: Path) -> None:
    state = load_state(project)
    state["project"] = "/elsewhere"
    save_state(project, state)


def _link_to_metadata(project: Path) -> None:
    (project / STATE).unlink()
    (project / STATE).symlink_to(project / "build/metadata.json")


def _folder_is_a_link(project: Path) -> None:
    shutil.move(project / ".dsc", project / "elsewhere")
    (project / ".dsc").symlink_to(project / "elsewhere")


def _state_is_a_folder(project: Path) -> None:
    (project / STATE).unlink()
    (project / STATE).mkdir()


def _fifo(project: Path) -> None:
    (project / STATE).unlink()
    os.mkfifo(project / STATE)


UNUSABLE = {
    "missing": lambda p: (p / STATE).unlink(),
    "not JSON": lambda p: (p / STATE).write_text("{not json", encoding="utf-8"),
    "not UTF-8": lambda p: (p / STATE).write_bytes(b"\xff\xfe"),
    "a list": lambda p: (p / STATE).write_text("[]", encoding="utf-8"),
    "over the size limit": _huge,
    "deeply nested": _deep,
    "paths out of the project": _hostile_paths,
    "a boolean for a size": _wrong_types,
    "a 5000-digit number": _long_number,
    "another dsc version": _other_version,
    "another project": _other_project,
    "a link": _link_to_metadata,
    ".dsc a link": _folder_is_a_link,
    "a folder": _state_is_a_folder,
    "a named pipe": _fifo,
}


@pytest.mark.parametrize("spoil", list(UNUSABLE.values()), ids=list(UNUSABLE))
def test_an_unusable_state_file_means_hashing_never_an_error(
    fresh: Path, cli, monkeypatch: pytest.MonkeyPatch, spoil
) -> None:
    # Forge entries that would vouch for an edited output (same stat, recorded later), then
    # spoil the file: the forgery must not count, and nothing may fail.
    same_size_edit(fresh / "build/train.jsonl", *TRAIN_EDIT)
    changed_at = _forge_current_stat(fresh, "outputs", "train.jsonl", fresh / "build")
    _set_clock(fresh, fresh / "build", "outputs", changed_at + 1)
    spoil(fresh)
    spy = Spy(monkeypatch)

    result = cli("build", "-C", fresh)

    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        f"rebuilding: build/train.jsonl was edited by hand\n{BUILT}",
        "",
    )
    assert "train.jsonl" in spy.hashed
    assert read_tree(fresh / "build") == read_tree(GOLDEN)


# --- where the state lives, and what does not use it --------------------------------------


def test_the_state_is_beside_the_build_never_in_it(
    fresh: Path, cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other"
    assert cli("build", "-C", fresh, "--out", other).exit_code == 0

    state = load_state(fresh)

    assert sorted(state["builds"]) == sorted(os.path.realpath(p) for p in (fresh / "build", other))
    assert not any(".dsc" in path for path in read_tree(fresh / "build"))
    assert read_tree(fresh / "build") == read_tree(GOLDEN) == read_tree(other)
    meta = json.loads((fresh / "build/metadata.json").read_text(encoding="utf-8"))
    assert not any(p.startswith(".dsc") for p in [*meta["inputs"], *meta["outputs"]])
    racy = racily_clean(fresh, fresh / "build") + racily_clean(fresh, other)
    spy = Spy(monkeypatch)
    noops = [cli("build", "-C", fresh).stdout, cli("build", "-C", fresh, "--out", other).stdout]
    assert noops == [UP_TO_DATE, f"{other}/ is up to date\n"]
    assert sorted(spy.hashed) == sorted(racy)


def test_check_neither_reads_nor_writes_the_state(
    fresh: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A forged state vouches for a hand-edited output; check compares every byte anyway.
    same_size_edit(fresh / "build/train.jsonl", *TRAIN_EDIT)
    changed_at = _forge_current_stat(fresh, "outputs", "train.jsonl", fresh / "build")
    _set_clock(fresh, fresh / "build", "outputs", changed_at + 1)
    state_before = (fresh / STATE).read_bytes()

    def refuse(*args: object) -> None:
        raise AssertionError("dsc check used the stat cache")

    for name in ("_load", "clock", "_replace"):
        monkeypatch.setattr(statcache, name, refuse)

    result = cli("check", "-C", fresh)

    assert result.exit_code == 1
    assert "  build/train.jsonl differs (stale or edited by hand)\n" in result.stderr
    assert (fresh / STATE).read_bytes() == state_before


def test_git_ignores_the_state_folder() -> None:
    ignored = f"/{statcache.FOLDER}/"
    assert ignored in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    starter = ROOT / "compiler/starters/common/gitignore"
    assert ignored in starter.read_text(encoding="utf-8").splitlines()


# --- any edits, then a build: the bytes of a clean build ----------------------------------

INPUTS = [CONCEPTS, DATA, "specs/dataset.yaml"]
OUTPUTS = ["train.jsonl", "val.jsonl", "tasks/refactor.jsonl", "README.md"]
STEPS = st.one_of(
    st.tuples(st.just("edit input"), st.sampled_from(INPUTS)),
    st.tuples(st.just("touch input"), st.sampled_from(INPUTS)),
    st.tuples(st.just("edit output"), st.sampled_from(OUTPUTS)),
    st.tuples(st.just("touch output"), st.sampled_from(OUTPUTS)),
    st.tuples(st.just("delete output"), st.sampled_from(OUTPUTS)),
    st.tuples(st.just("build"), st.just("")),
)


def _flip_first_byte(path: Path) -> None:
    """Change the first byte of an output, keeping its size and mtime."""
    data = path.read_bytes()
    if data:
        first = chr(data[0])
        same_size_edit(path, first, chr(ord(first) ^ 1))


@settings(
    max_examples=examples(12),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(STEPS, max_size=6))
def test_any_edits_then_a_build_give_the_bytes_of_a_clean_build(
    coding_build: Path, cli, steps: list[tuple[str, str]]
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        project = copy_project(coding_build, Path(scratch) / "coding")
        shutil.copytree(coding_build / "build", project / "build")
        for action, path in steps:
            if action == "build":
                assert cli("build", "-C", project).exit_code == 0
                continue
            target = project / path if "input" in action else project / "build" / path
            if not target.exists():
                continue
            if action == "edit input":
                toggle(target, *TOGGLES[path])
            elif action == "edit output":
                _flip_first_byte(target)
            elif action.startswith("touch"):
                os.utime(target)
            else:
                target.unlink()
        result = cli("build", "-C", project)
        assert result.exit_code == 0, result.stderr
        again = cli("build", "-C", project)
        assert again.stdout == UP_TO_DATE
        clean = cli("build", "-C", project, "--out", Path(scratch) / "clean")
        assert clean.exit_code == 0
        assert read_tree(project / "build") == read_tree(Path(scratch) / "clean")
