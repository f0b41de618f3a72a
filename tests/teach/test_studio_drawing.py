"""The studio's preprocessing of a drawing: MNIST's 20x20 box and centre of mass in 28x28, then
the paper's 32x32 input (lenet.teach.studio.drawing)."""

from __future__ import annotations

import numpy as np
import pytest

from lenet.engine.inputs import preprocess
from lenet.teach.studio.drawing import (
    BOX,
    FIELD,
    MAX_SIDE,
    PAD,
    PEN,
    DrawingError,
    check_input,
    normalise,
    stroke,
)


def blob(size, top, left, height, width, value=255.0):
    image = np.zeros((size, size))
    image[top : top + height, left : left + width] = value
    return image


@pytest.mark.parametrize(
    "size, top, left, height, width",
    [(28, 3, 4, 10, 6), (112, 10, 60, 80, 20), (112, 0, 0, 112, 112), (280, 100, 30, 40, 200),
     (50, 20, 20, 1, 1), (512, 7, 300, 500, 33)],
)  # fmt: skip
def test_the_ink_fills_a_20x20_box_keeping_its_aspect(size, top, left, height, width):
    steps = normalise(blob(size, top, left, height, width))
    assert steps["box"].shape == (height, width)
    rows, cols = steps["resized"].shape
    longer = max(height, width)
    assert max(rows, cols) == BOX  # the longer side fills the box, the other is in proportion
    assert abs(rows - max(1, BOX * height / longer)) <= 0.5
    assert abs(cols - max(1, BOX * width / longer)) <= 0.5
    centred = steps["centred"]
    assert centred.shape == (FIELD, FIELD) and centred.dtype == np.uint8
    assert abs(int(centred.sum()) - round(steps["resized"].sum())) <= rows * cols / 2


@pytest.mark.parametrize("top, left", [(0, 0), (40, 70), (90, 5)])
def test_the_centre_of_mass_lands_in_the_middle(top, left):
    rng = np.random.default_rng(top + left)
    image = np.zeros((112, 112))
    image[top : top + 20, left : left + 20] = rng.uniform(10, 255, (20, 20))
    centred = normalise(image)["centred"].astype(np.float64)
    r = (centred.sum(axis=1) @ np.arange(FIELD)) / centred.sum()
    c = (centred.sum(axis=0) @ np.arange(FIELD)) / centred.sum()
    assert abs(r - 13.5) <= 0.6 and abs(c - 13.5) <= 0.6  # a whole-pixel shift, plus rounding


def test_the_input_is_the_papers_preprocessing_of_the_field():
    steps = normalise(blob(100, 10, 30, 70, 25, 200.0))
    np.testing.assert_array_equal(steps["input"], preprocess(steps["centred"][None])[0, 0])
    assert steps["input"].shape == (32, 32)
    assert steps["input"].min() == pytest.approx(-0.1)


def test_where_the_drawing_is_does_not_matter():
    a = normalise(blob(112, 5, 5, 50, 30))["centred"]
    b = normalise(blob(112, 50, 70, 50, 30))["centred"]
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "drawing, message",
    [
        (np.zeros((112, 112)), "the drawing is empty"),
        (np.full((27, 27), 255.0), "28x28 to 512x512"),
        (np.full((MAX_SIDE + 1, 40), 255.0), "got 513x40"),
        (blob(40, 1, 1, 5, 5, 256.0), "grey levels 0..255, got 0 .. 256"),
        (blob(40, 1, 1, 5, 5, -3.0), "got -3 .. 0"),
        ([[1, 2], [3]], "all rows of the same length"),
        ([[[1.0]]], "must be 2-D"),
        ("a digit", "must be a list of rows"),
        ([[float("nan")] * 30] * 30, "not finite"),
    ],
)
def test_bad_drawings_are_refused_saying_why(drawing, message):
    value = drawing.tolist() if isinstance(drawing, np.ndarray) else drawing
    with pytest.raises(DrawingError, match=message.replace("(", r"\(").replace(".", r"\.")):
        normalise(value)


def test_a_preprocessed_input_is_checked():
    x = np.full((32, 32), -0.1)
    np.testing.assert_array_equal(check_input(x.tolist()), x)
    with pytest.raises(DrawingError, match="must be 32x32, got 28x28"):
        check_input(np.zeros((28, 28)).tolist())
    with pytest.raises(DrawingError, match=r"-0\.1 \.\. 1\.175 .*got -0\.1 \.\. 255"):
        check_input(np.where(np.eye(32) > 0, 255.0, -0.1).tolist())


def test_a_stroke_is_the_pages_pen_on_its_pad():
    """A straight stroke as the page sends it: 112x112, the pen 7.2 pixels wide (18 of the pad's
    280), round ends, grey edges; made MNIST-like, a horizontal one is a 20-pixel bar."""
    line = stroke((56.0, 20.0), (56.0, 90.0))
    assert line.shape == (PAD, PAD) and line.dtype == np.uint8 and PEN == 7.2
    inked_rows = np.flatnonzero(line.max(axis=1))
    assert inked_rows.tolist() == list(range(52, 60))  # 56 +- 3.6: rows 52 .. 59, edges grey
    assert line[56, 20:91].min() == 255 and 0 < line[52, 50] < 255
    columns = np.flatnonzero(line.max(axis=0))
    assert columns[0] == 16 and columns[-1] == 93  # the round ends reach 3.6 beyond
    assert line[52, 16] == 0  # a round end, not a square one
    assert np.array_equal(line, stroke((56.0, 90.0), (56.0, 20.0)))  # either direction
    dot = stroke((30.0, 30.0), (30.0, 30.0))  # a tap: a round dot
    assert 0 < np.count_nonzero(dot) < 8 * 8 and dot[30, 30] == 255
    centred = normalise(line)["centred"]
    assert np.count_nonzero(centred.max(axis=0)) == BOX
