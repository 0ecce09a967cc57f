"""EDGE: `dsc init`: writes a starter project (package data in compiler/starters/) into a folder."""

from __future__ import annotations

import contextlib
import os
import shlex
import stat
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from compiler import specschema
from compiler.errors import CompileError, Location, fail
from compiler.files import shown

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

EXAMPLES = ("marketing", "coding")
COMMON = "common"  # the files every starter has: Makefile, .gitignore
# Package data globs skip names that start with a dot: the starters keep them without it.
_RENAMED = {"gitignore": ".gitignore"}
_NOT_EMPTY_HINT = "choose an empty folder, or give --force to write the starter files over it"
_LINK_HINT = "dsc init writes only into real folders inside the project: remove the link"
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class Written:
    """One starter file as written: its path in the project, and whether it replaced a file."""

    path: str
    replaced: bool


@dataclass(frozen=True)
class Scaffolded:
    """What `dsc init` wrote, for the command line to print."""

    folder: str  # as the user named it, printable
    example: str
    files: tuple[Written, ...]

    def summary(self) -> str:
        here = self.folder == "."
        where = "the current folder" if here else f"{self.folder}/"
        lines = [f"wrote the {self.example} example into {where}:"]
        lines += [f"  {f.path}{' (replaced)' if f.replaced else ''}" for f in self.files]
        if here:
            go, without = "", "dsc build"
        else:
            quoted = shlex.quote(self.folder)
            go, without = f"cd {quoted} && ", f"dsc build -C {quoted}"
        lines.append(f"next: {go}make dataset    (without make: {without})")
        return "\n".join(lines)


def starter_files(example: str) -> dict[str, bytes]:
    """The files of a starter project, the common ones included: relative POSIX path -> bytes
    with LF line ends, in path order. The editor's files come with them (the schemas and VS
    Code's settings), and each spec file starts with the comment that attaches its schema."""
    root = resources.files("compiler") / "starters"
    found: dict[str, bytes] = {}
    for part in (COMMON, example):
        _collect(root / part, "", found)
    for path, data in found.items():
        line = specschema.modeline(path)
        if line is not None:
            found[path] = line.encode("utf-8") + b"\n" + data
    found.update(specschema.editor_files())
    return dict(sorted(found.items()))


def _collect(node: Traversable, prefix: str, into: dict[str, bytes]) -> None:
    for child in node.iterdir():
        path = prefix + _RENAMED.get(child.name, child.name)
        if child.is_dir():
            _collect(child, path + "/", into)
        else:
            into[path] = child.read_bytes().replace(b"\r\n", b"\n")


def scaffold(folder: Path, example: str, force: bool) -> Scaffolded:
    """Write the starter project `example` into folder, creating it when missing. A folder that
    holds anything is refused unless force; force writes the starter files over it, never
    removing another file, and never through a symbolic link."""
    name = shown(str(folder))
    files = starter_files(example)
    _prepare(folder, name, force)
    replaced = [_check_path(folder, name, path) for path in files]  # all, before writing any
    try:
        top = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise _unwritable(name, "", exc) from None
    try:
        for path, data in files.items():
            _write(top, name, path, data)
    finally:
        os.close(top)
    return Scaffolded(
        name, example, tuple(Written(p, r) for p, r in zip(files, replaced, strict=True))
    )


def _prepare(folder: Path, name: str, force: bool) -> None:
    """The folder exists, and is empty unless force; created (with its parents) when missing."""
    where = Location(name)
    if not folder.exists():
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise fail(
                where,
                f"cannot create {name}: {exc.strerror}",
                "check that every folder above it is a folder you may write to",
            ) from None
        return
    if not folder.is_dir():
        raise fail(where, f"{name} is not a folder", "give a folder, or a name that is not taken")
    try:
        entries = sorted(os.listdir(folder))
    except OSError as exc:
        raise fail(
            where, f"cannot read {name}: {exc.strerror}", "check the folder's permissions"
        ) from None
    if entries and not force:
        more = f" and {len(entries) - 1} more" if len(entries) > 1 else ""
        raise fail(
            where, f"{name} is not empty (it holds {shown(entries[0])}{more})", _NOT_EMPTY_HINT
        )


def _check_path(folder: Path, name: str, path: str) -> bool:
    """Whether the starter file path replaces a file; refuses a symbolic link or a non-folder on
    its way, and anything but a regular file in its place."""
    parts = path.split("/")
    for depth in range(1, len(parts) + 1):
        shown_path = f"{name}/{'/'.join(parts[:depth])}"
        try:
            mode = os.lstat(folder.joinpath(*parts[:depth])).st_mode
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise _unwritable(name, path, exc) from None
        last = depth == len(parts)
        if stat.S_ISLNK(mode):
            raise fail(Location(shown_path), f"{shown_path} is a symbolic link", _LINK_HINT)
        if not last and not stat.S_ISDIR(mode):
            raise fail(
                Location(shown_path),
                f"{shown_path} is not a folder, and the starter puts {path} in it",
                "move it away, or choose another folder",
            )
        if last and not stat.S_ISREG(mode):
            raise fail(
                Location(shown_path),
                f"{shown_path} is not a regular file: the starter writes one there",
                "move it away, or choose another folder",
            )
    return True


def _write(top: int, name: str, path: str, data: bytes) -> None:
    """Write one file below the folder open as top, folder by folder, following no link; a file
    in its place is replaced (removed first, so that no hard link is written through)."""
    *folders, leaf = path.split("/")
    opened: list[int] = []
    try:
        parent = top
        for part in folders:
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, dir_fd=parent)
            parent = os.open(part, _FOLDER, dir_fd=parent)
            opened.append(parent)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(leaf, dir_fd=parent)
        fd = os.open(leaf, _NEW_FILE, 0o666, dir_fd=parent)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
    except OSError as exc:
        raise _unwritable(name, path, exc) from None
    finally:
        for fd in opened:
            os.close(fd)


def _unwritable(name: str, path: str, exc: OSError) -> CompileError:
    target = f"{name}/{path}" if path else name
    return fail(
        Location(target),
        f"cannot write {target}: {exc.strerror}",
        "check the folder's permissions and free space",
    )
