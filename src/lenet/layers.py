"""The units of LeNet-5, one class per kind (Section II.B).

Every unit of the paper up to F6 computes a weighted sum plus a bias, ``a``, and then its
state ``x = f(a)`` through a squashing function. So a layer here is "weighted sum, then
squashing": the activation is a property of the layer, not a layer of its own.

=================  ====================  ===========================================
class              paper's layers        weighted sum a
=================  ====================  ===========================================
``Convolution``    C1, C3, C5            bias + sum over connected maps of kernel * input
``Subsampling``    S2, S4                coefficient * (sum of a 2x2 window) + bias
``FullConnection`` F6                    W x + b
``RBFOutput``      output                y_i = sum_j (x_j - w_ij)^2 (no squashing)
=================  ====================  ===========================================

Each layer has ``forward(x) -> y`` and ``backward(dy) -> dx``. ``forward`` caches what
``backward`` needs (the input and the weighted sums ``a``); ``backward`` *overwrites* (never
accumulates) the parameter gradients in ``layer.grads``. ``layer.params`` and ``layer.grads``
are dicts of NumPy arrays that are the layer's storage: writing into
``layer.params["weight"][...]`` changes the layer. Inside a network they are views into the
network's one flat parameter buffer.

The arithmetic runs in the C core (``lenet._core``); ``lenet.reference`` has the same
computations in plain NumPy.
"""

from __future__ import annotations

import math
import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from . import _core
from .prototypes import rbf_prototypes

ACTIVATIONS: tuple[str, ...] = _core.ACTIVATIONS
SUBSAMPLING_MODES: tuple[str, ...] = _core.SUBSAMPLING_MODES
#: "lecun98": Appendix A, uniform in +-2.4/F_i (F_i the fan-in); "lecun98-sqrt": uniform in
#: +-2.4/sqrt(F_i), which keeps every layer's weighted sums in the squashing function's working
#: range (a departure from the paper's text: see docs/results.md); "glorot": Keras's default.
INITIALISATIONS = ("lecun98", "lecun98-sqrt", "glorot")


def _lecun_limit(fan_in, scheme: str):
    return 2.4 / (np.sqrt(fan_in) if scheme == "lecun98-sqrt" else fan_in)


def check_dtype(dtype: DTypeLike) -> np.dtype:
    """float32 or float64, the two dtypes the core computes in; anything else is refused."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"dtype must be float32 or float64, got {dt}")
    return dt


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def _positive_int(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class Layer:
    """What every layer has: named parameters and gradients, forward and backward.

    Subclasses define ``param_shapes()``, ``output_shape()``, ``connections()``, ``_forward()``
    and ``_backward()``; this class does the bookkeeping: storage, dtype conversion, the checks
    on the input, the squashing function and its derivative.
    """

    kind = "layer"
    section = "Section II.B"

    def __init__(self, name: str, activation: str, dtype: DTypeLike) -> None:
        self.name = name
        self.activation = _check_choice("activation", activation, ACTIVATIONS)
        self.dtype = check_dtype(dtype)
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.curvature: dict[str, np.ndarray] = {}  # d2E/dw2 estimates, see backward_second
        self._x: np.ndarray | None = None  # input of the last forward
        self.a: np.ndarray | None = None  # weighted sums of the last forward
        self.y: np.ndarray | None = None  # states f(a) of the last forward
        size = self.parameter_count()
        self.bind(np.zeros(size, self.dtype), np.zeros(size, self.dtype),
                  np.zeros(size, self.dtype))

    # -- storage ------------------------------------------------------------------------------
    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Name -> shape of each parameter array, in storage order."""
        return {}

    def parameter_count(self) -> int:
        """Number of stored parameter values (C3 stores its unconnected weights too, as 0)."""
        return sum(math.prod(s) for s in self.param_shapes().values())

    def bind(self, params: np.ndarray, grads: np.ndarray, curvature: np.ndarray) -> None:
        """Make ``params``/``grads``/``curvature`` views into three flat buffers of
        ``parameter_count()`` values each.

        The current parameter values are copied into the new storage first, so a layer keeps
        its values when a network gathers all layers into one buffer.
        """
        old = {name: arr.copy() for name, arr in self.params.items()}
        self.params, self.grads, self.curvature, offset = {}, {}, {}, 0
        for name, shape in self.param_shapes().items():
            size = math.prod(shape)
            self.params[name] = params[offset:offset + size].reshape(shape)
            self.grads[name] = grads[offset:offset + size].reshape(shape)
            self.curvature[name] = curvature[offset:offset + size].reshape(shape)
            if name in old:
                self.params[name][...] = old[name]
            offset += size

    def parameter_mask(self) -> dict[str, np.ndarray]:
        """Name -> boolean array, True where the value is trainable (all, except C3's gaps)."""
        return {name: np.ones(shape, bool) for name, shape in self.param_shapes().items()}

    def num_parameters(self) -> int:
        """Trainable parameters (the paper's count: C3 has 1,516)."""
        return int(sum(m.sum() for m in self.parameter_mask().values()))

    def init_parameters(self, rng: np.random.Generator, scheme: str = "lecun98") -> None:
        """Draw the parameters afresh (see the subclass for what each scheme does)."""

    # -- shapes and counts ----------------------------------------------------------------------
    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of one sample's output for one sample's input shape (no batch axis)."""
        raise NotImplementedError

    def connections(self, input_shape: tuple[int, ...]) -> int:
        """Connections of the layer for one sample, counted as the paper counts them (bias too)."""
        raise NotImplementedError

    # -- computation ----------------------------------------------------------------------------
    def forward(self, x: ArrayLike) -> np.ndarray:
        """States y = f(a) of the layer for a batch ``x``; caches x and a for ``backward``."""
        # a private copy: backward must see the input forward saw, even if the caller's
        # array changes in between
        return self._run_forward(self._prepare(x, "x", self.name + ".forward", copy=True))

    def _run_forward(self, x: np.ndarray) -> np.ndarray:
        """forward without the checks, for arrays the network made itself (in this layer's
        dtype, C-contiguous, finite, not shared with the caller)."""
        self._x = x
        self.a = self._forward(x)
        self.y = self.a if self.activation == "identity" else _core.activation_forward(self.a, self.activation)
        return self.y

    __call__ = forward

    def backward(self, dy: ArrayLike) -> np.ndarray:
        """Gradient with respect to the layer's input, given dy = dE/dy (y's shape).

        Overwrites ``self.grads`` with dE/d(parameters) for the batch of the last ``forward``.
        """
        if self.y is None:
            raise RuntimeError(f"{self.name}.backward: call forward before backward")
        dy = self._prepare(dy, "dy", self.name + ".backward")
        if dy.shape != self.y.shape:
            raise ValueError(f"{self.name}.backward: dy must have the forward output's shape "
                             f"{self.y.shape}, got {dy.shape}")
        return self._run_backward(dy)

    def _run_backward(self, dy: np.ndarray) -> np.ndarray:
        """backward without the checks, for gradients the network made itself."""
        da = dy if self.activation == "identity" else _core.activation_backward(self.a, dy, self.activation)
        return self._backward(da)

    def backward_second(self, h_y: np.ndarray) -> np.ndarray:
        """Back-propagate diagonal second derivatives (Appendix C, Gauss-Newton): given
        h_y = d2E/dy2 for the batch of the last forward, return d2E/dx2 for the input, and write
        into ``self.curvature`` d2E/dw2 for each parameter, summed over the batch.

        The rules mirror back-propagation with squares and drop off-diagonal terms:
        d2E/da2 = f'(a)^2 d2E/dx2 (the state), d2E/dx_j2 = sum_i w_ij^2 d2E/da_i2, and
        d2E/dw2 = sum over the connections sharing w of x_j^2 d2E/da_i2. The same kernels as
        backward run them, fed with squared weights and inputs.
        """
        if self.y is None:
            raise RuntimeError(f"{self.name}.backward_second: call forward first")
        h_y = np.ascontiguousarray(h_y, dtype=self.dtype)
        if h_y.shape != self.y.shape:
            raise ValueError(f"{self.name}.backward_second: h_y must have the forward output's "
                             f"shape {self.y.shape}, got {h_y.shape}")
        if self.activation == "identity":
            h_a = h_y
        else:
            h_a = h_y * np.square(_core.activation_derivative(self.a, self.activation))
        return self._backward_second(h_a)

    def _backward_second(self, h_a: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _prepare(self, value: ArrayLike, argument: str, where: str,
                 copy: bool = False) -> np.ndarray:
        """The array in this layer's dtype, C-contiguous, checked to be finite."""
        try:
            arr = np.asarray(value)
        except Exception as exc:
            raise TypeError(f"{where}: {argument} must be an array of real numbers: {exc}") from None
        if arr.dtype.kind not in "fiub":
            raise TypeError(f"{where}: {argument} must hold real numbers, got dtype {arr.dtype}")
        arr = np.array(arr, dtype=self.dtype, order="C") if copy else \
            np.ascontiguousarray(arr, dtype=self.dtype)
        if not np.isfinite(arr).all():
            bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
            raise ValueError(f"{where}: {argument} contains {bad} non-finite value(s) (NaN or "
                             f"Inf); they would silently poison every later result")
        return arr

    def _expect_rank(self, x: np.ndarray, rank: int, names: str) -> None:
        if x.ndim != rank:
            raise ValueError(f"{self.name}.forward: x must have {rank} dimensions {names}, got "
                             f"shape {x.shape}")

    def _forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _backward(self, da: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, activation={self.activation!r}, dtype={self.dtype})"


class Convolution(Layer):
    """Convolution layer: C1, C3 and C5 of LeNet-5 (Section II.B).

    a[n,o,y,x] = bias[o] + sum over input maps i connected to o, and ky, kx < k, of
                 weight[o,i,ky,kx] * input[n,i,y+ky-padding,x+kx-padding]
    y = f(a).

    Shapes: input (N, in_maps, H, W); output (N, out_maps, H', W') with
    H' = H + 2 padding - k + 1. Parameters: ``weight`` (out_maps, in_maps, k, k), ``bias``
    (out_maps,). ``connection_table`` (out_maps, in_maps) booleans says which input maps each
    output map sees (C3's Table I); weights of unconnected pairs are exactly 0, have zero
    gradient and cost no arithmetic. Backward needs the cached input and weighted sums.
    """

    kind = "convolution"

    def __init__(self, in_maps: int, out_maps: int, kernel_size: int = 5, padding: int = 0,
                 connection_table: ArrayLike | None = None, activation: str = "scaled_tanh",
                 dtype: DTypeLike = np.float32, name: str = "conv") -> None:
        self.in_maps = _positive_int("in_maps", in_maps)
        self.out_maps = _positive_int("out_maps", out_maps)
        self.kernel_size = _positive_int("kernel_size", kernel_size)
        if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
            raise ValueError(f"padding must be a non-negative integer, got {padding!r}")
        self.padding = int(padding)
        if connection_table is None:
            table = np.ones((self.out_maps, self.in_maps), bool)
        else:
            table = np.asarray(connection_table)
            if table.shape != (self.out_maps, self.in_maps):
                raise ValueError(f"connection_table must have shape (out_maps, in_maps) = "
                                 f"{(self.out_maps, self.in_maps)}, got {table.shape}")
            table = table.astype(bool)
            if not table.any(axis=1).all():
                raise ValueError("connection_table: every output map needs at least one input map")
        table.flags.writeable = False
        self.connection_table = table
        self._table_for_core = None if table.all() else table
        super().__init__(name, activation, dtype)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        k = self.kernel_size
        return {"weight": (self.out_maps, self.in_maps, k, k), "bias": (self.out_maps,)}

    def parameter_mask(self) -> dict[str, np.ndarray]:
        k = self.kernel_size
        weight = np.broadcast_to(self.connection_table[:, :, None, None],
                                 (self.out_maps, self.in_maps, k, k)).copy()
        return {"weight": weight, "bias": np.ones(self.out_maps, bool)}

    def fan_in(self) -> np.ndarray:
        """Inputs seen by one unit of each output map: connected maps x k x k (75/100/150 in C3)."""
        return self.connection_table.sum(axis=1) * self.kernel_size ** 2

    def init_parameters(self, rng: np.random.Generator, scheme: str = "lecun98") -> None:
        """``"lecun98"``: weights and biases uniform in +-2.4/F_i, F_i the fan-in of the map's
        units (Appendix A); ``"lecun98-sqrt"``: +-2.4/sqrt(F_i). ``"glorot"``: Glorot-uniform
        weights, zero biases (Keras)."""
        _check_choice("scheme", scheme, INITIALISATIONS)
        w, b = self.params["weight"], self.params["bias"]
        if scheme != "glorot":
            limit = _lecun_limit(self.fan_in(), scheme)
            w[...] = rng.uniform(-1, 1, w.shape) * limit[:, None, None, None]
            b[...] = rng.uniform(-1, 1, b.shape) * limit
        else:
            k2 = self.kernel_size ** 2
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

    def _forward(self, x: np.ndarray) -> np.ndarray:
        self._expect_rank(x, 4, "(N, maps, H, W)")
        if x.shape[1] != self.in_maps:
            raise ValueError(f"{self.name}.forward: x must have {self.in_maps} input maps, got "
                             f"{x.shape[1]} (shape {x.shape})")
        return _core.conv_forward(x, self.params["weight"], self.params["bias"],
                                  self._table_for_core, self.padding)

    def _backward(self, da: np.ndarray) -> np.ndarray:
        dx, _, _ = _core.conv_backward(self._x, self.params["weight"], da, self._table_for_core,
                                       self.padding, d_weight=self.grads["weight"],
                                       d_bias=self.grads["bias"])
        return dx

    def _backward_second(self, h_a: np.ndarray) -> np.ndarray:
        hx, _, _ = _core.conv_backward(np.square(self._x), np.square(self.params["weight"]), h_a,
                                       self._table_for_core, self.padding,
                                       d_weight=self.curvature["weight"],
                                       d_bias=self.curvature["bias"])
        return hx


class Subsampling(Layer):
    """Subsampling layer: S2 and S4 of LeNet-5 (Section II.B), or average/max pooling.

    Each unit reads a non-overlapping 2x2 window of one map (stride 2).
    mode "paper":   a[n,c,y,x] = coefficient[c] * (sum of the window) + bias[c]
    mode "average": a = mean of the window;   mode "max": a = max of the window
    y = f(a) (the paper squashes; pooling in the modern variant does not: activation="identity").

    Shapes: input (N, maps, H, W); output (N, maps, H//2, W//2). Parameters (paper mode only):
    ``coefficient`` (maps,), ``bias`` (maps,). Backward needs the cached input (for the window
    sums, or to find each window's maximum) and the weighted sums.
    """

    kind = "subsampling"

    def __init__(self, maps: int, mode: str = "paper", activation: str = "scaled_tanh",
                 dtype: DTypeLike = np.float32, name: str = "pool") -> None:
        self.maps = _positive_int("maps", maps)
        self.mode = _check_choice("mode", mode, SUBSAMPLING_MODES)
        super().__init__(name, activation, dtype)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        if self.mode != "paper":
            return {}
        return {"coefficient": (self.maps,), "bias": (self.maps,)}

    def init_parameters(self, rng: np.random.Generator, scheme: str = "lecun98") -> None:
        """Coefficient and bias uniform in +-2.4/F_i with fan-in F_i = 4 (Appendix A), or
        +-2.4/sqrt(4) for "lecun98-sqrt"; "glorot" uses the Appendix A range too (the modern
        variant has no trainable subsampling)."""
        _check_choice("scheme", scheme, INITIALISATIONS)
        limit = _lecun_limit(4, "lecun98-sqrt" if scheme == "lecun98-sqrt" else "lecun98")
        for arr in self.params.values():
            arr[...] = rng.uniform(-1, 1, arr.shape) * limit

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        c, h, w = input_shape
        return (c, h // 2, w // 2)

    def connections(self, input_shape: tuple[int, ...]) -> int:
        c, h, w = self.output_shape(input_shape)
        return c * h * w * (5 if self.mode == "paper" else 4)  # 4 inputs (+ bias)

    def _forward(self, x: np.ndarray) -> np.ndarray:
        self._expect_rank(x, 4, "(N, maps, H, W)")
        if x.shape[1] != self.maps:
            raise ValueError(f"{self.name}.forward: x must have {self.maps} maps, got "
                             f"{x.shape[1]} (shape {x.shape})")
        return _core.subsample_forward(x, self.params.get("coefficient"), self.params.get("bias"),
                                       self.mode)

    def _backward(self, da: np.ndarray) -> np.ndarray:
        dx, _, _ = _core.subsample_backward(self._x, da, self.params.get("coefficient"), self.mode,
                                            d_coefficient=self.grads.get("coefficient"),
                                            d_bias=self.grads.get("bias"))
        return dx

    def _backward_second(self, h_a: np.ndarray) -> np.ndarray:
        if self.mode == "max":  # the window's winner alone sees the unit: h goes to it
            hx, _, _ = _core.subsample_backward(self._x, h_a, None, "max")
            return hx
        if self.mode == "average":  # a = sum of x / 4: each input's weight squared is 1/16
            hx, _, _ = _core.subsample_backward(self._x, h_a, np.full(self.maps, 1 / 16), "paper")
            return hx
        hx, _, _ = _core.subsample_backward(np.square(self._x), h_a,
                                            np.square(self.params["coefficient"]), "paper",
                                            d_coefficient=self.curvature["coefficient"],
                                            d_bias=self.curvature["bias"])
        return hx


class FullConnection(Layer):
    """Full connection: F6 of LeNet-5 (Section II.B), and the modern variant's output layer.

    a[n,o] = bias[o] + sum_i weight[o,i] x[n,i];   y = f(a).

    Shapes: input (N, in_features), or any (N, ...) with that many values per sample (C5's
    (N, 120, 1, 1) is flattened); output (N, out_features). Parameters: ``weight``
    (out_features, in_features), ``bias`` (out_features,). Backward needs the cached input and
    weighted sums, and returns the gradient in the input's original shape.
    """

    kind = "full connection"

    def __init__(self, in_features: int, out_features: int, activation: str = "scaled_tanh",
                 dtype: DTypeLike = np.float32, name: str = "dense") -> None:
        self.in_features = _positive_int("in_features", in_features)
        self.out_features = _positive_int("out_features", out_features)
        self._input_shape: tuple[int, ...] | None = None
        super().__init__(name, activation, dtype)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"weight": (self.out_features, self.in_features), "bias": (self.out_features,)}

    def init_parameters(self, rng: np.random.Generator, scheme: str = "lecun98") -> None:
        """``"lecun98"``: uniform in +-2.4/in_features (Appendix A), biases too;
        ``"lecun98-sqrt"``: +-2.4/sqrt(in_features). ``"glorot"``: Glorot-uniform weights,
        zero biases."""
        _check_choice("scheme", scheme, INITIALISATIONS)
        w, b = self.params["weight"], self.params["bias"]
        if scheme != "glorot":
            limit = _lecun_limit(self.in_features, scheme)
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

    def _forward(self, x: np.ndarray) -> np.ndarray:
        if x.ndim < 2 or math.prod(x.shape[1:]) != self.in_features:
            raise ValueError(f"{self.name}.forward: x must have shape (N, {self.in_features}) or "
                             f"(N, ...) with {self.in_features} values per sample, got {x.shape}")
        self._input_shape = x.shape
        self._x = x.reshape(x.shape[0], self.in_features)
        return _core.dense_forward(self._x, self.params["weight"], self.params["bias"])

    def _backward(self, da: np.ndarray) -> np.ndarray:
        dx, _, _ = _core.dense_backward(self._x, self.params["weight"], da,
                                        d_weight=self.grads["weight"], d_bias=self.grads["bias"])
        return dx.reshape(self._input_shape)

    def _backward_second(self, h_a: np.ndarray) -> np.ndarray:
        hx, _, _ = _core.dense_backward(np.square(self._x), np.square(self.params["weight"]), h_a,
                                        d_weight=self.curvature["weight"],
                                        d_bias=self.curvature["bias"])
        return hx.reshape(self._input_shape)


class RBFOutput(Layer):
    """Euclidean RBF output layer: LeNet-5's ``output`` (Section II.B, Figure 3).

    y[n,i] = sum_j (x[n,j] - prototypes[i,j])^2, the penalty of class i: the squared distance
    between the F6 states and class i's fixed +-1 prototype (a 7x12 bitmap of the digit). The
    predicted class has the smallest penalty. No squashing follows.

    Shapes: input (N, 84); output (N, 10). ``prototypes`` (10, 84) is a fixed attribute, not a
    trainable parameter. Backward needs the cached input.
    """

    kind = "euclidean rbf"

    def __init__(self, prototypes: ArrayLike | None = None, dtype: DTypeLike = np.float32,
                 name: str = "output") -> None:
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

    def connections(self, input_shape: tuple[int, ...]) -> int:
        return int(self._prototypes.size)

    def _forward(self, x: np.ndarray) -> np.ndarray:
        f = self._prototypes.shape[1]
        if x.ndim != 2 or x.shape[1] != f:
            raise ValueError(f"{self.name}.forward: x must have shape (N, {f}), got {x.shape}")
        return _core.rbf_forward(x, self._prototypes)

    def _backward(self, da: np.ndarray) -> np.ndarray:
        return _core.rbf_backward(self._x, self._prototypes, da)

    def _backward_second(self, h_a: np.ndarray) -> np.ndarray:
        # d2 y_i / dx_j2 = 2 for every prototype i: each F6 state gets 2 x (sum of h over the
        # classes). With h = 1 on the correct class (equation (8)) that is the paper's 2.
        return np.repeat(2 * h_a.sum(axis=1, keepdims=True), self._x.shape[1], axis=1)

