"""The convolution layer: C1, C3 and C5 of LeNet-5 (Section II.B), with C3's connection table
(Table I); its kernels are csrc/conv.c, its NumPy twin ``lenet.reference.conv_forward``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .. import _core
from .base import (
    DEFAULT_INIT,
    INITIALISATIONS,
    Layer,
    check_choice,
    lecun_limit,
    positive_int,
)
from .explain import rounded


def core_table(table: np.ndarray) -> np.ndarray | None:
    """The connection table as the core takes it: None when every output map sees every input
    map (the kernels then skip the look-up), else the table."""
    return None if table.all() else table


class Convolution(Layer):
    """Convolution layer: C1, C3 and C5 of LeNet-5 (Section II.B).

    a[n,o,r,c] = bias[o] + sum over input maps i connected to o, and ky, kx < k, of
                 weight[o,i,ky,kx] * input[n,i,r+ky-padding,c+kx-padding]
    y = f(a).

    (n the pattern, o and i the output and input map, r and c the unit's row and column, ky
    and kx the offsets inside the kernel: the notation of lenet.h, the tutorial and the
    exercises.)

    Shapes: input (N, in_maps, H, W); output (N, out_maps, H', W') with
    H' = H + 2 padding - k + 1. Parameters: ``weight`` (out_maps, in_maps, k, k), ``bias``
    (out_maps,). ``connection_table`` (out_maps, in_maps) booleans says which input maps each
    output map sees (C3's Table I); weights of unconnected pairs are exactly 0, have zero
    gradient and cost no arithmetic. Backward needs the cached input and weighted sums.
    """

    kind = "convolution"

    def __init__(
        self,
        in_maps: int,
        out_maps: int,
        kernel_size: int = 5,
        padding: int = 0,
        connection_table: ArrayLike | None = None,
        activation: str = "scaled_tanh",
        dtype: DTypeLike = np.float32,
        name: str = "conv",
    ) -> None:
        self.in_maps = positive_int("in_maps", in_maps)
        self.out_maps = positive_int("out_maps", out_maps)
        self.kernel_size = positive_int("kernel_size", kernel_size)
        if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
            raise ValueError(f"padding must be a non-negative integer, got {padding!r}")
        self.padding = int(padding)
        if connection_table is None:
            table = np.ones((self.out_maps, self.in_maps), bool)
        else:
            table = np.asarray(connection_table)
            if table.shape != (self.out_maps, self.in_maps):
                raise ValueError(
                    f"connection_table must have shape (out_maps, in_maps) = "
                    f"{(self.out_maps, self.in_maps)}, got {table.shape}"
                )
            table = table.astype(bool)
            if not table.any(axis=1).all():
                raise ValueError("connection_table: every output map needs at least one input map")
        table.flags.writeable = False
        self.connection_table = table
        self._table_for_core = core_table(table)
        super().__init__(name, activation, dtype)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        k = self.kernel_size
        return {"weight": (self.out_maps, self.in_maps, k, k), "bias": (self.out_maps,)}

    def parameter_mask(self) -> dict[str, np.ndarray]:
        k = self.kernel_size
        weight = np.broadcast_to(
            self.connection_table[:, :, None, None], (self.out_maps, self.in_maps, k, k)
        ).copy()
        return {"weight": weight, "bias": np.ones(self.out_maps, bool)}

    def core_spec(self, offset: int) -> dict[str, Any] | None:
        shape = self._placed("core_spec")
        return self._spec(
            Convolution,
            _core.LAYER_CONVOLUTION,
            offset,
            shape,
            self.output_shape(shape),
            k=self.kernel_size,
            pad=self.padding,
            table=self._table_for_core,
        )

    def fan_in(self) -> np.ndarray:
        """Inputs seen by one unit of each output map: connected maps x k x k (75/100/150 in C3)."""
        return self.connection_table.sum(axis=1) * self.kernel_size**2

    def init_parameters(self, rng: np.random.Generator, scheme: str = DEFAULT_INIT) -> None:
        """``"lecun98"``: weights and biases uniform in +-2.4/F_i, F_i the fan-in of the map's
        units (Appendix A); ``"lecun98-sqrt"``: +-2.4/sqrt(F_i); ``"eblearn"``: +-1/sqrt(F_i).
        ``"glorot"``: Glorot-uniform weights, zero biases (Keras)."""
        check_choice("scheme", scheme, INITIALISATIONS)
        w, b = self.params["weight"], self.params["bias"]
        if scheme != "glorot":
            limit = lecun_limit(self.fan_in(), scheme)
            w[...] = rng.uniform(-1, 1, w.shape) * limit[:, None, None, None]
            b[...] = rng.uniform(-1, 1, b.shape) * limit
        else:
            k2 = self.kernel_size**2
            limit = math.sqrt(6.0 / (self.in_maps * k2 + self.out_maps * k2))
            w[...] = rng.uniform(-limit, limit, w.shape)
            b[...] = 0
        w *= self.parameter_mask()["weight"]  # unconnected pairs hold exact zeros

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        _, h, w = input_shape
        grow = 2 * self.padding - self.kernel_size + 1
        return (self.out_maps, h + grow, w + grow)

    def connections(self, input_shape: tuple[int, ...]) -> int:
        _, h, w = self.output_shape(input_shape)
        per_unit = self.fan_in() + 1  # + the bias
        return int(h * w * per_unit.sum())

    def formula(self) -> str:
        k, p = self.kernel_size, self.padding
        shift = f"-{p}" if p else ""
        which = (
            "that the connection table links to o"
            if self._table_for_core is not None
            else "(all of them)"
        )
        return (
            f"a[n,o,r,c] = bias[o] + sum over the input maps i {which},\n"
            f"             and over ky, kx < {k}, of weight[o,i,ky,kx] * "
            f"x[n,i,r+ky{shift},c+kx{shift}]"
            f";\n             y = f(a)"
        )

    def _shape_text(self) -> str:
        grow = 2 * self.padding - self.kernel_size + 1
        return (
            f"input (N, {self.in_maps}, H, W) -> output (N, {self.out_maps}, H{grow:+d}, "
            f"W{grow:+d})"
        )

    def _departures(self) -> list[str]:
        more = [f"padding {self.padding}"] if self.padding else []
        if self.name == "C3" and self._table_for_core is None:
            more.append("every S2 map feeds every C3 map, not Table I")
        return super()._departures() + more

    def _forward(self, x: np.ndarray) -> np.ndarray:
        self._expect_rank(x, 4, "(N, maps, H, W)")
        if x.shape[1] != self.in_maps:
            raise ValueError(
                f"{self.name}.forward: x must have {self.in_maps} input maps, got "
                f"{x.shape[1]} (shape {x.shape})"
            )
        return _core.conv_forward(
            x, self.params["weight"], self.params["bias"], self._table_for_core, self.padding
        )

    def _backward(self, da: np.ndarray) -> np.ndarray:
        dx, _, _ = _core.conv_backward(
            self._cached(self._x),
            self.params["weight"],
            da,
            self._table_for_core,
            self.padding,
            d_weight=self.grads["weight"],
            d_bias=self.grads["bias"],
        )
        return dx

    def _backward_second(self, h_a: np.ndarray) -> np.ndarray:
        # the backward kernel fed with x^2 and w^2: d2E/dx2 and d2E/dw2 (Appendix C)
        hx, _, _ = _core.conv_backward(
            np.square(self._cached(self._x)),
            np.square(self.params["weight"]),
            h_a,
            self._table_for_core,
            self.padding,
            d_weight=self.curvature["weight"],
            d_bias=self.curvature["bias"],
        )
        return hx

    def _sum_by_hand(self, x: np.ndarray, index: tuple[int, ...]) -> dict[str, Any]:
        # for each input map the table links to map m: the window under the unit, the
        # kernel, their products and their sum
        m, r, c = index
        k = self.kernel_size
        if self.padding:
            p = self.padding
            x = np.pad(x, ((0, 0), (p, p), (p, p)))
        weight = np.asarray(self.params["weight"], dtype=np.float64)
        groups: list[dict[str, Any]] = []
        for j in np.flatnonzero(self.connection_table[m]):
            window = x[j, r : r + k, c : c + k]
            products = weight[m, j] * window
            groups.append(
                {
                    "input_map": int(j),
                    "window": rounded(window),
                    "kernel": rounded(weight[m, j]),
                    "products": rounded(products),
                    "sum": float(products.sum()),
                }
            )
        bias = float(self.params["bias"][m])
        total = float(sum(float(g["sum"]) for g in groups))
        return {"kind": "convolution", "groups": groups, "bias": bias, "a": bias + total}
