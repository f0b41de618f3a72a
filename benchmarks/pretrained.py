"""The shipped, trained networks (``lenet.pretrained``): check that their stated commands make
them again, bit for bit, or make them.

    python benchmarks/pretrained.py --data DIR            # check: train each, compare the bits
    python benchmarks/pretrained.py --data DIR --ship     # make: train each, write the package's

Each network is trained by the command its record states (``lenet train --recipe paper --out
runs/pretrained-paper``, ``--recipe seed`` for the modern one), with ``--data DIR --offline``
and ``--threads N`` added (where MNIST is and how many threads: neither changes the bits). A
run folder already there is resumed where it stopped, and a finished one is used as it is.
Checking compares the run's parameters with the shipped ones bit for bit (exit 1 if any
differs); ``--ship`` writes the run's network and its record into ``src/lenet/pretrained/``
(``lenet.run.pretrained.ship``: the test error measured there, the version, the commit date).
The paper's network takes about 3 minutes on one thread, the modern one about 3 more.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np

from lenet.run import pretrained
from lenet.run.checkpoint import read_checkpoint


def _finished(run: Path) -> bool:
    if not (run / "checkpoint.npz").is_file():
        return False
    state = read_checkpoint(run)
    passes = state["config"]["passes"]
    return state["progress"].get("epoch") == passes and state["progress"].get("step") == 0


def train(model: str, data: str, threads: int) -> Path:
    """The run folder of ``model``'s stated command, trained to its end."""
    words = shlex.split(pretrained.command_for(model))
    run = Path(words[words.index("--out") + 1])
    if _finished(run):
        print(f"{model}: {run} has finished already")
        return run
    extra = ["--data", data, "--offline", "--threads", str(threads), "--quiet"]
    if (run / "checkpoint.npz").is_file():
        extra.append("--resume")
    command = [sys.executable, "-m", "lenet.cli", *words[1:], *extra]
    print(f"{model}: {shlex.join(words)} {shlex.join(extra)}", flush=True)
    subprocess.run(command, check=True)
    return run


def same_bits(model: str, run: Path) -> bool:
    made = read_checkpoint(run)["net"].state_dict()
    shipped = pretrained.pretrained(model).state_dict()
    differ = [k for k in shipped if made[k].tobytes() != shipped[k].tobytes()]
    for key in differ:
        changed = int(np.sum(made[key] != shipped[key]))
        print(f"{model}: {key} differs in {changed} of {made[key].size} values")
    print(f"{model}: {'the same bits as' if not differ else 'NOT the same bits as'} shipped")
    return not differ


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder holding mnist/")
    parser.add_argument("--threads", type=int, default=1, help="OpenMP threads (default 1)")
    parser.add_argument("--ship", action="store_true", help="write the package's networks")
    parser.add_argument("--model", choices=tuple(pretrained.PRETRAINED), help="only this one")
    args = parser.parse_args()
    same = True
    for model in [args.model] if args.model else pretrained.PRETRAINED:
        run = train(model, args.data, args.threads)
        if args.ship:
            print(f"{model}: shipped {pretrained.ship(run, model, data=args.data)}")
        else:
            same = same_bits(model, run) and same
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
