"""When the shipped networks are unsure: choose each one's rejection threshold on a validation
split, tabulate the error/rejection trade-off, then score the choice once on the test set and on
noise (docs/studio.md, "When the network is unsure").

    python benchmarks/rejection.py --data DIR            # train the twins, choose, print tables
    python benchmarks/rejection.py --data DIR --ship     # and write each choice to pretrained.json

The shipped networks saw all 60,000 training images, so no threshold chosen on those images
would be chosen on unseen data. Each is given a twin instead: the same recipe, trained on the
first 50,000 training images only (``lenet train ... --limit 50000``); the threshold is chosen
on the 10,000 it did not see (images 50,000 .. 59,999), as the largest (two decimals) that
rejects at most ``--most-rejected`` of them (default 2 %), and then used for the shipped
network. Only after that is the shipped network scored with it on the 10,000 test images, and
on noise: uniform random pixels, a blank input, and single straight strokes of the page's pen,
each made MNIST-like as a drawing on the page is (``lenet.teach.studio.drawing``).

The twins are trained in ``runs/threshold-paper`` and ``runs/threshold-modern`` (with ``--data
DIR --offline --threads N``, which do not change the bits); a run folder already there is
resumed where it stopped, a finished one used as it is. The twins' passes took 261 s (paper)
and 119 s (modern) on one thread beside other work; each pass is scored too, which adds more.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from lenet.engine.inputs import preprocess
from lenet.engine.network import Network
from lenet.run import pretrained
from lenet.run.checkpoint import read_checkpoint
from lenet.run.recipes import Recipe
from lenet.run.rejection import choose, margin, rule_of, tradeoff
from lenet.run.training import load_data
from lenet.teach.studio.drawing import FIELD, PAD, normalise, stroke

#: the twins train on the first TRAIN images; the rest of the training set is the validation set
TRAIN = 50_000
#: the shares of the validation set each row of the trade-off table rejects at most
TABLE = (0.0, 0.005, 0.01, 0.02, 0.05, 0.10)
#: how many images of each kind of noise, and the seed that makes them
NOISE, SEED = 1000, 0


def twin_command(model: str) -> str:
    """The command that trains ``model``'s twin: its shipped command on the first 50,000."""
    recipe = pretrained.PRETRAINED[model]
    return f"lenet train --recipe {recipe} --limit {TRAIN} --out runs/threshold-{model}"


def _finished(run: Path) -> bool:
    if not (run / "checkpoint.npz").is_file():
        return False
    progress = read_checkpoint(run)["progress"]
    passes = read_checkpoint(run)["config"]["passes"]
    return progress.get("epoch") == passes and progress.get("step") == 0


def train_twin(model: str, data: str, threads: int) -> Network:
    """``model``'s twin, trained to its end (resumed if its run folder holds a checkpoint)."""
    words = shlex.split(twin_command(model))
    run = Path(words[words.index("--out") + 1])
    if not _finished(run):
        extra = ["--data", data, "--offline", "--threads", str(threads), "--quiet"]
        if (run / "checkpoint.npz").is_file():
            extra.append("--resume")
        print(f"{model}: {shlex.join(words)} {shlex.join(extra)}", flush=True)
        command = [sys.executable, "-m", "lenet.cli", *words[1:], *extra]
        subprocess.run(command, check=True)
    return read_checkpoint(run)["net"]


def outputs(net: Network, x: Any) -> np.ndarray:
    """``net``'s outputs for the images ``x``, a thousand at a time."""
    return np.concatenate([net.infer(np.asarray(x[i : i + 1000])) for i in range(0, len(x), 1000)])


def margins(net: Network, x: Any, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The margins of ``net``'s answers on ``x`` and whether each answer is right."""
    out = outputs(net, x)
    return margin(out, rule_of(net)), net.classify(out) == y


def smallest_penalty_rule(
    twin: Network, x: Any, y: np.ndarray, most_rejected: float, noise_in: dict[str, np.ndarray]
) -> str:
    """The rule not chosen, for the paper's network: unsure when the smallest penalty is above
    a threshold, the smallest (two decimals) rejecting at most ``most_rejected`` of the
    validation images. What it rejects and leaves wrong there, and what noise it flags (the
    noise's outputs from the shipped network, ``noise_in``)."""
    out = outputs(twin, x)
    low, ok = out.min(axis=1), twin.classify(out) == y
    # -low's margin-like score: unsure when -low < -t, so choose on -low and negate
    t = -choose(-low, most_rejected)
    flagged = {k: f"{int(np.sum(o.min(axis=1) > t))} of {len(o)}" for k, o in noise_in.items()}
    return (
        f"the smallest penalty above {t:.2f} instead: rejects {int(np.sum(low > t))}, leaves "
        f"{int(np.sum(~ok & (low <= t)))} errors; flags {flagged}"
    )


def noise(kind: str, recipe: Recipe) -> np.ndarray:
    """Network input (N, C, H, W) for ``kind`` of noise: "uniform" (pixels uniform in 0..255 on
    a 28x28 drawing), "blank" (an empty field: the page sends no empty drawing, a blank input
    is what an empty 28x28 image gives) or "stroke" (one straight stroke of the page's pen
    between two random points of its pad, at least a quarter of the pad apart)."""
    rng = np.random.default_rng(SEED)
    if kind == "blank":
        return preprocess(np.zeros((1, FIELD, FIELD), np.uint8), recipe.preprocessing)
    drawings = []
    while len(drawings) < NOISE:
        if kind == "uniform":
            drawings.append(rng.integers(0, 256, (FIELD, FIELD)))
            continue
        start, end = rng.uniform(8, PAD - 8, 2), rng.uniform(8, PAD - 8, 2)
        if np.hypot(*(end - start)) >= PAD / 4:
            drawings.append(stroke(tuple(start), tuple(end)))
    return np.stack([normalise(d, recipe.preprocessing)["input"][None] for d in drawings])


def noise_margins(net: Network, recipe: Recipe) -> dict[str, tuple[np.ndarray, list[int]]]:
    """For each kind of noise: the margins of ``net``'s answers, and how many are read as each
    digit."""
    judged = {}
    for kind in ("uniform", "blank", "stroke"):
        out = net.infer(noise(kind, recipe))
        read_as = np.bincount(net.classify(out), minlength=10).tolist()
        judged[kind] = (margin(out, rule_of(net)), read_as)
    return judged


def judge_noise(net: Network, recipe: Recipe, threshold: float) -> dict[str, list[int]]:
    """For each kind of noise: [how many ``threshold`` flags unsure, how many images]."""
    return {
        kind: [int(np.sum(m < threshold)), len(m)]
        for kind, (m, _) in noise_margins(net, recipe).items()
    }


def _figures(row: dict[str, Any]) -> str:
    """A trade-off row as the docs quote it: rejected (share) | errors among the accepted |
    their error rate."""
    kept = row["images"] - row["rejected"]
    error = f"{100 * row['errors_accepted'] / kept:.2f} %" if kept else "-"
    share = 100 * row["rejected"] / row["images"]
    return f"{row['rejected']} ({share:.2f} %) | {row['errors_accepted']} | {error}"


def study(model: str, data: str, threads: int, most_rejected: float) -> dict[str, Any]:
    """Choose ``model``'s threshold on its twin, print the trade-off, then score the choice on
    the shipped network: the test set once, and noise."""
    shipped = pretrained.shipped(model)
    (x, y), (x_test, y_test) = load_data(shipped.recipe, root=data, download=False)
    twin = train_twin(model, data, threads)
    m, ok = margins(twin, x[TRAIN:], y[TRAIN:])
    threshold = choose(m, most_rejected)
    net = pretrained.pretrained(model)
    judged = noise_margins(net, shipped.recipe)
    print(
        f"\n{model}: rule {rule_of(twin)}, threshold {threshold:.2f} (rejects at most "
        f"{100 * most_rejected:g} % of validation); the twin on images {TRAIN:,} .. {len(x) - 1:,};"
        " noise flagged by the shipped network"
    )
    print(
        "| target | threshold | rejected | errors among accepted | error among accepted | "
        "uniform noise flagged | strokes flagged |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for q in TABLE:
        t = choose(m, q) if q else 0.0
        flagged = [
            f"{int(np.sum(judged[k][0] < t))} of {len(judged[k][0])}" for k in ("uniform", "stroke")
        ]
        row = tradeoff(m, ok, [t])[0]
        print(f"| {100 * q:g} % | {t:.2f} | {_figures(row)} | {' | '.join(flagged)} |")
    if model == "paper":  # the other rule, at the same target
        noise_out = {k: net.infer(noise(k, shipped.recipe)) for k in ("uniform", "stroke")}
        print(smallest_penalty_rule(twin, x[TRAIN:], y[TRAIN:], most_rejected, noise_out))
    # the test set, once, for the choice made above
    m_test, ok_test = margins(net, x_test, y_test)
    test = tradeoff(m_test, ok_test, [threshold])[0]
    print(f"| test set, {int(np.sum(~ok_test))} errors | {threshold:.2f} | {_figures(test)} |")
    for kind, (nm, read_as) in judged.items():
        print(
            f"{model} on {kind} noise: {int(np.sum(nm < threshold))} of {len(nm)} unsure; "
            f"read as {read_as}; median margin {np.median(nm):.2f}"
        )
    chosen = tradeoff(m, ok, [threshold])[0]
    return {
        "rule": rule_of(net),
        "threshold": threshold,
        "most_rejected": most_rejected,
        "twin": twin_command(model),
        "validation": {
            "images": len(m),
            "errors": int(np.sum(~ok)),
            "rejected": chosen["rejected"],
            "errors_accepted": chosen["errors_accepted"],
        },
        "test": {
            "images": len(m_test),
            "errors": int(np.sum(~ok_test)),
            "rejected": test["rejected"],
            "errors_accepted": test["errors_accepted"],
        },
        "noise": judge_noise(net, shipped.recipe, threshold),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder holding mnist/")
    parser.add_argument("--threads", type=int, default=1, help="OpenMP threads (default 1)")
    parser.add_argument(
        "--most-rejected",
        type=float,
        default=0.02,
        help="reject at most this share of the validation digits (default 0.02)",
    )
    parser.add_argument("--ship", action="store_true", help="write each choice to pretrained.json")
    parser.add_argument("--model", choices=tuple(pretrained.PRETRAINED), help="only this one")
    args = parser.parse_args()
    for model in [args.model] if args.model else pretrained.PRETRAINED:
        rejection = study(model, args.data, args.threads, args.most_rejected)
        if args.ship:
            path = pretrained.FOLDER / pretrained.RECORD
            records = json.loads(path.read_text())
            records[model]["rejection"] = rejection
            path.write_text(json.dumps(records, indent=2, sort_keys=True) + "\n")
            print(f"{model}: wrote its rejection into {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
