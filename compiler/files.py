"""EDGE: the one gate every file passes before dsc opens it (specs, data, build outputs)."""

from __future__ import annotations

import errno
import hashlib
import os
import posixpath
import stat
from pathlib import Path

from compiler.hints import closest

SPEC_FILE_LIMIT = 4 * 1024 * 1024
DATA_FILE_LIMIT = 64 * 1024 * 1024
_KINDS = {
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}
# O_NONBLOCK: opening a FIFO that slipped past the checks must not wait for a writer.
_OPEN_FLAGS = (
    os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | os.O_CLOEXEC
)
_CHUNK = 1 << 22
_MISSING_HINT = "check the path: it is relative to the project folder, with '/' separators"


class Refused(Exception):
    """A path dsc will not read: what is wrong and how to fix it; the caller says where."""

    def __init__(self, message: str, hint: str, missing: bool = False) -> None:
        super().__init__(message)
        self.message, self.hint, self.missing = message, hint, missing


def path_problem(relpath: str) -> Refused | None:
    """Why relpath cannot name a file below a folder, judged from its text alone."""
    if "\x00" in relpath:
        return Refused(
            f"path {relpath!r} holds a NUL character",
            "remove the \\0: a file name cannot hold NUL",
        )
    if not relpath or relpath.startswith("/") or "\\" in relpath or ":" in relpath[:3]:
        return Refused(
            f"path {relpath!r} must be relative to the project",
            "write it relative to the project folder, with '/' separators",
        )
    if ".." in relpath.split("/"):
        return Refused(
            f"path {relpath!r} leaves the project",
            "data files must live inside the project folder",
        )
    # Surrogates cannot be encoded as a file name (only a hand-edited metadata.json holds them).
    if any(char < " " or "\ud800" <= char <= "\udfff" for char in relpath):
        return Refused(
            f"path {relpath!r} holds a control character",
            "rename the file to a name of printable characters",
        )
    return None


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def locate(
    base: Path, relpath: str, outputs: tuple[Path, ...] = (), links: bool = True
) -> tuple[str, os.stat_result]:
    """The real path of base/relpath and its lstat, refused when it must not be read.

    Everything is judged before the file is opened, and a path that leaves base is refused
    whether or not its target exists: the answer never tells what is outside. outputs are
    folders whose files are never inputs (each build rewrites them). links=False refuses a
    link anywhere below base without looking at where it points (dsc writes no links).
    """
    problem = path_problem(relpath)
    if problem is not None:
        raise problem
    real_base = os.path.realpath(base)
    if not links:
        return _without_links(real_base, relpath)
    # Not strict: a path that does not exist (or loops) resolves as far as it can.
    real = os.path.realpath(os.path.join(real_base, relpath))
    if not _within(real, real_base):
        raise Refused(
            f"path {relpath!r} resolves outside the project (symbolic link)",
            "copy the file into the project instead of linking to it",
        )
    for folder in outputs:
        if _within(real, os.path.realpath(folder)):
            raise Refused(
                f"path {relpath!r} is inside the output folder {folder.name}/",
                f"every build rewrites {folder.name}/: keep input files elsewhere, e.g. in data/",
            )
    try:
        info = os.lstat(real)
    except (FileNotFoundError, NotADirectoryError):
        hint = _similar_file(real, relpath) or _MISSING_HINT
        raise Refused(f"file not found: {relpath}", hint, missing=True) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _loop(relpath) from None
        raise _unreadable(relpath, exc) from None
    if stat.S_ISLNK(info.st_mode):  # realpath left it unresolved: the link loops
        raise _loop(relpath)
    return real, info


def _without_links(real_base: str, relpath: str) -> tuple[str, os.stat_result]:
    """Walk down from base with lstat alone, refusing the first link met."""
    real = real_base
    try:
        info = os.lstat(real_base)
    except OSError:
        raise Refused(f"file not found: {relpath}", _MISSING_HINT, missing=True) from None
    for part in relpath.split("/"):
        if part in ("", "."):
            continue
        real = os.path.join(real, part)
        try:
            info = os.lstat(real)
        except (FileNotFoundError, NotADirectoryError):
            raise Refused(f"file not found: {relpath}", _MISSING_HINT, missing=True) from None
        except OSError as exc:
            raise _unreadable(relpath, exc) from None
        if stat.S_ISLNK(info.st_mode):
            raise Refused(
                f"path {relpath!r} is a symbolic link",
                "dsc writes no links into a build: build again",
            )
    return real, info


def _unreadable(relpath: str, exc: OSError) -> Refused:
    return Refused(f"cannot read {relpath}: {exc.strerror}", "check its permissions")


def _loop(relpath: str) -> Refused:
    return Refused(
        f"path {relpath!r} is a symbolic link loop",
        "a link points back at itself: replace it with the file",
    )


def open_file(
    base: Path,
    relpath: str,
    limit: int | None = None,
    outputs: tuple[Path, ...] = (),
    links: bool = True,
) -> tuple[int, int]:
    """Open base/relpath for reading after the gate's checks: (descriptor, size)."""
    fd, opened = _open_checked(base, relpath, limit, outputs, links)
    return fd, opened.st_size


def _open_checked(
    base: Path, relpath: str, limit: int | None, outputs: tuple[Path, ...], links: bool
) -> tuple[int, os.stat_result]:
    real, info = locate(base, relpath, outputs, links)
    fd, opened = _open_regular(real, relpath, info, _OPEN_FLAGS)
    if limit is not None and opened.st_size > limit:
        os.close(fd)
        raise Refused(
            f"file is {opened.st_size} bytes, over the limit of {limit} bytes",
            "split it into smaller files",
        )
    return fd, opened


def _open_regular(
    real: str, relpath: str, info: os.stat_result, flags: int
) -> tuple[int, os.stat_result]:
    """Open the regular file whose stat is info; refused when it is something else, or when
    what was opened is no longer what was checked."""
    if stat.S_ISDIR(info.st_mode):
        raise Refused(f"expected a file, found a directory: {relpath}", "name a file")
    if not stat.S_ISREG(info.st_mode):
        kind = _KINDS.get(stat.S_IFMT(info.st_mode), "a special file")
        raise Refused(
            f"path {relpath!r} is {kind}, not a regular file",
            "name an ordinary file: dsc reads no pipes, devices or sockets",
        )
    try:
        fd = os.open(real, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # replaced by a link since the check
            raise _loop(relpath) from None
        raise _unreadable(relpath, exc) from None
    opened = os.fstat(fd)
    if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino) or not stat.S_ISREG(
        opened.st_mode
    ):
        os.close(fd)
        raise Refused(f"cannot read {relpath}: it changed while it was opened", "build again")
    return fd, opened


def open_named(path: str) -> int:
    """Open a regular file named on the command line, not by a project: any path, links
    followed as its user named it. A descriptor; the gate's messages name path as given."""
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise Refused(f"file not found: {path}", "check the path", missing=True) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _loop(path) from None
        raise _unreadable(path, exc) from None
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | os.O_CLOEXEC
    return _open_regular(path, path, info, flags)[0]


def read_bytes(
    base: Path, relpath: str, limit: int, outputs: tuple[Path, ...] = (), links: bool = True
) -> bytes:
    """The bytes of base/relpath, through the gate; never more than limit + 1 bytes are read."""
    fd, _ = open_file(base, relpath, limit, outputs, links)
    data = bytearray()
    try:
        # Bounded by what is read, not by fstat alone: a file may grow after it was opened.
        while len(data) <= limit and (chunk := os.read(fd, min(_CHUNK, limit + 1 - len(data)))):
            data += chunk
    except OSError as exc:
        raise _unreadable(relpath, exc) from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise Refused(f"file is over the limit of {limit} bytes", "split it into smaller files")
    return bytes(data)


def sha256(
    base: Path,
    relpath: str,
    limit: int | None = None,
    outputs: tuple[Path, ...] = (),
    links: bool = True,
) -> str:
    """The sha256 of base/relpath read through the gate in chunks (outputs can be gigabytes)."""
    return sha256_stat(base, relpath, limit, outputs, links)[0]


def sha256_stat(
    base: Path,
    relpath: str,
    limit: int | None = None,
    outputs: tuple[Path, ...] = (),
    links: bool = True,
) -> tuple[str, os.stat_result | None]:
    """sha256() and the file's stat while it was read: None when its size, mtime, inode or
    ctime moved meanwhile (the digest is then of bytes the stat does not vouch for)."""
    fd, opened = _open_checked(base, relpath, limit, outputs, links)
    digest = hashlib.sha256()
    read = cached = 0
    try:
        while chunk := os.read(fd, _CHUNK):
            digest.update(chunk)
            read += len(chunk)
            if limit is not None and read > limit:
                raise Refused(f"file is over the limit of {limit} bytes", "split it")
            if read - cached >= 1 << 26 and hasattr(os, "posix_fadvise"):
                # Let the system forget what was read: outputs of a million records are
                # gigabytes, and their cached pages cost every later write (docs/benchmarks.md).
                os.posix_fadvise(fd, 0, read, os.POSIX_FADV_DONTNEED)
                cached = read
        after = os.fstat(fd)
    except OSError as exc:
        raise _unreadable(relpath, exc) from None
    finally:
        os.close(fd)
    return digest.hexdigest(), opened if stat_key(opened) == stat_key(after) else None


def stat_key(info: os.stat_result) -> tuple[int, int, int, int]:
    """What tells that a file changed, as git's index keeps it: size, mtime, inode, ctime."""
    return (info.st_size, info.st_mtime_ns, info.st_ino, info.st_ctime_ns)


def yaml_files(root: Path, folder: str) -> list[str]:
    """The YAML files of a project folder, as sorted relative POSIX paths.

    Every entry that is not a folder is listed, links and special files included, so that the
    gate refuses them by name instead of skipping them; a folder that links out of the project
    is refused before its names are read.
    """
    base = root / folder
    if not os.path.lexists(base):
        return []
    real_root = os.path.realpath(root)
    real = os.path.realpath(base)
    if not _within(real, real_root):
        raise Refused(
            f"folder {folder!r} resolves outside the project (symbolic link)",
            "copy the files into the project instead of linking to their folder",
        )
    if os.path.islink(real):
        raise Refused(
            f"folder {folder!r} is a symbolic link loop",
            "a link points back at itself: replace it with the folder",
        )
    if not os.path.isdir(real):
        return []
    with os.scandir(real) as entries:
        names = [
            entry.name
            for entry in entries
            if Path(entry.name).suffix in (".yaml", ".yml")
            and not entry.is_dir(follow_symlinks=False)
        ]
    return [f"{folder}/{name}" for name in sorted(names)]


def tree(folder: Path) -> dict[str, bool]:
    """Every entry below folder that is not a folder, by relative path: True for regular files.

    Links are not followed (a committed build/ may hold links to anywhere).
    """
    found: dict[str, bool] = {}
    for top, dirs, files in os.walk(folder):
        relative = os.path.relpath(top, folder)
        for name in files + [d for d in dirs if os.path.islink(os.path.join(top, d))]:
            path = name if relative == "." else f"{relative}/{name}".replace(os.sep, "/")
            found[path] = stat.S_ISREG(os.lstat(os.path.join(top, name)).st_mode)
    return found


def beside(out_dir: Path) -> tuple[Path, Path]:
    """The folders a build writes beside its output folder: the staging folder it fills, and
    the one the previous build waits in during the swap (emit.py)."""
    return out_dir.with_name(out_dir.name + ".staging"), out_dir.with_name(out_dir.name + ".old")


def shown(path: str) -> str:
    """A path as it can be printed: quoted and escaped when it holds unprintable characters."""
    return path if path.isprintable() else repr(path)


def _similar_file(real: str, relpath: str) -> str:
    folder, _, name = relpath.rpartition("/")
    try:
        with os.scandir(posixpath.dirname(real)) as entries:
            names = sorted(e.name for e in entries if e.is_file(follow_symlinks=False))
    except OSError:
        return ""
    close = closest(name, names)
    return f"did you mean {(folder + '/' if folder else '') + close!r}?" if close else ""
