"""A drawing made MNIST-like in C (csrc/drawing.c, lenet.engine._core.drawing_to_field) against
its two oracles in lenet.reference_drawing:

* ``drawing_to_field_exact``, the same steps in whole numbers: for a drawing of whole grey
  levels the C core must give its field, box and resampled box bit for bit;
* ``drawing_to_field``, the NumPy code the studio ran before: the same box, the resampled box
  to 1e-9, and the same field except where the exact value is a rounding tie (a grey level of
  x.5, a centre of mass on a half pixel), which NumPy's matrix products, rounding at each step,
  send either way (and differently from one BLAS kernel to another).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lenet.data import load_mnist
from lenet.engine._core import DRAWING_MAX_SIDE, drawing_to_field
from lenet.reference_drawing import area_matrix, area_overlaps
from lenet.reference_drawing import drawing_to_field as numpy_field
from lenet.reference_drawing import drawing_to_field_exact as exact_field

from conftest import MNIST as REAL_MNIST
from conftest import needs_mnist
from properties import budget

FIELD, BOX, THRESHOLD = 28, 20, 8
#: how close to x.5 a value of the NumPy reference must be to count as a tie
TIE = 1e-9


def near_tie(x: np.ndarray | float) -> np.ndarray:
    return np.abs(np.asarray(x) - np.floor(x) - 0.5) < TIE


def placements(field: np.ndarray, grey: np.ndarray) -> set[tuple[int, int]]:
    """Every (r0, c0) where `field` is `grey` placed on zeros."""
    rows, cols = grey.shape
    found = set()
    for r0 in range(FIELD - rows + 1):
        for c0 in range(FIELD - cols + 1):
            rest = field.copy()
            if np.array_equal(rest[r0 : r0 + rows, c0 : c0 + cols], grey):
                rest[r0 : r0 + rows, c0 : c0 + cols] = 0
                if not rest.any():
                    found.add((r0, c0))
    return found


def centre_of_mass_ties(resized: np.ndarray) -> bool:
    """Whether the reference's shift of the box, (field - 1) / 2 - centre of mass, lies within
    TIE of a half pixel along either axis."""
    mass = resized.sum()
    shifts = [
        (FIELD - 1) / 2 - (sums @ np.arange(len(sums))) / mass
        for sums in (resized.sum(axis=1), resized.sum(axis=0))
    ]
    return any(near_tie(s) for s in shifts)


def check(drawn: np.ndarray, exact: bool = True) -> str:
    """The C core against the oracles; returns how its field compares with NumPy's: "same",
    "grey tie" or "centre tie"."""
    ours = drawing_to_field(drawn, THRESHOLD, BOX, FIELD)
    theirs = numpy_field(drawn, THRESHOLD, BOX, FIELD)
    if exact:
        whole = exact_field(drawn, THRESHOLD, BOX, FIELD)
        assert (ours is None) == (whole is None)
        if ours is not None and whole is not None:
            np.testing.assert_array_equal(ours[0], whole[0])
            assert ours[1] == whole[1]
            np.testing.assert_array_equal(ours[2], whole[2])  # bit for bit
    assert (ours is None) == (theirs is None)
    if ours is None or theirs is None:
        return "same"
    (field, box, resized), (their_field, their_box, their_resized) = ours, theirs
    assert box == their_box
    assert resized.shape == their_resized.shape
    np.testing.assert_allclose(resized, their_resized, rtol=0, atol=TIE)
    if np.array_equal(field, their_field):
        return "same"
    # the grey levels differ only at ties, by one
    grey, their_grey = np.rint(resized), np.rint(their_resized)
    differ = grey != their_grey
    assert np.all(near_tie(their_resized)[differ]) and np.all(np.abs(grey - their_grey) <= 1)
    # and the boxes sit at the same place, or the reference's centre of mass is at a tie
    ours_at = placements(field, grey.astype(np.uint8))
    theirs_at = placements(their_field, their_grey.astype(np.uint8))
    assert ours_at and theirs_at
    if ours_at & theirs_at:
        return "grey tie"
    assert centre_of_mass_ties(their_resized)
    return "centre tie"


def blank(rows: int, cols: int) -> np.ndarray:
    return np.zeros((rows, cols))


def stroke(rows: int, cols: int, points: list[tuple[float, float]], width: float) -> np.ndarray:
    """A pen stroke of `width` (radius in pixels) through `points`, anti-aliased: each pixel's
    grey level is how much of it the pen covers, sampled 4x4, as whole grey levels."""
    y, x = np.mgrid[0 : rows * 4, 0 : cols * 4] / 4 + 0.125
    ink = np.zeros(y.shape, bool)
    for (y0, x0), (y1, x1) in zip(points[:-1], points[1:]):
        for t in np.linspace(0, 1, 40):
            cy, cx = y0 + t * (y1 - y0), x0 + t * (x1 - x0)
            ink |= (y - cy) ** 2 + (x - cx) ** 2 <= width**2
    return np.rint(ink.reshape(rows, 4, cols, 4).mean(axis=(1, 3)) * 255)


def shapes() -> dict[str, np.ndarray]:
    out = {}
    for side in (28, 29, 56, 112, 280, 511, 512):
        d = blank(side, side)
        d[side // 3, side // 2] = 255
        out[f"dot {side}"] = d
    out["dot in a corner"] = blank(112, 112)
    out["dot in a corner"][111, 0] = 255
    out["thin stroke 112"] = stroke(112, 112, [(20, 30), (90, 70), (60, 20)], 1.5)
    out["thick stroke 112"] = stroke(112, 112, [(20, 30), (90, 70), (60, 20)], 9)
    out["thick stroke 280x60"] = stroke(280, 60, [(10, 10), (270, 50)], 6)
    for length in (2, 3, 19, 20, 21, 39, 40, 41, 60, 111, 112):
        d = blank(112, 112)
        d[50, 0:length] = 255
        out[f"horizontal line {length}"] = d
        out[f"vertical line {length}"] = d.T.copy()
    out["diagonal"] = np.eye(200) * 255
    for h, w in ((3, 100), (100, 3), (7, 300), (500, 9), (21, 20), (20, 21), (63, 9), (9, 63)):
        d = blank(max(h + 10, 28), max(w + 10, 28))
        d[5 : 5 + h, 3 : 3 + w] = 200
        out[f"box {h}x{w}"] = d
    out["whole field 28"] = np.full((28, 28), 255.0)
    out["whole field 512x28"] = np.full((512, 28), 255.0)
    rng = np.random.default_rng(5)
    for rows, cols in ((28, 512), (512, 512), (300, 41), (33, 47)):
        out[f"noise {rows}x{cols}"] = np.rint(rng.uniform(0, 255, (rows, cols)))
    d = blank(60, 60)
    d[10:20, 10:30] = THRESHOLD  # at the threshold: not ink
    d[40:45, 40:42] = THRESHOLD + 1
    out["at the threshold"] = d
    return out


SHAPES = shapes()


@pytest.mark.parametrize("name", list(SHAPES))
def test_shapes_strokes_dots_lines_against_the_oracles(name):
    check(SHAPES[name])


def test_at_the_threshold_is_background():
    d = SHAPES["at the threshold"]
    _, box, resized = drawing_to_field(d)
    assert box == (40, 40, 45, 42) and resized.shape == (20, 8)
    d = blank(40, 40)
    d[3, 4] = THRESHOLD
    assert drawing_to_field(d) is None and check(d) == "same"
    d[3, 4] = np.nextafter(THRESHOLD, 9)  # just above: ink
    assert drawing_to_field(d)[1] == (3, 4, 4, 5)
    check(d, exact=False)


@pytest.mark.parametrize(
    "rows, cols, top, left, height, width",
    [(112, 112, 10, 60, 80, 20), (512, 512, 7, 300, 500, 33), (40, 500, 0, 0, 40, 500)],
)  # fmt: skip
def test_a_rectangle_of_ink_is_resampled_as_the_area_matrix_says(
    rows, cols, top, left, height, width
):
    d = blank(rows, cols)
    d[top : top + height, left : left + width] = (
        np.arange(height * width).reshape(height, width) % 256
    )
    d[top, left] = d[top + height - 1, left + width - 1] = 255  # the box's corners are ink
    _, box, resized = drawing_to_field(d)
    assert box == (top, left, top + height, left + width)
    out_rows, out_cols = resized.shape
    expected = area_matrix(height, out_rows) @ d[top : top + height, left : left + width]
    expected = expected @ area_matrix(width, out_cols).T
    np.testing.assert_allclose(resized, expected, rtol=0, atol=1e-9)
    # the exact weights are whole overlaps over the side (area_overlaps), each row summing to it
    assert np.all(area_overlaps(height, out_rows).sum(axis=1) == height)


def test_fractional_grey_levels_agree_with_numpy():
    rng = np.random.default_rng(3)
    for _ in range(30):
        d = rng.uniform(0, 255, (int(rng.integers(28, 200)), int(rng.integers(28, 200))))
        d[rng.random(d.shape) < 0.7] = 0
        check(d, exact=False)


@needs_mnist
def test_the_mnist_test_digits_drawn_at_the_pages_size():
    """The 10,000 test digits scaled up 4x to 112x112 (the page's canvas), and 1,000 of them
    anti-aliased at random non-square sizes, as whole grey levels."""
    _, (x_test, _) = load_mnist(REAL_MNIST, download=False)
    for digit in x_test:  # NumPy's field differs at a tie for 1 of them (OpenBLAS, Haswell)
        check(np.kron(digit, np.ones((4, 4))).astype(np.float64))
    rng = np.random.default_rng(0)
    for digit in x_test[:1000]:
        rows, cols = int(rng.integers(28, DRAWING_MAX_SIDE + 1)), int(rng.integers(28, 300))
        big = digit[np.ix_(np.arange(rows) * 28 // rows, np.arange(cols) * 28 // cols)]
        padded = np.pad(big.astype(np.int64), 1)
        blur = sum(
            padded[1 + a : 1 + a + rows, 1 + b : 1 + b + cols]
            for a in (-1, 0, 1)
            for b in (-1, 0, 1)
        )
        check(((2 * blur + 9) // 18).astype(np.float64))  # a 3x3 mean, rounded in integers


@st.composite
def drawings(draw, whole: bool = True):
    rows = draw(st.integers(FIELD, DRAWING_MAX_SIDE))
    cols = draw(st.integers(FIELD, DRAWING_MAX_SIDE))
    d = np.zeros((rows, cols))
    for _ in range(draw(st.integers(0, 4))):
        top, left = draw(st.integers(0, rows - 1)), draw(st.integers(0, cols - 1))
        height = draw(st.integers(1, rows - top))
        width = draw(st.integers(1, cols - left))
        grey = draw(st.sampled_from([255.0, 128.0, 9.0, 8.0, 1.0]) | st.integers(0, 255).map(float))
        d[top : top + height, left : left + width] = grey
    if draw(st.booleans()):  # sprinkle single pixels
        seed = draw(st.integers(0, 2**32 - 1))
        rng = np.random.default_rng(seed)
        spots = rng.random(d.shape) < draw(st.sampled_from([0.0005, 0.01, 0.2]))
        d[spots] = rng.integers(0, 256, int(spots.sum()))
    if not whole:
        d = np.where(d > 0, np.clip(d + draw(st.floats(-0.5, 0.5)), 0, 255), 0)
    return d


@budget(0.75)
@given(drawings())
def test_any_drawing_of_whole_grey_levels_is_the_exact_field(d):
    check(d)


@budget(0.3)
@given(drawings(whole=False))
def test_any_drawing_agrees_with_numpy_but_at_ties(d):
    check(d, exact=False)


@pytest.mark.parametrize(
    "drawn, kwargs, message",
    [
        (np.full((30, 30), np.nan), {}, "0 .. 255, got no number and values that are not finite"),
        (np.full((30, 30), 256.0), {}, "0 .. 255, got values from 256 to 256"),
        (np.full((30, 30), -1.0), {}, "got values from -1 to -1"),
        (np.full((27, 40), 255.0), {}, "28x28 to 512x512 pixels, got shape (27, 40)"),
        (np.full((513, 40), 255.0), {}, "got shape (513, 40)"),
        (np.full((30, 30), 255.0), {"box": 29}, "1 <= box <= field <= 64, got box 29, field 28"),
        (np.full((70, 70), 255.0), {"field": 65, "box": 20}, "got box 20, field 65"),
        (np.full((30, 30), 255.0), {"threshold": -1}, "threshold must be at least 0, got -1"),
        (np.full(30, 255.0), {}, "2 dimensions"),
    ],
)
def test_bad_arguments_are_refused_saying_why(drawn, kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        drawing_to_field(drawn, **kwargs)


def test_an_empty_drawing_gives_none_and_other_sizes_work():
    assert drawing_to_field(np.full((40, 40), 8.0)) is None
    d = blank(64, 64)
    d[10:50, 20:30] = 255
    field, box, resized = drawing_to_field(d, threshold=0, box=32, field=64)
    assert field.shape == (64, 64) and box == (10, 20, 50, 30) and resized.shape == (32, 8)
    whole = exact_field(d, threshold=0, box=32, field=64)
    np.testing.assert_array_equal(field, whole[0])
