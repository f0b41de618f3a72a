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

The box, the resampling and the centring are the C core's ``lenet_drawing_to_field``
(``csrc/drawing.c``), the one implementation the page calls too, through WebAssembly. For whole
grey levels (what a canvas sends) it computes them exactly: a grey level of exactly x.5, or a
centre of mass exactly between two pixels, rounds half to even. ``lenet.reference_drawing`` holds
its NumPy oracle.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...engine._core import DRAWING_MAX_SIDE, drawing_to_field
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
#: the largest side of a drawing accepted (the studio's canvas sends 112 x 112): the C core's
#: bound, 512
MAX_SIDE = DRAWING_MAX_SIDE
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
    steps = drawing_to_field(drawn, INK_THRESHOLD, BOX, FIELD)
    if steps is None:
        raise DrawingError("the drawing is empty: draw a digit first")
    centred, (top, left, bottom, right), resized = steps
    return {
        "drawn": drawn,
        "box": drawn[top:bottom, left:right],
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
