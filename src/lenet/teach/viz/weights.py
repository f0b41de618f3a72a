"""What the network learned and what it compares with: the 5x5 kernels of C1 and C3, C3's laid
out as Table I (``kernels``), and the RBF prototypes of Figure 3 (``prototypes``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ...engine.layers import Convolution, RBFOutput
from ...paper import BITMAP_COLUMNS, BITMAP_ROWS, SQUASH_A, rbf_prototypes
from .figure import STATE_CMAP, _bare, _each, _figure, _show

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ...engine.network import Network


def kernels(net: Network) -> Figure:
    """The learned 5x5 kernels of C1 and C3 (Section II.B).

    C1: one kernel per map (a row per input channel). C3: a grid laid out as Table I, one row
    per S2 map and one column per C3 map; the cell of an S2 map that does not feed a C3 map is
    blank, so the 60 kernels of the paper's network show the table's pattern. Each layer has
    its own symmetric colour scale (blue negative, red positive; the colour bar gives it).
    Panels are labelled "C1:k" (or "C1:k<-c" for several input channels) and "C3:k<-s".
    ValueError for a network without convolution layers named C1 and C3.
    """
    layers = {layer.name: layer for layer in net.layers}
    if not all(isinstance(layers.get(name), Convolution) for name in ("C1", "C3")):
        raise ValueError(
            "kernels() needs a network with convolution layers named C1 and C3, "
            "like lenet.LeNet5 and LeNet5.modern(); this one's layers are "
            + ", ".join(f"{layer.name} ({type(layer).__name__})" for layer in net.layers)
        )
    c1 = np.asarray(layers["C1"].params["weight"], dtype=np.float64)
    c3 = np.asarray(layers["C3"].params["weight"], dtype=np.float64)
    table = np.asarray(getattr(layers["C3"], "connection_table", np.ones(c3.shape[:2], bool)), bool)
    out3, in3, kh, kw = c3.shape
    out1, in1 = c1.shape[:2]
    # Placed by hand, in inches: a hundred small panels make constrained layout slow, and the
    # grid is regular. Top to bottom: heading, C1 (1.2" panels), C3 (0.7" cells), axis label.
    width = _LEFT + _RIGHT + max(out3 * _CELL3, out1 * 1.7 * _CELL1)
    c1_height, c3_height = in1 * _CELL1 * 1.25, in3 * _CELL3
    height = 0.95 + c1_height + 0.25 + 0.55 + c3_height + 0.45
    sheet = _Sheet(_figure(width, height, constrained=False), width, height)
    sheet.fig.suptitle(
        f"Learned kernels of C1 and C3 ({kh}x{kw})", fontsize=13, y=sheet.y(0.15), va="top"
    )
    _c1_kernels(sheet, c1, 0.95, c1_height)
    _c3_kernels(sheet, c3, table, 0.95 + c1_height + 0.25, c3_height)
    return sheet.fig


#: The sheet of ``kernels``, in inches: the margins left and right, and the sides of a C1 panel
#: and of a C3 cell.
_LEFT, _RIGHT, _CELL1, _CELL3 = 1.0, 1.4, 1.2, 0.7


@dataclass(frozen=True)
class _Sheet:
    """A figure whose parts are placed by hand, in inches from its top left corner."""

    fig: Figure
    width: float
    height: float

    def y(self, inches_from_top: float) -> float:
        return 1 - inches_from_top / self.height

    @property
    def centre(self) -> float:
        """The middle of the panels' width, as a fraction of the figure's."""
        return (_LEFT + (self.width - _RIGHT)) / 2 / self.width

    def colour_bar(self, image: Any, bottom: float, bar_height: float) -> None:
        """A colour bar right of the panels, `bar_height` inches tall up from `bottom` (inches
        from the top)."""
        bar = self.fig.add_axes(
            (
                (self.width - _RIGHT + 0.45) / self.width,
                self.y(bottom),
                0.12 / self.width,
                bar_height / self.height,
            )
        )
        self.fig.colorbar(image, cax=bar)
        bar.tick_params(labelsize=8)


def _c1_kernels(sheet: _Sheet, c1: np.ndarray, top: float, c1_height: float) -> None:
    """C1's heading, then its kernels: one column per map, one row per input channel."""
    fig, width = sheet.fig, sheet.width
    out1, in1 = c1.shape[:2]
    fig.text(
        sheet.centre,
        sheet.y(0.5),
        f"C1: {out1} kernels on the " + ("input" if in1 == 1 else f"{in1} input channels"),
        ha="center",
        va="top",
        fontsize=11,
    )
    c1_width = out1 * 1.7 * _CELL1
    c1_left = _LEFT + (width - _LEFT - _RIGHT - c1_width) / 2
    grid = fig.add_gridspec(
        in1,
        out1,
        left=c1_left / width,
        right=(c1_left + c1_width) / width,
        top=sheet.y(top),
        bottom=sheet.y(top + c1_height - 0.25),
        wspace=0.7,
        hspace=0.3,
    )
    lim1 = float(np.abs(c1).max()) or 1.0
    for c in range(in1):
        for k in range(out1):
            ax = fig.add_subplot(grid[c, k])
            image = _show(ax, c1[k, c], STATE_CMAP, lim1)
            _bare(ax, f"C1:{k}" if in1 == 1 else f"C1:{k}<-{c}")
            if c == 0:
                ax.set_title(f"map {k}", fontsize=9)
            if k == 0 and in1 > 1:
                ax.set_ylabel(f"channel {c}", fontsize=9)
    sheet.colour_bar(image, top + c1_height - 0.3, c1_height - 0.4)


def _c3_kernels(
    sheet: _Sheet, c3: np.ndarray, table: np.ndarray, top: float, c3_height: float
) -> None:
    """C3's heading, then its kernels laid out as Table I: a row per S2 map, a column per C3
    map, the cells Table I leaves out blank; the axes' names below and on the left."""
    fig, width = sheet.fig, sheet.width
    out3, in3 = c3.shape[:2]
    wiring = (
        "every S2 map to every C3 map" if table.all() else "wired as Table I (blank: no connection)"
    )
    fig.text(
        sheet.centre,
        sheet.y(top),
        f"C3: {int(table.sum())} kernels, {wiring}",
        ha="center",
        va="top",
        fontsize=11,
    )
    top += 0.55  # the heading, then the column numbers
    grid = fig.add_gridspec(
        in3,
        out3,
        left=_LEFT / width,
        right=1 - _RIGHT / width,
        top=sheet.y(top),
        bottom=sheet.y(top + c3_height),
        wspace=0.12,
        hspace=0.12,
    )
    connected = c3[table]
    lim3 = (float(np.abs(connected).max()) if connected.size else 0.0) or 1.0
    image = None
    for s in range(in3):
        for k in range(out3):
            ax = fig.add_subplot(grid[s, k])
            _bare(ax, f"C3:{k}<-{s}")
            if table[k, s]:
                image = _show(ax, c3[k, s], STATE_CMAP, lim3)
            else:  # no connection in Table I: an empty cell, without a frame
                for spine in ax.spines.values():
                    spine.set_visible(False)
            if s == 0:
                ax.set_title(str(k), fontsize=9)
            if k == 0:
                ax.set_ylabel(str(s), fontsize=9, rotation=0, labelpad=8, va="center")
    if image is not None:
        sheet.colour_bar(image, top + c3_height, c3_height)
    fig.text(
        (_LEFT + (width - _LEFT - _RIGHT) / 2) / width,
        sheet.y(top + c3_height + 0.1),
        "C3 map",
        ha="center",
        va="top",
        fontsize=10,
    )
    fig.text(
        0.4 / width,
        sheet.y(top + c3_height / 2),
        "S2 map",
        rotation=90,
        ha="center",
        va="center",
        fontsize=10,
    )


# ---- Figure 3: the RBF prototypes ---------------------------------------------------------------


def prototypes(net: Network | None = None) -> Figure:
    """The ten fixed parameter vectors of the RBF output units, each drawn as its 7x12 bitmap
    (+1 red ink, -1 blue background): the paper's Figure 3 (Section II.B).

    In the colours of ``feature_maps``, on F6's scale (the squashing range +-1.7159): the
    prototypes are what F6's states are compared with, so the two pictures read alike. From
    ``net.output.prototypes`` when a network with an RBF output is given, else the library's
    own (``lenet.paper.rbf_prototypes()``). Panels are labelled "prototype:i".
    """
    if net is None:
        protos = rbf_prototypes()
    elif isinstance(net.layers[-1], RBFOutput):
        protos = np.asarray(net.layers[-1].prototypes, dtype=np.float64)
    else:
        raise ValueError(
            f"this network's output layer {net.layers[-1].name!r} is not an RBF "
            f"layer: it has no prototypes (only the paper's LeNet-5 does)"
        )
    classes, features = protos.shape
    if features != BITMAP_ROWS * BITMAP_COLUMNS:
        raise ValueError(f"prototypes of {features} components are not 7x12 bitmaps")
    fig = _figure(1.0 * classes + 1.4, 2.8)
    fig.suptitle(
        "RBF prototypes: the 7x12 bitmap each output unit compares F6 with "
        "(+1 red, -1 blue, on F6's scale)",
        fontsize=12,
    )
    axes = _each(fig.subplots(1, classes))
    image: Any = None
    for i, ax in enumerate(axes):
        image = _show(ax, protos[i].reshape(BITMAP_ROWS, BITMAP_COLUMNS), STATE_CMAP, SQUASH_A)
        _bare(ax, f"prototype:{i}")
        # thin lines between the cells: a bitmap of 7x12 values, not a smooth picture
        ax.set_xticks(np.arange(-0.5, BITMAP_COLUMNS), minor=True)
        ax.set_yticks(np.arange(-0.5, BITMAP_ROWS), minor=True)
        ax.grid(which="minor", color="0.75", linewidth=0.4)
        ax.tick_params(which="minor", length=0)
        ax.set_title(str(i), fontsize=12)
    bar = fig.colorbar(image, ax=list(axes), shrink=0.8, aspect=15, pad=0.02)
    bar.set_ticks(
        [-SQUASH_A, -1, 0, 1, SQUASH_A],
        labels=[f"{-SQUASH_A:.5g}", "-1", "0", "1", f"{SQUASH_A:.5g}"],
    )
    bar.ax.tick_params(labelsize=8)
    return fig
