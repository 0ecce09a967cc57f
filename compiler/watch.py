"""EDGE: dsc build --watch: build again on every save in the project, and say what changed.

watchfiles (the `watch` extra) is imported here only, when --watch is given. Each round is one
`dsc build` (skipped when nothing changed); after a build, the records added, removed, changed
and moved since the last one, counted as `dsc diff` counts them; after a mistake, the located
errors, and the last good build stays in place (a failed build never touches it).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from compiler.clibase import Failed
from compiler.diff import diff
from compiler.errors import CompileError, Location, fail
from compiler.files import beside, shown
from compiler.model import Build
from compiler.pipeline import require_folder
from compiler.readback import read_folder
from compiler.report import summary

# Milliseconds: how long watchfiles waits for changes before it yields an empty set. The first
# yield says the watcher is in place (the first build runs then, so that no save is missed);
# later ones are ignored. Changes themselves are yielded once no new one came for `step`
# (50 ms) or after `debounce` (1.6 s) of continuous changes: watchfiles' own defaults.
TICK = 100
EXTRA = "pip install 'dsc-dataset-compiler[watch]'"


def _watchfiles() -> Any:
    try:
        import watchfiles
    except ImportError:
        raise fail(
            Location(""),
            "dsc build --watch needs the watchfiles package (the `watch` extra)",
            f"{EXTRA} (in a checkout of dsc: pip install -e '.[watch]')",
        ) from None
    return watchfiles


def ignored_places(project: Path, out_dir: Path) -> tuple[Path, ...]:
    """What a build writes in the project: the output folder, the writer's staging and old
    folders beside it, the stat cache. Changes there never start a round. Each as given and
    with its links resolved: some systems report a change by its real path."""
    places = []
    for out, root in (
        (out_dir.absolute(), project.absolute()),
        (out_dir.resolve(), project.resolve()),
    ):
        places += [out, *beside(out), root / ".dsc"]
    return tuple(dict.fromkeys(places))


def relevant(default: Callable[[Any, str], bool], ignored: tuple[Path, ...]) -> Any:
    """watchfiles' filter: its default one (version control, caches, editors' swap files),
    then nothing inside the places a build writes."""
    places = tuple(str(place) for place in ignored)

    def keep(change: Any, path: str) -> bool:
        if not default(change, path):
            return False
        return not any(path == place or path.startswith(place + os.sep) for place in places)

    return keep


def _current(out_dir: Path) -> Build | None:
    """The build in out_dir as records, to count what the next one changes; {} when there is
    none yet, None when it cannot be read (no counts are shown then)."""
    if not out_dir.exists():
        return {}
    try:
        return read_folder(out_dir)
    except CompileError:
        return None


def watch_builds(
    project: Path, out_dir: Path, name: str, build: Callable[[], bool], say: Callable[..., None]
) -> None:
    """Build now and on every relevant change until Ctrl-C (or SIGTERM), which ends it
    normally. build() runs one `dsc build` and says whether it wrote a new build."""
    watchfiles = _watchfiles()
    require_folder(project)
    keep = relevant(watchfiles.DefaultFilter(), ignored_places(project, out_dir))
    batches = watchfiles.watch(
        project.absolute(), watch_filter=keep, rust_timeout=TICK, yield_on_timeout=True
    )
    last = _current(out_dir)
    ready = False
    try:
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                return
            except OSError as exc:  # the watcher's own: a folder gone, the system's limits
                raise fail(
                    Location(shown(str(project))),
                    f"cannot watch the project folder: {exc}",
                    "on a network file system, or past the system's limit of watched "
                    "folders, set WATCHFILES_FORCE_POLLING=1 to poll for changes instead",
                ) from None
            if ready and not batch:
                continue
            last = _round(out_dir, name, build, say, last)
            if not ready:
                ready = True
                say("watching the project for changes (Ctrl-C to stop)")
    except KeyboardInterrupt:
        # Ctrl-C is how a watch ends, not an abort (watchfiles' run_process stops the same
        # way): the build it may have cut short has left the last good one in place.
        return
    finally:
        batches.close()


def _round(
    out_dir: Path,
    name: str,
    build: Callable[[], bool],
    say: Callable[..., None],
    last: Build | None,
) -> Build | None:
    """One build; the build now in out_dir (the last good one after a failure)."""
    try:
        built = build()
    except CompileError as exc:
        Failed(exc).show()
        click.echo(f"build failed: {name} still holds the last good build", err=True)
        return last
    if not built:
        return last
    now = _current(out_dir)
    if last is not None and now is not None:
        say(f"diff: {summary(diff(last, now))}")
    return now
