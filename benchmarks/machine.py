"""What machine a benchmark ran on, and how the benchmarks time things."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable


def cpu_name() -> str:
    """The processor's model name where the system tells it (Linux), else the architecture."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe() -> str:
    """The processor and its logical core count, for the first line of a benchmark's output."""
    return f"{cpu_name()}, {os.cpu_count()} logical cores"


def median_seconds(
    fn: Callable[[], object], repeats: int, min_time: float = 0.0
) -> tuple[float, float, float]:
    """Median, min and max seconds per call of fn over `repeats` runs, after one warm-up
    call; each run calls fn until min_time has passed (at least once)."""
    fn()  # warm up caches and threads
    per_call = []
    for _ in range(repeats):
        calls, start = 0, time.perf_counter()
        while True:
            fn()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_time:
                break
        per_call.append(elapsed / calls)
    return statistics.median(per_call), min(per_call), max(per_call)
