"""What a trained network gets wrong: the misclassified digits of Figure 8 (``misclassified``)
and the counts of (true, predicted) classes (``confusion_matrix``); and how the networks of
Figure 9 compare with the paper's (``figure9``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from ...run.figure9 import Row, stamp
from .figure import INK_CMAP, _bare, _figure, _show

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def misclassified(
    images: ArrayLike,
    labels: ArrayLike,
    predicted: ArrayLike,
    max_digits: int = 100,
    columns: int = 12,
) -> Figure:
    """The images whose predicted class differs from the label, each titled "true->predicted"
    as in the paper's Figure 8 (the 82 test digits that LeNet-5 trained with distortions got
    wrong; Section III.C).

    `images` (N, C, H, W) or (N, H, W), `labels` and `predicted` (N,) (``evaluate``'s
    "predicted"). The first `max_digits` errors are drawn, in the images' order, in rows of
    `columns`; ink is dark. Panels are labelled "misclassified:i", i the image's index.
    """
    x = np.asarray(images)
    y, p = np.asarray(labels).reshape(-1), np.asarray(predicted).reshape(-1)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or len(x) != len(y) or len(y) != len(p):
        raise ValueError(
            f"images (N, C, H, W) or (N, H, W), labels (N,) and predicted (N,) must "
            f"agree, got shapes {np.shape(images)}, {np.shape(labels)}, "
            f"{np.shape(predicted)}"
        )
    if (
        isinstance(max_digits, bool)
        or int(max_digits) != max_digits
        or max_digits < 1
        or isinstance(columns, bool)
        or int(columns) != columns
        or columns < 1
    ):
        raise ValueError(
            f"max_digits and columns must be positive integers, got {max_digits!r} and {columns!r}"
        )
    wrong = np.flatnonzero(y != p)
    shown = wrong[:max_digits]
    cols = max(1, min(columns, len(shown)))
    rows = max(1, math.ceil(len(shown) / cols))
    fig = _figure(max(6.0, 0.95 * cols + 0.4), 1.05 * rows + 0.8)
    heading = f"{len(wrong):,} of {len(y):,} digits misclassified (true\u2192predicted)"
    if len(shown) < len(wrong):
        heading += f"; the first {len(shown)} shown"
    fig.suptitle(heading, fontsize=12)
    if not len(shown):
        ax = fig.subplots()
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no misclassified digits", ha="center", va="center", fontsize=12)
        return fig
    vmin, vmax = float(np.min(x[shown])), float(np.max(x[shown]))
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).reshape(-1)
    for ax, i in zip(axes, shown):
        img = x[i]
        if img.shape[0] == 3:  # colour: channels last, scaled to 0..1
            ax.imshow(np.moveaxis((img - vmin) / ((vmax - vmin) or 1.0), 0, -1))
        else:
            _show(ax, img[0], INK_CMAP, vmin=vmin, vmax=vmax)
        _bare(ax, f"misclassified:{i}")
        ax.set_title(f"{y[i]}\u2192{p[i]}", fontsize=10, pad=2)
    for ax in axes[len(shown) :]:
        ax.set_axis_off()
    return fig


def confusion_matrix(confusion: ArrayLike) -> Figure:
    """The confusion matrix (rows: true class, columns: predicted), every count written in its
    cell: ``evaluate``'s "confusion". The diagonal (correct) is grey; the off-diagonal cells,
    the errors, are shaded by count, so the few confusions stand out beside thousands of
    correct answers."""
    m = np.asarray(confusion)
    if (
        m.ndim != 2
        or m.shape[0] != m.shape[1]
        or m.dtype.kind not in "iu"
        or (m.size and m.min() < 0)
    ):
        raise ValueError(
            f"confusion must be a square matrix of counts, got {m.dtype} array of shape {m.shape}"
        )
    n = m.shape[0]
    total, correct = int(m.sum()), int(np.trace(m))
    off = np.where(np.eye(n, dtype=bool), np.nan, m.astype(np.float64))
    top = max(1.0, float(np.nanmax(off)) if n > 1 else 1.0)
    fig = _figure(0.55 * n + 2.2, 0.55 * n + 1.6)
    ax = fig.subplots()
    ax.set_label("confusion")
    ax.imshow(np.where(np.eye(n, dtype=bool), 1.0, np.nan), cmap="Greys", vmin=0, vmax=5)
    from matplotlib import colormaps

    # zero errors in white (below the scale), one error already visibly tinted
    ax.imshow(off, cmap=colormaps["Reds"].with_extremes(under="white"), vmin=0.5, vmax=top)
    for t in range(n):
        for q in range(n):
            v = int(m[t, q])
            dark = t != q and v > 0.6 * top
            ax.text(
                q,
                t,
                str(v),
                ha="center",
                va="center",
                fontsize=10 if v < 1000 else 9,
                color="white" if dark else ("0.7" if v == 0 else "black"),
            )
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    errors = total - correct
    ax.set_title(
        f"{errors:,} errors in {total:,}" + (f" ({100 * errors / total:.2f} %)" if total else ""),
        fontsize=12,
    )
    return fig


def _tick(row: Row) -> str:
    """A network's label under its bars: its name, and a boosted one's cost against one net."""
    if row.cost is None:
        return row.name
    return f"{row.name}\ncost {row.cost:.2f} x one net (paper {row.paper_cost:g})"


def figure9(rows: list[Row]) -> Figure:
    """The paper's Figure 9 beside lenet's: for each network (``lenet.run.figure9.summarize``'s
    rows), the paper's test error and lenet's mean over its seeds, the range (lowest to
    highest seed) drawn as an error bar, each bar labelled with its value. The title says what
    measured them (the lenet versions and commits, the seeds per network). Bars are labelled
    "paper:NAME" and "lenet:NAME" (``patch.get_label()``) for programs. A boosted network's
    label gives its average cost against one net beside the paper's."""
    if not rows:
        raise ValueError("no runs to draw: the results hold no scored run of Figure 9's study")
    fig = _figure(max(6.5, 1.05 * len(rows) + 2.0), 4.8)
    ax = fig.subplots()
    ax.set_label("figure9")
    at = np.arange(len(rows), dtype=np.float64)
    width = 0.38
    for i, row in enumerate(rows):
        if row.paper_error is not None:
            bar = ax.bar(at[i] - width / 2, row.paper_error, width, color="0.72")[0]
            bar.set_label(f"paper:{row.name}")
            ax.annotate(f"{row.paper_error:g}", (at[i] - width / 2, row.paper_error),
                        ha="center", va="bottom", fontsize=8, xytext=(0, 2),
                        textcoords="offset points")  # fmt: skip
        below, above = row.mean - row.low, row.high - row.mean
        bar = ax.bar(at[i] + width / 2, row.mean, width, color="tab:blue",
                     yerr=[[below], [above]], capsize=3, ecolor="black")[0]  # fmt: skip
        bar.set_label(f"lenet:{row.name}")
        ax.annotate(f"{row.mean:.2f}", (at[i] + width / 2, row.high), ha="center",
                    va="bottom", fontsize=8, xytext=(0, 2), textcoords="offset points")  # fmt: skip
    from matplotlib.patches import Patch

    ax.legend(
        handles=[
            Patch(color="0.72", label="the paper (Figure 9)"),
            Patch(color="tab:blue", label="lenet: mean over seeds, bar from lowest to highest"),
        ],
        loc="upper right",
        fontsize=9,
    )
    ax.set_xticks(at, [_tick(row) for row in rows], rotation=30, ha="right", fontsize=9)
    ax.set_xlabel("network (Figure 9)")
    ax.set_ylabel("test error on MNIST's 10,000 test images (%)")
    top = max(max(r.high for r in rows), max((r.paper_error or 0.0) for r in rows))
    ax.set_ylim(0, 1.4 * top)  # room for the legend above the bars
    ax.set_title(f"Figure 9 reproduced: test error per network\n{stamp(rows)}", fontsize=11)
    return fig
