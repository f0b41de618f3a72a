"""The pictures for a terminal without a display, drawn with characters (NumPy alone):
``as_text`` for any 2-D array, ``feature_maps_text`` and ``trace_text`` for one digit's states.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from ...paper import BITMAP_COLUMNS, BITMAP_ROWS
from .states import (
    _activation,
    _as_grid,
    _check_label,
    _output_scores,
    _prototypes_of,
    _shape_text,
    _single_image,
    _trace_sample,
    is_maps,
    state_limit,
)

if TYPE_CHECKING:
    from ...engine.network import Network
    from ...engine.trace import Trace


#: Characters from the lowest value to the highest, for ``as_text``.
RAMP = " .:-=+*#%@"


def _resample(a: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """a averaged over a rows x cols grid of blocks (each output cell the mean of the input
    cells whose centres fall in it; the nearest one when none does)."""
    h, w = a.shape

    def bins(n: int, m: int) -> np.ndarray:
        centres = (np.arange(n) + 0.5) * m / n
        return np.minimum(centres.astype(int), m - 1)

    out = np.full((rows, cols), np.nan)
    rb, cb = bins(h, rows), bins(w, cols)
    sums = np.zeros((rows, cols))
    counts = np.zeros((rows, cols))
    np.add.at(sums, (rb[:, None], cb[None, :]), a)
    np.add.at(counts, (rb[:, None], cb[None, :]), 1)
    filled = counts > 0
    out[filled] = sums[filled] / counts[filled]
    if not filled.all():  # magnified: fill from the nearest input cell
        ri = np.minimum(((np.arange(rows) + 0.5) * h / rows).astype(int), h - 1)
        ci = np.minimum(((np.arange(cols) + 0.5) * w / cols).astype(int), w - 1)
        out[~filled] = a[np.ix_(ri, ci)][~filled]
    return out


def as_text(
    array2d: ArrayLike,
    width: int | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    ramp: str = RAMP,
) -> str:
    """A 2-D array drawn with characters, low values as ``ramp[0]`` (with ``RAMP``, a space) to
    high ones as ``ramp[-1]``, linearly between `vmin` and `vmax` (default: the array's min and
    max).

    `width` is the number of characters per line (default two per column); the rows are
    resampled to keep the picture's proportions, a character being about twice as tall as
    wide. Lines are joined with newlines, without a trailing one.
    """
    a = np.asarray(array2d, dtype=np.float64)
    if a.ndim != 2 or not a.size:
        raise ValueError(f"array2d must be a non-empty 2-D array, got shape {a.shape}")
    if not isinstance(ramp, str) or len(ramp) < 2:
        raise ValueError("ramp must be a string of at least two characters")
    h, w = a.shape
    if width is None:
        width = 2 * w
    if isinstance(width, bool) or int(width) != width or width < 1:
        raise ValueError(f"width must be a positive number of characters, got {width!r}")
    rows = max(1, round(h * width / w / 2))
    small = _resample(a, rows, int(width))
    finite = small[np.isfinite(small)]
    lo = vmin if vmin is not None else (float(finite.min()) if finite.size else 0.0)
    hi = vmax if vmax is not None else (float(finite.max()) if finite.size else 1.0)
    scale = (small - lo) / (hi - lo) if hi > lo else np.zeros_like(small)
    index = np.clip(np.nan_to_num(scale, nan=0.0) * len(ramp), 0, len(ramp) - 1).astype(int)
    return "\n".join("".join(ramp[i] for i in line) for line in index)


def _side_by_side(blocks: Sequence[tuple[str, str]], max_width: int, gap: int = 2) -> str:
    """Text blocks (caption, picture) placed left to right, wrapping at max_width columns."""
    lines_out: list[str] = []
    line: list[tuple[str, list[str], int]] = []

    def flush() -> None:
        if not line:
            return
        height = max(len(b) for _, b, _ in line)
        captions = (" " * gap).join(c.ljust(w) for c, _, w in line)
        lines_out.append(captions.rstrip())
        for r in range(height):
            lines_out.append(
                (" " * gap).join((b[r] if r < len(b) else "").ljust(w) for _, b, w in line).rstrip()
            )
        line.clear()

    for caption, text in blocks:
        body = text.split("\n")
        w = max(len(caption), max(len(s) for s in body))
        if line and sum(x[2] for x in line) + gap * len(line) + w > max_width:
            flush()
        line.append((caption, body, w))
    flush()
    return "\n".join(lines_out)


def feature_maps_text(
    net: Network,
    image: ArrayLike,
    label: int | None = None,
    title: str | None = None,
    max_width: int = 80,
) -> str:
    """``feature_maps`` for a terminal: the input digit, small versions of the maps of C1, S2,
    C3 and S4 (each layer on one scale, its own min to max), F6 as its 7x12 bitmap beside the
    predicted class's prototype, and the output scores with the prediction marked, in lines of
    at most `max_width` characters. The first line is `title` (as in ``feature_maps``), the
    label (checked as there) and the prediction."""
    return _maps_text(net, _single_image(net, image), label, title, max_width)


def trace_text(
    trace: Trace,
    sample: int = 0,
    label: int | None = None,
    title: str | None = None,
    max_width: int = 80,
) -> str:
    """``feature_maps_text`` for a trace that ``net.trace(x)`` returned: its states for image
    ``sample``, as ``trace_figure`` draws them; needs only NumPy."""
    net, states, label = _trace_sample(trace, sample, label)
    return _maps_text(net, states, label, title, max_width)


def _maps_text(
    net: Network,
    states: dict[str, np.ndarray],
    label: int | None,
    title: str | None,
    max_width: int,
) -> str:
    names = list(states)
    out_name = names[-1]
    rbf, scores, predicted = _output_scores(net, states[out_name])
    label = _check_label(label, scores.size)
    parts = [
        (title or f"LeNet-5 ({net.variant})")
        + ":"
        + (f" label {label}," if label is not None else "")
        + f" predicted {predicted}",
        "",
    ]
    x = states["input"]
    parts.append(f"input  {_shape_text(x.shape)}")
    parts.append(
        as_text(x[0] if x.shape[0] == 1 else x.mean(axis=0), width=min(2 * x.shape[2], max_width))
    )
    for name in names[1:-1]:
        arr = states[name]
        lo, hi = float(arr.min()), float(arr.max())
        if is_maps(arr.shape):
            n, _, w = arr.shape
            # six maps to a line (C3, S4) or three (C1, S2): sizes that keep a digit's shape
            per_line = 6 if n > 8 else 3
            chars = max(4, min(2 * w, (max_width - 2 * (per_line - 1)) // per_line))
            parts += ["", f"{name}  {_shape_text(arr.shape)}"]
            parts.append(
                _side_by_side(
                    [(str(k), as_text(arr[k], chars, lo, hi)) for k in range(n)], max_width
                )
            )
        elif arr.size == BITMAP_ROWS * BITMAP_COLUMNS:
            bitmap = arr.reshape(BITMAP_ROWS, BITMAP_COLUMNS)
            limit = state_limit(arr, _activation(net, name))  # as in feature_maps
            blocks = [(f"{name}  {arr.size} as 7x12", as_text(bitmap, 14, -limit, limit))]
            if rbf:  # on F6's scale, as feature_maps draws them
                shown = [(predicted, "predicted")] + (
                    [(label, "true")] if label is not None and label != predicted else []
                )
                for which, whose in shown:
                    proto = _prototypes_of(net)[which]
                    blocks.append(
                        (
                            f"prototype {which} ({whose})",
                            as_text(proto.reshape(BITMAP_ROWS, BITMAP_COLUMNS), 14, -limit, limit),
                        )
                    )
            parts += ["", _side_by_side(blocks, max_width, gap=4)]
        else:
            grid = _as_grid(arr)
            parts += [
                "",
                f"{name}  {_shape_text(arr.shape)} as {grid.shape[0]}x{grid.shape[1]}",
                as_text(grid, 2 * grid.shape[1], lo, hi),
            ]
    parts += [
        "",
        f"{out_name}  "
        + ("RBF penalties (smallest wins)" if rbf else "softmax of the logits (largest wins)"),
    ]
    top = float(scores.max()) or 1.0
    for c, s in enumerate(scores):
        bar = "#" * int(round(30 * s / top))
        mark = ("  <- predicted" if c == predicted else "") + (
            "  <- true" if label is not None and c == label and c != predicted else ""
        )
        parts.append(f"  {c}  {s:9.3f}  {bar}{mark}")
    return "\n".join(line.rstrip() for line in "\n".join(parts).split("\n"))
