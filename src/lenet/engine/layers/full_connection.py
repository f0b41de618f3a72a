"""The full connection: F6 of LeNet-5 (Section II.B), and the modern variant's output layer;
its kernels are csrc/dense.c, its NumPy twin ``lenet.reference.dense_forward``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from .. import _core
from .base import DEFAULT_INIT, INITIALISATIONS, Layer, check_choice, lecun_limit, positive_int
from .explain import rounded
from .hooks import read_only


class FullConnection(Layer):
    """Full connection: F6 of LeNet-5 (Section II.B), and the modern variant's output layer.

    a[n,o] = bias[o] + sum_i weight[o,i] x[n,i];   y = f(a).

    Shapes: input (N, in_features), or any (N, ...) with that many values per sample (C5's
    (N, 120, 1, 1) is flattened); output (N, out_features). Parameters: ``weight``
    (out_features, in_features), ``bias`` (out_features,). Backward needs the cached input and
    weighted sums, and returns the gradient in the input's original shape.
    """

    kind = "full connection"

    def __init__(
        self,
        in_features: int,
        out_features: int,
        activation: str = "scaled_tanh",
        dtype: DTypeLike = np.float32,
        name: str = "dense",
    ) -> None:
        self.in_features = positive_int("in_features", in_features)
        self.out_features = positive_int("out_features", out_features)
        self._input_shape: tuple[int, ...] | None = None
        super().__init__(name, activation, dtype)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"weight": (self.out_features, self.in_features), "bias": (self.out_features,)}

    def core_spec(self, offset: int) -> dict[str, Any] | None:
        # the core sees a vector of features as (features, 1, 1) maps
        return self._spec(
            FullConnection,
            _core.LAYER_FULL_CONNECTION,
            offset,
            (self.in_features, 1, 1),
            (self.out_features, 1, 1),
        )

    def init_parameters(self, rng: np.random.Generator, scheme: str = DEFAULT_INIT) -> None:
        """``"lecun98"``: uniform in +-2.4/in_features (Appendix A), biases too;
        ``"lecun98-sqrt"``: +-2.4/sqrt(in_features); ``"eblearn"``: +-1/sqrt(in_features).
        ``"glorot"``: Glorot-uniform weights, zero biases."""
        check_choice("scheme", scheme, INITIALISATIONS)
        w, b = self.params["weight"], self.params["bias"]
        if scheme != "glorot":
            limit = lecun_limit(self.in_features, scheme)
            w[...] = rng.uniform(-limit, limit, w.shape)
            b[...] = rng.uniform(-limit, limit, b.shape)
        else:
            limit = math.sqrt(6.0 / (self.in_features + self.out_features))
            w[...] = rng.uniform(-limit, limit, w.shape)
            b[...] = 0

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (self.out_features,)

    def connections(self, input_shape: tuple[int, ...]) -> int:
        return self.out_features * (self.in_features + 1)

    def formula(self) -> str:
        return "a[n,o] = bias[o] + sum_i weight[o,i] * x[n,i];   y = f(a)"

    def _shape_text(self) -> str:
        return f"input (N, {self.in_features}) -> output (N, {self.out_features})"

    def _departures(self) -> list[str]:
        if self.activation == "identity" and self.name == "output":
            return ["a linear layer (logits for softmax) where the paper has RBF units"]
        return super()._departures()

    def _forward(self, x: np.ndarray) -> np.ndarray:
        if x.ndim < 2 or math.prod(x.shape[1:]) != self.in_features:
            raise ValueError(
                f"{self.name}.forward: x must have shape (N, {self.in_features}) or "
                f"(N, ...) with {self.in_features} values per sample, got {x.shape}"
            )
        self._input_shape = x.shape
        self._x = x.reshape(x.shape[0], self.in_features)
        return _core.dense_forward(self._x, self.params["weight"], self.params["bias"])

    def _backward(self, da: np.ndarray) -> np.ndarray:
        dx, _, _ = _core.dense_backward(
            self._cached(self._x),
            self.params["weight"],
            da,
            d_weight=self.grads["weight"],
            d_bias=self.grads["bias"],
        )
        return dx.reshape(self._cached_shape())

    def _cached_shape(self) -> tuple[int, ...]:
        assert self._input_shape is not None, f"{self.name}: no forward pass to go back through"
        return self._input_shape

    @property
    def x(self) -> np.ndarray | None:
        """The input of the last forward in the shape it was given ((N, 120, 1, 1) from C5)."""
        return None if self._x is None else read_only(self._x.reshape(self._input_shape))

    def _backward_second(self, h_a: np.ndarray) -> np.ndarray:
        x = self._cached(self._x)  # (N, in_features), as forward flattened it
        hx, _, _ = _core.dense_backward(
            np.square(x),
            np.square(self.params["weight"]),
            h_a,
            d_weight=self.curvature["weight"],
            d_bias=self.curvature["bias"],
        )
        return hx.reshape(self._cached_shape())

    def _sum_by_hand(self, x: np.ndarray, index: tuple[int, ...]) -> dict[str, Any]:
        (i,) = index
        inputs = x.reshape(-1)
        weights = np.asarray(self.params["weight"][i], dtype=np.float64)
        products = weights * inputs
        bias = float(self.params["bias"][i])
        return {
            "kind": "full connection",
            "inputs": rounded(inputs),
            "weights": rounded(weights),
            "products": rounded(products),
            "sum": float(products.sum()),
            "bias": bias,
            "a": float(products.sum()) + bias,
        }
