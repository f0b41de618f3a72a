"""lenet.teach.viz.states: the grid a layer's units are drawn in (``grid_shape``,
``layer_grid``), which the pictures and the studio's page both draw with; NumPy alone, no
matplotlib."""

from __future__ import annotations

import math

import numpy as np
import pytest

import lenet
from lenet.paper import BITMAP_COLUMNS, BITMAP_ROWS
from lenet.teach import viz
from lenet.teach.viz.states import _as_grid, is_maps


@pytest.mark.parametrize(
    ("n", "grid"),
    [
        (BITMAP_ROWS * BITMAP_COLUMNS, (12, 7)),  # F6: the RBF prototypes' bitmap (Figure 3)
        (120, (10, 12)),  # C5
        (10, (1, 10)),  # the ten outputs, a cell per class
        (1, (1, 1)),
        (16, (4, 4)),
        (13, (4, 4)),  # a prime: near square, the last row part empty
    ],
)
def test_a_layers_grid(n, grid):
    assert viz.grid_shape(n) == grid


@pytest.mark.parametrize("n", range(1, 400))
def test_every_unit_has_a_cell_and_no_row_is_empty(n):
    rows, cols = viz.grid_shape(n)
    assert rows * cols >= n > (rows - 1) * cols
    assert cols <= max(n, 2 * math.sqrt(n) + 1)  # near square: never a long thin strip
    values = np.arange(n, dtype=np.float64)
    drawn = _as_grid(values)
    assert drawn.shape == (rows, cols)
    np.testing.assert_array_equal(drawn.reshape(-1)[:n], values)  # row-major, in order
    assert np.isnan(drawn.reshape(-1)[n:]).all()  # blank past the end


@pytest.mark.parametrize("columns", [1, 3, 7, 12])
def test_given_columns_are_kept(columns):
    assert viz.grid_shape(84, columns) == (math.ceil(84 / columns), columns)


@pytest.mark.parametrize("net", [lenet.LeNet5(), lenet.LeNet5.modern()], ids=["paper", "modern"])
def test_each_layer_is_drawn_map_by_map_or_in_its_grid(net):
    shapes = {layer.name: tuple(shape) for layer, shape in zip(net.layers, net.output_shapes)}
    grids = {name: viz.layer_grid(shape) for name, shape in shapes.items()}
    for name in ("C1", "S2", "C3", "S4"):
        assert grids[name] is None and is_maps(shapes[name])
    assert grids["C5"] == (10, 12) and grids["F6"] == (12, 7) and grids["output"] == (1, 10)
