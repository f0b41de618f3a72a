"""What a trained network gets wrong: the misclassified digits of Figure 8 (``misclassified``)
and the counts of (true, predicted) classes (``confusion_matrix``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

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
