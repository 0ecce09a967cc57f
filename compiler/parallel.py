"""EDGE: apply one function to a list of tasks in worker processes, results in task order.

The workers are forked, so they start with everything the parent had built (the project, the
compiled templates, the bindings) and receive only small task tuples. Results come back in
task order whatever the number of workers, so what the caller does with them — and so every
output byte — does not depend on it. At most `window` results are in flight at a time, which
bounds memory when the caller is slower than the workers.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

Task = TypeVar("Task")
Result = TypeVar("Result")

_PR_SET_PDEATHSIG = 1
_work: Callable[[Any], Any] | None = None  # set in each worker by _start_worker


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity), at least 1."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def ordered_map(
    work: Callable[[Task], Result], tasks: Sequence[Task], jobs: int
) -> Iterator[Result]:
    """work(task) for each task, in order; in `jobs` forked processes when jobs > 1.

    With one job, one task, or no fork on this system, everything runs in this process.
    """
    if jobs <= 1 or len(tasks) <= 1 or not can_fork():
        yield from map(work, tasks)
        return
    # The work goes to each worker through the initializer's arguments: forked, never pickled.
    pool = ProcessPoolExecutor(
        min(jobs, len(tasks)),
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start_worker,
        initargs=(os.getpid(), work),
    )
    window = 2 * jobs + 2
    pending: deque[Future[Result]] = deque()
    upcoming = iter(tasks)
    try:
        # Ctrl-C between a fork and the worker's initializer would raise KeyboardInterrupt in
        # the worker's bootstrap and print its traceback: the workers are forked with SIGINT
        # blocked (a Ctrl-C meanwhile waits for the parent), and ignore it before unblocking.
        with _sigint_blocked():
            for task in upcoming:
                pending.append(pool.submit(_call, task))
                if len(pending) >= window:
                    break
        while pending:
            result = pending.popleft().result()
            for task in upcoming:
                pending.append(pool.submit(_call, task))
                break
            yield result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def _sigint_blocked() -> Iterator[None]:
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _call(task: Any) -> Any:
    assert _work is not None, "ordered_map's workers start with the work to do"
    return _work(task)


def _start_worker(parent: int, work: Callable[[Any], Any]) -> None:
    """In each worker: keep the work, leave Ctrl-C and SIGTERM to the parent, and die with it."""
    global _work
    _work = work
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
