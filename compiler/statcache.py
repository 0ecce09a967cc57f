"""EDGE: the stat cache in .dsc/state.json, which tells a no-op `dsc build` what it need not hash.

Like git's index (Documentation/technical/racy-git.txt): for every input and output of a
build it keeps the file's size, mtime, inode and ctime next to the sha256 the build recorded,
and a file whose stat is unchanged is not read again. The file is local: outside build/, never
an input or an output, ignored by git. Anything wrong with it means "hash as without it".
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compiler import __version__, files

FOLDER = ".dsc"
STATE = f"{FOLDER}/state.json"
FORMAT = "dsc-state"
VERSION = 1
# A project of many thousand input files fits; a hostile file cannot strain memory.
STATE_LIMIT = 16 * 1024 * 1024
MAX_FOLDERS = 8  # output folders remembered (build/ and a few --out folders)
GROUPS = ("inputs", "outputs")
FIELDS = ("size", "mtime_ns", "ino", "ctime_ns")

Stat = tuple[int, int, int, int]  # FIELDS, in that order
Entry = tuple[Stat, str]  # the stat and the sha256 of the bytes the file held then


stat_of = files.stat_key  # FIELDS of a stat, in that order


@dataclass
class Group:
    """The entries of one kind of file, and a reading of the file system's clock taken before
    any of their stats was recorded: every later change of a file gives it an mtime and a
    ctime no earlier than that reading."""

    clock: int
    files: dict[str, Entry] = field(default_factory=dict)


class Cache:
    """The entries of one output folder, as read from the state file, and what this run saw.

    The trust rule: a recorded sha256 stands for the file when its stat now is the recorded
    one (all four fields), it is a regular file, and it is not racily clean: its recorded
    mtime and ctime are strictly older than the clock of its group and than the state file's
    own mtime. A file changed in the very tick its stat was recorded keeps its size and
    mtime, so such an entry proves nothing and the file is hashed.
    """

    def __init__(self, root: Path, out_dir: Path) -> None:
        self.root, self.out_dir = root, out_dir
        self._read = False
        self._builds: dict[str, dict[str, Group]] = {}
        self._seeds: dict[str, int | None] = {}
        self._written_ns = 0  # the state file's own mtime
        self.seen: dict[str, dict[str, Entry]] = {group: {} for group in GROUPS}
        self.hashed = 0  # files this run read because no entry vouched for them
        self._clock: int | None = None
        self._seed: int | None = None  # the spec's seed, as recorded
        self.vouched: set[str] = set()  # inputs the cache vouched for
        self._parsed = False  # this run read the seed from the spec
        self._learned_seed: int | None = None  # the spec's seed, as this run read it

    def known(self, group: str, path: str, info: os.stat_result) -> str | None:
        """The recorded sha256 of path when the trust rule holds; None: hash the file."""
        found = self._groups().get(group)
        entry = found.files.get(path) if found is not None else None
        if found is None or entry is None or not stat.S_ISREG(info.st_mode):
            return None
        recorded, digest = entry
        settled = min(found.clock, self._written_ns)
        if stat_of(info) != recorded or max(recorded[1], recorded[3]) >= settled:
            return None
        self.seen[group][path] = entry
        if group == "inputs":
            self.vouched.add(path)
        return digest

    def spec_seed(self, path: str) -> int | None:
        """The seed the spec at path held when it was recorded, if the cache vouches for the
        spec's bytes (the state keeps it beside them: a seed from a stale spec is never used)."""
        if path not in self.vouched or self._seed is None:
            return None
        self._learned_seed = self._seed
        return self._seed

    def learn_seed(self, seed: int) -> None:
        """The spec's seed as this run read it, to be recorded with the spec's entry."""
        self._learned_seed = seed
        self._parsed = True

    def before_hashing(self) -> None:
        """Read the clock before the first file is hashed (what is hashed is recorded after)."""
        self.hashed += 1
        if self._clock is None:
            self._clock = clock(self.root)

    def hashed_file(self, group: str, path: str, info: os.stat_result | None, digest: str) -> None:
        """Remember a file's sha256 with its stat while it was read (None: it changed then)."""
        if info is not None:
            self.seen[group][path] = (stat_of(info), digest)

    def save_check(self) -> None:
        """After an up-to-date check that hashed files or read the seed: keep what it
        learned for the next. Entries it trusted stay true under a later clock (their
        ctimes are older still, and any change since would have moved them)."""
        if not self.hashed and not self._parsed:
            return
        moment = self._clock if self._clock is not None else clock(self.root)
        if moment is not None:
            groups = {g: Group(moment, self.seen[g]) for g in GROUPS}
            self._write(groups, self._learned_seed)

    def save_build(
        self,
        started: int | None,
        meta: dict[str, Any],
        written: dict[str, os.stat_result],
        seed_option: int | None,
    ) -> None:
        """After a build: its inputs, unchanged since `started` (the clock before the build
        read them), and its outputs, unchanged since they were written (stats `written`);
        the spec's seed is the build's unless --seed overrode it."""
        finished = clock(self.root)
        if started is None or finished is None:
            return
        inputs = Group(started)
        for path, digest in meta["inputs"].items():
            info = _lstat(self.root, path, True)
            if info is not None and stat.S_ISREG(info.st_mode):
                inputs.files[path] = (stat_of(info), digest)
        outputs = Group(finished)
        for path, digest in meta["outputs"].items():
            info = _lstat(self.out_dir, path, False)
            if info is not None and path in written and stat_of(info) == stat_of(written[path]):
                outputs.files[path] = (stat_of(info), digest)
        spec_seed = meta["seed"] if seed_option is None else None
        self._write({"inputs": inputs, "outputs": outputs}, spec_seed)

    @contextlib.contextmanager
    def recording(
        self, seed_option: int | None
    ) -> Iterator[Callable[[dict[str, Any], dict[str, os.stat_result]], None]]:
        """Around a build: reads the clock before the build reads an input, and gives the
        function that records the build once it succeeded (save_build). A build that fails
        leaves no .dsc/ it made."""
        started = clock(self.root)
        try:
            yield lambda meta, written: self.save_build(started, meta, written, seed_option)
        except BaseException:
            with contextlib.suppress(OSError):
                os.rmdir(os.path.join(self.root, FOLDER))  # only when empty
            raise

    def _key(self) -> str:
        return os.path.realpath(self.out_dir)

    def _groups(self) -> dict[str, Group]:
        if not self._read:
            self._read = True
            self._builds, self._seeds, self._written_ns = _load(self.root)
            self._seed = self._seeds.get(self._key())
        return self._builds.get(self._key(), {})

    def _write(self, groups: dict[str, Group], seed: int | None) -> None:
        self._groups()
        builds = {k: v for k, v in self._builds.items() if k != self._key()}
        builds[self._key()] = groups
        self._seeds[self._key()] = seed
        kept = list(builds.items())[-MAX_FOLDERS:]
        document = {
            "format": FORMAT,
            "version": VERSION,
            "dsc": __version__,
            "project": os.path.realpath(self.root),
            "builds": {key: _encode(value, self._seeds.get(key)) for key, value in kept},
        }
        _replace(self.root, json.dumps(document, ensure_ascii=False, indent=1) + "\n")


def clock(root: Path) -> int | None:
    """The file system's clock now: the mtime of a file made for the purpose in .dsc/.

    Not time.time_ns(): file times come from a coarser clock (and, on a network file system,
    from the server's), so a file written after a reading of the wall clock may still get an
    earlier mtime. None when .dsc/ cannot be written: then nothing is recorded.
    """
    folder = _folder(root)
    if folder is None:
        return None
    marker = os.path.join(folder, f"clock.{os.getpid()}")
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC
    for _ in range(2):
        try:
            fd = os.open(marker, flags, 0o600)
        except FileExistsError:  # left by a killed process of the same id
            _unlink(marker)
            continue
        except OSError:
            return None
        try:
            return os.fstat(fd).st_mtime_ns
        finally:
            os.close(fd)
            _unlink(marker)
    return None


def _lstat(base: Path, path: str, links: bool) -> os.stat_result | None:
    try:
        return files.locate(base, path, (), links)[1]
    except files.Refused:
        return None


def _folder(root: Path) -> str | None:
    """root/.dsc, made when missing; None when it is anything but a real folder."""
    folder = os.path.join(root, FOLDER)
    try:
        os.mkdir(folder, 0o777)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        return folder if stat.S_ISDIR(os.lstat(folder).st_mode) else None
    except OSError:
        return None


def _replace(root: Path, text: str) -> None:
    """Write the state file atomically (a temporary file renamed over it); never an error."""
    folder = _folder(root)
    if folder is None:
        return
    temporary = os.path.join(folder, f"state.json.{os.getpid()}.tmp")
    flags = os.O_CREAT | os.O_TRUNC | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC
    try:
        fd = os.open(temporary, flags, 0o666)
        try:
            os.write(fd, text.encode("utf-8"))
        finally:
            os.close(fd)
        os.replace(temporary, os.path.join(folder, "state.json"))
    except OSError:
        _unlink(temporary)


def _unlink(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _load(root: Path) -> tuple[dict[str, dict[str, Group]], dict[str, int | None], int]:
    """The state file's entries by output folder, and its own mtime; nothing when it is
    missing, unreadable, too large, of another format, version, dsc or project, or holds
    anything out of place (it lies in the working tree: a pull request could commit one)."""
    try:
        info = files.locate(root, STATE, (), links=False)[1]
        text = files.read_bytes(root, STATE, STATE_LIMIT, links=False).decode("utf-8")
        document = json.loads(text)
    except (files.Refused, ValueError, RecursionError):
        return {}, {}, 0
    decoded = _decode(document, os.path.realpath(root))
    return (*decoded, info.st_mtime_ns) if decoded is not None else ({}, {}, 0)


_SHA256 = re.compile("[0-9a-f]{64}")
_KEYS = {"format", "version", "dsc", "project", "builds"}


def _decode(
    document: Any, project: str
) -> tuple[dict[str, dict[str, Group]], dict[str, int | None]] | None:
    if not isinstance(document, dict) or set(document) != _KEYS:
        return None
    head = (document["format"], document["version"], document["dsc"], document["project"])
    builds = document["builds"]
    if head != (FORMAT, VERSION, __version__, project) or not isinstance(builds, dict):
        return None
    if len(builds) > MAX_FOLDERS:
        return None
    decoded: dict[str, dict[str, Group]] = {}
    seeds: dict[str, int | None] = {}
    for key, value in builds.items():
        if not isinstance(value, dict) or set(value) != {*GROUPS, "spec_seed"}:
            return None
        groups = {name: _group(value[name]) for name in GROUPS}
        if any(group is None for group in groups.values()):
            return None
        if value["spec_seed"] is not None and not _integer(value["spec_seed"]):
            return None
        decoded[key] = groups  # type: ignore[assignment]
        seeds[key] = value["spec_seed"]
    return decoded, seeds


def _group(value: Any) -> Group | None:
    if not isinstance(value, dict) or set(value) != {"clock_ns", "files"}:
        return None
    moment, listed = value["clock_ns"], value["files"]
    if not _integer(moment) or not isinstance(listed, dict):
        return None
    group = Group(moment)
    for path, entry in listed.items():
        if files.path_problem(path) is not None or not isinstance(entry, dict):
            return None
        if set(entry) != {*FIELDS, "sha256"}:
            return None
        numbers = tuple(entry[name] for name in FIELDS)
        digest = entry["sha256"]
        if not all(_integer(n) for n in numbers):
            return None
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            return None
        group.files[path] = (numbers, digest)  # type: ignore[assignment]
    return group


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**64


def _encode(groups: dict[str, Group], seed: int | None) -> dict[str, Any]:
    encoded: dict[str, Any] = {"spec_seed": seed}
    for name, group in groups.items():
        encoded[name] = {
            "clock_ns": group.clock,
            "files": {
                path: {**dict(zip(FIELDS, numbers, strict=True)), "sha256": digest}
                for path, (numbers, digest) in sorted(group.files.items())
            },
        }
    return encoded
