"""The pieces every picture shares: the figure, built without pyplot, its PNG, the colour maps,
and a bare image panel.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure


#: Resolution of the PNG files (dots per inch); figure sizes are given in inches.
DPI = 100
#: Colour maps: states and weights change sign, so a diverging map centred on 0 (blue
#: negative, white 0, red positive); the RBF prototypes are drawn with it too, on F6's scale,
#: since F6's states are compared with them; the input digit in ink on paper.
STATE_CMAP = "RdBu_r"
INK_CMAP = "gray_r"
#: What to type for the plotting extra, from a checkout and from a package index.
INSTALL_PLOT = (
    'pip install ".[plot]" in a checkout of lenet, or pip install "lenet[plot]" '
    "from a package index (either adds matplotlib >= 3.5.3)"
)


def require_matplotlib() -> type:
    """The ``matplotlib.figure.Figure`` class; ImportError naming the extra when it is missing."""
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(
            f"lenet's pictures need matplotlib, which is not installed: {INSTALL_PLOT}"
        ) from exc
    return Figure


def _figure(width: float, height: float, constrained: bool = True) -> Figure:
    # constrained layout keeps titles and labels of the many small panels from overlapping
    return require_matplotlib()(
        figsize=(width, height), dpi=DPI, layout="constrained" if constrained else None
    )


def save_png(fig: Figure, path: str | os.PathLike) -> Path:
    """Write `fig` to `path` as a PNG (with the Agg renderer) and return the path."""
    path = Path(path)
    fig.savefig(path, format="png", dpi=DPI)
    return path


def png_bytes(fig: Figure) -> bytes:
    """`fig` as the bytes of a PNG file (with the Agg renderer), as ``save_png`` writes it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _bare(ax: Any, label: str | None = None) -> None:
    """An axes without ticks (an image panel); `label` names it for programs."""
    ax.set_xticks([])
    ax.set_yticks([])
    if label is not None:
        ax.set_label(label)


def _show(
    ax: Any,
    image: np.ndarray,
    cmap: str,
    limit: float | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
) -> Any:
    if limit is not None:
        vmin, vmax = -limit, limit
    return ax.imshow(image, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")


def _each(made: Any) -> list[Any]:
    """The subfigures or axes matplotlib made, as a list (it returns one alone, unwrapped)."""
    return list(np.ravel(made)) if isinstance(made, np.ndarray) else [made]
