"""EDGE: write records and metadata.json into a staging folder, then swap it into place."""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import itertools
import os
import re
import shutil
import signal
import stat
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

from compiler.encode import dump_json
from compiler.errors import Location, fail
from compiler.files import beside
from compiler.formats import ALPACA, folder
from compiler.hashing import SEAL_KEY, seal
from compiler.model import SPLITS
from compiler.shards import Sharded, Sink
from compiler.split import Assignment
from compiler.uptodate import drop_cache

_BLOCK = 1 << 22  # bytes of lines routed at a time
_FILE_NAME = re.compile(r"[a-z0-9][a-z0-9_]*")  # a task name, as tasks/<task>.jsonl


def _open(path: Path) -> IO[str]:
    return open(path, "w", encoding="utf-8", newline="\n")


_SYNC_EVERY = 64 << 20  # bytes written between syncs


class _HashedFile:
    """A file written in binary with a large buffer, hashed as it is written (unless it is a
    scratch file, hashed=False), and synced to disk (its pages then dropped from the cache)
    every _SYNC_EVERY bytes."""

    def __init__(self, path: Path, hashed: bool = True) -> None:
        self.handle = open(path, "wb", buffering=1 << 20)  # noqa: SIM115 closed by close()
        self.sha = hashlib.sha256() if hashed else None
        self.unsynced = 0
        self.stat: os.stat_result | None = None  # once closed: the stat of what was hashed

    def write_bytes(self, data: bytes) -> None:
        self.handle.write(data)
        if self.sha is not None:
            self.sha.update(data)
        self.unsynced += len(data)
        if self.unsynced >= _SYNC_EVERY:
            self.sync()

    def sync(self) -> None:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        drop_cache(self.handle.fileno())
        self.unsynced = 0

    def close(self) -> str:
        self.sync()
        self.stat = os.fstat(self.handle.fileno())
        self.handle.close()
        return "" if self.sha is None else self.sha.hexdigest()


class Writer:
    """Streams records into a staging folder beside the output folder, then swaps it in.

    A context manager: entering takes the lock and makes the staging folder, leaving by any
    exception (Ctrl-C and SIGTERM included) removes the staging folder and releases the lock,
    so that an interrupt at any point leaves the output folder as it was and nothing beside it.
    An flock on the folder that holds the output folder keeps a second build out (the kernel
    drops it when a build dies, so no stale lock file exists); a staging folder left by a killed
    build is removed. The swap is one atomic exchange of the two folders where the system
    offers it; the swap and every clean-up run with interrupts held back (_held_interrupts),
    so that a second Ctrl-C cannot cut them short.
    """

    def __init__(
        self, out_dir: Path, formats: tuple[str, ...] = (ALPACA,), shards: int = 1
    ) -> None:
        self.out_dir = out_dir
        self.staging, self.aside = beside(out_dir)
        self.formats = formats
        # Sharded (output.shards), the Alpaca task files are scratch too: route() reads them
        # back and cuts them into shards, knowing then how many rows each holds.
        self.shards = shards
        self.task_rows: dict[str, int] = {}
        self.notes: list[str] = []
        # Per format, each task's rows in id order: Alpaca's are the build's tasks/ files;
        # the other formats' are scratch files in the staging folder, removed before the swap.
        self.tasks: dict[tuple[str, str], _HashedFile] = {}
        self.task_order: list[str] = []
        self.outputs: dict[str, str] = {}
        self.stats: dict[str, os.stat_result] = {}  # each output's stat when it was closed
        self.split_files: list[_HashedFile] = []
        self._lock: int | None = None
        self._staged = False  # the staging folder may exist and is ours to remove

    def __enter__(self) -> Writer:
        try:
            with _held_interrupts():
                self._lock = _acquire_lock(self.out_dir)
                self._staged = True
            _check_writable(self.out_dir)
            for leftover in (self.staging, self.aside):
                if leftover.exists() or leftover.is_symlink():
                    with _held_interrupts():
                        _remove(leftover)
                    self.notes.append(f"removed {leftover.name}/ left by an interrupted build")
            (self.staging / "tasks").mkdir(parents=True)
        except BaseException as exc:
            self.abort()
            if isinstance(exc, OSError):
                raise fail(
                    Location(self.out_dir.name),
                    f"cannot prepare {self.out_dir.name}/: {exc.strerror or exc}",
                    "check the folder's permissions",
                ) from None
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is not None:
            self.abort()

    def add(self, task: str, lines: list[list[bytes]]) -> None:
        """Append each format's rows (in id order) to its file of the task."""
        if task not in self.task_order:
            if not _FILE_NAME.fullmatch(task):
                # The schema allows only identifiers as task names; a name that reaches this
                # point otherwise is a bug in dsc, and must not become a path.
                raise ValueError(f"task name {task!r} cannot name a file")
            self.task_order.append(task)
            for name in self.formats:
                path = self._task_file(name, task)
                path.parent.mkdir(parents=True, exist_ok=True)
                # The other formats' task files are scratch, read back by route: not hashed.
                self.tasks[name, task] = _HashedFile(path, hashed=self._whole(name))
            self.task_rows[task] = 0
        for name, rows in zip(self.formats, lines, strict=True):
            data = b"".join(rows)
            self.tasks[name, task].write_bytes(data)
            if name == ALPACA and self.shards > 1:
                self.task_rows[task] += data.count(b"\n")

    def _whole(self, name: str) -> bool:
        """Whether the format's task files are the build's tasks/ files as they are written."""
        return name == ALPACA and self.shards == 1

    def _task_file(self, name: str, task: str) -> Path:
        if self._whole(name):
            return self.staging / "tasks" / f"{task}.jsonl"
        return self.staging / _SCRATCH / name / f"{task}.jsonl"

    def route(self, assignment: Assignment, rows: list[bytearray]) -> dict[str, str]:
        """Write every format's train/val/test by reading its task files back in id order.

        rows holds, per format, how many rows each kept record has in it (0, 1 or 2): a
        record's rows go to the record's split in every format. Threads write and hash the
        three files while this one reads and sorts the lines (both release the interpreter
        lock), and the task files are synced meanwhile.
        """
        for handle in self.tasks.values():
            handle.handle.flush()
        with ThreadPoolExecutor(len(SPLITS) + 1) as pool:
            synced = {
                task: pool.submit(self.tasks[ALPACA, task].close)
                for task in self.task_order
                if (ALPACA, task) in self.tasks and self._whole(ALPACA)
            }
            for name, counts in zip(self.formats, rows, strict=True):
                self._route(pool, name, _row_splits(assignment.splits, counts))
            for task, future in synced.items():
                self._closed(f"tasks/{task}.jsonl", self.tasks[ALPACA, task], future.result())
        if self.formats != (ALPACA,) or self.shards > 1:
            for (name, _), handle in self.tasks.items():
                if not self._whole(name):
                    handle.handle.close()  # scratch: read back, never synced
            _remove(self.staging / _SCRATCH)
        return dict(sorted(self.outputs.items()))

    def _route(self, pool: ThreadPoolExecutor, name: str, splits: bytes) -> None:
        """One format's split files, from its task files and each row's split."""
        prefix = folder(name)
        (self.staging / prefix).mkdir(exist_ok=True)
        split_files = [
            Sharded(f"{prefix}{split}.jsonl", splits.count(k), self.shards, self._sink)
            for k, split in enumerate(SPLITS)
        ]
        # Sharded, the Alpaca rows of each task are cut into tasks/ shards as they are read.
        cut_tasks = name == ALPACA and self.shards > 1
        # One mask per split: the rows' split numbers translated to 1 (this split) or 0.
        numbers = bytes(range(len(SPLITS)))
        masks = [bytes.maketrans(numbers, bytes(int(k == i) for i in numbers)) for k in numbers]
        writing: list[Future[None] | None] = [None] * len(SPLITS)
        index = 0
        for task in sorted(self.task_order):
            path = self._task_file(name, task)
            task_shards = (
                Sharded(f"tasks/{task}.jsonl", self.task_rows[task], self.shards, self._sink)
                if cut_tasks
                else None
            )
            with open(path, "rb", buffering=1 << 20) as f:
                while lines := f.readlines(_BLOCK):
                    drop_cache(f.fileno(), os.lseek(f.fileno(), 0, os.SEEK_CUR))
                    where = splits[index : index + len(lines)]
                    index += len(lines)
                    if task_shards is not None:
                        task_shards.write(lines)
                    for k, (handle, mask) in enumerate(zip(split_files, masks, strict=True)):
                        block = list(itertools.compress(lines, where.translate(mask)))
                        previous = writing[k]
                        if previous is not None:
                            previous.result()  # in order, and one block at a time
                        writing[k] = pool.submit(handle.write, block)
            if task_shards is not None:
                for shard_name, handle, digest in task_shards.close():
                    self._closed(shard_name, handle, digest)
        for future in writing:
            if future is not None:
                future.result()
        closed = [pool.submit(handle.close) for handle in split_files]
        for future in closed:
            for shard_name, handle, digest in future.result():
                self._closed(shard_name, handle, digest)

    def _output(self, name: str) -> _HashedFile:
        """A file of the build, opened in the staging folder (closed by abort() on failure)."""
        handle = _HashedFile(self.staging / name)
        self.split_files.append(handle)
        return handle

    @property
    def _sink(self) -> Sink:
        return Sink(self._output, _HashedFile.write_bytes, _HashedFile.close)

    def _closed(self, name: str, handle: _HashedFile, digest: str) -> None:
        self.outputs[name] = digest
        if handle.stat is not None:
            self.stats[name] = handle.stat

    def documents(self, texts: dict[str, str]) -> dict[str, str]:
        """Write files made whole in memory (the dataset card): every output's sha256 so far."""
        for name, text in texts.items():
            handle = _HashedFile(self.staging / name)
            self.split_files.append(handle)  # closed by abort() if writing fails
            handle.write_bytes(text.encode("utf-8"))
            self._closed(name, handle, handle.close())
        return dict(sorted(self.outputs.items()))

    def finish(self, metadata: dict[str, Any]) -> None:
        """Write metadata.json, sync, and swap the staging folder in: the build is done."""
        with _open(self.staging / "metadata.json") as f:
            f.write(seal(dump_json({**metadata, SEAL_KEY: "0" * 64})))
            f.flush()
            os.fsync(f.fileno())
        _fsync_dir(self.staging / "tasks")
        _fsync_dir(self.staging)
        with _held_interrupts():
            if self.out_dir.exists():
                _exchange(self.staging, self.out_dir)
                _fsync_dir(self.out_dir.parent)
                _remove(self.staging)  # now the old build
            else:
                os.rename(self.staging, self.out_dir)
                _fsync_dir(self.out_dir.parent)
            self._staged = False
            self._release()

    def abort(self) -> None:
        """Remove the staging folder and release the lock; the output folder is untouched."""
        with _held_interrupts():
            for handle in [*self.tasks.values(), *self.split_files]:
                if not handle.handle.closed:
                    with contextlib.suppress(OSError):
                        handle.handle.close()
            if self._staged and (self.staging.exists() or self.staging.is_symlink()):
                _remove(self.staging)
            self._staged = False
            self._release()

    def _release(self) -> None:
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None


def _row_splits(splits: bytes, counts: bytearray) -> bytes:
    """The split of each row, from each record's split and its number of rows."""
    if counts.count(1) == len(counts):
        return splits
    return b"".join(bytes((split,)) * count for split, count in zip(splits, counts, strict=True))


_HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_SCRATCH = ".rows"  # the other formats' task files, inside the staging folder


@contextlib.contextmanager
def _held_interrupts() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back until the block is done, then deliver them as they came.

    For the few steps that must not be cut in two: taking the lock, the swap, and removing a
    staging folder. Python runs signal handlers in the main thread only, so elsewhere the
    block runs as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous: dict[int, Any] = {}
    try:
        for signum in _HELD_SIGNALS:
            previous[signum] = signal.signal(signum, lambda got, frame: held.append(got))
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        for signum in dict.fromkeys(held):
            signal.raise_signal(signum)


def _acquire_lock(out_dir: Path) -> int:
    parent = out_dir.parent
    parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise fail(
            Location(out_dir.name),
            f"another dsc build is writing {out_dir.name}/",
            "wait for it to finish, then build again",
        ) from None
    return fd


def _check_writable(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.stat().st_mode & stat.S_IWUSR:
        raise fail(
            Location(out_dir.name),
            f"{out_dir.name}/ is read-only",
            f"make it writable (chmod u+w {out_dir.name}) to rebuild it",
        )


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    else:
        shutil.rmtree(path)


def _fsync_dir(path: Path) -> None:
    with _held_interrupts():  # so that the descriptor is always closed
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


_RENAME_EXCHANGE = 2


def _exchange(first: Path, second: Path) -> None:
    """Swap two folders atomically (Linux renameat2); elsewhere, two renames."""
    libc = _libc()
    if libc is not None:
        result = libc.renameat2(
            -100, os.fsencode(first), -100, os.fsencode(second), _RENAME_EXCHANGE
        )
        if result == 0:
            return
    aside = second.with_name(second.name + ".old")
    os.rename(second, aside)
    os.rename(first, second)
    os.rename(aside, first)


def _libc() -> Any:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.renameat2.argtypes = [
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_uint,
        ]
        return libc
    except (OSError, AttributeError):
        return None
