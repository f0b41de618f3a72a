"""The fixed parameter vectors of the RBF output units (Section II.B, Figure 3).

Each output unit i of LeNet-5 holds a fixed vector of 84 components, each -1 or +1: a stylised
image of digit i drawn on a 7x12 bitmap (7 columns, 12 rows; 84 = 7 x 12, the size of F6). The
unit's output is the squared Euclidean distance between the F6 states and this bitmap, so the
network learns to make F6 "draw" the digit it sees. The paper prints the bitmaps as pictures,
not numbers; the ones below are drawn in the same spirit, with ink (#) = +1 and background
(.) = -1. The values +-1 lie inside the range of the squashing function (+-1.7159), so F6 can
reach them without saturating.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

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
        raise ValueError(f"a prototype bitmap must be {BITMAP_ROWS} rows of {BITMAP_COLUMNS} "
                         f"characters, got rows of lengths {[len(r) for r in rows]}")
    if any(ch not in "#." for r in rows for ch in r):
        raise ValueError("a prototype bitmap may hold only '#' (ink) and '.' (background)")
    return np.array([[1.0 if ch == "#" else -1.0 for ch in r] for r in rows])


def rbf_prototypes(dtype: DTypeLike = np.float64) -> np.ndarray:
    """The (10, 84) array of +-1 RBF parameter vectors: row i is digit i's 7x12 bitmap, row-major.

    A new array each call. ``rbf_prototypes()[i].reshape(12, 7)`` shows digit i's bitmap.
    """
    return np.stack([parse_bitmap(d).reshape(-1) for d in DIGIT_BITMAPS]).astype(dtype)
