"""lenet: LeNet-5 exactly as LeCun, Bottou, Bengio and Haffner described it (Proc. IEEE, 1998).

    >>> import lenet
    >>> net = lenet.LeNet5()                  # the paper's network, as the paper recipe starts it
    >>> print(net.summary())                  # doctest: +SKIP
    >>> net.C3.connection_table.shape         # Table I
    (16, 6)

The layers carry the paper's names (``net.C1`` ... ``net.output``); ``lenet.reference`` holds
plain NumPy versions of every C kernel, and ``lenet.gradcheck`` checks any backward pass.
"""

from __future__ import annotations

import warnings

from . import losses, optim, paper, reference
from ._core import get_num_threads, openmp_enabled
from ._core import set_num_threads as _set_num_threads
from .gradcheck import gradcheck
from .layers import Convolution, FullConnection, Layer, RBFOutput, Subsampling
from .model import InputWarning, LeNet5, Network
from .paper import rbf_prototypes
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .recipes import RECIPES, Recipe
from .training import evaluate, train

__version__ = "0.1.0"

__all__ = [
    "CheckpointError", "InputWarning", "RECIPES", "Convolution", "FullConnection", "Layer", "LeNet5", "Network", "RBFOutput", "Recipe",
    "Subsampling", "evaluate", "get_num_threads", "gradcheck", "load_checkpoint", "losses",
    "openmp_enabled", "optim", "rbf_prototypes", "reference", "save_checkpoint",
    "set_num_threads", "train",
]


def set_num_threads(n: int) -> None:
    """Use n >= 1 threads in the C core's parallel loops. Results are the same bits for any n.

    The default is OMP_NUM_THREADS when set, otherwise every core. A serial build (see
    ``openmp_enabled()``) always uses one thread and warns when asked for more.
    """
    _set_num_threads(n)
    if n > 1 and not openmp_enabled():
        warnings.warn("lenet was built without OpenMP: it runs on one thread", RuntimeWarning,
                      stacklevel=2)
