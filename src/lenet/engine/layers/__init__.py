"""The units of LeNet-5, one class per kind (Section II.B).

Every unit of the paper up to F6 computes a weighted sum plus a bias, ``a``, and then its
state ``x = f(a)`` through a squashing function. So a layer here is "weighted sum, then
squashing": the activation is a property of the layer, not a layer of its own.

=================  ====================  ===========================================
class              paper's layers        weighted sum a
=================  ====================  ===========================================
``Convolution``    C1, C3, C5            bias + sum over connected maps of kernel * input
``Subsampling``    S2, S4                coefficient * (sum of a 2x2 window) + bias
``FullConnection`` F6                    W x + b
``RBFOutput``      output                y_i = sum_j (x_j - w_ij)^2 (no squashing)
=================  ====================  ===========================================

Each layer has ``forward(x) -> y`` and ``backward(dy) -> dx``. ``forward`` caches what
``backward`` needs (the input and the weighted sums ``a``); ``backward`` *overwrites* (never
accumulates) the parameter gradients in ``layer.grads``. ``layer.params`` and ``layer.grads``
are dicts of NumPy arrays that are the layer's storage: writing into
``layer.params["weight"][...]`` changes the layer. Inside a network they are views into the
network's one flat parameter buffer.

The arithmetic runs in the C core (``lenet.engine._core``); ``lenet.reference`` has the same
computations in plain NumPy.

One file per kind (``convolution.py``, ``subsampling.py``, ``full_connection.py``,
``rbf_output.py``) holds its class: its formula, its forward and backward, its rule for SDLM's
second-derivative pass (``_backward_second``) and its unit computed by hand for the studio
(``_sum_by_hand``). ``base.py`` is what every layer shares, ``hooks.py`` and ``explain.py`` its
hooks and what it says to a learner, ``squashing.py`` the squashing functions.
"""

from .base import (
    DEFAULT_INIT,
    INIT_RANGES,
    INITIALISATIONS,
    Layer,
    check_choice,
    check_dtype,
    lecun_limit,
    positive_int,
)
from .convolution import Convolution, core_table
from .explain import PAPER_PLACES
from .full_connection import FullConnection
from .hooks import HookHandle
from .rbf_output import RBFOutput
from .squashing import ACTIVATIONS, SQUASHING, SQUASHING_FORMULAS, Squashing
from .subsampling import SUBSAMPLING_MODES, Subsampling

# the names the engine's other modules have used for the two checks
_check_choice, _positive_int = check_choice, positive_int

__all__ = [
    "ACTIVATIONS",
    "DEFAULT_INIT",
    "INIT_RANGES",
    "INITIALISATIONS",
    "PAPER_PLACES",
    "SQUASHING",
    "SQUASHING_FORMULAS",
    "SUBSAMPLING_MODES",
    "Convolution",
    "FullConnection",
    "HookHandle",
    "Layer",
    "RBFOutput",
    "Squashing",
    "Subsampling",
    "check_choice",
    "check_dtype",
    "core_table",
    "lecun_limit",
    "positive_int",
]
