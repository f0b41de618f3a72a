"""Plain NumPy version of csrc/drawing.c: a drawing made the way MNIST's digits were made.

Section III.A of LeCun, Bottou, Bengio and Haffner (1998): MNIST's digits were size-normalised
to fit a 20x20 box keeping their aspect ratio (the resampling makes grey levels at the edges of
the strokes), then centred in a 28x28 field by their centre of mass. ``drawing_to_field`` takes
those steps the way the studio took them before they moved to the C core, and is now the test
oracle of ``lenet_drawing_to_field`` (``lenet.engine._core.drawing_to_field``), with the same
arguments and results. Like ``lenet.reference`` it validates nothing beyond what the formulas
need.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "area_matrix",
    "area_overlaps",
    "drawing_to_field",
    "drawing_to_field_exact",
    "resample",
]


def area_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in): output pixel i averages the input pixels under [i, i + 1) * n_in / n_out,
    each weighted by how much of it lies there (area averaging, the anti-aliasing)."""
    edges = np.arange(n_out + 1) * (n_in / n_out)
    lo, hi = edges[:-1, None], edges[1:, None]
    j = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(hi, j + 1) - np.maximum(lo, j), 0.0, None)
    return overlap / overlap.sum(axis=1, keepdims=True)


def resample(image: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """`image` resampled by area averaging to rows x cols."""
    return area_matrix(image.shape[0], rows) @ image @ area_matrix(image.shape[1], cols).T


def drawing_to_field(
    drawn: ArrayLike, threshold: int = 8, box: int = 20, field: int = 28
) -> tuple[np.ndarray, tuple[int, int, int, int], np.ndarray] | None:
    """(centred, (top, left, bottom, right), resized) for a drawing of grey levels 0..255:

    * the ink's box: the rows and columns holding a pixel above `threshold` (bottom and right
      one past the last);
    * ``resized``: that box resampled (``resample``) so that its longer side is `box` pixels
      and the other ``round(box * side / longer)`` (half to even), at least one; clipped to
      0..255;
    * ``centred``: a `field` x `field` uint8 field, zero, with ``resized`` rounded (half to
      even) placed so that its centre of mass falls on the field's centre (the nearest whole
      pixel, inside the field).

    None when no pixel is above the threshold.
    """
    drawn = np.asarray(drawn, dtype=np.float64)
    ink = np.argwhere(drawn > threshold)
    if len(ink) == 0:
        return None
    (top, left), (bottom, right) = ink.min(axis=0), ink.max(axis=0) + 1
    ink_box = drawn[top:bottom, left:right]
    longer = max(ink_box.shape)
    size = [max(1, round(box * side / longer)) for side in ink_box.shape]
    resized = np.clip(resample(ink_box, *size), 0, 255)

    mass = resized.sum()
    r_com = (resized.sum(axis=1) @ np.arange(size[0])) / mass
    c_com = (resized.sum(axis=0) @ np.arange(size[1])) / mass
    centre = (field - 1) / 2
    r0 = int(np.clip(round(centre - r_com), 0, field - size[0]))
    c0 = int(np.clip(round(centre - c_com), 0, field - size[1]))
    centred = np.zeros((field, field), np.uint8)
    centred[r0 : r0 + size[0], c0 : c0 + size[1]] = np.rint(resized).astype(np.uint8)
    return centred, (int(top), int(left), int(bottom), int(right)), resized


def area_overlaps(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) int64: how much of input pixel j lies under output pixel k, in units of
    1/n_out of a pixel: the overlap of [k n_in, (k + 1) n_in) with [j n_out, (j + 1) n_out).
    Each row sums to n_in, so ``area_overlaps(n_in, n_out) / n_in`` is ``area_matrix``'s exact
    value."""
    k = np.arange(n_out, dtype=np.int64)[:, None]
    j = np.arange(n_in, dtype=np.int64)[None, :]
    lo = np.maximum(k * n_in, j * n_out)
    hi = np.minimum((k + 1) * n_in, (j + 1) * n_out)
    return np.clip(hi - lo, 0, None)


def _round_half_even(num: np.ndarray | int, den: int) -> np.ndarray:
    """num / den (den > 0) rounded to the nearest whole number, ties to even, in integers."""
    quotient, remainder = np.divmod(np.asarray(num, dtype=np.int64), den)
    up = (2 * remainder > den) | ((2 * remainder == den) & (quotient % 2 == 1))
    return quotient + up


def drawing_to_field_exact(
    drawn: ArrayLike, threshold: int = 8, box: int = 20, field: int = 28
) -> tuple[np.ndarray, tuple[int, int, int, int], np.ndarray] | None:
    """``drawing_to_field`` for a drawing of whole grey levels, in whole numbers: exact.

    An output pixel is N / (h w) for the h x w box, N the sum of its row overlap times its
    column overlap times the grey level (``area_overlaps``); the centre of mass is a ratio of
    sums of N. Each rounding (the grey levels, the placement) is then done once, on the exact
    ratio, half to even. ``drawing_to_field`` computes the same in float64 with NumPy's matrix
    products, which round at each step: where the exact value is a tie (a grey level of x.5, a
    centre of mass on a half pixel) its result goes either way, and differs from one BLAS to
    another. ``resized`` is N / (h w) rounded once to float64.
    """
    drawn = np.asarray(drawn)
    if not np.array_equal(drawn, np.round(drawn)):
        raise ValueError("drawing_to_field_exact takes whole grey levels")
    ink = np.argwhere(drawn > threshold)
    if len(ink) == 0:
        return None
    (top, left), (bottom, right) = ink.min(axis=0), ink.max(axis=0) + 1
    ink_box = drawn[top:bottom, left:right].astype(np.int64)
    height, width = ink_box.shape
    longer = max(height, width)
    rows, cols = (max(1, round(box * side / longer)) for side in (height, width))
    n = area_overlaps(height, rows) @ ink_box @ area_overlaps(width, cols).T
    scale = height * width

    mass = int(n.sum())
    shifts = []
    for masses, size in ((n.sum(axis=1), rows), (n.sum(axis=0), cols)):
        moment = int(masses @ np.arange(size, dtype=np.int64))
        # (field - 1) / 2 - moment / mass, as one ratio
        at = int(_round_half_even((field - 1) * mass - 2 * moment, 2 * mass))
        shifts.append(min(max(at, 0), field - size))
    r0, c0 = shifts
    centred = np.zeros((field, field), np.uint8)
    centred[r0 : r0 + rows, c0 : c0 + cols] = _round_half_even(n, scale).astype(np.uint8)
    return centred, (int(top), int(left), int(bottom), int(right)), n / scale
