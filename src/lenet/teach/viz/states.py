"""What the pictures (and the studio's page) read of a network's states: the grid a layer of
units is laid out in, the colour scale of its states, one image's states from a network or a
trace, its label and its prediction. NumPy alone.
"""

from __future__ import annotations

import math
import operator
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from ...engine.layers import RBFOutput
from ...engine.losses import softmax
from ...paper import BITMAP_COLUMNS, BITMAP_ROWS, SQUASH_A

if TYPE_CHECKING:
    from ...engine.network import Network
    from ...engine.trace import Trace


def grid_shape(n: int, columns: int | None = None) -> tuple[int, int]:
    """(rows, columns) of the grid a layer of n units is drawn in, here and on the studio's page
    (``layer_grid``): F6's 84 as the 12x7 bitmap of the RBF prototypes (Figure 3), the ten
    outputs as one row (a cell per class, in order), else near square, with a divisor of n for
    the columns when one is near so that no cell is empty (C5's 120 as 10x12). With
    ``columns``, rows of that many."""
    if columns is None:
        if n == BITMAP_ROWS * BITMAP_COLUMNS:
            return BITMAP_ROWS, BITMAP_COLUMNS
        if n <= ONE_ROW:
            return 1, max(n, 1)
        columns = math.ceil(math.sqrt(n))
        while columns < n and n % columns:  # a divisor when one is near, so no cell is empty
            columns += 1
            if columns > 2 * math.sqrt(n):
                columns = math.ceil(math.sqrt(n))
                break
    return math.ceil(n / columns), columns


#: Up to this many units (the ten classes of the output) are drawn as one row.
ONE_ROW = 10


def is_maps(shape: tuple[int, ...]) -> bool:
    """Whether a layer of this shape (without the batch) is drawn map by map: maps of more than
    one unit (C1 ... S4, the input), not C5's 120 maps of 1x1 nor a vector."""
    return len(shape) == 3 and shape[1] * shape[2] > 1


def layer_grid(shape: tuple[int, ...]) -> tuple[int, int] | None:
    """The grid (rows, columns) a layer of this output shape is drawn in, its units row-major;
    None for a layer of maps, each drawn as the map it is (``is_maps``). The studio's page
    draws with it too (its bundle carries it for every layer)."""
    return None if is_maps(shape) else grid_shape(math.prod(shape))


def _as_grid(values: np.ndarray, columns: int | None = None) -> np.ndarray:
    """A vector as a 2-D grid (row-major); cells past the end are NaN (drawn blank)."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    rows, cols = grid_shape(values.size, columns)
    grid = np.full(rows * cols, np.nan)
    grid[: values.size] = values
    return grid.reshape(rows, cols)


def state_limit(values: np.ndarray, activation: str | None) -> float:
    """The colour scale's half-range for a layer's states: the range of the squashing function,
    +-1.7159, after the paper's f (so every layer of the paper's network shares one scale and
    saturation shows), else the states' largest magnitude."""
    if activation == "scaled_tanh":
        return SQUASH_A
    largest = float(np.nanmax(np.abs(values))) if np.size(values) else 0.0
    return largest if math.isfinite(largest) and largest > 0 else 1.0


def _activation(net: Network, name: str) -> str | None:
    layer = {layer.name: layer for layer in net.layers}.get(name)
    return getattr(layer, "activation", None)


def _prototypes_of(net: Network) -> np.ndarray:
    """The RBF output layer's fixed prototypes (classes, features)."""
    output = net.layers[-1]
    assert isinstance(output, RBFOutput)
    return np.asarray(output.prototypes)


def _single_image(net: Network, image: ArrayLike) -> dict[str, np.ndarray]:
    trace = net.trace(image)
    if trace["input"].shape[0] != 1:
        raise ValueError(f"image must be one image, got a batch of {trace['input'].shape[0]}")
    return {name: arr[0] for name, arr in trace.items()}


def _shape_text(shape: tuple[int, ...]) -> str:
    """(6, 28, 28) -> '6 @ 28x28', as the paper writes layer sizes; (84,) -> '84'."""
    if len(shape) == 3:
        return f"{shape[0]} @ {shape[1]}x{shape[2]}"
    return " x ".join(map(str, shape))


def _check_label(label: Any, classes: int) -> int | None:
    """The true class `label` as an int (None when not given); ValueError unless it is an
    integer from 0 to classes - 1, the network's output size."""
    if label is None:
        return None
    try:
        value = None if isinstance(label, (bool, np.bool_)) else operator.index(label)
    except TypeError:
        value = None
    if value is None or not 0 <= value < classes:
        raise ValueError(
            f"label must be a class from 0 to {classes - 1} (the network has "
            f"{classes} outputs), got {label if value is None else value!r}"
        )
    return value


def _output_scores(net: Network, out: np.ndarray) -> tuple[bool, np.ndarray, int]:
    """(RBF?, what to draw, predicted class): RBF penalties as they are, logits as softmax
    probabilities."""
    rbf = isinstance(net.layers[-1], RBFOutput)
    predicted = int(net.classify(out[None])[0])
    if rbf:
        return True, out.astype(np.float64), predicted
    return False, softmax(out.astype(np.float64)), predicted


def _trace_sample(
    trace: Trace, sample: int, label: int | None
) -> tuple[Network, dict[str, np.ndarray], int | None]:
    """The network, one image's states and its label, from a trace."""
    net = getattr(trace, "network", None)
    if net is None or "input" not in trace:
        raise TypeError(f"trace must be what net.trace(x) returns, got {type(trace).__name__}")
    n = trace["input"].shape[0]
    try:
        index = None if isinstance(sample, (bool, np.bool_)) else operator.index(sample)
    except TypeError:
        index = None
    if index is None or not -n <= index < n:
        raise ValueError(f"sample must be an image of the trace, 0 to {n - 1}, got {sample!r}")
    if label is None and trace.labels is not None:
        label = int(trace.labels[index])
    states = {name: arr[index] for name, arr in trace.items() if not name.endswith(".a")}
    return net, states, label
