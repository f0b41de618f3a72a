"""Fuzz lenet's file readers: IDX files (plain and gzipped), CIFAR-10 batch files and the
CIFAR-10 archive, and checkpoints.

    python benchmarks/fuzz_readers.py [--cases 100000] [--seed 0]
                                      [--kinds idx,gzip,cifar,checkpoint]
                                      [--save-failures DIR] [--no-truncations]
    python benchmarks/fuzz_readers.py --kinds gzip --seed 3 --case 4711    # one case again

Runs ``--cases`` generated cases split over the kinds (checkpoint cases are the slowest and
get the smallest share, see ``fuzz.readers.WEIGHTS``), plus every truncation of a small valid
file of each kind, and prints per kind the number of cases, how many were read back right
(round trip), how many were refused with ValueError (or OSError), how many failed, and the
time. A failure is any other exception, a wrong result, a refused valid file, a message that
does not name the file, a case slower than ``--deadline`` seconds, or an allocation beyond
``--memory-mb`` (the address space is limited to that much more than at the start). Each
failure is printed with its reproducer (seed, kind and case number) and, with
``--save-failures``, its file is saved there. Exits with status 1 when anything failed.

The cases and the oracle are in ``tests/fuzz/readers.py`` (the test suite runs a few thousand
of them); lenet must be importable (installed, or ``PYTHONPATH=src``). Files are written to a
temporary folder, nothing else is touched.
"""

from __future__ import annotations

import argparse
import collections
import os
import resource
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fuzz import readers as F  # noqa: E402


class CaseTimeout(BaseException):
    """A case ran past the hard time limit (raised by the alarm, so a hang is reported)."""


def _alarm(signum, frame):
    raise CaseTimeout("no answer within the hard time limit")


def limit_memory(megabytes: int) -> None:
    """Allow the process ``megabytes`` more address space than it uses now (Linux)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[0])
        now = pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    want = now + megabytes * 2**20
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    resource.setrlimit(resource.RLIMIT_AS, (want, hard))


def split(total: int, kinds: list[str]) -> dict[str, int]:
    """``total`` cases over ``kinds`` in proportion to their weights."""
    weights = {k: F.WEIGHTS[k] for k in kinds}
    scale = sum(weights.values())
    counts = {k: int(total * w / scale) for k, w in weights.items()}
    counts[kinds[0]] += total - sum(counts.values())
    return counts


class Tally:
    def __init__(self) -> None:
        self.outcomes: collections.Counter = collections.Counter()
        self.seconds = 0.0
        self.slowest = (0.0, "")
        self.labels: collections.Counter = collections.Counter()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cases",
        type=int,
        default=100_000,
        help="generated cases in all, split over the kinds (default 100000)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--kinds", default=",".join(F.KINDS), help="comma-separated, from " + ",".join(F.KINDS)
    )
    parser.add_argument(
        "--case",
        type=int,
        default=None,
        help="run only this case number (of one kind: the reproducer)",
    )
    parser.add_argument(
        "--save-failures",
        type=Path,
        default=None,
        metavar="DIR",
        help="save the file of each failing case in DIR",
    )
    parser.add_argument(
        "--no-truncations",
        action="store_true",
        help="skip the exhaustive truncations of small valid files",
    )
    parser.add_argument(
        "--deadline", type=float, default=5.0, help="seconds a case may take (default 5)"
    )
    parser.add_argument(
        "--memory-mb",
        type=int,
        default=4096,
        help="address space allowed beyond the start (default 4096 MB)",
    )
    parser.add_argument(
        "--by-label", action="store_true", help="also print the outcomes per kind of case"
    )
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in F.KINDS]
    if unknown or not kinds:
        parser.error(f"unknown kinds {unknown}; choose from {','.join(F.KINDS)}")
    if args.case is not None and len(kinds) != 1:
        parser.error("--case needs exactly one kind (--kinds)")
    if args.save_failures is not None:
        args.save_failures.mkdir(parents=True, exist_ok=True)

    F.base_checkpoints()  # built before the memory limit
    if args.memory_mb > 0:
        limit_memory(args.memory_mb)
    signal.signal(signal.SIGALRM, _alarm)
    hard_limit = max(10.0, 4 * args.deadline)

    if args.case is not None:
        plan = {kinds[0]: [args.case]}
        truncating = False
    else:
        plan = {k: range(n) for k, n in split(args.cases, kinds).items()}
        truncating = not args.no_truncations

    tallies = {k: Tally() for k in kinds}
    failures = []
    start = time.perf_counter()
    print(
        f"fuzzing {', '.join(kinds)} with seed {args.seed}: "
        f"{sum(len(v) for v in plan.values()):,} generated cases"
        f"{' + exhaustive truncations' if truncating else ''}",
        flush=True,
    )

    def run(kind: str, case, tag: str) -> None:
        tally = tallies[kind]
        signal.setitimer(signal.ITIMER_REAL, hard_limit)
        try:
            outcome = F.run_case(case, folder, args.deadline)
        except CaseTimeout:
            outcome = F.Outcome("fail", hard_limit, f"no answer within {hard_limit:.0f} s")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        tally.outcomes[outcome.status] += 1
        tally.labels[(case.label, outcome.status)] += 1
        tally.seconds += outcome.seconds
        if outcome.seconds > tally.slowest[0]:
            tally.slowest = (outcome.seconds, f"{case.label} ({tag})")
        if outcome.status == "fail":
            saved = ""
            if args.save_failures is not None:
                target = args.save_failures / f"{kind}-{tag}-{case.filename}"
                target.write_bytes(case.data)
                saved = f"; saved as {target}"
            failures.append(f"{kind} {tag} [{case.label}]: {outcome.detail}{saved}")
            print(f"FAIL {failures[-1]}", flush=True)

    with tempfile.TemporaryDirectory(prefix="lenet-fuzz-") as tmp, F.reader_settings():
        folder = Path(tmp)
        for kind in kinds:
            kind_start = time.perf_counter()
            for number in plan[kind]:
                run(kind, F.make_case(kind, args.seed, number), f"seed {args.seed} case {number}")
            if truncating:
                for i, case in enumerate(F.truncations(kind)):
                    run(kind, case, f"truncation {i}")
            t = tallies[kind]
            print(
                f"  {kind}: {sum(t.outcomes.values()):,} cases in "
                f"{time.perf_counter() - kind_start:.1f} s",
                flush=True,
            )

    elapsed = time.perf_counter() - start
    print()
    print(
        f"{'kind':<11}{'cases':>9}{'ok':>9}{'refused':>9}{'failed':>8}{'read s':>9}"
        f"{'slowest s':>11}  slowest case"
    )
    totals = collections.Counter()
    for kind in kinds:
        t = tallies[kind]
        n = sum(t.outcomes.values())
        totals.update(t.outcomes)
        print(
            f"{kind:<11}{n:>9,}{t.outcomes['ok']:>9,}{t.outcomes['refused']:>9,}"
            f"{t.outcomes['fail']:>8,}{t.seconds:>9.1f}{t.slowest[0]:>11.3f}  {t.slowest[1]}"
        )
    print(
        f"{'total':<11}{sum(totals.values()):>9,}{totals['ok']:>9,}{totals['refused']:>9,}"
        f"{totals['fail']:>8,}"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"wall time {elapsed:.1f} s, peak resident memory {peak:.0f} MB")
    if args.by_label:
        for kind in kinds:
            print(f"\n{kind} by case label:")
            labels = collections.defaultdict(collections.Counter)
            for (label, status), n in tallies[kind].labels.items():
                labels[label.split("-")[0] if kind == "checkpoint" else label][status] += n
            for label, c in sorted(labels.items()):
                print(
                    f"  {label:<24} ok {c['ok']:>7,}  refused {c['refused']:>7,}  "
                    f"failed {c['fail']:>5,}"
                )
    if failures:
        print(f"\n{len(failures)} failures; rerun one with --kinds KIND --seed S --case N")
        return 1
    print("no failures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
