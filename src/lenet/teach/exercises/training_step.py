"""One training step of the whole network by hand (Sections II.B, II.C): the cases (a
network drawn as LeNet5 draws it, a digit-like image), the engine's step, and the known
mistakes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..._i18n import N_, _
from ...engine import losses, optim
from ...engine.layers import Convolution, FullConnection, RBFOutput, Subsampling
from ...engine.lenet5 import LeNet5
from ...engine.network import Network
from ...paper import INPUT_SHAPE as PAPER_INPUT_SHAPE
from ...paper import connection_table_i, rbf_prototypes
from .compare import _kind, _Wrong
from .exercise import F64, Case, Exercise, Mistake, Outputs


def _training_case(rng: np.random.Generator, i: int) -> Case:
    # Parameters drawn as LeNet5 draws them, with the +-2.4/sqrt(F_i) range so that every
    # layer's gradient is large enough to check.
    net = LeNet5(seed=int(rng.integers(2**31)), dtype=F64, init="lecun98-sqrt")
    image = np.full(PAPER_INPUT_SHAPE, -0.1)  # background -0.1, ink 1.175 (Section III.A)
    ink = rng.random((20, 20)) < 0.35
    image[0, 6:26, 6:26][ink] = 1.175
    params = dict(net.state_dict())
    if i % 2 == 1:  # a network further in training: larger S2, S4 and F6 weights saturate
        for key, factor in (("S2.coefficient", 2.5), ("S4.coefficient", 2.0), ("F6.weight", 2.0)):
            params[key] = params[key] * factor  # units to |a| = 20 and more
    return {
        "params": params,
        "image": image,
        "label": int(rng.integers(0, 10)),
        "lr": float(rng.uniform(5e-4, 5e-3)),
        "prototypes": rbf_prototypes(F64),
        "connection_table": connection_table_i(),
    }


def _paper_network(full_c3: bool = False) -> Network:
    if not full_c3:
        return LeNet5(dtype=F64)
    layers = [
        Convolution(1, 6, 5, name="C1", dtype=F64),
        Subsampling(6, "paper", name="S2", dtype=F64),
        Convolution(6, 16, 5, name="C3", dtype=F64),  # every S2 map: Table I ignored
        Subsampling(16, "paper", name="S4", dtype=F64),
        Convolution(16, 120, 5, name="C5", dtype=F64),
        FullConnection(120, 84, name="F6", dtype=F64),
        RBFOutput(name="output", dtype=F64),
    ]
    return Network(layers, PAPER_INPUT_SHAPE, F64)


def _training_solve(c: Case, full_c3: bool = False, grad_scale: float = 1.0) -> Outputs:
    """The engine's step: forward, loss (8), backward, then plain SGD (momentum 0)."""
    net = _paper_network(full_c3)
    net.load_state_dict(c["params"])
    out = net.forward(c["image"][None])
    d_out = losses.rbf_penalty(out, np.array([c["label"]]))[1]
    net.backward(d_out * grad_scale)
    optim.SGD(net, lr=c["lr"]).step()
    new = net.state_dict()
    return {key: new[key] for key in _TRAINING_KEYS}


#: the parameters in the order they are compared: from the output down, so that the first
#: wrong one is the one nearest to where the backward pass first goes wrong
_TRAINING_KEYS = (
    "F6.bias",
    "F6.weight",
    "C5.bias",
    "C5.weight",
    "S4.bias",
    "S4.coefficient",
    "C3.bias",
    "C3.weight",
    "S2.bias",
    "S2.coefficient",
    "C1.bias",
    "C1.weight",
)
_TRAINING_SHAPES = {
    "F6.bias": "(84,)",
    "F6.weight": "(84, 120)",
    "C5.bias": "(120,)",
    "C5.weight": "(120, 16, 5, 5)",
    "S4.bias": "(16,)",
    "S4.coefficient": "(16,)",
    "C3.bias": "(16,)",
    "C3.weight": "(16, 6, 5, 5)",
    "S2.bias": "(6,)",
    "S2.coefficient": "(6,)",
    "C1.bias": "(6,)",
    "C1.weight": "(6, 1, 5, 5)",
}


_KERNEL = ("o", "i", "ky", "kx")
_TRAINING_AXES = {
    "F6.bias": ("o",),
    "F6.weight": ("o", "i"),
    "C5.bias": ("map",),
    "C5.weight": _KERNEL,
    "S4.bias": ("map",),
    "S4.coefficient": ("map",),
    "C3.bias": ("map",),
    "C3.weight": _KERNEL,
    "S2.bias": ("map",),
    "S2.coefficient": ("map",),
    "C1.bias": ("map",),
    "C1.weight": _KERNEL,
}


def _unpack_parameters(result: Any, names: list[str]) -> dict:
    if not isinstance(result, Mapping):
        raise _Wrong(
            _(
                "expected a dict of the new parameters (keys like 'C1.weight'), got {value}",
                value=_kind(result),
            )
        )
    missing = [k for k in reversed(names) if k not in result]
    extra = [str(k) for k in result if k not in names]
    if missing or extra:
        raise _Wrong(
            _("the dict's keys differ from the parameters' keys: ")
            + (_("missing {keys}", keys=missing) if missing else "")
            + ("; " if missing and extra else "")
            + (_("unexpected {keys}", keys=extra) if extra else "")
        )
    return {k: result[k] for k in names}


def _training_step_ascent(c: Case) -> Outputs:
    return _training_solve(c, grad_scale=-1.0)


def _training_old_parameters(c: Case) -> Outputs:
    return {k: c["params"][k] for k in _TRAINING_KEYS}


EXERCISE = Exercise(
    name="training_step",
    answer=("*",),
    title="One training step by hand",
    section="Sections II.B and II.C, Appendix C",
    summary="Forward one image through LeNet-5, take loss (8), back-propagate, and return the "
    "parameters after one gradient-descent step w <- w - lr dE/dw.",
    points=5,
    outputs=tuple((k, _TRAINING_SHAPES[k]) for k in _TRAINING_KEYS),
    axes=_TRAINING_AXES,
    make_case=_training_case,
    solve=_training_solve,
    starter='''\
import numpy as np


def training_step(params, image, label, lr, prototypes, connection_table):
    """One step of plain gradient descent on LeNet-5 for one image, with loss (8).

    Forward: C1 (5x5 convolution), S2 (subsampling), C3 (5x5 convolution wired by
    connection_table), S4 (subsampling), C5 (5x5 convolution), F6 (full connection),
    each followed by f(a) = 1.7159 tanh(2a/3); then the RBF output y_i = sum_j
    (x_j - prototypes[i, j])^2 (Section II.B). Loss (8): E = y[label] (Section II.C).
    Backward: dE/dw for every parameter. Update: w <- w - lr * dE/dw.

    Inputs:
    - params: dict of the parameters, as LeNet5(dtype=np.float64).state_dict() has them:
      "C1.weight" (6, 1, 5, 5), "C1.bias" (6,), "S2.coefficient" (6,), "S2.bias" (6,),
      "C3.weight" (16, 6, 5, 5), "C3.bias" (16,), "S4.coefficient" (16,), "S4.bias" (16,),
      "C5.weight" (120, 16, 5, 5), "C5.bias" (120,), "F6.weight" (84, 120), "F6.bias" (84,).
      C3's weights for unconnected map pairs are 0.
    - image: one input image, shape (1, 32, 32)
    - label: the correct class, an int in 0..9
    - lr: the learning rate, a float
    - prototypes: the RBF units' fixed parameter vectors, shape (10, 84)
    - connection_table: C3's Table I, booleans, shape (16, 6)

    Returns:
    - new_params: a new dict with the same keys and shapes, after the step; C3's
      unconnected weights stay 0
    """
    raise NotImplementedError("training_step")
''',
    hint=N_(
        "build it from the earlier exercises and check each piece on its own first "
        "(c3_forward, s2_forward, s2_backward, rbf_output, rbf_backward). The parameters are "
        "compared from the output down, F6 first, so the first wrong one is nearest to "
        "where your backward pass first goes wrong; if F6 is already wrong, check the "
        "forward pass and the loss's gradient dE/dy = 1 for the label's class, 0 elsewhere."
    ),
    mistakes=(
        Mistake(
            N_(
                "your parameters did not change: did you apply w <- w - lr * dE/dw and "
                "return the new values?"
            ),
            _training_old_parameters,
        ),
        Mistake(
            N_(
                "your step is half the right one: the RBF penalty's derivative is "
                "2 (x_j - w_ij), and the factor 2 is missing."
            ),
            lambda c: _training_solve(c, grad_scale=0.5),
        ),
        Mistake(
            N_("your step goes uphill: gradient descent subtracts, w <- w - lr * dE/dw."),
            _training_step_ascent,
        ),
        Mistake(
            N_(
                "your step moves C3's unconnected weights: Table I's gaps are not part of "
                "the network, their gradient is 0 and they must stay 0 (use the connection "
                "table in C3's backward pass too)."
            ),
            lambda c: {"C3.weight": _training_solve(c, full_c3=True)["C3.weight"]},
        ),
    ),
    unpack=_unpack_parameters,
    baseline=_training_old_parameters,
    returns_dict=True,
)
