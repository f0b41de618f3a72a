"""The base of every layer: named parameters in flat storage, forward and backward with their
checks and hooks, the second-derivative pass of SDLM, and the description the C core's
whole-network calls take (``core_spec``). What it says to a learner is in ``explain.py``, its
hooks in ``hooks.py``; each kind of layer is a file of this package."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from ...paper import INIT_LIMIT
from .. import _core
from .explain import Explained
from .hooks import Hooked, read_only
from .squashing import ACTIVATIONS

#: "lecun98": Appendix A, uniform in +-2.4/F_i (F_i the fan-in); "lecun98-sqrt": uniform in
#: +-2.4/sqrt(F_i), which keeps every layer's weighted sums in the squashing function's working
#: range (a departure from the paper's text: see docs/results.md); "eblearn": uniform in
#: +-1/sqrt(F_i), the start of the MNIST demonstration of EBLearn, the C++ library of LeCun's
#: group (docs/results.md, the SDLM study); "glorot": Keras's default.
INITIALISATIONS = ("lecun98", "lecun98-sqrt", "eblearn", "glorot")
#: How ``LeNet5()`` and a layer's ``init_parameters`` start unless told otherwise: the paper
#: recipe's +-1/sqrt(F_i), EBLearn's start, which beat +-2.4/sqrt(F_i) on the validation split
#: and on the test set (docs/results.md; the literal Appendix A reading, "lecun98", sits at
#: chance).
DEFAULT_INIT = "eblearn"
#: Each scheme's range as the docs and notebooks write it (a test evaluates each against
#: ``lecun_limit``, and the statements of the default start against ``DEFAULT_INIT``).
INIT_RANGES = {
    "lecun98": f"±{INIT_LIMIT:g}/F_i",
    "lecun98-sqrt": f"±{INIT_LIMIT:g}/sqrt(F_i)",
    "eblearn": "±1/sqrt(F_i)",
    "glorot": "±sqrt(6/(F_i + F_o))",
}


def lecun_limit(fan_in: np.ndarray | int, scheme: str) -> Any:
    """The half-width of the uniform start of a unit with `fan_in` inputs."""
    if scheme == "eblearn":
        return 1.0 / np.sqrt(fan_in)
    return INIT_LIMIT / (np.sqrt(fan_in) if scheme == "lecun98-sqrt" else fan_in)


def check_dtype(dtype: DTypeLike) -> np.dtype:
    """float32 or float64, the two dtypes the core computes in; anything else is refused."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"dtype must be float32 or float64, got {dt}")
    return dt


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def positive_int(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class Layer(Explained, Hooked):
    """What every layer has: named parameters and gradients, forward and backward.

    Subclasses define ``param_shapes()``, ``output_shape()``, ``connections()``, ``_forward()``
    and ``_backward()``, and for SDLM ``_backward_second()``; for ``explain()`` ``formula()``,
    and for the studio ``_sum_by_hand()``. This class does the bookkeeping: storage, dtype
    conversion, the checks on the input, the squashing function and its derivatives.
    """

    kind = "layer"
    section = "Section II.B"

    def __init__(self, name: str, activation: str, dtype: DTypeLike) -> None:
        self.name = name
        self.activation = check_choice("activation", activation, ACTIVATIONS)
        self.dtype = check_dtype(dtype)
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.curvature: dict[str, np.ndarray] = {}  # d2E/dw2 estimates (lenet.sdlm)
        self._x: np.ndarray | None = None  # input of the last forward
        self.a: np.ndarray | None = None  # weighted sums of the last forward
        self.y: np.ndarray | None = None  # states f(a) of the last forward
        #: the shape of one sample's input, when the layer sits in a network (set by Network)
        self.input_shape: tuple[int, ...] | None = None
        self._forward_hooks: dict[int, Callable] = {}
        self._backward_hooks: dict[int, Callable] = {}
        size = self.num_stored_parameters()
        self.bind(
            np.zeros(size, self.dtype), np.zeros(size, self.dtype), np.zeros(size, self.dtype)
        )

    # -- storage ------------------------------------------------------------------------------
    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Name -> shape of each parameter array, in storage order."""
        return {}

    def num_stored_parameters(self) -> int:
        """Number of stored parameter values (C3 stores its unconnected weights too, as 0)."""
        return sum(math.prod(s) for s in self.param_shapes().values())

    def bind(self, params: np.ndarray, grads: np.ndarray, curvature: np.ndarray) -> None:
        """Make ``params``/``grads``/``curvature`` views into three flat buffers of
        ``num_stored_parameters()`` values each.

        The current parameter values are copied into the new storage first, so a layer keeps
        its values when a network gathers all layers into one buffer.
        """
        old = {name: arr.copy() for name, arr in self.params.items()}
        self.params, self.grads, self.curvature, offset = {}, {}, {}, 0
        for name, shape in self.param_shapes().items():
            size = math.prod(shape)
            self.params[name] = params[offset : offset + size].reshape(shape)
            self.grads[name] = grads[offset : offset + size].reshape(shape)
            self.curvature[name] = curvature[offset : offset + size].reshape(shape)
            if name in old:
                self.params[name][...] = old[name]
            offset += size

    def parameter_mask(self) -> dict[str, np.ndarray]:
        """Name -> boolean array, True where the value is trainable (all, except C3's gaps)."""
        return {name: np.ones(shape, bool) for name, shape in self.param_shapes().items()}

    def num_parameters(self) -> int:
        """Trainable parameters (the paper's count: C3 has 1,516)."""
        return int(sum(m.sum() for m in self.parameter_mask().values()))

    def init_parameters(self, rng: np.random.Generator, scheme: str = DEFAULT_INIT) -> None:
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
        self.y = (
            self.a
            if self.activation == "identity"
            else _core.activation_forward(self.a, self.activation)
        )
        if self._forward_hooks:
            self._call_hooks(self._forward_hooks, "forward", x, self.y)
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
            raise ValueError(
                f"{self.name}.backward: dy must have the forward output's shape "
                f"{self.y.shape}, got {dy.shape}"
            )
        return self._run_backward(dy)

    def _run_backward(self, dy: np.ndarray) -> np.ndarray:
        """backward without the checks, for gradients the network made itself."""
        da = (
            dy
            if self.activation == "identity"
            else _core.activation_backward(
                self._cached(self.a), dy, self.activation, self._cached(self.y)
            )
        )
        dx = self._backward(da)
        if self._backward_hooks:
            self._call_hooks(self._backward_hooks, "backward", dy, dx)
        return dx

    def release_cache(self) -> None:
        """Drop what the last forward cached (its input, a and y): a backward then needs a new
        forward. Frees a large batch's activations at once (SDLM's 500 curvature patterns)."""
        self._x = self.a = self.y = None

    def _cached(self, value: np.ndarray | None) -> np.ndarray:
        """A value the last forward cached (backward checks that there was one)."""
        assert value is not None, f"{self.name}: no forward pass to go back through"
        return value

    @property
    def x(self) -> np.ndarray | None:
        """The input of the last forward, as the layer saw it (read-only), or None before."""
        return None if self._x is None else read_only(self._x)

    # -- SDLM's second-derivative pass (Appendix C; lenet.engine.sdlm drives it) ---------------
    def backward_second(self, h_y: ArrayLike) -> np.ndarray:
        """Back-propagate diagonal second derivatives through the layer (Appendix C,
        Gauss-Newton): given h_y = d2E/dy2 for the batch of its last forward, return d2E/dx2 for
        its input, and write d2E/dw2 for each parameter, summed over the batch, into
        ``self.curvature``. Through the squashing, d2E/da2 = f'(a)^2 d2E/dy2; the kind's
        ``_backward_second`` takes it from there."""
        where = f"{self.name}.backward_second"
        if self.y is None:
            raise RuntimeError(f"{where}: call forward first")
        h = self._prepare(h_y, "h_y", where)
        if h.shape != self.y.shape:
            raise ValueError(
                f"{where}: h_y must have the forward output's shape {self.y.shape}, got {h.shape}"
            )
        if self.activation != "identity":
            h = h * np.square(_core.activation_derivative(self._cached(self.a), self.activation))
        return self._backward_second(h)

    def _backward_second(self, h_a: np.ndarray) -> np.ndarray:
        """d2E/dx2 from h_a = d2E/da2: the kind's backward with squared inputs and weights,
        writing d2E/dw2 into ``self.curvature``."""
        raise TypeError(
            f"{self.name}.backward_second: SDLM has no second-derivative rule for a "
            f"{type(self).__name__} (give the class a _backward_second method)"
        )

    # -- the C core's description (lenet.engine.fused) -------------------------------------
    def core_spec(self, offset: int) -> dict[str, Any] | None:
        """This layer as the C core's whole-network calls take it (``struct lenet_layer`` in
        csrc/lenet.h): its kind, squashing, subsampling mode, the shapes of one sample (maps,
        H, W), kernel size and padding, connection table, prototypes, and where its weight and
        bias start in the network's flat parameter buffer, given ``offset``, where this
        layer's slice of it begins. None when the core has no kernel for the layer: a kind of
        your own, or a subclass that computes differently (it overrides ``_forward`` or
        ``_backward``). Needs ``input_shape`` (a network sets it)."""
        return None

    def _placed(self, where: str) -> tuple[int, ...]:
        """The shape of one sample's input, which a network sets; ValueError for a lone layer."""
        if self.input_shape is None:
            raise ValueError(
                f"{self.name}.{where} needs the layer's input_shape, which a network "
                f"sets: call it on a layer of a lenet Network"
            )
        return self.input_shape

    def _spec(
        self,
        base: type,
        code: int,
        offset: int,
        in_shape: tuple[int, ...],
        out_shape: tuple[int, ...],
        **fields: Any,
    ) -> dict[str, Any] | None:
        """core_spec's dict for a layer computed as class ``base`` computes, by the C core's
        layer kind ``code``, with the offsets of its parameters; None when the layer's class
        changes how ``base`` computes."""
        if any(getattr(type(self), m) is not getattr(base, m) for m in ("_forward", "_backward")):
            return None
        offsets: dict[str, int] = {}
        for name, shape in self.param_shapes().items():
            offsets[name] = offset
            offset += math.prod(shape)
        spec: dict[str, Any] = {
            "kind": code,
            "activation": self.activation,
            "mode": "paper",
            "in_shape": tuple(in_shape),
            "out_shape": tuple(out_shape),
            "k": 0,
            "pad": 0,
            "table": None,
            "weight": None,
            "bias": None,
            "prototypes": None,
        }
        spec.update(fields)
        spec["weight"] = offsets.get("weight", offsets.get("coefficient"))
        spec["bias"] = offsets.get("bias")
        return spec

    def _prepare(
        self, value: ArrayLike, argument: str, where: str, copy: bool = False
    ) -> np.ndarray:
        """The array in this layer's dtype, C-contiguous, checked to be finite."""
        try:
            arr = np.asarray(value)
        except Exception as exc:
            raise TypeError(
                f"{where}: {argument} must be an array of real numbers: {exc}"
            ) from None
        if arr.dtype.kind not in "fiub":
            raise TypeError(f"{where}: {argument} must hold real numbers, got dtype {arr.dtype}")
        arr = (
            np.array(arr, dtype=self.dtype, order="C")
            if copy
            else np.ascontiguousarray(arr, dtype=self.dtype)
        )
        if not _core.value_range(arr)[2]:  # one pass in C, no temporary of arr's size
            bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
            raise ValueError(
                f"{where}: {argument} contains {bad} non-finite value(s) (NaN or "
                f"Inf); they would silently poison every later result"
            )
        return arr

    def _expect_rank(self, x: np.ndarray, rank: int, names: str) -> None:
        if x.ndim != rank:
            raise ValueError(
                f"{self.name}.forward: x must have {rank} dimensions {names}, got shape {x.shape}"
            )

    def _forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _backward(self, da: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, activation={self.activation!r}, "
            f"dtype={self.dtype})"
        )
