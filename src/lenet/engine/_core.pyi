"""Type stubs of lenet.engine._core, the checked binding to the C kernels
(src/lenet/engine/_core.pyx and the .pxi files it includes).

Arrays go in as anything NumPy reads (converted and checked by the binding) and come out as
NumPy arrays of the working dtype, float32 or float64.
"""

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

Array = np.ndarray[Any, Any]

ACTIVATIONS: tuple[str, ...]
SUBSAMPLING_MODES: tuple[str, ...]
OPTIMIZER_KINDS: tuple[str, ...]
# the codes of the C enum lenet_layer_kind: a layer description's "kind"
LAYER_CONVOLUTION: int
LAYER_SUBSAMPLING: int
LAYER_FULL_CONNECTION: int
LAYER_RBF: int
LOSS_KINDS: tuple[str, ...]
MAX_LAYERS: int
FORWARD_CHUNK: int
# csrc/drawing.c's bounds: the largest side of a drawing, of a field
DRAWING_MAX_SIDE: int
DRAWING_MAX_FIELD: int

def value_range(arr: Array) -> tuple[float, float, bool]: ...
def openmp_enabled() -> bool: ...
def flushes_denormals() -> bool: ...
def dispatched() -> bool: ...
def max_threads() -> int: ...
def set_num_threads(n: int) -> None: ...
def get_num_threads() -> int: ...
def conv_forward(
    x: ArrayLike,
    weight: ArrayLike,
    bias: ArrayLike,
    connection_table: ArrayLike | None = ...,
    padding: int = ...,
) -> Array: ...
def conv_backward(
    x: ArrayLike,
    weight: ArrayLike,
    d_out: ArrayLike,
    connection_table: ArrayLike | None = ...,
    padding: int = ...,
    *,
    need_input_grad: bool = ...,
    d_weight: Array | None = ...,
    d_bias: Array | None = ...,
) -> tuple[Any, Array, Array]: ...  # d_x is None without need_input_grad
def sources_table(sources: Sequence[int] | None, in_maps: int) -> Any: ...  # uint8 or None
def subsample_forward(
    x: ArrayLike,
    coefficient: ArrayLike | None = ...,
    bias: ArrayLike | None = ...,
    mode: str = ...,
    sources: Sequence[int] | None = ...,
) -> Array: ...
def subsample_backward(
    x: ArrayLike,
    d_out: ArrayLike,
    coefficient: ArrayLike | None = ...,
    mode: str = ...,
    sources: Sequence[int] | None = ...,
    *,
    d_coefficient: Array | None = ...,
    d_bias: Array | None = ...,
) -> tuple[Array, Any, Any]: ...  # None but in the paper mode
def dense_forward(x: ArrayLike, weight: ArrayLike, bias: ArrayLike) -> Array: ...
def dense_backward(
    x: ArrayLike,
    weight: ArrayLike,
    d_out: ArrayLike,
    *,
    need_input_grad: bool = ...,
    d_weight: Array | None = ...,
    d_bias: Array | None = ...,
) -> tuple[Any, Array, Array]: ...  # d_x is None without need_input_grad
def activation_forward(a: ArrayLike, kind: str) -> Array: ...
def activation_derivative(a: ArrayLike, kind: str) -> Array: ...
def activation_backward(
    a: ArrayLike, d_x: ArrayLike, kind: str, y: ArrayLike | None = None
) -> Array: ...
def rbf_forward(x: ArrayLike, prototypes: ArrayLike) -> Array: ...
def rbf_backward(x: ArrayLike, prototypes: ArrayLike, d_out: ArrayLike) -> Array: ...
def loss_rbf_penalty(out: ArrayLike, labels: ArrayLike) -> tuple[float, Array]: ...
def loss_rbf_discriminative(out: ArrayLike, labels: ArrayLike, j: float) -> tuple[float, Array]: ...
def loss_softmax_cross_entropy(out: ArrayLike, labels: ArrayLike) -> tuple[float, Array]: ...
def real_in(
    name: str, value: Any, low: float, high: float, low_open: bool = ..., high_open: bool = ...
) -> float: ...
def optimizer_step(optimizer: dict[str, Any], params: Array, grads: Array) -> int: ...
def network_plan(spec: list[dict[str, Any]], params: Array) -> object: ...
def network_forward(
    spec: list[dict[str, Any]] | object,
    params: Array,
    x: ArrayLike,
    batch_size: int = ...,
    lut: ArrayLike | None = ...,
    pad: int = ...,
) -> Array: ...
def network_train(
    spec: list[dict[str, Any]] | object,
    params: Array,
    grads: Array,
    optimizer: dict[str, Any],
    images: ArrayLike,
    labels: ArrayLike,
    order: ArrayLike,
    batch_size: int,
    loss: str = ...,
    j: float = ...,
    workspace: Array | None = ...,
    loss_sum: float = ...,
    lut: ArrayLike | None = ...,
    pad: int = ...,
) -> tuple[int, float, int, bool, int]: ...  # (steps, loss_sum, errors, diverged, updates)
def network_workspace(
    spec: list[dict[str, Any]] | object, params: Array, batch_size: int
) -> Array: ...
def network_layout(
    spec: list[dict[str, Any]] | object, params: Array, n: int
) -> tuple[tuple[int, ...], tuple[int, ...]]: ...  # (x_at, a_at)
def network_trace(
    spec: list[dict[str, Any]] | object,
    params: Array,
    x: ArrayLike,
    lut: ArrayLike | None = ...,
    pad: int = ...,
) -> Array: ...
def network_gradients(
    spec: list[dict[str, Any]] | object,
    params: Array,
    grads: Array,
    x: ArrayLike,
    labels: ArrayLike,
    loss: str = ...,
    j: float = ...,
    lut: ArrayLike | None = ...,
    pad: int = ...,
) -> tuple[float, Array, Array]: ...  # (loss, workspace, d_workspace)
def network_curvature(
    spec: list[dict[str, Any]] | object,
    params: Array,
    curvature: Array,
    x: ArrayLike,
    labels: ArrayLike,
    h_out: ArrayLike | None = ...,
    lut: ArrayLike | None = ...,
    pad: int = ...,
) -> Array: ...
def sdlm_step_sizes(
    curvature: Array, mask: Array, lr: float, mu: float, step_sizes: Array
) -> Array: ...
def drawing_to_field(
    drawn: ArrayLike, threshold: int = ..., box: int = ..., field: int = ...
) -> tuple[Array, tuple[int, int, int, int], Array] | None: ...  # (centred, box, resized)
