"""Check back-propagation against finite differences (for learners and for the test suite).

For a layer or a network ``m`` and an input ``x``, take the scalar L = sum(m(x) * R) with a
fixed random R of the output's shape. Back-propagation gives dL/dw for every parameter w (run
``m.backward(R)``); central finite differences give the same derivative as

    (L(w + eps) - L(w - eps)) / (2 eps),

whose error shrinks like eps^2. The two should agree to many digits in float64; the relative
error |analytic - numeric| / max(|analytic|, |numeric|, floor) is reported for the worst entry.
Around 1e-8 or less means the backward pass is right; 1e-2 means it is wrong.

Run it in float64: in float32 the rounding of L swamps the small differences.
"""

from __future__ import annotations

from typing import Union

import numpy as np
from numpy.typing import ArrayLike

from .layers import Layer
from .model import Network

Checkable = Union[Layer, Network]


def _named_params(module: Checkable) -> list[tuple[str, np.ndarray, np.ndarray]]:
    if isinstance(module, Network):
        return [(f"{layer.name}.{k}", layer.params[k], layer.grads[k])
                for layer in module.layers for k in layer.params]
    return [(k, module.params[k], module.grads[k]) for k in module.params]


def _relative_error(analytic: float, numeric: float, floor: float) -> float:
    return abs(analytic - numeric) / max(abs(analytic), abs(numeric), floor)


def gradcheck(module: Checkable, x: ArrayLike, *, eps: float = 1e-6, samples: int | None = None,
              seed: int = 0, floor: float = 1e-8, details: bool = False):
    """Largest relative error between back-propagated and finite-difference gradients.

    Parameters
    ----------
    module : a layer (``lenet.layers.*``) or a network (``lenet.LeNet5``), in float64.
    x : the input batch to check at.
    eps : the finite-difference step.
    samples : check at most this many entries of each parameter array and of x, drawn at
        random (None: every entry; a whole LeNet-5 has 60,000, which takes a while).
    seed : seeds R and the sampled entries.
    floor : relative errors are measured against at least this magnitude, so that entries
        whose true gradient is 0 are not divided by 0.
    details : also return a dict of the largest error per parameter array (and "input").

    The module's parameters are restored exactly afterwards; its gradients hold dL/dw.
    """
    if module.dtype != np.float64:
        raise ValueError(f"gradcheck needs a float64 module (finite differences drown in float32 "
                         f"rounding), got {module.dtype}: build it with dtype=np.float64")
    rng = np.random.default_rng(seed)
    x = np.array(x, dtype=np.float64)
    out = module.forward(x)
    r = rng.standard_normal(out.shape)

    def loss() -> float:
        return float(np.sum(module.forward(x) * r))

    module.forward(x)
    dx = np.array(module.backward(r), dtype=np.float64)
    if isinstance(module, Network):
        x = module._batch(x).copy()  # the shape forward saw, so dx lines up with it
        dx = dx.reshape(x.shape)

    def pick(size: int) -> np.ndarray:
        if samples is None or samples >= size:
            return np.arange(size)
        return rng.choice(size, samples, replace=False)

    errors: dict[str, float] = {}
    for name, value, grad in _named_params(module):
        analytic = grad.reshape(-1).copy()
        flat = value.reshape(-1)  # a view: writing it changes the module
        worst = 0.0
        for i in pick(flat.size):
            keep = flat[i]
            flat[i] = keep + eps
            plus = loss()
            flat[i] = keep - eps
            minus = loss()
            flat[i] = keep
            worst = max(worst, _relative_error(analytic[i], (plus - minus) / (2 * eps), floor))
        errors[name] = worst

    flat_x, analytic_x, worst = x.reshape(-1), dx.reshape(-1), 0.0
    for i in pick(flat_x.size):
        keep = flat_x[i]
        flat_x[i] = keep + eps
        plus = loss()
        flat_x[i] = keep - eps
        minus = loss()
        flat_x[i] = keep
        worst = max(worst, _relative_error(analytic_x[i], (plus - minus) / (2 * eps), floor))
    errors["input"] = worst

    # leave the caches and gradients as the unperturbed point's
    module.forward(x)
    module.backward(r)
    largest = max(errors.values())
    return (largest, errors) if details else largest
