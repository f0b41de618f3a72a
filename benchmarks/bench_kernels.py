"""Time each float32 kernel of the C core alone, on the paper's shapes (benchmarks/kernels.c).

Compiles kernels.c with csrc/ and the flags setup.py gives the extension (-O3, OpenMP,
-fno-wrapv, -fno-trapping-math; the AVX2 and AVX-512 versions chosen at load time), then runs
it: for batch sizes 1 and 64, the median of 31 timings of each kernel, in microseconds per
call and per image, without Python's call overhead. Where a training step's time goes.

    python benchmarks/bench_kernels.py [--threads 1] [--filter C3] [--cc gcc]

LENET_CPU_LEVEL=0 or 1 in the environment caps the instruction set (csrc/lenet.h).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLAGS = ["-O3", "-fopenmp", "-fno-wrapv", "-fno-trapping-math", "-std=gnu11"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--filter", default="", help="only kernels whose name holds this")
    parser.add_argument("--cc", default="gcc", help="the C compiler (default gcc)")
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    if shutil.which(args.cc) is None:
        parser.error(f"--cc: no compiler {args.cc!r} on the PATH")
    sources = [str(ROOT / "benchmarks" / "kernels.c")] + sorted(
        str(p) for p in (ROOT / "csrc").glob("*.c")
    )
    with tempfile.TemporaryDirectory(prefix="lenet-kernels-") as tmp:
        program = str(Path(tmp) / "kernels")
        cmd = [args.cc, *FLAGS, f"-I{ROOT / 'csrc'}", *sources, "-o", program, "-lm"]
        subprocess.run(cmd, check=True)
        run = [program, str(args.threads)] + ([args.filter] if args.filter else [])
        return subprocess.run(run).returncode


if __name__ == "__main__":
    sys.exit(main())
