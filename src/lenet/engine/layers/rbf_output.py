"""The Euclidean RBF output layer: LeNet-5's ``output`` (Section II.B, Figure 3); its kernels
are csrc/rbf.c, its NumPy twin ``lenet.reference.rbf_forward``."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from ...paper import rbf_prototypes
from .. import _core
from .base import Layer, check_dtype
from .explain import rounded


class RBFOutput(Layer):
    """Euclidean RBF output layer: LeNet-5's ``output`` (Section II.B, Figure 3).

    y[n,i] = sum_j (x[n,j] - prototypes[i,j])^2, the penalty of class i: the squared distance
    between the F6 states and class i's fixed +-1 prototype (a 7x12 bitmap of the digit). The
    predicted class has the smallest penalty. No squashing follows.

    Shapes: input (N, 84); output (N, 10). ``prototypes`` (10, 84) is a fixed attribute, not a
    trainable parameter. Backward needs the cached input.
    """

    kind = "euclidean rbf"

    def __init__(
        self,
        prototypes: ArrayLike | None = None,
        dtype: DTypeLike = np.float32,
        name: str = "output",
    ) -> None:
        dt = check_dtype(dtype)
        protos = rbf_prototypes(dt) if prototypes is None else np.array(prototypes, dtype=dt)
        if protos.ndim != 2 or protos.shape[0] < 1 or protos.shape[1] < 1:
            raise ValueError(f"prototypes must have shape (classes, features), got {protos.shape}")
        protos.flags.writeable = False
        self._prototypes = protos
        super().__init__(name, "identity", dt)

    @property
    def prototypes(self) -> np.ndarray:
        """The fixed (classes, features) parameter vectors (read-only)."""
        return self._prototypes

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (self._prototypes.shape[0],)

    def core_spec(self, offset: int) -> dict[str, Any] | None:
        classes, features = self._prototypes.shape
        return self._spec(
            RBFOutput,
            _core.LAYER_RBF,
            offset,
            (features, 1, 1),
            (classes, 1, 1),
            prototypes=self._prototypes,
        )

    def connections(self, input_shape: tuple[int, ...]) -> int:
        return int(self._prototypes.size)

    def formula(self) -> str:
        return (
            "y[n,i] = sum_j (x[n,j] - prototypes[i,j])^2, the penalty of class i (no "
            "squashing);\nthe prototypes are fixed +-1 bitmaps of 7x12, not trained; "
            "the smallest penalty wins"
        )

    def _shape_text(self) -> str:
        c, f = self._prototypes.shape
        return f"input (N, {f}) -> output (N, {c})"

    def _parameter_text(self) -> str:
        c, f = self._prototypes.shape
        return f"none trainable; prototypes ({c}, {f}) fixed (rbf_prototypes)"

    def _forward(self, x: np.ndarray) -> np.ndarray:
        f = self._prototypes.shape[1]
        if x.ndim != 2 or x.shape[1] != f:
            raise ValueError(f"{self.name}.forward: x must have shape (N, {f}), got {x.shape}")
        return _core.rbf_forward(x, self._prototypes)

    def _backward(self, da: np.ndarray) -> np.ndarray:
        return _core.rbf_backward(self._cached(self._x), self._prototypes, da)

    def _squashing_text(self) -> str:
        return ""  # the penalties are not squashed: no row for it

    def _backward_second(self, h_a: np.ndarray) -> np.ndarray:
        # d2 y_i / dx_j2 = 2 for every prototype i: each F6 state gets 2 x (sum of h over the
        # classes). With h = 1 on the correct class (equation (8)) that is the paper's 2.
        return np.repeat(2 * h_a.sum(axis=1, keepdims=True), self._cached(self._x).shape[1], axis=1)

    def _sum_by_hand(self, x: np.ndarray, index: tuple[int, ...]) -> dict[str, Any]:
        (i,) = index
        inputs = x.reshape(-1)
        prototype = np.asarray(self.prototypes[i], dtype=np.float64)
        terms = (inputs - prototype) ** 2
        return {
            "kind": "rbf",
            "inputs": rounded(inputs),
            "prototype": rounded(prototype),
            "terms": rounded(terms),
            "a": float(terms.sum()),
        }
