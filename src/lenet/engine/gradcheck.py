"""Check back-propagation against finite differences (for learners and for the test suite).

For a layer or a network ``m`` and an input ``x``, take the scalar L = sum(m(x) * R) with a
fixed random R of the output's shape. Back-propagation gives dL/dw for every parameter w (run
``m.backward(R)``); central finite differences give the same derivative as

    (L(w + eps) - L(w - eps)) / (2 eps),

whose error shrinks like eps^2. For each parameter array (and the input) the two gradient
vectors g (back-propagated) and n (numeric) are compared by their relative distance

    ||g - n|| / max(||g||, ||n||)

(Euclidean norms over the checked entries): about 1e-7 or less means the backward pass is
right; 1e-2 means it is wrong. A norm, rather than the worst single entry, keeps entries whose
true gradient happens to be nearly 0 from turning finite-difference rounding into large
"relative" errors.

Run it in float64: in float32 the rounding of L swamps the small differences.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .layers import Layer
from .network import Network

Checkable = Layer | Network


def _named_params(module: Checkable) -> list[tuple[str, np.ndarray, np.ndarray]]:
    if isinstance(module, Network):
        return [
            (f"{layer.name}.{k}", layer.params[k], layer.grads[k])
            for layer in module.layers
            for k in layer.params
        ]
    return [(k, module.params[k], module.grads[k]) for k in module.params]


def _relative_error(analytic: np.ndarray, numeric: np.ndarray, floor: float) -> float:
    scale = max(float(np.linalg.norm(analytic)), float(np.linalg.norm(numeric)), floor)
    return float(np.linalg.norm(analytic - numeric)) / scale


def gradcheck(
    module: Checkable,
    x: ArrayLike,
    *,
    eps: float = 1e-5,
    samples: int | None = None,
    seed: int = 0,
    floor: float = 1e-12,
    details: bool = False,
) -> float | tuple[float, dict[str, float]]:
    """Largest relative error between back-propagated and finite-difference gradients.

    Parameters
    ----------
    module : a layer (``lenet.engine.layers.*``) or a network (``lenet.LeNet5``), in float64.
    x : the input batch to check at.
    eps : the finite-difference step. The numeric derivative errs by about eps^2 (the
        truncation of the difference) plus (rounding of the output) / eps. For the paper's
        network at its initialisation the RBF penalties are all near 84, and their rounding
        wants a larger step (1e-4 to 3e-4); a network with max pooling or ReLU wants a small
        one (1e-5 or less), so that no step jumps across a kink of max(.) or ReLU.
    samples : check at most this many entries of each parameter array and of x, drawn at
        random (None: every entry; a whole LeNet-5 has 60,000, which takes a while).
    seed : seeds R and the sampled entries.
    floor : distances are measured relative to at least this norm, so that an array whose
        true gradient is 0 (C3's unconnected weights alone, say) is not divided by 0.
    details : also return a dict of the largest error per parameter array (and "input").

    The module's parameters are restored exactly afterwards; its gradients hold dL/dw.
    """
    if module.dtype != np.float64:
        raise ValueError(
            f"gradcheck needs a float64 module (finite differences drown in float32 "
            f"rounding), got {module.dtype}: build it with dtype=np.float64"
        )
    rng = np.random.default_rng(seed)
    xs = np.array(x, dtype=np.float64)
    out = module.forward(xs)
    r = rng.standard_normal(out.shape)

    def loss() -> float:
        return float(np.sum(module.forward(xs) * r))

    module.forward(xs)
    dx = np.array(module.backward(r), dtype=np.float64)
    if isinstance(module, Network):
        xs = module._batch(xs).copy()  # the shape forward saw, so dx lines up with it
        dx = dx.reshape(xs.shape)

    def pick(size: int) -> np.ndarray:
        if samples is None or samples >= size:
            return np.arange(size)
        return rng.choice(size, samples, replace=False)

    def compare(flat: np.ndarray, analytic: np.ndarray) -> float:
        """Perturb entries of `flat` (a view into the module or x) one at a time."""
        index = pick(flat.size)
        numeric = np.empty(index.size)
        for n, i in enumerate(index):
            keep = flat[i]
            flat[i] = keep + eps
            plus = loss()
            flat[i] = keep - eps
            minus = loss()
            flat[i] = keep
            numeric[n] = (plus - minus) / (2 * eps)
        return _relative_error(analytic[index], numeric, floor)

    errors: dict[str, float] = {}
    for name, value, grad in _named_params(module):
        errors[name] = compare(value.reshape(-1), grad.reshape(-1).copy())
    errors["input"] = compare(xs.reshape(-1), dx.reshape(-1))

    # leave the caches and gradients as the unperturbed point's
    module.forward(x)
    module.backward(r)
    largest = max(errors.values())
    return (largest, errors) if details else largest
