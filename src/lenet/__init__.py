"""lenet: LeNet-5 exactly as LeCun, Bottou, Bengio and Haffner described it (Proc. IEEE, 1998).

    >>> import lenet
    >>> net = lenet.LeNet5()                  # the paper's network, as the paper recipe starts it
    >>> print(net.summary())                  # doctest: +SKIP
    >>> net.C3.connection_table.shape         # Table I
    (16, 6)

The layers carry the paper's names (``net.C1`` ... ``net.output``); ``lenet.reference`` holds
plain NumPy versions of every C kernel, and ``lenet.gradcheck`` checks any backward pass.
``lenet.studio.serve(net)`` shows a network in the browser (``lenet studio`` on the command
line).
"""

from __future__ import annotations

# isort: off
# First, before anything loads the C core: libgomp reads its wait policy when it loads.
from . import _openmp  # noqa: F401

# isort: on
from . import losses, optim, paper, reference, sdlm, studio
from ._version import __version__ as __version__
from .archive import CheckpointError
from .checkpoint import load_checkpoint, save_checkpoint
from .gradcheck import gradcheck
from .interop import from_torch, to_torch
from .layers import Convolution, FullConnection, Layer, RBFOutput, Subsampling
from .model import InputWarning, LeNet5, Network
from .paper import rbf_prototypes
from .recipes import RECIPES, Recipe
from .threads import get_num_threads, openmp_enabled, set_num_threads
from .training import evaluate, train

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
    "get_num_threads",
    "gradcheck",
    "load_checkpoint",
    "losses",
    "openmp_enabled",
    "optim",
    "paper",
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
