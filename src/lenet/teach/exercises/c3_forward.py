"""C3's convolution wired by Table I (Section II.B): its cases (Table I and other tables),
the engine's layer, the known mistakes, and which connection a wrong map misses.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._i18n import N_, _
from ...engine import _core
from ...engine.layers import Convolution
from ...paper import connection_table_i
from .compare import _close
from .exercise import F64, MAPS, PAPER_F, Case, Exercise, Mistake, Outputs, _f, _tanh

# (H, W) of the S2 maps: LeNet-5's 14x14, then odd and non-square ones, down to a 1x4 output
_C3_SIZES = [(14, 14), (14, 14), (9, 11), (14, 14), (5, 8)]


def _c3_case(rng: np.random.Generator, i: int) -> Case:
    h, w = _C3_SIZES[i % len(_C3_SIZES)]
    n = 1 if i % len(_C3_SIZES) == 2 else int(rng.integers(1, 4))
    if i < 2:
        table = connection_table_i()
    else:  # another table, so that a Table I written into the code is caught
        table = rng.random((16, 6)) < 0.5
        table[np.arange(16), rng.integers(0, 6, 16)] = True  # every C3 map reads some map
    # every other C3 map has large kernels: its weighted sums reach |a| = 30 and more, saturated
    scale = np.where(np.arange(16) % 2 == i % 2, 5.0, 1.0)[:, None, None, None]
    return {
        "x": rng.uniform(-1.7159, 1.7159, (n, 6, h, w)),
        # nonzero weights for the unconnected pairs too: they must have no effect
        "weight": scale * rng.uniform(-0.3, 0.3, (16, 6, 5, 5)),
        "bias": rng.uniform(-0.3, 0.3, 16),
        "connection_table": table,
    }


def _c3_sums(c: Case, weight: Any = None, bias: Any = None, table: Any = "case") -> np.ndarray:
    weight = c["weight"] if weight is None else weight
    bias = c["bias"] if bias is None else bias
    table = c["connection_table"] if isinstance(table, str) else table
    return _core.conv_forward(c["x"], weight, bias, table)


def _c3_solve(c: Case) -> Outputs:
    layer = Convolution(6, 16, 5, connection_table=c["connection_table"], dtype=F64, name="C3")
    layer.params["weight"][...] = c["weight"]  # the layer leaves unconnected pairs out
    layer.params["bias"][...] = c["bias"]
    return {"y": layer.forward(c["x"]).copy()}


def _maps(row: np.ndarray) -> str:
    return " ".join(str(i) for i in np.flatnonzero(row)) or _("none")


def _c3_connections(c: Case, output: str, actual: np.ndarray) -> str | None:
    """Which C3 map is wrong, and does it read one S2 map too few or too many?"""
    table = c["connection_table"]
    expected = _c3_solve(c)["y"]
    for o in range(table.shape[0]):
        if _close(actual[:, o], expected[:, o]):
            continue
        for i in range(table.shape[1]):
            row = table[o].copy()
            row[i] = not row[i]
            if not row.any():
                continue
            states = _f(
                _core.conv_forward(
                    c["x"], c["weight"][o : o + 1], c["bias"][o : o + 1], row[None, :]
                )
            )[:, 0]
            if _close(actual[:, o], states):
                what = (
                    _("S2 map {i} is missing", i=i)
                    if table[o, i]
                    else _("S2 map {i} should not be read", i=i)
                )
                return _(
                    "C3 map {o} should read S2 maps {maps}; your values match reading "
                    "{read}: {what}. connection_table[o, i] is True exactly when C3 map o "
                    "reads S2 map i.",
                    o=o,
                    maps=_maps(table[o]),
                    read=_maps(row),
                    what=what,
                )
        return None
    return None


EXERCISE = Exercise(
    name="c3_forward",
    answer=("conv_forward",),
    title="C3 convolution with the connection table",
    section="Section II.B, Table I",
    summary="5x5 convolution from 6 S2 maps to 16 C3 maps, each C3 map reading only the S2 maps "
    "its row of Table I names; y = f(a).",
    points=3,
    outputs=(("y", "(N, 16, H-4, W-4)"),),
    axes={"y": MAPS},
    make_case=_c3_case,
    solve=_c3_solve,
    starter='''\
import numpy as np


def c3_forward(x, weight, bias, connection_table):
    """Forward pass of C3: a convolution wired by a connection table (Section II.B, Table I).

    Inputs:
    - x: the S2 maps, shape (N, 6, H, W); 14x14 in LeNet-5
    - weight: the kernels, shape (16, 6, 5, 5); weight[o, i] is the kernel C3 map o
      applies to S2 map i. Where connection_table[o, i] is False the kernel is not part
      of the network: its values must have no effect.
    - bias: one bias per C3 map, shape (16,)
    - connection_table: booleans, shape (16, 6); True where C3 map o reads S2 map i
      (Table I in LeNet-5)

    Returns:
    - y: the states y = f(a), shape (N, 16, H - 4, W - 4)
    """
    raise NotImplementedError("c3_forward")
''',
    hint=N_(
        "a[n, o, r, c] = bias[o] + the sum, over the S2 maps i that C3 map o reads and over "
        "ky, kx in 0..4, of weight[o, i, ky, kx] * x[n, i, r + ky, c + kx]; then y = f(a). "
        "The kernel is not flipped (a cross-correlation, as the engine computes it)."
    ),
    mistakes=(
        Mistake(
            N_(
                "your function ignores connection_table: its values match Table I typed into "
                "your code, and this case's table is another (the checker also gives other "
                "tables of the same shape). Read the wiring from the argument: C3 map o reads "
                "S2 map i exactly when connection_table[o, i] is True."
            ),
            lambda c: {"y": _f(_c3_sums(c, table=connection_table_i()))},
        ),
        Mistake(
            N_(
                "your values match a convolution that ignores the connection table: every C3 "
                "map must read only the S2 maps that connection_table[o] marks True (the "
                "other kernels hold values here that are not part of the network)."
            ),
            lambda c: {"y": _f(_c3_sums(c, table=None))},
        ),
        Mistake(
            N_(
                "your values match a flipped kernel (the textbook convolution): the engine "
                "correlates, weight[o, i, ky, kx] multiplies x[n, i, r + ky, c + kx]."
            ),
            lambda c: {"y": _f(_c3_sums(c, weight=c["weight"][:, :, ::-1, ::-1]))},
        ),
        Mistake(
            N_(
                "your values match a transposed kernel: weight[o, i, ky, kx] has the row "
                "offset ky before the column offset kx; it multiplies x[n, i, r + ky, c + kx]."
            ),
            lambda c: {"y": _f(_c3_sums(c, weight=c["weight"].transpose(0, 1, 3, 2)))},
        ),
        Mistake(
            N_("your values are the weighted sums a: C3's states are y = f(a), squashed."),
            lambda c: {"y": _c3_sums(c)},
        ),
        Mistake(
            N_("your values match f(a) without the bias: each C3 map adds its bias[o]."),
            lambda c: {"y": _f(_c3_sums(c, bias=np.zeros(16)))},
        ),
        Mistake(
            N_("your values match tanh(a): the squashing function is {f}.", f=PAPER_F),
            lambda c: {"y": _tanh(_c3_sums(c))},
        ),
    ),
    explain=_c3_connections,
)
