"""The paper's fixed facts, in one place: every other module takes them from here.

LeCun, Bottou, Bengio and Haffner, "Gradient-Based Learning Applied to Document Recognition"
(Proc. IEEE, 1998):

* the input (Section III.A): 32x32 images, MNIST's 28x28 digits padded by 2 pixels, background
  -0.1 and ink 1.175 (``INPUT_SHAPE``, ``INPUT_RANGE``);
* the squashing function f(a) = A tanh(S a) (Section II.B, Appendix A): ``SQUASH_A``,
  ``SQUASH_S``;
* the initialisation range (Appendix A): uniform in +-2.4/F_i, ``INIT_LIMIT`` = 2.4;
* Table I, which S2 maps feed each C3 map (Section II.B): ``TABLE_I``, ``connection_table_i``;
* the RBF output units' fixed +-1 prototypes (Section II.B, Figure 3): ``DIGIT_BITMAPS``,
  ``rbf_prototypes``;
* the training method (Section III.C, Appendix C): the eta schedule ``ETA_SCHEDULE``, SDLM's
  ``MU`` and the ``CURVATURE_PATTERNS`` its curvature is estimated on, ``PASSES``;
* the results (Section III.C): ``TEST_ERROR`` without and with distortions;
* the other networks of Figure 9: LeNet-1's H3 table ``LENET1_H3`` and its 16x16 digits,
  LeNet-4's S2 pairs and our reading of its C3 (``LENET4_S2_SOURCES``, ``LENET4_C3``), the
  figures' errors, multiply-adds and sizes (``FIGURE9``), boosting's cost (``BOOSTING_COST``).

This module needs NumPy alone (``lenet.reference`` builds on it and so stands on its own too).
Where lenet's default recipe departs from these facts, ``lenet.run.recipes`` says so.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

__all__ = [
    "BITMAP_COLUMNS",
    "BOOSTING_COST",
    "BITMAP_ROWS",
    "CURVATURE_PATTERNS",
    "DIGIT_BITMAPS",
    "ETA_SCHEDULE",
    "FIGURE9",
    "FIGURE9_NAMES",
    "INIT_LIMIT",
    "INPUT_RANGE",
    "INPUT_SHAPE",
    "LAYER_COUNTS",
    "LENET1_DIGIT_SIZE",
    "LENET1_H3",
    "LENET4_C3",
    "LENET4_S2_SOURCES",
    "MNIST_PADDING",
    "MU",
    "PASSES",
    "REJECTION_FOR_HALF_PERCENT",
    "SQUASH_A",
    "SQUASH_S",
    "TABLE_I",
    "TEST_ERROR",
    "connection_table",
    "connection_table_i",
    "parse_bitmap",
    "rbf_prototypes",
]

# ---- the input (Section III.A) -----------------------------------------------------------

#: One image as the network reads it: 1 channel, 32x32.
INPUT_SHAPE = (1, 32, 32)
#: MNIST's 28x28 digits are padded by this many background pixels on each side.
MNIST_PADDING = 2
#: (background, ink): the pixel values 0 and 255 become -0.1 and 1.175.
INPUT_RANGE = (-0.1, 1.175)

# ---- the units (Section II.B, Appendix A) ------------------------------------------------

#: Amplitude A of the paper's squashing function f(a) = A tanh(S a) (Appendix A).
SQUASH_A = 1.7159
#: Slope S of the paper's squashing function; with A = 1.7159, f(1) = 1 and f(-1) = -1.
SQUASH_S = 2.0 / 3.0
#: Appendix A: weights and biases uniform in +-INIT_LIMIT / F_i, F_i the unit's fan-in.
INIT_LIMIT = 2.4

#: Section II.B: each layer's trainable parameters and connections, as the paper counts them
#: (the output's 840 connections are the RBF units' fixed ones; 60,000 and 340,908 in all).
LAYER_COUNTS: dict[str, tuple[int, int]] = {
    "C1": (156, 122_304),
    "S2": (12, 5_880),
    "C3": (1_516, 151_600),
    "S4": (32, 2_000),
    "C5": (48_120, 48_120),
    "F6": (10_164, 10_164),
    "output": (0, 840),
}

#: The paper's Table I: for each of the 16 maps of C3, the S2 maps (0-5) it is connected to.
#: The first six read three contiguous maps, the next six four contiguous maps, the next
#: three four discontinuous maps, and the last all six (Section II.B).
TABLE_I: tuple[tuple[int, ...], ...] = (
    (0, 1, 2),
    (1, 2, 3),
    (2, 3, 4),
    (3, 4, 5),
    (0, 4, 5),
    (0, 1, 5),
    (0, 1, 2, 3),
    (1, 2, 3, 4),
    (2, 3, 4, 5),
    (0, 3, 4, 5),
    (0, 1, 4, 5),
    (0, 1, 2, 5),
    (0, 1, 3, 4),
    (1, 2, 4, 5),
    (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)


def connection_table_i() -> np.ndarray:
    """Table I as a connection table: bool array (16, 6), [c3_map, s2_map] True if connected.

    Rows are the C3 maps: the paper draws Table I the other way round (rows the S2 maps), so
    this is its transpose. A new array is built on every call, so callers may modify it.
    """
    return connection_table(TABLE_I, 6)


# ---- the RBF output units' prototypes (Section II.B, Figure 3) -----------------------------
#
# Each output unit i of LeNet-5 holds a fixed vector of 84 components, each -1 or +1: a
# stylised image of digit i drawn on a 7x12 bitmap (7 columns, 12 rows; 84 = 7 x 12, the size
# of F6). The unit's output is the squared Euclidean distance between the F6 states and this
# bitmap, so training pulls F6's states towards the bitmap of the digit's class. The paper
# prints the bitmaps as pictures, not numbers; the ones below are drawn in the same spirit,
# with ink (#) = +1 and background (.) = -1. The values +-1 lie inside the range of the
# squashing function (+-1.7159), so F6 can reach them without saturating.

BITMAP_ROWS = 12
BITMAP_COLUMNS = 7

DIGIT_BITMAPS: tuple[str, ...] = (
    # 0
    """
    ..###..
    .#...#.
    #.....#
    #.....#
    #.....#
    #.....#
    #.....#
    #.....#
    #.....#
    #.....#
    .#...#.
    ..###..
    """,
    # 1
    """
    ...#...
    ..##...
    .#.#...
    ...#...
    ...#...
    ...#...
    ...#...
    ...#...
    ...#...
    ...#...
    ...#...
    .#####.
    """,
    # 2
    """
    ..###..
    .#...#.
    #.....#
    ......#
    .....#.
    ....#..
    ...#...
    ..#....
    .#.....
    #......
    #......
    #######
    """,
    # 3
    """
    .#####.
    #.....#
    ......#
    ......#
    .....#.
    ..###..
    .....#.
    ......#
    ......#
    ......#
    #.....#
    .#####.
    """,
    # 4
    """
    ....#..
    ...##..
    ..#.#..
    .#..#..
    #...#..
    #...#..
    #######
    ....#..
    ....#..
    ....#..
    ....#..
    ....#..
    """,
    # 5
    """
    #######
    #......
    #......
    #......
    ######.
    ......#
    ......#
    ......#
    ......#
    ......#
    #.....#
    .#####.
    """,
    # 6
    """
    ..####.
    .#.....
    #......
    #......
    #.###..
    ##...#.
    #.....#
    #.....#
    #.....#
    #.....#
    .#...#.
    ..###..
    """,
    # 7
    """
    #######
    ......#
    .....#.
    .....#.
    ....#..
    ....#..
    ...#...
    ...#...
    ..#....
    ..#....
    ..#....
    ..#....
    """,
    # 8
    """
    ..###..
    .#...#.
    #.....#
    #.....#
    .#...#.
    ..###..
    .#...#.
    #.....#
    #.....#
    #.....#
    .#...#.
    ..###..
    """,
    # 9
    """
    ..###..
    .#...#.
    #.....#
    #.....#
    #.....#
    .#...##
    ..###.#
    ......#
    ......#
    .....#.
    ....#..
    .###...
    """,
)


def parse_bitmap(drawing: str) -> np.ndarray:
    """A drawing of '#' (ink, +1) and '.' (background, -1) rows as a (12, 7) float array."""
    rows = [line.strip() for line in drawing.strip().splitlines()]
    if len(rows) != BITMAP_ROWS or any(len(r) != BITMAP_COLUMNS for r in rows):
        raise ValueError(
            f"a prototype bitmap must be {BITMAP_ROWS} rows of {BITMAP_COLUMNS} "
            f"characters, got rows of lengths {[len(r) for r in rows]}"
        )
    if any(ch not in "#." for r in rows for ch in r):
        raise ValueError("a prototype bitmap may hold only '#' (ink) and '.' (background)")
    return np.array([[1.0 if ch == "#" else -1.0 for ch in r] for r in rows])


def rbf_prototypes(dtype: DTypeLike = np.float64) -> np.ndarray:
    """The (10, 84) array of +-1 RBF parameter vectors: row i is digit i's 7x12 bitmap, row-major.

    A new array each call. ``rbf_prototypes()[i].reshape(12, 7)`` shows digit i's bitmap.
    """
    return np.stack([parse_bitmap(d).reshape(-1) for d in DIGIT_BITMAPS]).astype(dtype)


# ---- training and results (Section III.C, Appendix C) ------------------------------------

#: The global learning rate eta for passes 1-20.
ETA_SCHEDULE = (5e-4,) * 2 + (2e-4,) * 3 + (1e-4,) * 3 + (5e-5,) * 4 + (1e-5,) * 8
#: Passes over the training set.
PASSES = 20
#: SDLM's damping: eps_k = eta / (MU + h_kk).
MU = 0.02
#: Training patterns h_kk is re-estimated on before each pass.
CURVATURE_PATTERNS = 500
#: The test error on MNIST: without distortions, and with the 540,000 distorted copies.
TEST_ERROR = {False: 0.0095, True: 0.008}


# ---- the other networks of Figure 9 (Section III.C; Figures 9, 11 and 12) -------------------
#
# Where the paper is silent or inconsistent, lenet.engine.family states the reading taken.

#: LeNet-1's H3 (LeCun et al. 1990, read by Section III.C.7): the H2 maps (0-3) each of the 12
#: H3 maps reads. Two almost independent modules: maps 0-5 read H2 maps 0 and 1, maps 6-11
#: read H2 maps 2 and 3; in each module one map reads only the first map, one only the second,
#: and four read both (20 of 48 links).
LENET1_H3: tuple[tuple[int, ...], ...] = (
    (0,), (0, 1), (0, 1), (1,), (0, 1), (0, 1),
    (2,), (2, 3), (2, 3), (3,), (2, 3), (2, 3),
)  # fmt: skip
#: LeNet-1's digits: down-sampled to 16x16 pixels and centred in a 28x28 input field.
LENET1_DIGIT_SIZE = 16
#: LeNet-4's S2: "8 subsampling maps connected in pairs to each first-layer feature map":
#: the C1 map (0-3) each of the 8 S2 maps reads.
LENET4_S2_SOURCES = (0, 0, 1, 1, 2, 2, 3, 3)
#: LeNet-4's C3: the paper gives no table. Ours: each of the 16 maps reads 3 of the 8 S2 maps
#: (the reading whose connections match Figure 11), maps 0-7 three neighbours (j, j+1, j+2)
#: as Table I's first columns do, maps 8-15 three spread ones (j, j+2, j+5), modulo 8; each S2
#: map feeds 6 C3 maps, and each C3 map reads the S2 maps of at least two C1 maps.
LENET4_C3: tuple[tuple[int, ...], ...] = tuple(
    tuple(sorted({j % 8, (j + 1) % 8, (j + 2) % 8})) for j in range(8)
) + tuple(tuple(sorted({j % 8, (j + 2) % 8, (j + 5) % 8})) for j in range(8))


def connection_table(reads: tuple[tuple[int, ...], ...], in_maps: int) -> np.ndarray:
    """A table like ``LENET1_H3`` (per output map, the input maps it reads) as a bool array
    (out_maps, in_maps), [out, in] True if connected; a new array on every call."""
    table = np.zeros((len(reads), in_maps), dtype=bool)
    for out_map, in_maps_read in enumerate(reads):
        table[out_map, list(in_maps_read)] = True
    return table


#: Figure 9's neural networks: test error on MNIST (%), without and with distortions (None
#: where the figure has no such row), Figure 11's multiply-adds per recognition and Figure
#: 12's memory in variables (both in thousands, as the figures print them; None where the
#: paper gives no figure). FIGURE9_NAMES gives the paper's label of each.
FIGURE9: dict[str, dict[str, float | None]] = {
    "fc-300": {"error": 4.7, "distorted": 3.6, "multiply_adds": None, "variables": None},
    "fc-1000": {"error": 4.5, "distorted": 3.8, "multiply_adds": None, "variables": 795.01},
    "fc-300-100": {"error": 3.05, "distorted": 2.5, "multiply_adds": None, "variables": 266.61},
    "fc-500-150": {"error": 2.95, "distorted": 2.45, "multiply_adds": None, "variables": 469.0},
    "lenet1": {"error": 1.7, "distorted": None, "multiply_adds": 100.0, "variables": 3.0},
    "lenet4": {"error": 1.1, "distorted": None, "multiply_adds": 260.0, "variables": 17.0},
    "boosted-lenet4": {"error": 0.7, "distorted": None, "multiply_adds": 460.0, "variables": None},
    "paper": {"error": 0.95, "distorted": 0.8, "multiply_adds": None, "variables": None},
}
FIGURE9_NAMES = {
    "fc-300": "28x28-300-10",
    "fc-1000": "28x28-1000-10",
    "fc-300-100": "28x28-300-100-10",
    "fc-500-150": "28x28-500-150-10",
    "lenet1": "LeNet-1",
    "lenet4": "LeNet-4",
    "boosted-lenet4": "Boosted LeNet-4",
    "paper": "LeNet-5",
}
#: Boosted LeNet-4's average cost against one LeNet-4 (Section III.C: about 1.75).
BOOSTING_COST = 1.75
#: Figure 10: the rejection needed for 0.5 % error (%).
REJECTION_FOR_HALF_PERCENT = {"boosted-lenet4": 0.5, "lenet4": 1.8, "lenet1": 3.7}
