"""The subsampling layer: S2 and S4 of LeNet-5 (Section II.B), or average/max pooling, and
maps that read a chosen map (LeNet-4's S2, Figure 9); its kernels are csrc/pool.c, its NumPy
twin ``lenet.reference.subsample_forward``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from .. import _core
from .base import DEFAULT_INIT, INITIALISATIONS, Layer, check_choice, lecun_limit, positive_int
from .explain import rounded

SUBSAMPLING_MODES: tuple[str, ...] = _core.SUBSAMPLING_MODES


class Subsampling(Layer):
    """Subsampling layer: S2 and S4 of LeNet-5 (Section II.B), or average/max pooling.

    Each unit reads a non-overlapping 2x2 window of one map (stride 2).
    mode "paper":   a[n,m,r,c] = coefficient[m] * (sum of the window) + bias[m]
    mode "average": a = mean of the window;   mode "max": a = max of the window
    y = f(a) (the paper squashes; pooling in the modern variant does not: activation="identity").

    Shapes: input (N, maps, H, W); output (N, maps, H//2, W//2). Parameters (paper mode only):
    ``coefficient`` (maps,), ``bias`` (maps,). Backward needs the cached input (for the window
    sums, or to find each window's maximum) and the weighted sums.

    ``sources``: the input map each output map reads, one index per output map, so that an
    input map may feed several output maps, each with its own coefficient and bias (LeNet-4's
    S2: "8 subsampling maps connected in pairs to each first-layer feature map", sources
    (0, 0, 1, 1, 2, 2, 3, 3)). The output then has len(sources) maps, and m above reads map
    sources[m]; an input map's gradient is the sum of its readers'. None: map m reads map m.
    """

    kind = "subsampling"

    def __init__(
        self,
        maps: int,
        mode: str = "paper",
        activation: str = "scaled_tanh",
        dtype: DTypeLike = np.float32,
        name: str = "pool",
        sources: Sequence[int] | None = None,
    ) -> None:
        self.maps = positive_int("maps", maps)
        self.mode = check_choice("mode", mode, SUBSAMPLING_MODES)
        # checked here, before anything is made: ints from 0 to maps - 1, at least one
        table = _core.sources_table(sources, self.maps)
        self._table_for_core = table
        self.sources: tuple[int, ...] | None = (
            None if table is None else tuple(int(i) for i in table.argmax(axis=1))
        )
        #: the maps of the output: one per input map, or one per source
        self.out_maps = self.maps if self.sources is None else len(self.sources)
        super().__init__(name, activation, dtype)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        if self.mode != "paper":
            return {}
        return {"coefficient": (self.out_maps,), "bias": (self.out_maps,)}

    def init_parameters(self, rng: np.random.Generator, scheme: str = DEFAULT_INIT) -> None:
        """Coefficient and bias uniform in +-2.4/F_i with fan-in F_i = 4 (Appendix A), or
        +-2.4/sqrt(4) for "lecun98-sqrt", +-1/sqrt(4) for "eblearn"; "glorot" uses the Appendix
        A range too (the modern variant has no trainable subsampling)."""
        check_choice("scheme", scheme, INITIALISATIONS)
        limit = lecun_limit(4, "lecun98" if scheme == "glorot" else scheme)
        for arr in self.params.values():
            arr[...] = rng.uniform(-1, 1, arr.shape) * limit

    def core_spec(self, offset: int) -> dict[str, Any] | None:
        shape = self._placed("core_spec")
        return self._spec(
            Subsampling,
            _core.LAYER_SUBSAMPLING,
            offset,
            shape,
            self.output_shape(shape),
            mode=self.mode,
            table=self._table_for_core,  # the sources, one connection per output map
        )

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        c, h, w = input_shape
        return (c if self.sources is None else self.out_maps, h // 2, w // 2)

    def connections(self, input_shape: tuple[int, ...]) -> int:
        c, h, w = self.output_shape(input_shape)
        return c * h * w * (5 if self.mode == "paper" else 4)  # 4 inputs (+ bias)

    def formula(self) -> str:
        i = "m" if self.sources is None else "s"
        indent = "\n" + " " * 13
        which = "" if self.sources is None else f",{indent}s = sources[m], sources = {self.sources}"
        if self.mode == "paper":
            return (
                f"a[n,m,r,c] = coefficient[m] * (x[n,{i},2r,2c] + x[n,{i},2r,2c+1] + "
                f"x[n,{i},2r+1,2c]\n             + x[n,{i},2r+1,2c+1]) + bias[m]{which};"
                "   y = f(a)"
            )
        return (
            f"a[n,m,r,c] = {self.mode} of x[n,{i},2r:2r+2,2c:2c+2] (a 2x2 window){which};"
            "   y = f(a)"
        )

    def _shape_text(self) -> str:
        return f"input (N, {self.maps}, H, W) -> output (N, {self.out_maps}, H/2, W/2)"

    def _departures(self) -> list[str]:
        more = [f"{self.mode} pooling"] if self.mode != "paper" else []
        return super()._departures() + more

    def _forward(self, x: np.ndarray) -> np.ndarray:
        self._expect_rank(x, 4, "(N, maps, H, W)")
        if x.shape[1] != self.maps:
            raise ValueError(
                f"{self.name}.forward: x must have {self.maps} maps, got "
                f"{x.shape[1]} (shape {x.shape})"
            )
        return _core.subsample_forward(
            x, self.params.get("coefficient"), self.params.get("bias"), self.mode, self.sources
        )

    def _backward(self, da: np.ndarray) -> np.ndarray:
        dx, _, _ = _core.subsample_backward(
            self._cached(self._x),
            da,
            self.params.get("coefficient"),
            self.mode,
            self.sources,
            d_coefficient=self.grads.get("coefficient"),
            d_bias=self.grads.get("bias"),
        )
        return dx

    def _backward_second(self, h_a: np.ndarray) -> np.ndarray:
        x, sources = self._cached(self._x), self.sources
        if self.mode == "max":  # the window's winner alone sees the unit: h goes to it
            hx, _, _ = _core.subsample_backward(x, h_a, None, "max", sources)
            return hx
        if self.mode == "average":  # a = sum of x / 4: each input's weight squared is 1/16
            sixteenth = np.full(self.out_maps, 1 / 16)
            hx, _, _ = _core.subsample_backward(x, h_a, sixteenth, "paper", sources)
            return hx
        hx, _, _ = _core.subsample_backward(
            np.square(x),
            h_a,
            np.square(self.params["coefficient"]),
            "paper",
            sources,
            d_coefficient=self.curvature["coefficient"],
            d_bias=self.curvature["bias"],
        )
        return hx

    def _sum_by_hand(self, x: np.ndarray, index: tuple[int, ...]) -> dict[str, Any]:
        m, r, c = index
        # the input map the unit reads (named when it is not the unit's own map number)
        read = {} if self.sources is None else {"input_map": self.sources[m]}
        window = x[read.get("input_map", m), 2 * r : 2 * r + 2, 2 * c : 2 * c + 2]
        if self.mode == "max":
            top = float(window.max())
            return {"kind": "subsampling", **read, "window": rounded(window), "a": top}
        total = float(window.sum())
        if self.mode == "average":
            total /= window.size
        coefficient = float(self.params["coefficient"][m]) if "coefficient" in self.params else 1.0
        bias = float(self.params["bias"][m]) if "bias" in self.params else 0.0
        return {
            "kind": "subsampling",
            **read,
            "window": rounded(window),
            "window_sum": total,
            "coefficient": coefficient,
            "bias": bias,
            "a": coefficient * total + bias,
        }
