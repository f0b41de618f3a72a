"""A network: a stack of layers applied in order, with one flat buffer for all their
parameters.

All trainable parameters of a network live in one flat array, ``net.parameters``, with its
twin ``net.gradients``; every layer's ``params``/``grads`` are views into them. The paper's
LeNet-5 and its modern variant, built from these layers, are in ``lenet5.py``.
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from types import FrameType
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from ..paper import INPUT_RANGE as PAPER_INPUT_RANGE
from ..paper import INPUT_SHAPE as PAPER_INPUT_SHAPE
from ..paper import LAYER_COUNTS
from . import _core, display, fused, sdlm
from .inputs import PAPER_SCALED, PREPROCESSING, preprocess
from .layers import DEFAULT_INIT, Layer, RBFOutput, check_dtype
from .losses import loss_for, softmax
from .trace import Trace

#: Inputs beyond +-FAR_OUTSIDE are far outside the paper's range (0..255 pixels, say).
FAR_OUTSIDE = 10.0


def check_preprocessing(scheme: Any) -> str:
    """``scheme`` if it names a preprocessing scheme (``lenet.engine.inputs.PREPROCESSING``),
    else a ValueError naming the known ones."""
    if not isinstance(scheme, str) or scheme not in PREPROCESSING:
        raise ValueError(
            f"preprocessing must be one of {', '.join(map(repr, PREPROCESSING))}, got {scheme!r}"
        )
    return scheme


class InputWarning(UserWarning):
    """Images that look unprepared: integers, or far outside the range the network expects."""


def _caller_outside_lenet() -> int:
    """The ``stacklevel`` of warnings.warn, called from the caller of this function, that
    names the first frame outside the lenet package: the user's line."""
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    return level


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep

# set in Network.__init__ and its subclasses: no layer may be named like them
_NETWORK_ATTRIBUTES = frozenset(
    {
        "dtype",
        "input_shape",
        "layers",
        "parameters",
        "gradients",
        "curvature",
        "parameter_mask",
        "variant",
        "seed",
        "input_range",
        "preprocessing",
    }
)


class Network:
    """A stack of layers applied in order, with one flat buffer for all their parameters.

    ``forward(x)`` runs the layers top to bottom; ``backward(dout)`` runs them bottom to top,
    overwriting every layer's gradients and returning dE/dx. Layers are attributes by name
    (``net.C1``) and, in order, ``net.layers``.
    """

    #: "paper" (LeNet5()), "modern" (LeNet5.modern()), or "custom" for any other stack of
    #: layers: only the first two can be rebuilt from a config (checkpoints, recipes)
    variant = "custom"
    #: (low, high) of the images the network expects, when known (the paper's network:
    #: -0.1 .. 1.175); inputs far outside it get an InputWarning
    input_range: tuple[float, float] | None = None
    #: the preprocessing scheme (lenet.engine.inputs.PREPROCESSING) that makes this network's
    #: input from raw pixels, which ``predict`` applies to uint8 images; None: unknown (a custom
    #: stack of layers, unless given). A training run sets it from its recipe, a checkpoint
    #: records it.
    preprocessing: str | None = None

    def init_parameters(self, rng: int | np.random.Generator, scheme: str = DEFAULT_INIT) -> None:
        """Draw every layer's parameters afresh, as each layer's ``init_parameters(rng,
        scheme)`` does (see layers.INITIALISATIONS), from ``rng``: a generator, or a seed."""
        rng = np.random.default_rng(rng)
        for layer in self.layers:
            layer.init_parameters(rng, scheme)

    def use_preprocessing(self, scheme: str) -> None:
        """Make ``scheme`` the network's input (``preprocessing``), and what it checks images
        against: the paper's range for the schemes with the paper's scaling, none otherwise."""
        self.preprocessing = check_preprocessing(scheme)
        self.input_range = PAPER_INPUT_RANGE if scheme in PAPER_SCALED else None

    def __init__(
        self,
        layers: list[Layer],
        input_shape: tuple[int, int, int],
        dtype: DTypeLike = np.float32,
        preprocessing: str | None = None,
    ) -> None:
        self.dtype = check_dtype(dtype)
        if preprocessing is not None:  # else the class's own (a subclass may name one)
            self.preprocessing = check_preprocessing(preprocessing)
        self.input_shape = tuple(int(s) for s in input_shape)
        self.layers: tuple[Layer, ...] = tuple(layers)
        names = [layer.name for layer in self.layers]
        if len(set(names)) != len(names):
            raise ValueError(f"layer names must be unique, got {names}")
        for name in names:
            # each layer becomes an attribute (net.C1): it must not hide one of the network's
            if (
                not isinstance(name, str)
                or not name.isidentifier()
                or hasattr(self, name)
                or name in _NETWORK_ATTRIBUTES
            ):
                raise ValueError(
                    f"layer name {name!r} cannot be used: names must be Python "
                    f"identifiers other than the network's own attributes"
                )
        for layer in self.layers:
            if layer.dtype != self.dtype:
                raise TypeError(
                    f"layer {layer.name} has dtype {layer.dtype}, the network {self.dtype}"
                )
            setattr(self, layer.name, layer)
        # Gather every layer's parameters into one flat buffer (and one for the gradients).
        sizes = [layer.num_stored_parameters() for layer in self.layers]
        self.parameters = np.zeros(sum(sizes), self.dtype)
        self.gradients = np.zeros(sum(sizes), self.dtype)
        self.curvature = np.zeros(sum(sizes), self.dtype)  # see estimate_curvature
        ends = np.cumsum([0] + sizes).tolist()
        self._offsets = {
            layer.name: (start, stop) for layer, start, stop in zip(self.layers, ends, ends[1:])
        }
        self._bind_layers()
        # True where a stored value is trainable: False for C3's unconnected weights.
        self.parameter_mask = np.concatenate(
            [m.reshape(-1) for layer in self.layers for m in layer.parameter_mask().values()]
            or [np.zeros(0, bool)]
        )
        self._shapes = self._layer_output_shapes()

    def __setstate__(self, state: dict) -> None:
        # A copy (copy.deepcopy, pickle) restores every array on its own; make the layers'
        # parameters and gradients views into the copied flat buffers again.
        state = {k: v for k, v in state.items() if k != "_fused_spec"}  # made afresh
        self.__dict__.update(state)
        self._bind_layers()

    def _bind_layers(self) -> None:
        """Make every layer's parameters, gradients and curvature views into its slice
        (``_offsets``) of the network's flat buffers."""
        for layer in self.layers:
            start, stop = self._offsets[layer.name]
            layer.bind(
                self.parameters[start:stop], self.gradients[start:stop], self.curvature[start:stop]
            )

    def _layer_output_shapes(self) -> list[tuple[int, ...]]:
        shapes, shape = [], self.input_shape
        for layer in self.layers:
            layer.input_shape = shape
            shape = layer.output_shape(shape)
            if any(s < 1 for s in shape):
                raise ValueError(
                    f"layer {layer.name} would have an empty output {shape} for input "
                    f"shape {self.input_shape}"
                )
            shapes.append(shape)
        return shapes

    @property
    def parameter_offsets(self) -> dict[str, tuple[int, int]]:
        """Layer name -> (start, stop): the layer's slice of ``net.parameters`` (and of
        ``net.gradients`` and ``net.curvature``)."""
        return dict(self._offsets)

    @property
    def output_shapes(self) -> tuple[tuple[int, ...], ...]:
        """Each layer's output shape for one sample, in order (no batch axis)."""
        return tuple(self._shapes)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    # -- computation ----------------------------------------------------------------------------
    def _batch(self, x: ArrayLike) -> np.ndarray:
        """x as a batch (N, C, H, W); a single image (C, H, W) or (H, W) gets a batch axis.
        Images that look unprepared get a warning (``_check_input_values``)."""
        try:
            arr = np.asarray(x)
        except Exception as exc:
            raise TypeError(f"x must be an array of images: {exc}") from None
        c, h, w = self.input_shape
        given = arr.shape
        if arr.ndim == 2 and c == 1:
            arr = arr[None, None]
        elif arr.ndim == 3:
            arr = arr[None]
        if arr.ndim != 4 or arr.shape[1:] != self.input_shape:
            expected = f"(N, {c}, {h}, {w})"
            singles = f"({c}, {h}, {w})" + (f" or ({h}, {w})" if c == 1 else "")
            hint = ""
            if self.input_shape == PAPER_INPUT_SHAPE and given[-2:] == (28, 28):
                hint = (
                    " MNIST's 28x28 digits must be padded to 32x32 first, as the paper "
                    "does (2 background pixels on each side): lenet.preprocess"
                    "(images) pads and scales them."
                )
            raise ValueError(
                f"x must have shape {expected}, or {singles} for one image, got "
                f"shape {given}.{hint}"
            )
        self._check_input_values(arr)
        return arr

    def _check_input_values(self, x: np.ndarray) -> None:
        """Warn (InputWarning) about images that look unprepared: integers (pixels as read from
        the files), or, for a network that expects the paper's input range, values far outside
        it (0..255 where -0.1..1.175 is expected). The network still runs on them."""
        if x.dtype.kind in "iub":
            expects = (
                f"the paper's range {self.input_range[0]} .. {self.input_range[1]}"
                if self.input_range
                else "the floats its training data had"
            )
            warnings.warn(
                f"x holds {x.dtype} values, used as they are; the network expects "
                f"{expects}: prepare images with lenet.preprocess(images)",
                InputWarning,
                stacklevel=_caller_outside_lenet(),
            )
        elif self.input_range is not None and x.size and x.dtype.kind == "f":
            if x.dtype in (np.float32, np.float64):
                low, high, finite = _core.value_range(x)  # one pass in C
            else:
                low, high = float(np.min(x)), float(np.max(x))
                finite = math.isfinite(low) and math.isfinite(high)
            if finite and (low < -FAR_OUTSIDE or high > FAR_OUTSIDE):  # NaN, Inf: refused later
                warnings.warn(
                    f"x ranges over {low:.4g} .. {high:.4g}, far outside the paper's "
                    f"input range {self.input_range[0]} .. {self.input_range[1]} "
                    f"(Section III.A): prepare images with "
                    f"lenet.preprocess(images), which scales pixels 0..255 "
                    f"to it",
                    InputWarning,
                    stacklevel=_caller_outside_lenet(),
                )

    def forward(self, x: ArrayLike) -> np.ndarray:
        """The network's output for a batch x (N, C, H, W): RBF penalties or logits (N, 10)."""
        out = self.layers[0].forward(self._batch(x))  # checks and copies the caller's input
        for layer in self.layers[1:]:
            out = layer._run_forward(out)  # arrays made by the layers above: no checks needed
        return out

    __call__ = forward

    def backward(self, dout: ArrayLike) -> np.ndarray:
        """Back-propagate dout = dE/d(output) through every layer; returns dE/dx (N, C, H, W).

        Every layer's gradients (``net.gradients``) are overwritten, not accumulated.
        """
        dout = self.layers[-1].backward(dout)  # checks the caller's gradient
        for layer in reversed(self.layers[:-1]):
            dout = layer._run_backward(dout)
        return dout

    def estimate_curvature(self, x: ArrayLike, labels: ArrayLike) -> np.ndarray:
        """h_kk, the diagonal second derivatives of the loss for every parameter (Appendix C),
        averaged over the patterns of x and written into ``net.curvature``, which is returned:
        SDLM's curvature estimate, ``lenet.sdlm.estimate_curvature``."""
        return sdlm.estimate_curvature(self, x, labels)

    def trace(
        self,
        x: ArrayLike,
        label: ArrayLike | None = None,
        *,
        loss: str | None = None,
        j: float | None = None,
        pre_activations: bool = False,
    ) -> Trace:
        """Every layer's output for x: an ordered mapping "input", "C1", ..., "output".

        With ``pre_activations=True`` each layer's weighted sums come too, as "C1.a" before
        "C1". The arrays are copies: later calls do not change them.

        With ``label`` (one class, or one per image of the batch), the trace also holds the
        gradients of the loss for that example: ``trace.state_gradients["C3"]`` is dE/dy for
        C3's states (and ``["input"]`` dE/d(input)), ``trace.parameter_gradients["C3.weight"]``
        is dE/d(weight), and ``trace.loss`` is E. The loss is the paper's equation (8) for RBF
        outputs and softmax cross-entropy for logits, or ``loss`` ("penalty",
        "discriminative" with constant ``j``, "cross-entropy"); for a batch, E is the batch
        mean. The network's own gradients (``net.gradients``) are left as they were.
        """
        batch = self._batch(x)
        labels = None
        if label is not None:
            labels = self._trace_labels(label, len(batch))
        elif loss is not None or j is not None:
            raise ValueError("loss and j choose the loss of the gradients: give label too")
        trace = Trace(self)
        trace["input"] = np.array(batch, dtype=self.dtype)
        out = batch
        for i, layer in enumerate(self.layers):
            out = layer.forward(out) if i == 0 else layer._run_forward(out)
            if pre_activations:
                assert layer.a is not None  # set by the forward just run
                trace[layer.name + ".a"] = layer.a.copy()
            trace[layer.name] = out.copy()
        if labels is None:
            return trace
        chosen = loss_for(self, loss, j)
        value, grad = chosen(out, labels)
        saved = self.gradients.copy()
        try:
            backwards = []
            for layer in reversed(self.layers):
                backwards.append((layer.name, grad.copy()))
                grad = layer._run_backward(grad)
            trace.state_gradients["input"] = grad.copy()
            trace.state_gradients.update(reversed(backwards))
            trace.parameter_gradients.update(self.grad_dict())
        finally:
            self.gradients[...] = saved
        trace.loss, trace.labels, trace.loss_name = float(value), labels, chosen.name
        return trace

    def _trace_labels(self, label: ArrayLike, n: int) -> np.ndarray:
        labels = np.asarray(label)
        if labels.ndim == 0:
            labels = labels.reshape(1)
        classes = self._shapes[-1][0]
        if n == 0:
            raise ValueError("x holds no image: the gradients need at least one")
        if (
            labels.shape != (n,)
            or labels.dtype.kind not in "iu"
            or labels.min() < 0
            or labels.max() >= classes
        ):
            raise ValueError(
                f"label must be {'a class' if n == 1 else f'{n} classes'} in "
                f"[0, {classes}) (one per image), got {label!r}"
            )
        return labels.astype(np.int64)

    def infer(self, x: ArrayLike, batch_size: int = 256) -> np.ndarray:
        """The network's output for x, like ``forward``, but through the fused C path (all
        layers in one call per ``batch_size`` images, see ``lenet.engine.fused``) and without
        caching
        anything in the layers: for inference. Networks with layers the fused path does not
        know, or with hooks, fall back to ``forward`` (which runs the hooks and fills the
        layers' caches)."""
        try:
            return fused.forward(self, x, batch_size)
        except fused.NotFusable:  # a layer without a fused kernel, or hooks
            return self.forward(x)

    def where_non_finite(self, x: np.ndarray | None = None) -> str:
        """Where NaN or Inf numbers start in this network, for a diverging training run: the
        first layer whose parameters hold them, or, running the batch ``x`` forward layer by
        layer (the layers' checks of their input skipped), the first layer whose outputs do;
        "" when the parameters are finite and no x is given."""
        for layer in self.layers:
            for name, arr in layer.params.items():
                bad = arr.size - int(np.count_nonzero(np.isfinite(arr)))
                if bad:
                    return (
                        f"layer {layer.name}: {bad} of its {arr.size} {name} values are NaN or Inf"
                    )
        if x is None:
            return ""
        out = np.ascontiguousarray(x, dtype=self.dtype)
        if not np.all(np.isfinite(out)):  # the data themselves
            return "the input images hold NaN or Inf"
        with np.errstate(all="ignore"):
            for layer in self.layers:
                inputs = out
                out = layer._run_forward(out)
                if not np.all(np.isfinite(out)):
                    largest = np.nanmax(np.abs(np.where(np.isfinite(inputs), inputs, 0)))
                    weight = max(
                        (float(np.max(np.abs(a))) for a in layer.params.values()), default=0
                    )
                    return (
                        f"layer {layer.name} is the first whose outputs are NaN or Inf (its "
                        f"inputs reach {largest:.3g}, its largest weight {weight:.3g})"
                    )
        return "every layer's outputs are finite; the loss itself overflowed"

    def predict(self, images: ArrayLike) -> np.ndarray:
        """Predicted classes (N,): the smallest RBF penalty, or the largest logit.

        ``images`` are either raw pixels or prepared input, told apart by their dtype:

        * uint8: raw images as MNIST stores them, (N, 28, 28) or one (28, 28) (for a network
          of C channels, (N, C, H, W) or one (C, H, W)), made into the network's input by
          ``preprocess(images, net.preprocessing)``: the network's own preprocessing, so a
          network trained on the paper's input and one trained on raw pixels both take MNIST's
          digits as they are. A ValueError when the network does not know its preprocessing
          (``net.preprocessing`` is None) or the images do not become its input's shape.
        * floats: input already prepared, (N, C, H, W) or one image, used as it is (as
          ``forward`` takes it).

        Other dtypes (int64 pixels, say) are refused with a TypeError: convert them to uint8.
        """
        return self.classify(self._outputs(images))

    def _outputs(self, images: ArrayLike) -> np.ndarray:
        """``infer``'s outputs for ``predict``'s input: uint8 pixels through the network's
        preprocessing, float input as it is (see ``predict``)."""
        arr = images if isinstance(images, np.ndarray) else np.asarray(images)
        if arr.dtype == np.uint8:
            x = self.prepare(arr)
            with warnings.catch_warnings():  # made by its own preprocessing: prepared, whatever
                warnings.simplefilter("ignore", InputWarning)  # its range (a paper net on raw)
                return self.infer(x)
        if arr.dtype.kind in "iub":
            raise TypeError(
                f"images must be raw pixels as uint8 (0..255) or prepared floating-point "
                f"input, got dtype {arr.dtype}: convert pixels with np.asarray(images, np.uint8)"
            )
        return self.infer(arr)

    def prepare(self, images: ArrayLike) -> np.ndarray:
        """Raw uint8 images (N, H, W) or one (H, W) (or (N, C, H, W), one (C, H, W)) made into
        this network's input (N, C, H', W') by its own preprocessing (``net.preprocessing``):
        what ``predict`` does before it runs the network."""
        arr = np.asarray(images)
        if self.preprocessing is None:
            raise ValueError(
                "this network does not know its preprocessing (net.preprocessing is None: a "
                "custom stack of layers), so it cannot read raw pixels: set net.preprocessing "
                f"to one of {', '.join(map(repr, PREPROCESSING))}, or give prepared float "
                "input (N, C, H, W)"
            )
        scheme = check_preprocessing(self.preprocessing)
        if arr.dtype != np.uint8:
            raise TypeError(f"images must be raw pixels as uint8 (0..255), got dtype {arr.dtype}")
        c = self.input_shape[0]
        one = arr.ndim == (2 if c == 1 else 3)
        batch = arr[None] if one else arr
        if c == 1 and batch.ndim == 3:
            batch = batch[:, None]
        shaped = batch.ndim == 4 and batch.shape[1] == c
        x = preprocess(batch, scheme, self.dtype) if shaped else None
        if x is None or x.shape[1:] != self.input_shape:
            raise ValueError(
                f"images must be raw {self._raw_shapes()} uint8 for this network (its "
                f"preprocessing {scheme!r} makes them its input "
                f"{' x '.join(map(str, self.input_shape))}), got shape {arr.shape}"
            )
        return x

    def _raw_shapes(self) -> str:
        """The shapes of raw images that this network's preprocessing makes its input: MNIST's
        28x28 when they fit, else the input's own size."""
        c, h, w = self.input_shape
        for rh, rw in ((28, 28), (h, w)):
            probe = np.zeros((1, c, rh, rw), np.uint8)
            if preprocess(probe, check_preprocessing(self.preprocessing)).shape[1:] == (c, h, w):
                break
        if c == 1:
            return f"(N, {rh}, {rw}) or ({rh}, {rw})"
        return f"(N, {c}, {rh}, {rw}) or ({c}, {rh}, {rw})"

    def classify(self, out: np.ndarray) -> np.ndarray:
        """The classes (N,) that the network's outputs `out` (N, classes) name: the smallest RBF
        penalty, or the largest logit."""
        if isinstance(self.layers[-1], RBFOutput):
            return np.argmin(out, axis=1)
        return np.argmax(out, axis=1)

    def predict_proba(self, images: ArrayLike) -> np.ndarray:
        """Class probabilities (N, 10): softmax of the logits; for RBF penalties y, softmax(-y)
        (the posterior that equation (9) implies, without its rubbish class). ``images`` as
        ``predict`` takes them: raw uint8 pixels (through the network's preprocessing) or
        prepared float input."""
        out = self._outputs(images).astype(np.float64)
        return softmax(-out if isinstance(self.layers[-1], RBFOutput) else out)

    # -- parameters -----------------------------------------------------------------------------
    def num_parameters(self) -> int:
        """Trainable parameters (60,000 for the paper's LeNet-5: C3's gaps do not count)."""
        return int(self.parameter_mask.sum())

    def _named(self, which: str) -> Iterator[tuple[str, np.ndarray]]:
        for layer in self.layers:
            for name, arr in getattr(layer, which).items():
                yield f"{layer.name}.{name}", arr

    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Copies of every parameter array, keyed "C1.weight", "S2.coefficient", ..."""
        return OrderedDict((key, arr.copy()) for key, arr in self._named("params"))

    def grad_dict(self) -> OrderedDict[str, np.ndarray]:
        """Copies of every gradient array (from the last backward), keyed like state_dict()."""
        return OrderedDict((key, arr.copy()) for key, arr in self._named("grads"))

    def load_state_dict(self, state: Mapping[str, ArrayLike]) -> None:
        """Copy parameters in from a mapping like ``state_dict()``'s.

        Every key must be present, none extra, each array of the stored shape, floating-point
        and finite; C3's unconnected weights must be 0. Arrays of the other float precision are
        converted (float64 values must fit in float32). Nothing is changed unless all of it fits.
        """
        if not isinstance(state, Mapping):
            raise TypeError(
                f"state must be a mapping of names to arrays, got {type(state).__name__}"
            )
        targets = OrderedDict(self._named("params"))
        missing = [k for k in targets if k not in state]
        extra = [k for k in state if k not in targets]
        if missing or extra:
            raise ValueError(
                "state does not match the network: "
                + (f"missing keys {missing}" if missing else "")
                + ("; " if missing and extra else "")
                + (f"unexpected keys {extra}" if extra else "")
            )
        masks = OrderedDict(
            (f"{layer.name}.{name}", m)
            for layer in self.layers
            for name, m in layer.parameter_mask().items()
        )
        checked = {}
        for key, target in targets.items():
            arr = np.asarray(state[key])
            if arr.dtype.kind != "f":
                raise TypeError(
                    f"state[{key!r}] must hold floating-point numbers like "
                    f"{target.dtype}, got dtype {arr.dtype}"
                )
            if arr.shape != target.shape:
                raise ValueError(f"state[{key!r}] must have shape {target.shape}, got {arr.shape}")
            if not np.isfinite(arr).all():
                raise ValueError(f"state[{key!r}] contains NaN or Inf")
            with np.errstate(over="ignore"):
                arr = arr.astype(target.dtype)
            if not np.isfinite(arr).all():
                raise ValueError(f"state[{key!r}] holds values too large for {target.dtype}")
            if np.any(arr[~masks[key]] != 0):
                raise ValueError(
                    f"state[{key!r}] has nonzero weights for unconnected map pairs "
                    f"(they must be 0: see the connection table)"
                )
            checked[key] = arr
        for key, target in targets.items():
            target[...] = checked[key]

    # -- description ----------------------------------------------------------------------------
    def describe(self) -> list[dict]:
        """One dict per layer: name, kind, output shape, trainable parameters, connections."""
        rows, shape = [], self.input_shape
        for layer, out_shape in zip(self.layers, self._shapes):
            rows.append(
                {
                    "name": layer.name,
                    "kind": layer.kind,
                    "output_shape": out_shape,
                    "parameters": layer.num_parameters(),
                    "connections": layer.connections(shape),
                }
            )
            shape = out_shape
        return rows

    def summary(self) -> str:
        """A table with one row per layer and the totals (the paper's figures for LeNet5())."""
        rows = self.describe()
        header = ("layer", "kind", "output", "trainable", "connections")
        body = [
            (
                r["name"],
                r["kind"],
                " x ".join(map(str, r["output_shape"])),
                f"{r['parameters']:,}",
                f"{r['connections']:,}",
            )
            for r in rows
        ]
        total = (
            "total",
            "",
            "",
            f"{sum(r['parameters'] for r in rows):,}",
            f"{sum(r['connections'] for r in rows):,}",
        )
        widths = [max(len(row[i]) for row in [header, *body, total]) for i in range(5)]

        def line(row: tuple[str, ...]) -> str:
            return "  ".join(
                cell.ljust(w) if i < 3 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths))
            ).rstrip()

        rule = "-" * len(line(header))
        c, h, w = self.input_shape
        title = f"{type(self).__name__} ({self.variant}), input {c} x {h} x {w}, {self.dtype}"
        return "\n".join([title, line(header), rule, *map(line, body), rule, line(total)])

    def explain(self) -> str:
        """Every layer's ``explain()``, top to bottom: the network as Figure 2 reads."""
        return "\n\n".join(layer.explain() for layer in self.layers)

    def _repr_html_(self) -> str:
        """``summary()`` as HTML, for a notebook (lenet.engine.display); for the paper's network,
        beside the counts Section II.B gives."""
        rows = self.describe()
        paper = self.variant == "paper" and [r["name"] for r in rows] == list(LAYER_COUNTS)
        header: tuple[str, ...] = ("layer", "kind", "output", "trainable", "connections")
        if paper:
            header += ("paper: trainable", "paper: connections")
        body = []
        for r in rows:
            row: tuple[Any, ...] = (
                r["name"],
                r["kind"],
                " x ".join(map(str, r["output_shape"])),
                f"{r['parameters']:,}",
                f"{r['connections']:,}",
            )
            if paper:
                row += tuple(f"{v:,}" for v in LAYER_COUNTS[r["name"]])
            body.append(row)
        total: tuple[Any, ...] = (
            "total",
            "",
            "",
            f"{sum(r['parameters'] for r in rows):,}",
            f"{sum(r['connections'] for r in rows):,}",
        )
        if paper:
            total += tuple(f"{sum(v[i] for v in LAYER_COUNTS.values()):,}" for i in (0, 1))
        c, h, w = self.input_shape
        caption = f"{type(self).__name__} ({self.variant}), input {c} x {h} x {w}, {self.dtype}"
        note = (
            "The paper's counts are Section II.B's. " if paper else ""
        ) + "A layer shows its formula: net.C3 (or net.C3.explain() as text)."
        return display.block(
            display.table(
                header,
                [*body, total],
                caption=caption,
                right=range(3, len(header)),
                bold_rows=(len(body),),
            ),
            display.paragraph(note),
        )

    def __repr__(self) -> str:
        names = ", ".join(layer.name for layer in self.layers)
        return f"{type(self).__name__}({names}; dtype={self.dtype})"
