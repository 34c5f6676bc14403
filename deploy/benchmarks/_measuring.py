"""How every benchmark measures: run an operation from many tasks, collect latencies and
errors, summarise them as rate, p50 and p99."""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

ERROR_SAMPLES = 5
Op = Callable[[int], Awaitable[object]]


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_summary(seconds: list[float]) -> dict[str, float | int | None]:
    """Count, p50, p99, mean and max of latencies given in seconds, reported in milliseconds."""
    if not seconds:
        return {"count": 0, "p50_ms": None, "p99_ms": None, "mean_ms": None, "max_ms": None}
    ordered = sorted(seconds)
    return {
        "count": len(ordered),
        "p50_ms": round(percentile(ordered, 50) * 1000, 3),
        "p99_ms": round(percentile(ordered, 99) * 1000, 3),
        "mean_ms": round(sum(ordered) / len(ordered) * 1000, 3),
        "max_ms": round(ordered[-1] * 1000, 3),
    }


@dataclass
class Run:
    """What running one operation many times gave: per-op latencies of the successes, errors,
    and the wall time of the whole run."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def per_second(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "errors": len(self.errors),
            "error_samples": self.errors[:ERROR_SAMPLES],
            "seconds": round(self.seconds, 3),
            "per_s": round(self.per_second, 2),
            "latency": latency_summary(self.latencies),
        }


def describe(error: BaseException) -> str:
    """The error and what caused it, e.g. `ReadError:  <- ConnectionResetError: ...`."""
    chain: list[str] = []
    current: BaseException | None = error
    while current is not None and len(chain) < 4:
        chain.append(f"{type(current).__name__}: {current}")
        current = current.__cause__ or current.__context__
    return " <- ".join(chain)[:400]


async def run_workers(
    op: Op, concurrency: int, *, count: int | None = None, seconds: float | None = None
) -> Run:
    """Run `op(index)` from `concurrency` tasks until `count` calls were made or `seconds`
    passed. A failed call is recorded as an error and does not stop the run."""
    run = Run()
    indexes: Iterator[int] = iter(range(count)) if count is not None else itertools.count()
    deadline = time.perf_counter() + seconds if seconds is not None else math.inf

    async def worker() -> None:
        for index in indexes:
            if time.perf_counter() >= deadline:
                return
            started = time.perf_counter()
            try:
                await op(index)
            except Exception as error:
                run.errors.append(describe(error))
                continue
            run.latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    run.seconds = time.perf_counter() - started
    return run


# -- 1. raw limits of the broker and the database ----------------------------------------------
