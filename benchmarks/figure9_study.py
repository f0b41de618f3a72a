"""The Figure 9 study: every network of the paper's Figure 9 trained by `lenet train` with
several seeds on the 60,000 training images, each scored once on the 10,000 test images by
an independent NumPy scorer.

    python benchmarks/figure9_study.py                    # every network, its seeds, 2 at a time
    python benchmarks/figure9_study.py --networks lenet1 fc-300 --seeds 0
    python benchmarks/figure9_study.py --networks lenet1 fc-300 --passes 1 --limit 2000 \\
        --runs /tmp/runs --results /tmp/figure9.jsonl    # a quick version (CI)
    python benchmarks/figure9_study.py --report           # Figure 9's table, as Markdown

Each run is exactly `lenet train --model M --seed S --threads 1 --out RUNS/<name>-<seed>`
(LeNet-5: no --model; a `-distort` network adds --distort), run as that command, so its
folder is a normal run folder (`lenet evaluate`, `lenet figures`, `--resume` work on it). A
folder that already holds the run finished (all its passes in log.jsonl) is only scored; an
unfinished one is resumed (`lenet train --resume`), unless it changed in the last
--busy-minutes (then another process is taken to be training it, and it is left alone); so
the study resumes after any stop, and adopts run folders made by the same command outside it.
The runs go to --jobs processes (default 2), one thread each.

Scoring: the checkpoint's parameters, read with np.load, go through
``lenet.reference_network.checkpoint_penalties``: the input made from MNIST's uint8 digits by
NumPy as the paper describes it, the network run layer by layer by ``lenet.reference``'s
kernels from ``lenet.paper``'s tables, nothing of the training path. Each scored run is
appended as one JSON line to --results (fields: ``lenet.run.figure9``), and a run already
there is not scored again (unless --rescore). ``figure9_table(records)`` makes the Markdown
table of --report; `lenet figures --figure9` draws it.

Boosted LeNet-4 (`boosted-lenet4`) is `lenet train --model boosted-lenet4 --seed S --threads 1
--out RUNS/boosted-lenet4-<seed>`: a boosted run folder (net1/, net2/, net3/, boosting.json;
``lenet.run.boosting``), adopted when finished (its threshold recorded), resumed with `lenet
train --model boosted-lenet4 --resume` otherwise; --patterns, --candidates and --validation
give its filters a smaller budget (a quick version). It is scored by
``lenet.reference_network.boosted_answer``: each net's penalties from its checkpoint, combined
in the scorer by the threshold boosting.json records. Its record adds ``cost`` (against one
net, on the test images), ``threshold``, ``net1_test_errors`` (net 1 alone) and ``boosting``
(the run's settings); its ``parameters`` are the three nets', its ``multiply_adds`` one net's
times the average cost (as Figure 11 counts them), its ``train_seconds`` the three nets'
passes (the filters' time left out), its ``train_error`` net 1's.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import fcntl
import json
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # records.py beside this script

from lenet.data import load_mnist  # noqa: E402
from lenet.engine.lenet5 import build_network  # noqa: E402
from lenet.paper import PASSES  # noqa: E402
from lenet.reference_network import boosted_answer, checkpoint_penalties  # noqa: E402
from lenet.run.boosted import BOOSTING_FILE, NET_FOLDERS  # noqa: E402
from lenet.run.boosting import BOOSTED, BoostingSettings  # noqa: E402
from lenet.run.figure9 import MNIST_TRAINING_IMAGES, Row, read_results, stamp, summarize  # noqa: E402

import records  # noqa: E402

RESULTS = records.RESULTS / "figure9.jsonl"


@dataclass(frozen=True)
class Network:
    """One bar of Figure 9: the `lenet train` options that make it and how many seeds."""

    model: str
    options: tuple[str, ...]  #: beside --seed, --threads and --out
    seeds: int
    distort: bool = False
    #: other names its run folders may have: <alias>-<seed>
    aliases: tuple[str, ...] = ()
    #: every version of the fixed distorted set in each pass (--distort-all)
    distort_all: bool = False

    @property
    def boosted(self) -> bool:
        """A boosted network (``lenet.run.boosting``): three nets in one run folder."""
        return self.model in BOOSTED


#: name (its run folders are <name>-<seed>) -> the network
NETWORKS: dict[str, Network] = {
    "fc-300": Network("fc-300", ("--model", "fc-300"), 3),
    "fc-1000": Network("fc-1000", ("--model", "fc-1000"), 3),
    "fc-300-100": Network("fc-300-100", ("--model", "fc-300-100"), 3),
    "fc-500-150": Network("fc-500-150", ("--model", "fc-500-150"), 3),
    "lenet1": Network("lenet1", ("--model", "lenet1"), 3),
    "lenet4": Network("lenet4", ("--model", "lenet4"), 3),
    "boosted-lenet4": Network("boosted-lenet4", ("--model", "boosted-lenet4"), 3),
    "paper": Network("paper", (), 5),
    "paper-distort": Network("paper", ("--distort",), 5, distort=True, aliases=("distort",)),
    # the paper's 20 passes over its whole enlarged set (chosen on the validation split:
    # sdlm_study.py's eb-copies9-mild-all); ten times a pass's patterns
    "paper-distort-all": Network(
        "paper",
        ("--distort", "--distort-copies", "9", "--distort-all"),
        5,
        distort=True,
        distort_all=True,
    ),
}
#: the fully connected nets trained on distorted images too (Figure 9's "[dist]" bars)
NETWORKS.update(
    {
        f"{model}-distort": Network(model, ("--model", model, "--distort"), 3, distort=True)
        for model in ("fc-300", "fc-1000", "fc-300-100", "fc-500-150")
    }
)


# ---- one run ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    name: str
    seed: int
    folder: Path
    passes: int
    limit: int | None
    data: str | None
    busy_minutes: float
    #: a boosted run's filter budget and validation split: ((option, value), ...), those given
    boosting: tuple[tuple[str, int], ...] = ()

    @property
    def images(self) -> int:
        return min(self.limit, MNIST_TRAINING_IMAGES) if self.limit else MNIST_TRAINING_IMAGES

    @property
    def boosted(self) -> bool:
        return NETWORKS[self.name].boosted

    def settings(self) -> BoostingSettings:
        """A boosted job's settings, as its `lenet train` command makes them."""
        net = NETWORKS[self.name]
        passes = None if self.passes == PASSES else self.passes
        chosen = dict(self.boosting)
        return BoostingSettings(BOOSTED[net.model], self.seed, self.limit, passes=passes, **chosen)

    def key(self) -> tuple:
        net = NETWORKS[self.name]
        boosting = self.settings().__dict__ if self.boosted else None
        run = (net.model, net.distort, net.distort_all, self.seed, self.passes, self.images)
        return _key(*run, boosting)


#: what tells two boosted runs of the same network, seed, passes and images apart
BOOSTING_KEYS = ("patterns", "candidates", "validation")


def _key(
    model: str,
    distort: bool,
    distort_all: bool,
    seed: int,
    passes: int,
    images: int,
    boosting: dict | None,
) -> tuple:
    """What tells a run apart: of a job (``Job.key``) and of a record (``plan``) alike;
    a boosted run's settings (``boosting``) add their filter budget."""
    key = (model, distort, distort_all, seed, passes, images)
    return key if boosting is None else key + tuple(boosting[k] for k in BOOSTING_KEYS)


def train_command(job: Job) -> list[str]:
    """The `lenet train` command of a new run (as the record names it)."""
    command = ["lenet", "train", *NETWORKS[job.name].options, "--seed", str(job.seed)]
    if job.passes != PASSES:
        command += ["--passes", str(job.passes)]
    if job.limit:
        command += ["--limit", str(job.limit)]
    if job.boosted:
        command += [word for name, value in job.boosting for word in (f"--{name}", str(value))]
    return [*command, "--threads", "1", "--out", str(job.folder)]


def _log(folder: Path) -> list[dict]:
    return records.read_jsonl(folder / "log.jsonl")


def _boosting(folder: Path) -> dict | None:
    """A boosted run folder's boosting.json (None before the run began)."""
    path = folder / BOOSTING_FILE
    return json.loads(path.read_text()) if path.exists() else None


def _check_adopted(job: Job, boosting: dict | None = None) -> None:
    """A folder made before: it must hold the run this job asks for (a boosted one: by the
    settings its ``boosting`` records, read from the folder if not given)."""
    if job.boosted:
        settings = (boosting or json.loads((job.folder / BOOSTING_FILE).read_text()))["settings"]
        wanted = job.settings().__dict__
        if settings != wanted:
            wrong = {k: v for k, v in settings.items() if wanted.get(k) != v}
            raise ValueError(f"{job.folder} holds another run: {wrong}, the study wants {wanted}")
        return
    config = json.loads((job.folder / "config.json").read_text())
    net = NETWORKS[job.name]
    wanted = {
        "model": net.model,
        "seed": job.seed,
        "distort": net.distort,
        "limit": job.limit,
        "distort_copies": int(net.options[net.options.index("--distort-copies") + 1])
        if "--distort-copies" in net.options
        else 0,
        "distort_all": net.distort_all,
    }
    config.setdefault("distort_copies", 0)  # recorded only where they apply
    config.setdefault("distort_all", False)
    wrong = {k: config.get(k) for k, v in wanted.items() if config.get(k) != v}
    if wrong:
        raise ValueError(f"{job.folder} holds another run: {wrong}, the study wants {wanted}")


def _busy(job: Job) -> str | None:
    """Why an unfinished run is left alone: its folder (or a net's in it) changed in the last
    --busy-minutes, so another process is taken to be training it."""
    changed = max(p.stat().st_mtime for p in [job.folder, *job.folder.rglob("*")])
    if time.time() - changed < 60 * job.busy_minutes:
        return f"{job.folder} changed {time.time() - changed:.0f} s ago: left to its trainer"
    return None


def _train_boosted(job: Job) -> str | None:
    """_train for a boosted run: finished when boosting.json records its threshold."""
    command = train_command(job)
    boosting = _boosting(job.folder)
    if boosting is not None:
        _check_adopted(job, boosting)
        if boosting["threshold"] is not None:
            return None
        busy = _busy(job)
        if busy is not None:
            return busy
        command = ["lenet", "train", "--model", job.name, "--resume", str(job.folder)]
        command += ["--threads", "1"]
    return _run_lenet(command, job)


def _run_lenet(command: list[str], job: Job) -> None:
    command += ["--quiet"] + (["--data", job.data] if job.data else [])
    made = subprocess.run(
        [sys.executable, "-m", "lenet.cli", *command[1:]], capture_output=True, text=True
    )
    if made.returncode != 0:
        raise RuntimeError(f"{shlex.join(command)} failed: {made.stderr.strip()[-2000:]}")


def _train(job: Job) -> str | None:
    """Bring the run to its passes; returns why it was left alone, or None when it is done."""
    if job.boosted:
        return _train_boosted(job)
    started = (job.folder / "checkpoint.npz").exists()
    if started:
        _check_adopted(job)
        done = len(_log(job.folder))
        if done > job.passes:
            return f"{job.folder} holds {done} passes, more than --passes {job.passes}"
        if done == job.passes:
            return None
        busy = _busy(job)
        if busy is not None:
            return busy
        command = ["lenet", "train", "--resume", str(job.folder), "--threads", "1"]
        command += ["--passes", str(job.passes)]
    else:
        command = train_command(job)
    return _run_lenet(command, job)


def run_job(job: Job, test_images: np.ndarray, test_labels: np.ndarray) -> dict:
    """Train (or resume) one run and score it: its record, or {"skipped": why}."""
    left = _train(job)
    if left is not None:
        return {"skipped": left}
    if job.boosted:
        return _record(job, len(test_labels), **score_boosted(job.folder, test_images, test_labels))
    log = _log(job.folder)
    model, penalties = checkpoint_penalties(job.folder, test_images)
    errors = int(np.sum(penalties.argmin(axis=1) != test_labels))
    parameters, connections = _size(model)
    return _record(
        job,
        len(test_labels),
        test_errors=errors,
        train_error=log[-1]["train_error"],
        train_seconds=round(sum(r["seconds"] for r in log), 1),
        parameters=parameters,
        multiply_adds=connections,
        passes=len(log),
    )


def _size(model: str) -> tuple[int, int]:
    """(parameters, connections) of one network: the family's "code" layer is its loss."""
    layers = build_network({"model": model}).describe()
    parameters = sum(r["parameters"] for r in layers)
    return parameters, sum(r["connections"] for r in layers if r["name"] != "code")


def score_boosted(folder: Path, test_images: np.ndarray, test_labels: np.ndarray) -> dict:
    """A finished boosted run's fields of its record (``lenet.reference_network.
    boosted_answer``): the combined answer's errors and cost on the test images, the three
    nets' parameters, one net's connections times the cost (Figure 11's count)."""
    scored = boosted_answer(folder, test_images)
    logs = [_log(folder / name) for name in NET_FOLDERS]
    if len({len(log) for log in logs}) != 1:
        raise ValueError(f"{folder}: its nets trained for {[len(log) for log in logs]} passes")
    parameters, connections = _size(scored["model"])
    settings = json.loads((folder / BOOSTING_FILE).read_text())["settings"]
    return {
        "test_errors": int(np.sum(scored["classes"] != test_labels)),
        "train_error": logs[0][-1]["train_error"],
        "train_seconds": round(sum(r["seconds"] for log in logs for r in log), 1),
        "parameters": 3 * parameters,
        "multiply_adds": round(scored["cost"] * connections),
        "passes": len(logs[0]),
        "cost": scored["cost"],
        "threshold": scored["threshold"],
        "net1_test_errors": int(np.sum(scored["net1"].argmin(axis=1) != test_labels)),
        "boosting": settings,
    }


def _record(job: Job, tested: int, test_errors: int, **fields: object) -> dict:
    """The study's record of a run scored on ``tested`` test images: ``fields`` measured, the
    rest from the job."""
    net = NETWORKS[job.name]
    return {
        "study": "figure9",
        "network": net.model,
        "seed": job.seed,
        "distort": net.distort,
        "distort_all": net.distort_all,
        "passes": fields.pop("passes"),
        "images": job.images,
        "test_errors": test_errors,
        "test_error": test_errors / tested,
        **fields,
        **records.stamp(),
        "command": shlex.join(train_command(job)),
    }


# ---- the study -------------------------------------------------------------------------------


def run_folder(runs: Path, name: str, seed: int) -> Path:
    """RUNS/<name>-<seed>, or a folder of the network's other name that holds a run."""
    for other in NETWORKS[name].aliases:
        folder = runs / f"{other}-{seed}"
        if not (runs / f"{name}-{seed}").exists() and (folder / "checkpoint.npz").exists():
            return folder
    return runs / f"{name}-{seed}"


def plan(args: argparse.Namespace) -> list[Job]:
    """The runs to make or score: those not in the results yet (all with --rescore)."""
    done = set()
    if args.results.exists() and not args.rescore:
        for r in records.read_jsonl(args.results):
            if "test_errors" in r:
                every = r.get("distort_all", False)
                run = (r["network"], r["distort"], every, r["seed"], r["passes"], r["images"])
                done.add(_key(*run, r.get("boosting")))
    jobs = []
    for name in args.networks:
        for seed in args.seeds if args.seeds is not None else range(NETWORKS[name].seeds):
            job = Job(
                name,
                seed,
                run_folder(args.runs, name, seed),
                args.passes,
                args.limit,
                args.data,
                args.busy_minutes,
                tuple((k, getattr(args, k)) for k in BOOSTING_KEYS if getattr(args, k) is not None),
            )
            if job.key() not in done:
                jobs.append(job)
    return jobs


def study(args: argparse.Namespace) -> int:
    """Run the planned jobs, --jobs at a time; append each record. 1 if a run failed."""
    args.runs.mkdir(parents=True, exist_ok=True)
    lock = open(args.runs / ".figure9-study.lock", "w")  # noqa: SIM115 (held to the end)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"another figure9_study.py is working in {args.runs}", file=sys.stderr)
        return 1
    jobs = plan(args)
    print(f"{len(jobs)} runs to make or score, {args.jobs} at a time", flush=True)
    _, (x, y) = load_mnist(args.data, download=False)
    failed = 0
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = {pool.submit(run_job, job, x, y): job for job in jobs}
        for future in concurrent.futures.as_completed(futures):
            job = futures[future]
            try:
                record = future.result()
            except Exception as exc:  # one failed run: say so, the others go on
                print(f"{job.name} seed {job.seed}: {exc}", flush=True)
                failed += 1
                continue
            if "skipped" in record:
                print(f"{job.name} seed {job.seed}: {record['skipped']}", flush=True)
                continue
            records.append(args.results, record)
            print(
                f"{job.name} seed {job.seed}: test error {100 * record['test_error']:.2f} % "
                f"({record['test_errors']} of 10,000), {record['passes']} pass(es) in "
                f"{record['train_seconds'] / 60:.1f} min",
                flush=True,
            )
    return 1 if failed else 0


# ---- the table -------------------------------------------------------------------------------


def thousands(value: float, exact: bool = False) -> str:
    """A figure in thousands as Figure 9's tables print it: rounded, "17K" (the pages), or
    as the paper gives it, "795.01 thousand" (--report)."""
    return f"{value:g} thousand" if exact else f"{value:.0f}K"


def _paper(value: float | None) -> str:
    return "" if value is None else f" ({thousands(value, exact=True)})"


def _table_row(row: Row) -> str:
    paper = "" if row.paper_error is None else f"{row.paper_error:g} %"
    measured = records.mean_range(row.errors)
    cost = "1" if row.cost is None else f"{row.cost:.2f} ({row.paper_cost:g})"
    return (
        f"| {row.name} | {paper} | {measured} | {len(row.seeds)} "
        f"| {row.parameters:,}{_paper(row.paper_variables)} "
        f"| {row.multiply_adds:,}{_paper(row.paper_multiply_adds)} "
        f"| {cost} | {row.train_seconds / 60:.1f} |"
    )


def figure9_table(records: list[dict]) -> str:
    """Figure 9's table as Markdown, from the study's records: per network the paper's test
    error, lenet's mean and range over its seeds, the seeds, parameters against Figure 12's
    memory and multiply-adds against Figure 11's (in brackets, where the paper gives them),
    the cost of an answer against one net (boosted LeNet-4's mean over the seeds, the paper's
    in brackets), the mean minutes to train; stamped with the versions and commits that
    measured it."""
    rows = summarize(records)
    lines = [
        "| network | paper | lenet: mean (min .. max) | seeds | parameters (Figure 12) "
        "| multiply-adds (Figure 11) | cost against one net | minutes to train |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *map(_table_row, rows),
        "",
        f"*Measured with {stamp(rows)}; test error on the 10,000 test images, scored by "
        f"`lenet.reference_network`; `python benchmarks/figure9_study.py --report`.*",
    ]
    if any(row.cost is not None for row in rows):
        lines[-1:-1] = [
            "*Boosted LeNet-4 runs nets 2 and 3 only where net 1 is unsure: its cost is the "
            "average over the test images against one LeNet-4, its multiply-adds one LeNet-4's "
            "times that cost (as Figure 11 counts them), its parameters the three nets'.*",
            "",
        ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--networks", nargs="+", choices=tuple(NETWORKS), default=list(NETWORKS))
    parser.add_argument(
        "--seeds", nargs="+", type=int, help="default: 0..2, 0..4 for LeNet-5 (and distorted)"
    )
    parser.add_argument("--passes", type=int, default=PASSES)
    parser.add_argument("--limit", type=int, help="train on the first N images (a quick run)")
    for name, default in (("patterns", "10000"), ("candidates", "10 x the images")):
        parser.add_argument(
            f"--{name}", type=int, help=f"boosted-lenet4: lenet train --{name} (default {default})"
        )
    parser.add_argument(
        "--validation", type=int, help="boosted-lenet4: lenet train --validation (default 10000)"
    )
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time, one thread each")
    parser.add_argument("--data", help="folder holding mnist/ (default: where lenet looks)")
    parser.add_argument("--runs", type=Path, default=Path("runs") / "figure9")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--rescore", action="store_true", help="score runs already recorded")
    parser.add_argument(
        "--busy-minutes",
        type=float,
        default=10.0,
        help="leave an unfinished run alone if its folder changed this recently (default 10)",
    )
    parser.add_argument("--report", action="store_true", help="print the table and stop")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.report:
        print(figure9_table(read_results(args.results)))
        return 0
    return study(args)


if __name__ == "__main__":
    sys.exit(main())
