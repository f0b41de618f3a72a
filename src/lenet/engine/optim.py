"""Optimisers that update a network's flat parameter buffer in place.

Each optimiser holds the network, reads ``net.gradients`` (filled by ``net.backward``) and
updates ``net.parameters``; every layer sees the change, since its ``params`` are views. Entries
that are not trainable (C3's unconnected weights, ``net.parameter_mask`` False) are never
moved, so they stay exactly 0.

* ``SGD`` (with momentum), ``RMSprop`` (Keras defaults), ``Adam``;
* the paper's SDLM (Appendix C) is an ``Optimizer`` too, with its curvature estimate:
  ``lenet.sdlm``.

Each has ``step()``, ``state_dict()`` and ``load_state_dict()`` (NumPy arrays and numbers, for
checkpoints), and ``lr``: the global learning rate of the current pass. ``step()`` runs in the
C core (csrc/optim.c), through the same update the fused training loop uses; ``lenet.reference``
has the updates in plain NumPy (``sdlm_update`` ...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import _core
from .checks import fraction, positive

if TYPE_CHECKING:  # for the type checker only: an optimiser takes any lenet network
    from .network import Network


class Optimizer:
    """Base class: holds the network and the learning rate; subclasses define ``step``."""

    name: str = "optimizer"
    #: attributes holding per-parameter state (twins of net.parameters), saved in checkpoints;
    #: the C core's update takes them as state1, state2 in this order
    state_arrays: tuple[str, ...] = ()
    #: the C core's settings (lenet.h, struct lenet_optimizer) -> the attribute holding each
    core_settings: dict[str, str] = {}

    def __init__(self, net: Network, lr: float, lr_decay: float = 1.0) -> None:
        if not all(hasattr(net, a) for a in ("parameters", "gradients", "parameter_mask")):
            raise TypeError(f"net must be a lenet network, got {type(net).__name__}")
        self.net = net
        self.lr = self.base_lr = positive("lr", lr)
        self.lr_decay = positive("lr_decay", lr_decay)
        self._mask = net.parameter_mask.astype(net.dtype)  # 1 trainable, 0 fixed
        self.updates = 0  # updates made so far (Adam's t)

    def start_pass(self, index: int, patterns: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """Called before each pass (``index`` counts passes from 0): the learning rate of the
        pass is lr * lr_decay**index. (SDLM estimates its curvature here instead.)"""
        self.lr = self.base_lr * self.lr_decay**index

    @property
    def runs_in_core(self) -> bool:
        """Whether the C core's update (csrc/optim.c) is this optimiser's whole step, so that
        the fused path can run it: a subclass with its own ``step`` cannot be fused."""
        return type(self).step is Optimizer.step and self.name in _core.OPTIMIZER_KINDS

    def step(self) -> None:
        """One update of net.parameters from net.gradients, in the C core (csrc/optim.c)."""
        self.updates = _core.optimizer_step(
            self.core_state(), self.net.parameters, self.net.gradients
        )

    def core_state(self) -> dict:
        """This optimiser as the C core's update takes it: kind (the optimiser's name), lr,
        updates (the count so far), mask, the state arrays as state1/state2, and the settings of
        ``core_settings``. The Python optimisers and the fused path (lenet.engine.fused) both pass
        this to the same C update, so they update with the same bits."""
        state = {"kind": self.name, "lr": self.lr, "updates": self.updates, "mask": self._mask}
        state.update(zip(("state1", "state2"), (getattr(self, n) for n in self.state_arrays)))
        state.update((slot, getattr(self, attr)) for slot, attr in self.core_settings.items())
        return state

    def state_dict(self) -> dict:
        """The optimiser's state: arrays and numbers (no Python objects)."""
        state = {"lr": np.float64(self.lr), "updates": np.int64(self.updates)}
        state.update((name, getattr(self, name).copy()) for name in self.state_arrays)
        return state

    def load_state_dict(self, state: dict) -> None:
        self.lr = float(state["lr"])
        # "steps" in checkpoints written before the count was named updates
        self.updates = int(state["updates"] if "updates" in state else state["steps"])
        for name in self.state_arrays:
            arr = np.asarray(state[name])
            if arr.shape != self.net.parameters.shape:
                raise ValueError(
                    f"optimiser state {name!r} must have shape "
                    f"{self.net.parameters.shape}, got {arr.shape}"
                )
            getattr(self, name)[...] = arr


class SGD(Optimizer):
    """Stochastic gradient descent with momentum m: v <- m v - lr g;  w <- w + v."""

    name = "sgd"
    state_arrays = ("velocity",)
    core_settings = {"beta1": "momentum"}

    def __init__(
        self, net: Network, lr: float = 0.01, momentum: float = 0.0, lr_decay: float = 1.0
    ) -> None:
        super().__init__(net, lr, lr_decay)
        self.momentum = fraction("momentum", momentum)
        self.velocity = np.zeros_like(net.parameters)


class RMSprop(Optimizer):
    """RMSprop as Keras has it: v <- rho v + (1 - rho) g^2;  w <- w - lr g / sqrt(v + eps).

    (Keras, like TensorFlow's ApplyRMSProp, adds eps inside the square root.)

    Defaults are Keras's: lr 0.001, rho 0.9, eps 1e-7.
    """

    name = "rmsprop"
    state_arrays = ("mean_square",)
    core_settings = {"beta1": "rho", "eps": "eps"}

    def __init__(
        self,
        net: Network,
        lr: float = 0.001,
        rho: float = 0.9,
        eps: float = 1e-7,
        lr_decay: float = 1.0,
    ) -> None:
        super().__init__(net, lr, lr_decay)
        self.rho = fraction("rho", rho)
        self.eps = positive("eps", eps)
        self.mean_square = np.zeros_like(net.parameters)


class Adam(Optimizer):
    """Adam (Kingma and Ba): bias-corrected running means of g and g^2.

    m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
    w <- w - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
    """

    name = "adam"
    state_arrays = ("mean", "mean_square")
    core_settings = {"beta1": "beta1", "beta2": "beta2", "eps": "eps"}

    def __init__(
        self,
        net: Network,
        lr: float = 0.001,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        lr_decay: float = 1.0,
    ) -> None:
        super().__init__(net, lr, lr_decay)
        self.beta1 = fraction("beta1", beta1)
        self.beta2 = fraction("beta2", beta2)
        self.eps = positive("eps", eps)
        self.mean = np.zeros_like(net.parameters)
        self.mean_square = np.zeros_like(net.parameters)
