"""EDGE: budgets for rendering: the size of values templates make, CPU time per record, memory."""

from __future__ import annotations

import contextlib
import math
import resource
import signal
import threading
from collections.abc import Iterator
from typing import Any

from jinja2.exceptions import SecurityError

MAX_STRING = 1_000_000  # characters of a string, or the weight of a list or mapping
MAX_INT_BITS = 65_536  # ~19,700 digits: far beyond what str() of an int may print (4,300)
MAX_STEPS = 100_000  # loop iterations, calls and filtered items of one template render
MAX_MACRO_CALLS = 10_000  # macro calls of one template render (each costs ~20 µs)
MAX_MACRO_DEPTH = 64  # macros calling macros (data is nested at most 64 levels too)
DEFAULT_CPU_SECONDS = 2.0
DEFAULT_MEMORY_MIB = 1024
TICK_SECONDS = 0.05


def bound(size: int, what: str) -> None:
    if size > MAX_STRING:
        raise SecurityError(f"{what} result is too large ({size} > {MAX_STRING})")


def bound_bits(bits: int, what: str) -> None:
    if bits > MAX_INT_BITS:
        raise SecurityError(f"{what} result is too large ({bits} bits > {MAX_INT_BITS})")


def weight(value: Any, limit: int = MAX_STRING) -> int:
    """An upper bound on the work and memory of a value, within a constant factor of len(str()).

    Strings count their characters, numbers their digits, lists and mappings one for
    themselves plus their items. The walk stops as soon as the total passes `limit`, so a
    list that holds itself a million times over (`[a, a]`, repeated) costs `limit` steps at
    most. Generators and other objects count 1: they are bounded when they are turned into
    a value.
    """
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (str, bytes)):
            total += len(item) or 1
        elif isinstance(item, bool) or item is None:
            total += 1
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 1
        elif isinstance(item, float):
            total += 24
        elif isinstance(item, dict):
            total += 1
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += 1
            stack.extend(item)
        else:
            total += 1
        if total > limit:
            return total
    return total


def bound_value(value: Any, what: str) -> Any:
    """`value`, when its weight is within MAX_STRING; else a SecurityError."""
    if isinstance(value, str):
        bound(len(value), what)
    elif isinstance(value, int) and not isinstance(value, bool):
        bound_bits(value.bit_length(), what)
    elif isinstance(value, (bytes, list, tuple, dict, set, frozenset)):
        bound(weight(value), what)
    return value


class _Limits:
    """The CPU and memory budgets in force (for messages): the project's, once armed."""

    cpu_seconds = DEFAULT_CPU_SECONDS
    memory_mib = DEFAULT_MEMORY_MIB


LIMITS = _Limits()


@contextlib.contextmanager
def record_budgets(cpu_seconds: float, memory_mib: int) -> Iterator[None]:
    """Both budgets for the records (or bindings) rendered in the block."""
    with cpu_budget(cpu_seconds), memory_cap(memory_mib):
        yield


class OverBudget(BaseException):
    """Raised by the CPU clock inside a render; a BaseException so no `except Exception`
    in Jinja or a filter can swallow it."""


class _Clock:
    """Per process: which record is rendering, and how many ticks of CPU time it has had."""

    serial = 0  # bumped by the caller for every record (or binding, for `when`)
    seen = -1
    ticks = 0
    limit = 0  # ticks a record may take; 0 when no budget is armed
    rendering = False  # the clock raises only while a template renders


CLOCK = _Clock()


def _tick(signum: int, frame: Any) -> None:
    clock = CLOCK
    if clock.serial != clock.seen:
        clock.seen, clock.ticks = clock.serial, 0
    clock.ticks += 1
    if clock.rendering and clock.limit and clock.ticks > clock.limit:
        clock.ticks = 0  # one error per record: the caller stops the record
        raise OverBudget


@contextlib.contextmanager
def cpu_budget(seconds: float) -> Iterator[None]:
    """While the block runs, a record whose templates take over `seconds` of CPU time (user
    and system) raises OverBudget in its render.

    One periodic ITIMER_PROF timer counts ticks against the current record (CLOCK.serial),
    so the cost per record is one integer increment, not two system calls. The previous
    handler and timer are restored afterwards. Off the main thread, or without setitimer,
    nothing is armed (the memory cap and the sandbox's own bounds still hold).
    """
    LIMITS.cpu_seconds = seconds
    main = threading.current_thread() is threading.main_thread()
    if not hasattr(signal, "setitimer") or not main:
        yield
        return
    previous_handler = signal.signal(signal.SIGPROF, _tick)
    previous_limit = CLOCK.limit
    CLOCK.limit = max(math.ceil(seconds / TICK_SECONDS), 1)
    CLOCK.seen = -1
    previous_timer = signal.setitimer(signal.ITIMER_PROF, TICK_SECONDS, TICK_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, *previous_timer)
        signal.signal(signal.SIGPROF, previous_handler)
        CLOCK.limit = previous_limit


def _address_space() -> int | None:
    """This process's virtual memory size in bytes (Linux), else None."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            pages = int(statm.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pages * resource.getpagesize()


@contextlib.contextmanager
def memory_cap(mib: int) -> Iterator[None]:
    """While the block runs, this process's address space may grow by at most `mib` MiB;
    past that, allocations fail with MemoryError. The previous limit is restored afterwards.

    The cap is relative to the current size, because a forked worker starts with everything
    its parent had mapped. It never raises a limit someone else set. Where the size cannot
    be read (not Linux), nothing is capped.
    """
    LIMITS.memory_mib = mib
    current = _address_space()
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    except (OSError, ValueError, AttributeError):
        current = None
    if current is None:
        yield
        return
    cap = current + (mib << 20)
    for limit in (soft, hard):
        if limit != resource.RLIM_INFINITY:
            cap = min(cap, limit)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
