"""The paper's training method, Stochastic Diagonal Levenberg-Marquardt (Appendix C), in one
place: the Gauss-Newton estimate of the curvature, the step sizes, and the optimiser.

SDLM gives every parameter w_k a step size of its own, eps_k = eta / (mu + h_kk), where h_kk
estimates the diagonal second derivative d2E/dw_k2 of the loss. Before each pass the curvature
is estimated on a few hundred training patterns (the paper: 500) and the step sizes are held
for the pass; every update is then w_k <- w_k - eps_k dE/dw_k.

The estimate is a back-propagation of second derivatives with the off-diagonal terms dropped
(the Gauss-Newton approximation, which keeps every h_kk >= 0):

* at the output: for RBF units, the second derivative of the correct class's penalty with
  respect to each F6 state, 2 (the paper's rule, for either loss); for logits, the softmax
  cross-entropy's Gauss-Newton diagonal p (1 - p);
* through a squashing function: d2E/da2 = f'(a)^2 d2E/dy2;
* through a weighted sum a_i = sum_j w_ij x_j: d2E/dx_j2 = sum_i w_ij^2 d2E/da_i2 for the
  input, and d2E/dw_ij2 = sum over the connections sharing w_ij of x_j^2 d2E/da_i2.

The last two run the layers' own backward kernels, fed with squared weights and inputs: each
kind of layer has its rule (``Layer.backward_second``, in lenet.engine.layers).
``estimate_curvature(net, x, labels)`` runs the whole pass and averages over the patterns;
``SDLM`` is the optimiser; its update is the C core's (csrc/optim.c, ``lenet_sdlm_update``),
shared with the fused training loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from .. import paper
from . import _core, checks, fused
from .checks import positive
from .layers import Layer, RBFOutput
from .losses import softmax
from .optim import Optimizer

if TYPE_CHECKING:  # for the type checker only: SDLM takes any lenet network
    from .network import Network

__all__ = ["SDLM", "backward_second", "estimate_curvature", "paper_schedule"]


def paper_schedule(lr: float | None = None) -> tuple[float, ...]:
    """The paper's eta for passes 1-20 (Section III.C), scaled so that the first pass uses
    ``lr`` when it is given."""
    scale = 1.0 if lr is None else lr / paper.ETA_SCHEDULE[0]
    return tuple(scale * eta for eta in paper.ETA_SCHEDULE)


def backward_second(layer: Layer, h_y: ArrayLike) -> np.ndarray:
    """Back-propagate diagonal second derivatives through ``layer`` (Appendix C, Gauss-Newton):
    given h_y = d2E/dy2 for the batch of its last forward, return d2E/dx2 for its input, and
    write d2E/dw2 for each parameter, summed over the batch, into ``layer.curvature``. The
    rule is the layer's own (``Layer.backward_second``, each kind's ``_backward_second``)."""
    return layer.backward_second(h_y)


def estimate_curvature(net: Network, x: ArrayLike, labels: ArrayLike) -> np.ndarray:
    """h_kk, the diagonal second derivatives of the loss for every parameter of ``net``.

    Averaged over the patterns of x (the paper uses 500 training patterns before each pass)
    and written into ``net.curvature`` (a twin of ``net.parameters``; each layer's
    ``curvature`` dict holds views), which is returned. The layers' caches are released on
    the way back (a ``net.backward`` afterwards needs a new ``net.forward``).
    """
    # in one C call when the core has every layer (an RBF layer last, if any: the core sums
    # its h over the classes in plain order, which equals NumPy's when one class carries h)
    if fused.supports(net) and not any(isinstance(l, RBFOutput) for l in net.layers[:-1]):
        return _fused_curvature(net, x, labels)
    return _layer_curvature(net, x, labels)


def _layer_curvature(net: Network, x: ArrayLike, labels: ArrayLike) -> np.ndarray:
    """estimate_curvature layer by layer, each layer's rule (``Layer.backward_second``)."""
    out = net.forward(x)
    n, classes = out.shape
    labels = checks.labels("labels", labels, n, classes)
    if n == 0:
        raise ValueError("x must hold at least one pattern to estimate the curvature from")
    if isinstance(net.layers[-1], RBFOutput):
        h = np.zeros(out.shape, net.dtype)
        h[np.arange(n), labels] = 1
    else:
        p = softmax(out)
        h = (p * (1 - p)).astype(net.dtype)
    for layer in reversed(net.layers):
        h = layer.backward_second(h)
        layer.release_cache()  # the patterns' activations are needed no more
    net.curvature /= n
    return net.curvature


def _fused_curvature(net: Network, x: ArrayLike, labels: ArrayLike) -> np.ndarray:
    """estimate_curvature in one call into the C core (lenet_network_curvature): the same
    kernels and elementwise operations in the same order, so the same bits. For logits the
    output's p (1 - p) is computed here, with NumPy's softmax, as the layer-by-layer pass does;
    for RBF penalties the core writes 1 on the correct class."""
    batch = net.layers[0]._prepare(net._batch(x), "x", "estimate_curvature")
    n = batch.shape[0]
    if n == 0:
        raise ValueError("x must hold at least one pattern to estimate the curvature from")
    classes = fused.layer_spec(net)[-1]["out_shape"][0]
    labels = checks.labels("labels", labels, n, classes)
    h_out = None
    if not isinstance(net.layers[-1], RBFOutput):
        p = softmax(fused.forward(net, batch))
        h_out = (p * (1 - p)).astype(net.dtype)
    fused.curvature(net, batch, labels, h_out)
    for layer in net.layers:  # as the layer-by-layer pass leaves them
        layer.release_cache()
    return net.curvature


class SDLM(Optimizer):
    """Stochastic Diagonal Levenberg-Marquardt (Section III.C, Appendix C).

    Before each pass, ``start_pass`` estimates h_kk on ``patterns`` (the paper: 500 training
    patterns) with ``estimate_curvature`` and fixes the step sizes eps_k = eta / (mu + h_kk)
    for the pass; eta comes from ``schedule`` (the paper's: 0.0005 for passes 1-2, 0.0002 for
    3-5, 0.0001 for 6-8, 0.00005 for 9-12, 0.00001 for 13-20; later passes keep the last
    value). mu (the paper's 0.02) keeps the step bounded where the curvature is tiny. Each
    ``step`` is w_k <- w_k - eps_k dE/dw_k.
    """

    name = "sdlm"
    state_arrays = ("step_sizes",)

    def __init__(
        self, net: Network, schedule: tuple[float, ...] = paper.ETA_SCHEDULE, mu: float = paper.MU
    ) -> None:
        schedule = tuple(positive("schedule", float(v)) for v in schedule)
        if not schedule:
            raise ValueError("schedule must hold at least one learning rate")
        super().__init__(net, schedule[0])
        self.schedule = schedule
        self.mu = positive("mu", mu)
        self.step_sizes = np.zeros_like(net.parameters)  # eps_k, zero until start_pass

    def start_pass(self, index: int, patterns: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """Set eta for pass `index` (from 0) and estimate the step sizes on `patterns`, a pair
        (images, labels) of training patterns."""
        if patterns is None:
            raise ValueError("SDLM needs patterns (images, labels) to estimate the curvature on")
        self.lr = self.schedule[min(index, len(self.schedule) - 1)]
        h = estimate_curvature(self.net, *patterns)
        # eps_k = eta / (mu + h_kk) * mask, in C (lenet_sdlm_step_sizes; the page's too)
        _core.sdlm_step_sizes(h, self._mask, self.lr, self.mu, self.step_sizes)

    def effective_rates(self) -> tuple[float, float]:
        """Smallest and largest eps_k over the trainable parameters (the paper reports about
        7e-5 and 0.016 in its first pass)."""
        rates = self.step_sizes[self.net.parameter_mask]
        return float(rates.min()), float(rates.max())
