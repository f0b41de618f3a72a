"""What machine a benchmark ran on, for the figures it prints."""

from __future__ import annotations

import platform


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
