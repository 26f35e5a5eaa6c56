"""Shared helpers: interleaved timing, medians, result rows, static Google credentials."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import gc
import os
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MODEL = "google/gemini-2.5-flash"
PROJECT = "bench-project"
LOCATION = "global"
STATIC_KEY = "sk-bench-static-key"


@dataclass
class Row:
    """One line of the results table."""

    bench: str
    """Benchmark group, e.g. ``"1 overhead"``."""
    name: str
    """What is compared, e.g. ``"LangChain invoke (sync)"``."""
    ours: float
    baseline: float
    unit: str
    ratio: float
    """ours / baseline (``direction="le"``) or ours / baseline throughput (``"ge"``)."""
    goal: float | None = None
    direction: str = "le"
    """``"le"``: lower is better (ratio <= goal); ``"ge"``: higher is better."""
    ours_label: str = ""
    baseline_label: str = ""
    note: str = ""
    guard: bool = True
    """Counted by ``--guard`` (gross-regression check)."""

    @property
    def met(self) -> bool | None:
        if self.goal is None:
            return None
        if self.direction in ("le", "abs_le"):
            return self.ratio <= self.goal
        return self.ratio >= self.goal

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["met"] = self.met
        return data


@dataclass
class Section:
    """What one benchmark module returns."""

    title: str
    rows: list[Row] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    """Markdown lines shown under the table (context, extra numbers, profiles)."""
    errors: int = 0


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


class Timings:
    """Per-call wall-clock and process-CPU seconds of one variant."""

    __slots__ = ("cpu", "wall")

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def __len__(self) -> int:
        return len(self.wall)


def interleaved(
    variants: Mapping[str, Callable[[], Any]], n: int, warmup: int = 10, collect_every: int = 50
) -> dict[str, Timings]:
    """Time each variant ``n`` times, alternating variants every iteration.

    The order is shuffled each iteration (seeded): no variant always runs first, and none
    always follows the same other variant (a rotation would keep each one's predecessor
    fixed, and a heavy predecessor leaves caches and allocator state behind).

    Records wall-clock and process CPU time (``time.process_time``: this process only,
    all threads) per call; CPU time is what the client costs and is barely disturbed by
    other processes competing for the cores.

    The cyclic garbage collector is paused while timing and run every ``collect_every``
    iterations, outside the timed calls: otherwise whichever call happens to trigger a
    full collection of the whole process is charged for everyone's garbage.
    """
    names = list(variants)
    for _ in range(warmup):
        for name in names:
            variants[name]()
    times = {name: Timings() for name in names}
    wall, cpu = time.perf_counter, time.process_time
    with _gc_paused():
        for i in range(n):
            if i % collect_every == 0:
                gc.collect()
            _one_round(variants, names, i, times, wall, cpu)
    return times


def _one_round(
    variants: Mapping[str, Callable[[], Any]],
    names: list[str],
    i: int,
    times: dict[str, Timings],
    wall: Callable[[], float],
    cpu: Callable[[], float],
) -> None:
    for name in _order(names, i):
        fn = variants[name]
        c0 = cpu()
        t0 = wall()
        fn()
        t1 = wall()
        c1 = cpu()
        rec = times[name]
        rec.wall.append(t1 - t0)
        rec.cpu.append(c1 - c0)


def _order(names: list[str], i: int) -> list[str]:
    """Iteration ``i``'s order: a seeded shuffle (reproducible, varied predecessors)."""
    order = list(names)
    random.Random(1_000_003 * i + 7).shuffle(order)
    return order


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def ainterleaved(
    variants: Mapping[str, Callable[[], Awaitable[Any]]],
    n: int,
    warmup: int = 10,
    collect_every: int = 50,
) -> dict[str, Timings]:
    """Async :func:`interleaved` (one event loop, one call at a time)."""
    names = list(variants)
    for _ in range(warmup):
        for name in names:
            await variants[name]()
    times = {name: Timings() for name in names}
    wall, cpu = time.perf_counter, time.process_time
    with _gc_paused():
        for i in range(n):
            if i % collect_every == 0:
                gc.collect()
            await _one_round_async(variants, names, i, times, wall, cpu)
    return times


async def _one_round_async(
    variants: Mapping[str, Callable[[], Awaitable[Any]]],
    names: list[str],
    i: int,
    times: dict[str, Timings],
    wall: Callable[[], float],
    cpu: Callable[[], float],
) -> None:
    for name in _order(names, i):
        fn = variants[name]
        c0 = cpu()
        t0 = wall()
        await fn()
        t1 = wall()
        c1 = cpu()
        rec = times[name]
        rec.wall.append(t1 - t0)
        rec.cpu.append(c1 - c0)


_LOOP: asyncio.AbstractEventLoop | None = None


def run_async(coro: Awaitable[Any]) -> Any:
    """Run on one event loop kept for the whole process.

    ``ChatOpenAI`` caches its default async httpx client process-wide; its pooled
    connections belong to the loop that opened them, so every benchmark must share one
    loop (``asyncio.run`` per benchmark would leave them bound to a closed loop).
    """
    global _LOOP
    if _LOOP is None or _LOOP.is_closed():
        _LOOP = asyncio.new_event_loop()
        asyncio.set_event_loop(_LOOP)
    return _LOOP.run_until_complete(coro)


def collect() -> None:
    gc.collect()


def static_credentials(token: str = "ya29.bench-static-token") -> Any:
    """Google credentials holding a long-lived token; refreshing them does no I/O.

    The TokenProvider refreshes once on first use (it does not trust a token it did not
    obtain), so ``refresh()`` just re-issues the same token with an expiry in 2100. After
    that the steady state is measured: a fresh cached token, no refresh on the path.
    """
    import google.auth.credentials

    class StaticCredentials(google.auth.credentials.Credentials):
        def __init__(self) -> None:
            super().__init__()
            self.token = token
            self.expiry = datetime.datetime(2100, 1, 1)  # naive UTC, as google-auth keeps it

        def refresh(self, request: Any) -> None:
            self.token = token
            self.expiry = datetime.datetime(2100, 1, 1)

    return StaticCredentials()


def fmt_time(seconds: float) -> str:
    if seconds != seconds:  # nan
        return "n/a"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
