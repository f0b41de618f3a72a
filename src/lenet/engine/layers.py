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

The arithmetic runs in the C core (``lenet.engine._core``); ``lenet.reference`` has the same
computations in plain NumPy.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from ..paper import INIT_LIMIT, rbf_prototypes
from . import _core, display

ACTIVATIONS: tuple[str, ...] = _core.ACTIVATIONS
SUBSAMPLING_MODES: tuple[str, ...] = _core.SUBSAMPLING_MODES
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


#: The squashing functions a layer can apply to its weighted sums a, as formulas.
SQUASHING_FORMULAS = {
    "scaled_tanh": "f(a) = 1.7159 tanh(2a/3)  (the paper's squashing function, Appendix A)",
    "tanh": "f(a) = tanh(a)",
    "sigmoid": "f(a) = 1 / (1 + exp(-a))",
    "relu": "f(a) = max(0, a)  (modern variant, not in the paper)",
    "swish": "f(a) = a / (1 + exp(-a))  (modern variant, not in the paper)",
    "identity": "none: y = a",
}

#: Where the paper describes each of LeNet-5's layers (see the paper notes' section names).
PAPER_PLACES = {
    "C1": "Section II.B (C1), Figure 2",
    "S2": "Section II.B (S2), Figure 2",
    "C3": "Section II.B (C3), Table I, Figure 2",
    "S4": "Section II.B (S4), Figure 2",
    "C5": "Section II.B (C5), Figure 2",
    "F6": "Section II.B (F6), Figure 2; squashing function: Appendix A",
    "output": "Section II.B (output layer), Figure 3; its losses: Section II.C, equations (8) "
    "and (9)",
}

_hook_ids = itertools.count()


class HookHandle:
    """What ``register_forward_hook``/``register_backward_hook`` return: ``remove()`` takes the
    hook off again (also as a context manager: the hook is removed when the block ends)."""

    def __init__(self, hooks: dict, key: int) -> None:
        self._hooks, self._key = hooks, key

    def remove(self) -> None:
        self._hooks.pop(self._key, None)

    def __enter__(self) -> HookHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def _read_only(arr: np.ndarray) -> np.ndarray:
    view = arr.view()
    view.flags.writeable = False
    return view


def _format_shape(shape: tuple) -> str:
    return "(" + ", ".join(map(str, shape)) + ")"


def _lecun_limit(fan_in: np.ndarray | int, scheme: str) -> Any:
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

    # -- hooks ------------------------------------------------------------------------------------
    def register_forward_hook(
        self, hook: Callable[[Layer, np.ndarray, np.ndarray], None]
    ) -> HookHandle:
        """Call ``hook(layer, x, y)`` after every forward of this layer, with the batch's input
        x and states y (read-only views). Returns a handle whose ``remove()`` takes it off.

        For watching, printing or plotting inside a training run: hooks must return None, and
        must not write into the layer (its ``a``, ``y``, ``params``) -- that would change what
        flows through the network. A network with hooks runs layer by layer
        (``net.infer`` and ``lenet.train`` skip the fused C path, which never passes through
        the layer objects), so register them before training starts. Hooks are not copied
        with the layer (``copy.deepcopy``, pickling).
        """
        return self._add_hook(self._forward_hooks, hook, "register_forward_hook")

    def register_backward_hook(
        self, hook: Callable[[Layer, np.ndarray, np.ndarray], None]
    ) -> HookHandle:
        """Call ``hook(layer, dy, dx)`` after every backward of this layer, with dy = dE/dy (the
        gradient with respect to the layer's states) and dx = dE/dx (with respect to its input),
        as read-only views; ``layer.grads`` holds dE/d(parameters) by then. Otherwise as
        ``register_forward_hook``."""
        return self._add_hook(self._backward_hooks, hook, "register_backward_hook")

    def _add_hook(self, hooks: dict, hook: Callable, where: str) -> HookHandle:
        if not callable(hook):
            raise TypeError(
                f"{self.name}.{where}: hook must be callable as hook(layer, in, out), "
                f"got {type(hook).__name__}"
            )
        key = next(_hook_ids)
        hooks[key] = hook
        return HookHandle(hooks, key)

    @property
    def x(self) -> np.ndarray | None:
        """The input of the last forward, as the layer saw it (read-only), or None before."""
        return None if self._x is None else _read_only(self._x)

    @property
    def has_hooks(self) -> bool:
        """True while a forward or backward hook is registered."""
        return bool(self._forward_hooks or self._backward_hooks)

    def _call_hooks(self, hooks: dict, which: str, first: np.ndarray, second: np.ndarray) -> None:
        for hook in list(hooks.values()):  # a hook may remove itself
            result = hook(self, _read_only(first), _read_only(second))
            if result is not None:
                raise TypeError(
                    f"{self.name}: a {which} hook returned {type(result).__name__}; "
                    f"hooks watch and must return None"
                )

    def __getstate__(self) -> dict:
        # hooks are functions of the session that registered them: copies start without any
        state = self.__dict__.copy()
        state["_forward_hooks"], state["_backward_hooks"] = {}, {}
        return state

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

    # -- explanation -----------------------------------------------------------------------------
    def formula(self) -> str:
        """What the layer computes, as the paper writes it (weighted sums a, then states y)."""
        raise NotImplementedError

    def explanation(self) -> list[tuple[str, str]]:
        """What ``explain()`` says, as (what, text) rows: "computes" (the formula),
        "squashing", "input" and "output" (or "shapes"), "parameters", "connections", "in the
        paper". A text may run over several lines (the formulas)."""
        rows = [("computes", self.formula())]
        if self.activation != "identity" or not isinstance(self, RBFOutput):
            rows.append(("squashing", SQUASHING_FORMULAS[self.activation]))
        if self.input_shape is not None:
            out = self.output_shape(self.input_shape)
            rows.append(("input", f"(N, {', '.join(map(str, self.input_shape))})"))
            rows.append(("output", f"(N, {', '.join(map(str, out))})"))
        else:
            rows.append(("shapes", self._shape_text()))
        rows.append(("parameters", self._parameter_text()))
        if self.input_shape is not None:
            rows.append(("connections", f"{self.connections(self.input_shape):,} per image"))
        rows.append(("in the paper", self.paper_place()))
        return rows

    def title(self) -> str:
        """The layer's name and kind: "C3: convolution layer"."""
        kind = "Euclidean RBF" if self.kind == "euclidean rbf" else self.kind
        return f"{self.name}: {kind} layer"

    def explain(self) -> str:
        """A short text for a learner: what the layer computes (the formula), its input and
        output shapes, its parameters, and where in the paper it is described."""
        lines = [self.title()]
        for what, text in self.explanation():
            first, *more = text.splitlines()
            lines.append(f"  {what:12} {first}")
            lines += [f"{'':15}{line}" for line in more]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """``explain()`` as HTML, for a notebook (lenet.engine.display)."""
        return display.definitions(self.title(), self.explanation())

    def paper_place(self) -> str:
        """The section, table and figure of the paper that describe this layer (and how this
        layer departs from the paper's, for the modern variant)."""
        place = PAPER_PLACES.get(self.name, self.section)
        departures = self._departures()
        if not departures:
            return place
        return f"not as the paper builds it ({', '.join(departures)}); the paper's: {place}"

    def _departures(self) -> list[str]:
        """How this layer differs from the paper's unit of the same kind."""
        if self.activation in ("scaled_tanh", "identity"):
            return []
        return [f"{self.activation} squashing"]

    def _shape_text(self) -> str:
        return "see output_shape()"

    def _parameter_text(self) -> str:
        if not self.param_shapes():
            return "none"
        masks = self.parameter_mask()
        lines = []
        for name, shape in self.param_shapes().items():
            trainable, stored = int(masks[name].sum()), math.prod(shape)
            note = (
                ""
                if trainable == stored
                else f" ({stored - trainable:,} fixed at 0 by the connection table)"
            )
            lines.append(f"{name} {_format_shape(shape)}: {trainable:,} trainable{note}")
        return "\n".join(lines)

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
                raise ValueError(
                    f"connection_table must have shape (out_maps, in_maps) = "
                    f"{(self.out_maps, self.in_maps)}, got {table.shape}"
                )
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
        _check_choice("scheme", scheme, INITIALISATIONS)
        w, b = self.params["weight"], self.params["bias"]
        if scheme != "glorot":
            limit = _lecun_limit(self.fan_in(), scheme)
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


class Subsampling(Layer):
    """Subsampling layer: S2 and S4 of LeNet-5 (Section II.B), or average/max pooling.

    Each unit reads a non-overlapping 2x2 window of one map (stride 2).
    mode "paper":   a[n,m,r,c] = coefficient[m] * (sum of the window) + bias[m]
    mode "average": a = mean of the window;   mode "max": a = max of the window
    y = f(a) (the paper squashes; pooling in the modern variant does not: activation="identity").

    Shapes: input (N, maps, H, W); output (N, maps, H//2, W//2). Parameters (paper mode only):
    ``coefficient`` (maps,), ``bias`` (maps,). Backward needs the cached input (for the window
    sums, or to find each window's maximum) and the weighted sums.
    """

    kind = "subsampling"

    def __init__(
        self,
        maps: int,
        mode: str = "paper",
        activation: str = "scaled_tanh",
        dtype: DTypeLike = np.float32,
        name: str = "pool",
    ) -> None:
        self.maps = _positive_int("maps", maps)
        self.mode = _check_choice("mode", mode, SUBSAMPLING_MODES)
        super().__init__(name, activation, dtype)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        if self.mode != "paper":
            return {}
        return {"coefficient": (self.maps,), "bias": (self.maps,)}

    def init_parameters(self, rng: np.random.Generator, scheme: str = DEFAULT_INIT) -> None:
        """Coefficient and bias uniform in +-2.4/F_i with fan-in F_i = 4 (Appendix A), or
        +-2.4/sqrt(4) for "lecun98-sqrt", +-1/sqrt(4) for "eblearn"; "glorot" uses the Appendix
        A range too (the modern variant has no trainable subsampling)."""
        _check_choice("scheme", scheme, INITIALISATIONS)
        limit = _lecun_limit(4, "lecun98" if scheme == "glorot" else scheme)
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
        )

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        c, h, w = input_shape
        return (c, h // 2, w // 2)

    def connections(self, input_shape: tuple[int, ...]) -> int:
        c, h, w = self.output_shape(input_shape)
        return c * h * w * (5 if self.mode == "paper" else 4)  # 4 inputs (+ bias)

    def formula(self) -> str:
        if self.mode == "paper":
            return (
                "a[n,m,r,c] = coefficient[m] * (x[n,m,2r,2c] + x[n,m,2r,2c+1] + x[n,m,2r+1,2c]"
                "\n             + x[n,m,2r+1,2c+1]) + bias[m];   y = f(a)"
            )
        return f"a[n,m,r,c] = {self.mode} of x[n,m,2r:2r+2,2c:2c+2] (a 2x2 window);   y = f(a)"

    def _shape_text(self) -> str:
        return f"input (N, {self.maps}, H, W) -> output (N, {self.maps}, H/2, W/2)"

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
            x, self.params.get("coefficient"), self.params.get("bias"), self.mode
        )

    def _backward(self, da: np.ndarray) -> np.ndarray:
        dx, _, _ = _core.subsample_backward(
            self._cached(self._x),
            da,
            self.params.get("coefficient"),
            self.mode,
            d_coefficient=self.grads.get("coefficient"),
            d_bias=self.grads.get("bias"),
        )
        return dx


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
        self.in_features = _positive_int("in_features", in_features)
        self.out_features = _positive_int("out_features", out_features)
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
        return None if self._x is None else _read_only(self._x.reshape(self._input_shape))


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
