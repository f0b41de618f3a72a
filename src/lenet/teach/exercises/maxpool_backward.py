"""Max pooling, backward (the modern network's pooling, 2x2 stride 2): the cases (ties, odd
shapes, a batch of one), the engine's layer, and the known mistakes.
"""

from __future__ import annotations

import numpy as np

from ..._i18n import N_
from ...engine import _core
from ...engine.layers import Subsampling
from .exercise import F64, MAPS, Case, Exercise, Mistake, Outputs

# (maps, H, W): the modern network's pooled C1, a C3-sized one, odd sizes whose last row or
# column no window reads, a single window
_SHAPES = [(6, 28, 28), (16, 10, 10), (3, 5, 7), (1, 2, 2), (4, 9, 4)]


def _near_ties(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """x with every other window's four inputs within a few float32 ulps of one another (a
    relative 1e-7, values that float32 holds exactly): an exact tie or a largest input by 1 to
    3 ulps, which only an exact comparison tells apart (np.isclose does not)."""
    ho, wo = x.shape[2] // 2, x.shape[3] // 2
    x = x.copy()
    covered = x[:, :, : 2 * ho, : 2 * wo]  # a view: the windows' inputs
    top_left = covered[:, :, 0::2, 0::2].astype(np.float32)
    ulps = rng.integers(-3, 4, covered.shape) * _up(np.spacing(np.abs(top_left)).astype(F64))
    close = _up(top_left.astype(F64)) + ulps
    covered[...] = np.where(_up(rng.random(top_left.shape) < 0.5), close, covered)
    return x


def _maxpool_case(rng: np.random.Generator, i: int) -> Case:
    maps, h, w = _SHAPES[i % len(_SHAPES)]
    n = 1 if i % len(_SHAPES) == 3 else int(rng.integers(1, 4))
    shape = (n, maps, h, w)
    kind = i % len(_SHAPES)
    if kind == 0:  # states after a ReLU: a window of four zeros is a four-way tie
        x = np.maximum(rng.standard_normal(shape), 0.0)
    elif kind == 4:  # distinct values, of every size, half of them within ulps of a tie
        x = _near_ties(rng, rng.uniform(-2.0, 2.0, shape) * 10.0 ** rng.integers(-3, 7, shape))
    else:  # a few levels, as in an image's flat regions: ties of every kind
        x = rng.integers(-2, 3, shape).astype(F64)
    case = {"x": x, "dy": rng.standard_normal((n, maps, h // 2, w // 2))}
    if kind == 2:  # float32, which max pooling's backward pass gets exactly right
        case = {k: v.astype(np.float32) for k, v in case.items()}
    return case


def _maxpool_solve(c: Case) -> Outputs:
    """The engine's max-pooling layer (no squashing, as in the modern network), backward."""
    layer = Subsampling(c["x"].shape[1], "max", activation="identity", dtype=F64, name="pool")
    layer.forward(c["x"])
    return {"dx": layer.backward(c["dy"]).copy()}


def _engine_dx(x: np.ndarray, dy: np.ndarray, mode: str = "max") -> np.ndarray:
    x, dy = np.ascontiguousarray(x), np.ascontiguousarray(dy)  # flipped or transposed views
    return _core.subsample_backward(x, dy, None, mode)[0]


def _covered(c: Case) -> tuple[np.ndarray, int, int]:
    """The part of x the windows read (an odd last row or column dropped), and its size."""
    h, w = 2 * c["dy"].shape[2], 2 * c["dy"].shape[3]
    return c["x"][:, :, :h, :w], h, w


def _placed(c: Case, covered: np.ndarray) -> Outputs:
    """dx with ``covered`` in the rows and columns the windows read, 0 in the others."""
    dx = np.zeros_like(c["x"])
    dx[:, :, : covered.shape[2], : covered.shape[3]] = covered
    return {"dx": dx}


def _up(a: np.ndarray) -> np.ndarray:
    """Each window's value spread over its four inputs."""
    return np.repeat(np.repeat(a, 2, axis=2), 2, axis=3)


def _to_every_maximum(c: Case, share: bool) -> Outputs:
    """dy to every input equal to the window's maximum (``share``: divided among them)."""
    x, _, _ = _covered(c)
    top = _up(_core.subsample_forward(np.ascontiguousarray(x), mode="max"))
    winners = (x == top).astype(F64)
    if share:
        count = winners[:, :, 0::2, 0::2] + winners[:, :, 0::2, 1::2]
        winners /= _up(count + winners[:, :, 1::2, 0::2] + winners[:, :, 1::2, 1::2])
    return _placed(c, winners * _up(c["dy"]))


def _to_last_maximum(c: Case) -> Outputs:
    # reversed in both axes, every window's row-major order is reversed: its first largest
    # input is the original's last
    x, _, _ = _covered(c)
    return _placed(c, _engine_dx(x[:, :, ::-1, ::-1], c["dy"][:, :, ::-1, ::-1])[:, :, ::-1, ::-1])


def _first_in_column_order(c: Case) -> Outputs:
    # transposed, a window's row-major order is the original's column-major order
    x, _, _ = _covered(c)
    flip = (0, 1, 3, 2)
    return _placed(c, _engine_dx(x.transpose(flip), c["dy"].transpose(flip)).transpose(flip))


def _to_top_left(c: Case) -> Outputs:
    x, _, _ = _covered(c)
    covered = np.zeros_like(x)
    covered[:, :, 0::2, 0::2] = c["dy"]
    return _placed(c, covered)


#: the engine's rule for a tie (csrc/pool.c), as the hints say it
MAXPOOL_TIES = N_(
    "all of dy goes to the first of the tied inputs in row-major order (top-left, top-right, "
    "bottom-left, bottom-right), the one np.argmax picks"
)

EXERCISE = Exercise(
    name="maxpool_backward",
    answer=("subsample_backward",),
    title="Max pooling, backward",
    section="modern variant, not in the paper",
    points=3,
    summary="Given dE/dy of 2x2 stride-2 max pooling, dE/dx: each window's dy goes to its "
    "largest input (the first of them in row-major order on a tie), 0 to the others.",
    outputs=(("dx", "(N, maps, H, W)"),),
    axes={"dx": MAPS},
    make_case=_maxpool_case,
    solve=_maxpool_solve,
    starter='''\
import numpy as np


def maxpool_backward(x, dy):
    """Backward pass of 2x2 max pooling with stride 2 (the modern network's pooling).

    The forward pass is y[n, m, r, c] = max of the window x[n, m, 2r:2r+2, 2c:2c+2].

    Inputs:
    - x: the input maps of the forward pass, shape (N, maps, H, W); H and W may be odd
      (an odd last row or column is in no window)
    - dy: dE/dy, the gradient of the loss with respect to the pooled maps,
      shape (N, maps, H // 2, W // 2)

    Returns:
    - dx: dE/dx, shape (N, maps, H, W): each window's dy at its largest input (on a tie,
      the first in row-major order), 0 everywhere else
    """
    raise NotImplementedError("maxpool_backward")
''',
    hint=N_(
        "dx is 0 except at each window's largest input, which receives the window's dy; "
        "on a tie, {ties}; an odd last row or column is in no window and gets 0.",
        ties=MAXPOOL_TIES,
    ),
    mistakes=(
        Mistake(
            N_(
                "your values match dy copied to all four inputs of each window: only the window's "
                "largest input reached the output, so it alone gets dy; the other three get 0."
            ),
            lambda c: _placed(c, _up(c["dy"])),
        ),
        Mistake(
            N_(
                "your values match average pooling's backward, dy / 4 to each input: max pooling "
                "gives all of dy to the window's largest input and 0 to the other three."
            ),
            lambda c: {"dx": _engine_dx(c["x"], c["dy"], "average")},
        ),
        Mistake(
            N_(
                "your values match dy given to the top-left input of every window: it goes to the "
                "window's largest input, wherever that is in the window."
            ),
            _to_top_left,
        ),
        Mistake(
            N_(
                "your values match dy given to the window's smallest input: it goes to the largest "
                "(argmax, not argmin)."
            ),
            lambda c: {"dx": _engine_dx(-c["x"], c["dy"])},
        ),
        Mistake(
            N_(
                "on a tie, your values give dy to every input equal to the window's maximum, so "
                "the window passes on more than its dy: {ties}.",
                ties=MAXPOOL_TIES,
            ),
            lambda c: _to_every_maximum(c, share=False),
        ),
        Mistake(
            N_(
                "on a tie, your values share dy among the inputs equal to the window's maximum: "
                "{ties}, and the others get 0.",
                ties=MAXPOOL_TIES,
            ),
            lambda c: _to_every_maximum(c, share=True),
        ),
        Mistake(
            N_(
                "on a tie, your values give dy to the last largest input: {ties}. A loop that "
                "updates its best on >= keeps the last; update on >.",
                ties=MAXPOOL_TIES,
            ),
            _to_last_maximum,
        ),
        Mistake(
            N_(
                "on a tie, your values give dy to the first largest input in column order "
                "(top-left, bottom-left, top-right, ...): {ties}. Check the order of the axes "
                "where you lay a window's four inputs out in a row.",
                ties=MAXPOOL_TIES,
            ),
            _first_in_column_order,
        ),
    ),
)
