"""The SDLM study: configurations of the paper's recipe, each trained with several seeds,
compared on a validation split, with the measurements that explain them.

    python benchmarks/sdlm_study.py                      # the grid below, 3 seeds, 2 processes
    python benchmarks/sdlm_study.py --configs paper-mu mu0.1 --seeds 0 1 2 --passes 20
    python benchmarks/sdlm_study.py --report             # means and spreads, as Markdown
    python benchmarks/sdlm_study.py --test default       # the test error of a chosen config
    python benchmarks/sdlm_study.py --figure paper-mu 0 out.png   # one run's measurements
    python benchmarks/sdlm_study.py --score runs/a runs/b runs/c  # test error of lenet train runs

Every run trains on training images 0 .. 49,999 and measures the validation error on images
50,000 .. 59,999 after each pass: the choices are made there. The test set is scored only
with --test, for a configuration already chosen, by
``lenet.reference_network.network_errors`` (plain NumPy, no code shared with the training
path) on the checkpoint the run saved; --score does the same for the checkpoints of
``lenet train`` runs trained on all 60,000 images.

Before each pass the run records, on SDLM's own curvature patterns, for each layer: the
quantiles of h_kk and of the step sizes eps_k = eta / (mu + h_kk) over its trainable
parameters, the share of eps_k within 10 % of their ceiling eta / mu (where the curvature no
longer counts), and the share of the layer's states beyond +-1.5 (the squashing function's
flat part). So a blow-up can be traced to the layer and the pass where it starts.

The runs go to parallel processes, one thread each (--jobs, default 2: one per core); each
finished run is appended as one JSON line to --results, and runs already there are skipped,
so a study stopped at any point resumes where it left off. Checkpoints go to --runs. Each
record is stamped with the lenet version and the commit of the checkout (the first ones, made
before records were stamped, carry no stamp).
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

import lenet
from lenet.data import load_mnist, preprocess
from lenet.data.distortions import DistortedCopies, distortion_ranges
from lenet.engine.sdlm import SDLM, estimate_curvature
from lenet.reference_network import network_errors
from lenet.run.session import COPIES_KEY, TrainingRun, pass_generator
from lenet.teach import viz

from records import NOT_YET, append, build, mean_range, read_jsonl, seeds, spread, stamp

HERE = Path(__file__).resolve().parent
VALIDATION = 10_000  # the last images of the training set

#: What every configuration changes: the paper recipe as it was when the study began (its start
#: +-2.4/sqrt(F_i), its distortions' full ranges; the defaults since, EBLearn's +-1/sqrt(F_i)
#: and half the ranges, were chosen by this study).
STUDY_BASE = replace(lenet.RECIPES["paper"], init="lecun98-sqrt")

#: name -> (what it changes, Recipe fields, study-only settings). The study-only settings are
#: SDLM variants tried here before any becomes a recipe field: "h_floor" (h_kk never below it),
#: "mu_per_layer" (layer -> mu), "dtype", "passes" (instead of --passes), "h_every" (h_kk
#: estimated again every that many patterns, on fresh curvature patterns, and averaged with the
#: estimate before: a running estimate), "all_copies" (a pass shows every version of the fixed
#: distorted set, not one per image: the paper's 20 passes read as over all 600,000 patterns),
#: "repeat" (a pass shows every image that many times, each time newly distorted: the control
#: of "all_copies", as many updates without a fixed set).
MILD = {"init": "eblearn", "distort": True, "distort_strength": 0.5}  # lenet train --distort
CONFIGS: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "default": (
        "the default before this study: +-2.4/sqrt(F_i), mu 0.5, loss (8)",
        {},
        {},
    ),
    "paper-mu": ("the paper's mu, 0.02", {"mu": 0.02}, {}),
    "paper-mu-f64": ("mu 0.02, trained in float64", {"mu": 0.02}, {"dtype": "float64"}),
    "eblearn": ("EBLearn's +-1/sqrt(F_i) start, mu 0.02", {"mu": 0.02, "init": "eblearn"}, {}),
    "mu0.1": ("mu 0.1", {"mu": 0.1}, {}),
    "mu0.25": ("mu 0.25", {"mu": 0.25}, {}),
    "mu1": ("mu 1.0", {"mu": 1.0}, {}),
    "loss9-mu0.02": ("loss (9), j = 10, mu 0.02", {"mu": 0.02, "loss": "discriminative"}, {}),
    "loss9-mu0.1": ("loss (9), j = 10, mu 0.1", {"mu": 0.1, "loss": "discriminative"}, {}),
    "floor": ("mu 0.02 with h_kk floored at 0.5", {"mu": 0.02}, {"h_floor": 0.5}),
    "h5000": ("mu 0.02, h_kk on 5,000 patterns", {"mu": 0.02, "curvature_patterns": 5000}, {}),
    # after the first grid: the collapse starts in C5 (its states saturate during pass 1)
    "mu-C5": (
        "mu 0.02, but 0.5 for C5, the layer whose curvature collapses",
        {"mu": 0.02},
        {"mu_per_layer": {"C5": 0.5}},
    ),
    "eblearn-mu0.5": ("EBLearn's +-1/sqrt(F_i) start, mu 0.5", {"init": "eblearn"}, {}),
    "eblearn-mu0.25": (
        "EBLearn's +-1/sqrt(F_i) start, mu 0.25",
        {"init": "eblearn", "mu": 0.25},
        {},
    ),
    "eblearn-mu1": ("EBLearn's +-1/sqrt(F_i) start, mu 1.0", {"init": "eblearn", "mu": 1.0}, {}),
    # the distortions, from the best start above (EBLearn's, mu 0.5)
    "eb-distort": (
        "eblearn-mu0.5, new distortions every pass",
        {"init": "eblearn", "distort": True},
        {},
    ),
    "eb-distort-mild": (
        "eblearn-mu0.5, new distortions every pass, half the ranges",
        {"init": "eblearn", "distort": True, "distort_strength": 0.5},
        {},
    ),
    "eb-distort-quarter": (
        "eblearn-mu0.5, new distortions every pass, a quarter of the ranges",
        {"init": "eblearn", "distort": True, "distort_strength": 0.25},
        {},
    ),
    "eb-distort-mild-mu1": (
        "EBLearn's start, mu 1.0, new distortions every pass, half the ranges",
        {"init": "eblearn", "mu": 1.0, "distort": True, "distort_strength": 0.5},
        {},
    ),
    "eb-copies9": (
        "eblearn-mu0.5, the paper's fixed set: 9 distorted copies of each image",
        {"init": "eblearn", "distort": True, "distort_copies": 9},
        {},
    ),
    "eb-copies9-mild": (
        "eblearn-mu0.5, 9 fixed distorted copies of each image, half the ranges",
        {"init": "eblearn", "distort": True, "distort_copies": 9, "distort_strength": 0.5},
        {},
    ),
    # the ideas left open after the distortions, each from the default since (eb-distort-mild)
    "eb-distort-mild-30": (
        "eb-distort-mild, 30 passes: 10 more at the smallest eta",
        MILD,
        {"passes": 30},
    ),
    "eb-distort-mild-running-h": (
        "eb-distort-mild, h_kk re-estimated every 5,000 patterns, a running mean",
        MILD,
        {"h_every": 5000},
    ),
    "eb-copies9-mild-all": (
        "eb-copies9-mild, each pass over all 500,000 (the 9 copies and the originals)",
        {**MILD, "distort_copies": 9},
        {"all_copies": True},
    ),
    # its control: as many updates, on new distortions (the originals distorted too)
    "eb-distort-mild-x10": (
        "eb-distort-mild, each pass over every image 10 times, new distortions each time",
        MILD,
        {"repeat": 10},
    ),
}
DEFAULT_GRID = list(CONFIGS)


class StudiedSDLM(SDLM):
    """SDLM with the study's variants, recording what each pass starts from."""

    def __init__(self, net: Any, mu: float, h_floor: float, mu_per_layer: dict | None) -> None:
        super().__init__(net, mu=mu)
        self.h_floor = h_floor
        self.mu_vector = np.full_like(net.parameters, mu)
        for layer, value in (mu_per_layer or {}).items():
            start, stop = net.parameter_offsets[layer]
            self.mu_vector[start:stop] = value
        self.records: list[dict] = []
        self.running_h: np.ndarray | None = None  # with refresh: the running estimate

    def start_pass(self, index: int, patterns: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        super().start_pass(index, patterns)  # eta, and h_kk into net.curvature
        h = self._set_steps(self.net.curvature)
        assert patterns is not None
        self.records.append(self._measure(index, patterns[0], h))

    def refresh(self, patterns: tuple[np.ndarray, np.ndarray]) -> None:
        """h_kk estimated again, inside a pass: from now on (start_pass included) the step
        sizes follow the mean of each new estimate and the running one before it."""
        if self.running_h is None:
            self.running_h = self.net.curvature.copy()  # the estimate the pass began with
        self._set_steps(estimate_curvature(self.net, *patterns))

    def _set_steps(self, estimate: np.ndarray) -> np.ndarray:
        """eps_k = eta / (mu_k + h_kk) from a new estimate of h_kk (averaged into the running
        one, once ``refresh`` started it); returns the h_kk used."""
        if self.running_h is not None:
            self.running_h = 0.5 * (self.running_h + estimate)
            estimate = self.running_h
        h = np.maximum(estimate, self.h_floor)
        np.divide(self.lr, self.mu_vector + h, out=self.step_sizes)
        self.step_sizes *= self._mask
        return h

    def _measure(self, index: int, x: np.ndarray, h: np.ndarray) -> dict:
        trace = self.net.trace(x)
        mask, ceiling = self.net.parameter_mask, self.lr / self.mu_vector
        layers = {}
        for layer in self.net.layers:
            record: dict[str, Any] = {}
            if layer.name in self.net.parameter_offsets:
                start, stop = self.net.parameter_offsets[layer.name]
                keep = mask[start:stop]
                if keep.any():
                    hk, eps = h[start:stop][keep], self.step_sizes[start:stop][keep]
                    q = [0.0, 0.1, 0.5, 0.9, 1.0]
                    record["h"] = np.quantile(hk, q).tolist()
                    record["eps"] = np.quantile(eps, q).tolist()
                    record["capped"] = float(np.mean(eps >= 0.9 * ceiling[start:stop][keep]))
            if layer.activation == "scaled_tanh":
                record["saturated"] = float(np.mean(np.abs(trace[layer.name]) > 1.5))
            layers[layer.name] = record
        return {"pass": index + 1, "eta": self.lr, "layers": layers}


def one_run(job: tuple[str, int, int, str, str]) -> dict:
    """Train one configuration with one seed; returns its record (and saves its checkpoint).
    A run that fails is recorded with its error, and the study goes on."""
    try:
        return _train(*job)
    except Exception as failed:  # a diverged run is a result too
        name, seed, passes = job[:3]
        return {
            "config": name,
            "seed": seed,
            "passes": passes,
            "error": f"{type(failed).__name__}: {failed}",
        }


def _train(name: str, seed: int, passes: int, data: str, runs: str) -> dict:
    lenet.set_num_threads(1)
    _, changes, study = CONFIGS[name]
    if changes.get("distort"):
        changes = {"distort_strength": 1.0, **changes}  # the full ranges, as the study began
    recipe = replace(STUDY_BASE, **changes, passes=passes, seed=seed)
    dtype = study.get("dtype", "float32")
    (xtr, ytr), _ = load_mnist(data)
    x = preprocess(xtr, dtype=dtype)
    split = len(x) - VALIDATION
    train = (x[:split], ytr[:split])
    if study.get("all_copies"):  # every version of every image in each pass, shuffled
        train = all_versions(recipe, *train)
        recipe = replace(recipe, distort=False, distort_copies=0)
    if study.get("repeat"):  # the distortions differ at each showing: a pass distorts anew
        train = (np.concatenate([train[0]] * study["repeat"]), np.tile(train[1], study["repeat"]))
    # (the first grid's two "eblearn" configurations, before the library had init="eblearn",
    # drew the +-2.4/sqrt(F_i) start and scaled it by 1/2.4: the same distribution)
    net = lenet.LeNet5(seed=seed, dtype=dtype, init=recipe.init)
    optimizer = StudiedSDLM(net, recipe.mu, study.get("h_floor", 0.0), study.get("mu_per_layer"))
    started = time.perf_counter()
    run = TrainingRun(net, train, (x[split:], ytr[split:]), recipe, optimizer=optimizer)
    history = run_passes(run, optimizer, study.get("h_every"))
    checkpoint = Path(runs) / f"{name}-seed{seed}-{passes}.npz"
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    lenet.save_checkpoint(checkpoint, net, config={"study": name, "seed": seed})
    return {
        "config": name,
        "seed": seed,
        "passes": passes,
        "validation_error": [r["test_error"] for r in history],
        "train_loss": [r["train_loss"] for r in history],
        "diagnostics": optimizer.records,
        "seconds": time.perf_counter() - started,
        "checkpoint": checkpoint.name,
        **stamp(),  # the records before these stamps were kept carry none
    }


def run_passes(run: TrainingRun, optimizer: StudiedSDLM, every: int | None) -> list[dict]:
    """The run's passes, as ``lenet.train`` makes them; with ``every``, h_kk is estimated
    again after every ``every`` patterns of a pass (``StudiedSDLM.refresh``) on as many
    training patterns as a pass's estimate, drawn from the seed alone. Returns the history."""
    draws = pass_generator(run.recipe.seed, REFRESH_KEY)
    n, patterns = len(run.x), run.recipe.curvature_patterns
    while run.epoch < run.recipe.passes:
        while not run.pass_done:
            run.advance(every)  # None: the whole pass
            if every and not run.pass_done:
                sample = draws.choice(n, min(patterns, n), replace=False)
                optimizer.refresh((run.x[sample], run.y[sample]))
        run.end_pass()
    return run.history


#: the random numbers of the running estimate's curvature patterns (beside a pass's and the
#: fixed distorted set's, ``COPIES_KEY``)
REFRESH_KEY = COPIES_KEY - 1


def all_versions(recipe: Any, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The fixed distorted set of ``lenet train --distort --distort-copies C`` (the same
    copies, from the seed), whole: every image's original and C copies, (C + 1) N images, as
    ``lenet train --distort-all`` trains on them."""
    copies = DistortedCopies(
        len(x),
        recipe.distort_copies,
        pass_generator(recipe.seed, COPIES_KEY),
        distortion_ranges(recipe.distort_strength),
    )
    return copies.every_version(x), np.tile(y, recipe.distort_copies + 1)


#: The configurations with distortions, from EBLearn's start (the first has none): the second
#: table of --report and of docs/results.md; the first has the others.
DISTORTED = [
    "eblearn-mu0.5",
    "eb-distort",
    "eb-distort-mild",
    "eb-copies9",
    "eb-copies9-mild",
    "eb-distort-quarter",
    "eb-distort-mild-mu1",
]


#: A table's columns after the configuration, passes and seeds: (header, the cell from the runs)
Columns = list[tuple[str, Callable[[list[dict]], str]]]
#: validation error after the last pass (mean and range over the seeds), and at the best pass
LAST_AND_BEST: Columns = [
    ("validation error, mean (min .. max)", lambda runs: after_pass(runs, -1)),
    ("best pass, mean", lambda runs: f"{best_pass(runs):.2f} %"),
]


def best_pass(runs: list[dict]) -> float:
    """The mean over the runs of their lowest validation error, in percent."""
    return statistics.mean(100 * min(r["validation_error"]) for r in runs)


def after_pass(runs: list[dict], index: int) -> str:
    """The validation error after pass ``index`` (from 0; -1 the last), mean and range."""
    return spread([r["validation_error"][index] for r in runs])


def sdlm_table(records: list[dict], names: list[str], columns: Columns = LAST_AND_BEST) -> str:
    """The configurations `names`, one row each, with ``columns``; "not measured yet" for one
    without records; stamped with the builds that measured them."""
    lines = [
        "| configuration | passes | seeds | " + " | ".join(h for h, _ in columns) + " |",
        "| --- | ---: | --- |" + " ---: |" * len(columns),
    ]
    runs = [r for r in records if r["config"] in names and "error" not in r]
    for name in names:
        mine = [r for r in runs if r["config"] == name]
        if not mine:
            lines.append(
                f"| {name}: {CONFIGS[name][0]} | | | {NOT_YET} |" + " |" * (len(columns) - 1)
            )
            continue
        cells = " | ".join(cell(mine) for _, cell in columns)
        lines.append(
            f"| {name}: {CONFIGS[name][0]} | {mine[0]['passes']} | {seeds(mine)} | {cells} |"
        )
    return "\n".join(lines) + (f"\n\nMeasured with {build(runs)}." if runs else "")


def sdlm_tables(records: list[dict]) -> tuple[str, str]:
    """The study's first two tables: the configurations without distortions (and EBLearn's
    start, where the distortions begin), and ``DISTORTED``."""
    names = {r["config"] for r in records if "error" not in r} - set(DISTORTED) - set(IDEAS)
    return sdlm_table(records, sorted([*names, DISTORTED[0]])), sdlm_table(records, DISTORTED)


#: The ideas tried from the default recipe with distortions (eb-distort-mild): the third table.
IDEAS = [
    "eb-distort-mild-30",
    "eb-distort-mild-running-h",
    "eb-copies9-mild-all",
    "eb-distort-mild-x10",
]


def ideas_table(records: list[dict]) -> str:
    """The ideas, one row each: the validation error after pass 20 and after the last pass.
    A 30-pass run's first 20 passes are the 20-pass run's (the schedule repeats its last eta;
    nothing else knows the number of passes), so its pass 20 is eb-distort-mild at the same
    build: the row the others are compared with."""
    columns: Columns = [
        ("validation error after pass 20", lambda runs: after_pass(runs, 19)),
        ("after the last pass", lambda runs: after_pass(runs, -1)),
    ]
    return sdlm_table(records, IDEAS, columns)


def report(results: Path) -> str:
    """The study's three tables, as docs/results.md shows them."""
    records = read_jsonl(results)
    return "\n\n".join([*sdlm_tables(records), ideas_table(records)])


def reference_test_error(checkpoint: Path, x: np.ndarray, y: np.ndarray) -> float:
    """The share of test images `checkpoint` gets wrong, by the NumPy reference."""
    return network_errors(lenet.load_checkpoint(checkpoint), x, y) / len(x)


def _test_set(data: str | None) -> tuple[np.ndarray, np.ndarray]:
    (_, _), (xte, yte) = load_mnist(data)
    return preprocess(xte, dtype="float64"), yte


def test_error(results: Path, runs: Path, name: str, data: str | None) -> str:
    """The test error of each seed's checkpoint of `name`, by the NumPy reference."""
    x, y = _test_set(data)
    lines = []
    for r in read_jsonl(results):
        if r["config"] != name or "error" in r:
            continue
        error = reference_test_error(runs / r["checkpoint"], x, y)
        lines.append(f"{name} seed {r['seed']}: test error {100 * error:.2f} %")
    return "\n".join(lines)


def score(checkpoints: list[Path], data: str | None) -> str:
    """The test error of each checkpoint (a file, or a run folder holding checkpoint.npz) of
    ``lenet train``, by the NumPy reference, and their mean and spread."""
    x, y = _test_set(data)
    errors = []
    for path in checkpoints:
        file = path / "checkpoint.npz" if path.is_dir() else path
        errors.append(100 * reference_test_error(file, x, y))
        print(f"{path}: test error {errors[-1]:.2f} %", flush=True)
    return f"mean {mean_range(errors)} over {len(errors)} checkpoints"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", nargs="+", choices=tuple(CONFIGS), default=DEFAULT_GRID)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--passes", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--data", help="folder holding MNIST (default: where lenet looks)")
    parser.add_argument("--results", type=Path, default=HERE / "results" / "sdlm_study.jsonl")
    parser.add_argument("--runs", type=Path, default=Path("runs") / "study")
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--test", metavar="CONFIG", choices=tuple(CONFIGS))
    parser.add_argument("--figure", nargs=3, metavar=("CONFIG", "SEED", "PNG"))
    parser.add_argument(
        "--score", nargs="+", type=Path, metavar="CHECKPOINT", help="score `lenet train` runs"
    )
    args = parser.parse_args()
    if args.score:
        print(score(args.score, args.data))
        return
    if args.figure:
        name, seed, png = args.figure
        (run,) = [
            r
            for r in read_jsonl(args.results)
            if r["config"] == name and r["seed"] == int(seed) and r["passes"] == args.passes
        ]
        title = f"{name} ({CONFIGS[name][0]}), seed {seed}: sdlm_study.py --figure {name} {seed}"
        fig = viz.curvature_by_pass(run["diagnostics"], run["validation_error"], title)
        print(viz.save_png(fig, png))
        return
    if args.report:
        print(report(args.results))
        return
    if args.test:
        print(test_error(args.results, args.runs, args.test, args.data))
        return
    done = {(r["config"], r["seed"], r["passes"]) for r in read_jsonl(args.results)}
    jobs = [
        (name, seed, CONFIGS[name][2].get("passes", args.passes), args.data, str(args.runs))
        for seed in args.seeds
        for name in args.configs
    ]
    jobs = [job for job in jobs if job[:3] not in done]
    print(f"{len(jobs)} runs to make ({len(done)} done already), {args.jobs} at a time")
    with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
        for record in pool.imap_unordered(one_run, jobs):
            append(args.results, record)
            if "error" in record:
                print(f"{record['config']} seed {record['seed']}: {record['error']}", flush=True)
                continue
            errors = ", ".join(f"{100 * e:.2f}" for e in record["validation_error"])
            print(
                f"{record['config']} seed {record['seed']}: {record['seconds']:.0f} s, "
                f"validation error per pass {errors} %",
                flush=True,
            )


if __name__ == "__main__":
    main()
