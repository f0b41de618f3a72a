"""lenet: LeNet-5 exactly as LeCun, Bottou, Bengio and Haffner described it (Proc. IEEE, 1998).

    >>> import lenet
    >>> net = lenet.LeNet5()                  # the paper's network, as the paper recipe starts it
    >>> print(net.summary())                  # doctest: +SKIP
    >>> net.C3.connection_table.shape         # Table I
    (16, 6)

The layers carry the paper's names (``net.C1`` ... ``net.output``); ``lenet.reference`` holds
plain NumPy versions of every C kernel, and ``lenet.gradcheck`` checks any backward pass.
``lenet.pretrained("paper")`` (or ``"modern"``) is a network shipped trained, made by
``lenet train`` (docs/results.md). ``lenet.studio.serve(net)`` shows a network in the browser
(``lenet studio`` on the command line); the studio loads on first use. ``lenet.exercises`` is
``lenet.teach.exercises`` by a shorter name (``lenet.exercises.check(name, fn)``), loaded on
first use too.

The package stands in tiers whose imports point down only: ``lenet.engine`` (the C core's
binding, the layers, networks, losses, optimisers, SDLM, inputs), ``lenet.data`` (finding and
reading the datasets, distortions; it names the loaders and ``preprocess``), ``lenet.run``
(recipes, the training loop, run folders, checkpoints), ``lenet.teach`` (traces in notebooks,
pictures, exercises, the studio) and ``lenet.cli`` (the commands). ``lenet.paper`` and
``lenet.reference`` stand beside them.
"""

from __future__ import annotations

from typing import Any

# isort: off
# First, before anything loads the C core: libgomp reads its wait policy when it loads.
from . import _openmp  # noqa: F401

# isort: on
from . import paper, reference
from ._version import __version__ as __version__
from .engine import losses, optim, sdlm
from .engine.gradcheck import gradcheck
from .engine.inputs import preprocess
from .engine.layers import Convolution, FullConnection, Layer, RBFOutput, Subsampling
from .engine.lenet5 import LeNet5
from .engine.network import InputWarning, Network
from .engine.threads import get_num_threads, openmp_enabled, set_num_threads
from .paper import rbf_prototypes
from .run.archive import CheckpointError
from .run.checkpoint import load_checkpoint, save_checkpoint
from .run.pretrained import pretrained
from .run.recipes import RECIPES, Recipe
from .run.training import evaluate, train
from .teach import notebook as _notebook  # noqa: F401  (a trace's pictures in a notebook)
from .teach.interop import from_torch, to_torch

__all__ = [
    "CheckpointError",
    "InputWarning",
    "RECIPES",
    "Convolution",
    "FullConnection",
    "Layer",
    "LeNet5",
    "Network",
    "RBFOutput",
    "Recipe",
    "Subsampling",
    "evaluate",
    "exercises",
    "get_num_threads",
    "gradcheck",
    "load_checkpoint",
    "losses",
    "openmp_enabled",
    "optim",
    "paper",
    "preprocess",
    "pretrained",
    "rbf_prototypes",
    "reference",
    "save_checkpoint",
    "sdlm",
    "set_num_threads",
    "studio",
    "train",
    "from_torch",
    "to_torch",
]


def __getattr__(name: str) -> Any:
    """``lenet.studio`` loads on first use: it brings an HTTP server that most uses never need.
    ``lenet.exercises`` too: the exercises' cases and pages, for a course only."""
    if name == "studio":
        from .teach import studio  # start-up: the studio and its server load on first use

        globals()["studio"] = studio
        return studio
    if name == "exercises":
        from .teach import exercises  # start-up: the exercises load on first use

        globals()["exercises"] = exercises
        return exercises
    raise AttributeError(f"module 'lenet' has no attribute {name!r}")
