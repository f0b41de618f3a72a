"""A drawing made the way an MNIST digit was made, then the network's input (Section III.A).

MNIST's digits were size-normalised to fit a 20x20 box, keeping their aspect ratio (the
resampling makes grey levels at the edges of the strokes), and then centred in a 28x28 field
by their centre of mass. The paper then pads the 28x28 field to 32x32 with background pixels
and maps the grey levels so that the background is -0.1 and the ink 1.175. A drawing from the
studio's canvas or a camera frame takes the same steps, and each is kept for the page to show:

* ``drawn``: the pixels as received, 0 (background) .. 255 (ink), any size from 28x28 to
  ``MAX_SIDE`` x ``MAX_SIDE``;
* ``box``: the bounding box of the ink (pixels above ``INK_THRESHOLD``);
* ``resized``: that box resampled by area averaging so that its longer side is 20 pixels;
* ``centred``: the 28x28 field (uint8) with the resized box placed so that its centre of
  mass falls on the field's centre (the nearest whole-pixel position, inside the field);
* ``input``: the network's input, ``lenet.engine.inputs.preprocess(centred, scheme)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...engine.inputs import preprocess
from ...paper import INPUT_RANGE as PAPER_INPUT_RANGE

__all__ = [
    "BOX",
    "FIELD",
    "INK_THRESHOLD",
    "MAX_SIDE",
    "PAD",
    "PEN",
    "DrawingError",
    "check_input",
    "normalise",
    "stroke",
]

#: MNIST's box for the digit, and its field (Section III.A)
BOX, FIELD = 20, 28
#: a pixel counts as ink above this grey level (of 255) when the bounding box is found
INK_THRESHOLD = 8
#: the largest side of a drawing accepted (the studio's canvas sends 112 x 112)
MAX_SIDE = 512
#: the page's pad as it sends it (112 x 112) and its pen's width there (18 of its 280 pixels)
PAD, PEN = 112, 18 * 112 / 280
#: the input's range: the paper's preprocessing maps 0..255 to background .. ink
#: (lenet.paper.INPUT_RANGE); a 32x32 input given directly must stay within it (with room for
#: rounding)
INPUT_RANGE = (PAPER_INPUT_RANGE[0] - 1e-3, PAPER_INPUT_RANGE[1] + 1e-3)


class DrawingError(ValueError):
    """A drawing or an input that cannot be read: the message says what was expected."""


def _pixels(value: Any, what: str) -> np.ndarray:
    """A 2-D array of finite numbers from nested lists, or a DrawingError saying why not."""
    if not isinstance(value, (list, np.ndarray)):
        raise DrawingError(f"{what} must be a list of rows of numbers, got {type(value).__name__}")
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise DrawingError(
            f"{what} must be a list of rows of numbers, all rows of the same length"
        ) from None
    if arr.ndim != 2:
        raise DrawingError(f"{what} must be 2-D (rows of pixels), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise DrawingError(f"{what} holds values that are not finite numbers")
    return arr


def _area_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in): output pixel i averages the input pixels under [i, i + 1) * n_in / n_out,
    each weighted by how much of it lies there (area averaging, the anti-aliasing)."""
    edges = np.arange(n_out + 1) * (n_in / n_out)
    lo, hi = edges[:-1, None], edges[1:, None]
    j = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(hi, j + 1) - np.maximum(lo, j), 0.0, None)
    return overlap / overlap.sum(axis=1, keepdims=True)


def _resample(image: np.ndarray, rows: int, cols: int) -> np.ndarray:
    return _area_matrix(image.shape[0], rows) @ image @ _area_matrix(image.shape[1], cols).T


def normalise(drawing: Any, scheme: str = "paper") -> dict[str, np.ndarray]:
    """The steps from a drawing (rows of grey levels, ink 255 on background 0) to the
    network's input (see the module's docstring); raises DrawingError for an empty drawing,
    one of the wrong size, or values outside 0..255."""
    drawn = _pixels(drawing, "image")
    rows, cols = drawn.shape
    if not (FIELD <= rows <= MAX_SIDE and FIELD <= cols <= MAX_SIDE):
        raise DrawingError(
            f"image must be a drawing of {FIELD}x{FIELD} to {MAX_SIDE}x{MAX_SIDE} pixels "
            f"(or a 32x32 input already preprocessed), got {rows}x{cols}"
        )
    if drawn.min() < 0 or drawn.max() > 255:
        raise DrawingError(
            f"a drawing's pixels must be grey levels 0..255, got {drawn.min():g} .. {drawn.max():g}"
        )
    ink = np.argwhere(drawn > INK_THRESHOLD)
    if len(ink) == 0:
        raise DrawingError("the drawing is empty: draw a digit first")
    (top, left), (bottom, right) = ink.min(axis=0), ink.max(axis=0) + 1
    box = drawn[top:bottom, left:right]
    longer = max(box.shape)
    size = [max(1, round(BOX * side / longer)) for side in box.shape]
    resized = np.clip(_resample(box, *size), 0, 255)

    mass = resized.sum()
    r_com = (resized.sum(axis=1) @ np.arange(size[0])) / mass
    c_com = (resized.sum(axis=0) @ np.arange(size[1])) / mass
    centre = (FIELD - 1) / 2
    r0 = int(np.clip(round(centre - r_com), 0, FIELD - size[0]))
    c0 = int(np.clip(round(centre - c_com), 0, FIELD - size[1]))
    centred = np.zeros((FIELD, FIELD), np.uint8)
    centred[r0 : r0 + size[0], c0 : c0 + size[1]] = np.rint(resized).astype(np.uint8)
    return {
        "drawn": drawn,
        "box": box,
        "resized": resized,
        "centred": centred,
        "input": preprocess(centred[None], scheme)[0, 0],
    }


def check_input(value: Any) -> np.ndarray:
    """A 32x32 input already preprocessed the paper's way (``lenet.paper.INPUT_RANGE``), as
    float64."""
    arr = _pixels(value, "image")
    if arr.shape != (32, 32):
        raise DrawingError(f"a preprocessed input must be 32x32, got {arr.shape[0]}x{arr.shape[1]}")
    lo, hi = INPUT_RANGE
    if arr.min() < lo or arr.max() > hi:
        raise DrawingError(
            f"a preprocessed input's values must lie in {PAPER_INPUT_RANGE[0]:g} .. "
            f"{PAPER_INPUT_RANGE[1]:g} (the paper's preprocessing), got {arr.min():.4g} .. "
            f"{arr.max():.4g}"
        )
    return arr


def stroke(start: tuple[float, float], end: tuple[float, float], side: int = PAD) -> np.ndarray:
    """A straight stroke of the page's pen from ``start`` to ``end`` ((row, column) in pixels)
    on an empty pad of ``side`` x ``side``, as the page sends it: ink 255 on background 0,
    round ends, the edges grey (each pixel is the share of its 4x4 sample points under the
    pen)."""
    (r0, c0), (r1, c1) = start, end
    points = (np.arange(4 * side) + 0.5) / 4  # sample points, 4 per pixel each way
    r, c = points[:, None], points[None, :]
    dr, dc = r1 - r0, c1 - c0
    length2 = dr * dr + dc * dc
    along = np.clip(((r - r0) * dr + (c - c0) * dc) / length2, 0, 1) if length2 else 0.0
    under = np.hypot(r - (r0 + along * dr), c - (c0 + along * dc)) <= PEN / 2
    return np.rint(255 * under.reshape(side, 4, side, 4).mean(axis=(1, 3))).astype(np.uint8)
