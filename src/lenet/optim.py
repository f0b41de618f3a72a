"""Optimisers that update a network's flat parameter buffer in place.

Each optimiser holds the network, reads ``net.gradients`` (filled by ``net.backward``) and
updates ``net.parameters``; every layer sees the change, since its ``params`` are views. Entries
that are not trainable (C3's unconnected weights, ``net.parameter_mask`` False) are never
moved, so they stay exactly 0.

* ``SDLM``: the paper's Stochastic Diagonal Levenberg-Marquardt method (Appendix C): a step
  size per parameter, eps_k = eta / (mu + h_kk), from the diagonal second derivatives h_kk,
  re-estimated on 500 training patterns before each pass and held for the pass.
* ``SGD`` (with momentum), ``RMSprop`` (Keras defaults), ``Adam``.

Each has ``step()``, ``state_dict()`` and ``load_state_dict()`` (NumPy arrays and numbers, for
checkpoints), and ``lr``: the global learning rate of the current pass. ``step()`` runs in the
C core (csrc/optim.c), through the same update the fused training loop uses; ``lenet.reference``
has the updates in plain NumPy (``sdlm_update`` ...).
"""

from __future__ import annotations

import numpy as np

from typing import TYPE_CHECKING

from . import _core, paper

if TYPE_CHECKING:  # for the type checker only: an optimiser takes any lenet network
    from .model import Network

#: The paper's global learning rate eta for passes 1-20 (Section III.C, Appendix C), SDLM's
#: default schedule (lenet.paper.ETA_SCHEDULE).
PAPER_ETA_SCHEDULE = paper.ETA_SCHEDULE


class Optimizer:
    """Base class: holds the network and the learning rate; subclasses define ``step``."""

    name = "optimizer"
    #: attributes holding per-parameter state (twins of net.parameters), saved in checkpoints;
    #: the C core's update takes them as state1, state2 in this order
    state_arrays: tuple[str, ...] = ()
    #: the C core's settings (lenet.h, struct lenet_optimizer) -> the attribute holding each
    core_settings: dict[str, str] = {}

    def __init__(self, net: Network, lr: float, lr_decay: float = 1.0) -> None:
        if not all(hasattr(net, a) for a in ("parameters", "gradients", "parameter_mask")):
            raise TypeError(f"net must be a lenet network, got {type(net).__name__}")
        self.net = net
        self.lr = self.base_lr = _positive("lr", lr)
        self.lr_decay = _positive("lr_decay", lr_decay)
        self._mask = net.parameter_mask.astype(net.dtype)  # 1 trainable, 0 fixed
        self.steps = 0

    def start_pass(self, epoch: int, patterns=None) -> None:
        """Called before each pass (epoch counts from 0): the learning rate of the pass is
        lr * lr_decay**epoch. (SDLM estimates its curvature here instead.)"""
        self.lr = self.base_lr * self.lr_decay ** epoch

    @property
    def runs_in_core(self) -> bool:
        """Whether the C core's update (csrc/optim.c) is this optimiser's whole step, so that
        the fused path can run it: a subclass with its own ``step`` cannot be fused."""
        return type(self).step is Optimizer.step and self.name in _core.OPTIMIZER_KINDS

    def step(self) -> None:
        """One update of net.parameters from net.gradients, in the C core (csrc/optim.c)."""
        self.steps = _core.optimizer_step(self.core_state(), self.net.parameters,
                                          self.net.gradients)

    def core_state(self) -> dict:
        """This optimiser as the C core's update takes it: kind (the optimiser's name), lr,
        step (updates so far), mask, the state arrays as state1/state2, and the settings of
        ``core_settings``. The Python optimisers and the fused path (lenet.fused) both pass
        this to the same C update, so they update with the same bits."""
        state = {"kind": self.name, "lr": self.lr, "step": self.steps, "mask": self._mask}
        state.update(zip(("state1", "state2"), (getattr(self, n) for n in self.state_arrays)))
        state.update((slot, getattr(self, attr)) for slot, attr in self.core_settings.items())
        return state

    def state_dict(self) -> dict:
        """The optimiser's state: arrays and numbers (no Python objects)."""
        state = {"lr": np.float64(self.lr), "steps": np.int64(self.steps)}
        state.update((name, getattr(self, name).copy()) for name in self.state_arrays)
        return state

    def load_state_dict(self, state: dict) -> None:
        self.lr = float(state["lr"])
        self.steps = int(state["steps"])
        for name in self.state_arrays:
            arr = np.asarray(state[name])
            if arr.shape != self.net.parameters.shape:
                raise ValueError(f"optimiser state {name!r} must have shape "
                                 f"{self.net.parameters.shape}, got {arr.shape}")
            getattr(self, name)[...] = arr


def _positive(name: str, value: float) -> float:
    return _core.real_in(name, value, 0.0, np.inf, low_open=True)


def _fraction(name: str, value: float) -> float:
    return _core.real_in(name, value, 0.0, 1.0, high_open=True)


class SDLM(Optimizer):
    """Stochastic Diagonal Levenberg-Marquardt (Section III.C, Appendix C).

    Before each pass, ``start_pass`` estimates h_kk, the diagonal second derivatives of the
    loss, on ``patterns`` (the paper: 500 training patterns) with ``net.estimate_curvature``
    and fixes the step sizes eps_k = eta / (mu + h_kk) for the pass; eta comes from
    ``schedule`` (the paper's: 0.0005 for passes 1-2, 0.0002 for 3-5, 0.0001 for 6-8, 0.00005
    for 9-12, 0.00001 for 13-20; later passes keep the last value). mu = 0.02 keeps the step
    bounded where the curvature is tiny. Each ``step`` is w_k <- w_k - eps_k dE/dw_k.
    """

    name = "sdlm"
    state_arrays = ("step_sizes",)

    def __init__(self, net: Network, schedule: tuple[float, ...] = PAPER_ETA_SCHEDULE,
                 mu: float = paper.MU) -> None:
        schedule = tuple(_positive("schedule", float(v)) for v in schedule)
        if not schedule:
            raise ValueError("schedule must hold at least one learning rate")
        super().__init__(net, schedule[0])
        self.schedule = schedule
        self.mu = _positive("mu", mu)
        self.step_sizes = np.zeros_like(net.parameters)  # eps_k, zero until start_pass

    def start_pass(self, epoch: int, patterns=None) -> None:
        """Set eta for pass `epoch` (from 0) and estimate the step sizes on `patterns`, a pair
        (images, labels) of training patterns."""
        if patterns is None:
            raise ValueError("SDLM needs patterns (images, labels) to estimate the curvature on")
        self.lr = self.schedule[min(epoch, len(self.schedule) - 1)]
        h = self.net.estimate_curvature(*patterns)
        np.divide(self.lr, self.mu + h, out=self.step_sizes)
        self.step_sizes *= self._mask

    def effective_rates(self) -> tuple[float, float]:
        """Smallest and largest eps_k over the trainable parameters (the paper reports about
        7e-5 and 0.016 in its first pass)."""
        rates = self.step_sizes[self.net.parameter_mask]
        return float(rates.min()), float(rates.max())


class SGD(Optimizer):
    """Stochastic gradient descent with momentum m: v <- m v - lr g;  w <- w + v."""

    name = "sgd"
    state_arrays = ("velocity",)
    core_settings = {"beta1": "momentum"}

    def __init__(self, net: Network, lr: float = 0.01, momentum: float = 0.0,
                 lr_decay: float = 1.0) -> None:
        super().__init__(net, lr, lr_decay)
        self.momentum = _fraction("momentum", momentum)
        self.velocity = np.zeros_like(net.parameters)


class RMSprop(Optimizer):
    """RMSprop as Keras has it: v <- rho v + (1 - rho) g^2;  w <- w - lr g / sqrt(v + eps).

    (Keras, like TensorFlow's ApplyRMSProp, adds eps inside the square root.)

    Defaults are Keras's: lr 0.001, rho 0.9, eps 1e-7.
    """

    name = "rmsprop"
    state_arrays = ("mean_square",)
    core_settings = {"beta1": "rho", "eps": "eps"}

    def __init__(self, net: Network, lr: float = 0.001, rho: float = 0.9,
                 eps: float = 1e-7, lr_decay: float = 1.0) -> None:
        super().__init__(net, lr, lr_decay)
        self.rho = _fraction("rho", rho)
        self.eps = _positive("eps", eps)
        self.mean_square = np.zeros_like(net.parameters)


class Adam(Optimizer):
    """Adam (Kingma and Ba): bias-corrected running means of g and g^2.

    m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
    w <- w - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
    """

    name = "adam"
    state_arrays = ("mean", "mean_square")
    core_settings = {"beta1": "beta1", "beta2": "beta2", "eps": "eps"}

    def __init__(self, net: Network, lr: float = 0.001, beta1: float = 0.9,
                 beta2: float = 0.999, eps: float = 1e-8, lr_decay: float = 1.0) -> None:
        super().__init__(net, lr, lr_decay)
        self.beta1 = _fraction("beta1", beta1)
        self.beta2 = _fraction("beta2", beta2)
        self.eps = _positive("eps", eps)
        self.mean = np.zeros_like(net.parameters)
        self.mean_square = np.zeros_like(net.parameters)


OPTIMIZERS = {cls.name: cls for cls in (SDLM, SGD, RMSprop, Adam)}
