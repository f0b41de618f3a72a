"""Pictures of a network and its training, after the paper's figures (needs matplotlib).

    pip install ".[plot]"          # from a checkout of lenet
    pip install "lenet[plot]"      # from a package index

    >>> from lenet import viz                                  # doctest: +SKIP
    >>> fig = viz.feature_maps(net, x_test[7], label=y_test[7])  # doctest: +SKIP
    >>> fig.savefig("digit-7.png")                             # doctest: +SKIP

Every function returns a ``matplotlib.figure.Figure`` built directly (not through
``pyplot``), so no window opens, no global state changes, and ``fig.savefig`` writes the file
with matplotlib's Agg renderer whatever backend is configured:

* ``feature_maps(net, image)``: every layer's states for one digit, C1 ... F6 and the output
  (Section II.B's Figure 2, made real for that digit); ``trace_figure(trace)`` draws the
  states a ``net.trace(x)`` holds, as they are;
* ``trace_gradients(trace)``: each layer's states beside dE/d(states), for a digit traced
  with its label (back-propagation, layer by layer);
* ``kernels(net)``: the learned 5x5 kernels of C1 and of C3, laid out as Table I;
* ``prototypes(net)``: the ten 7x12 RBF parameter vectors (Figure 3);
* ``training_curves(history)``: training and test error per pass (Figure 5);
* ``state_limit(values, activation)``: the half-range of the colour scale of a layer's states,
  which the studio's page draws with too;
* ``curvature_by_pass(records)``: per layer and pass, the saturation, h_kk and SDLM's capped
  step sizes that a pass starts from (Appendix C);
* ``misclassified(images, labels, predicted)``: the test digits the network gets wrong, each
  titled "true->predicted" (Figure 8);
* ``confusion_matrix(confusion)``: counts of (true, predicted) classes;
* ``figure9(rows)``: the test error of each network of Figure 9, lenet's seeds beside the
  paper's bars (from the study's results, ``lenet.run.figure9.summarize``).

For a terminal without a display, ``as_text`` draws any 2-D array with characters and
``feature_maps_text`` (``trace_text`` for a trace) prints a digit and small versions of its
feature maps; these need only NumPy. The command line writes the same pictures: ``lenet
inspect`` and ``lenet figures``.

Each image panel is an Axes whose label (``ax.get_label()``) says what it shows, for instance
``"C1:3"`` (map 3 of C1), ``"C3:7<-2"`` (the kernel from S2 map 2 to C3 map 7) or
``"prototype:4"``, so that programs can find the panels of a figure.

The pictures live in one module per family: ``maps.py`` (a digit's states and gradients),
``weights.py`` (kernels and prototypes), ``curves.py`` (training over the passes),
``results.py`` (the misclassified digits, the confusion matrix), ``text.py`` (the same with
characters); ``figure.py`` (the figure and its PNG) and ``states.py`` (the grid a layer is laid
out in, the colour scale) are shared, the latter with the studio's page.
"""

from __future__ import annotations

from .curves import curvature_by_pass, training_curves
from .figure import (
    DPI,
    INK_CMAP,
    INSTALL_PLOT,
    STATE_CMAP,
    png_bytes,
    require_matplotlib,
    save_png,
)
from .maps import feature_maps, trace_figure, trace_gradients
from .results import confusion_matrix, figure9, misclassified
from .states import grid_shape, layer_grid, state_limit
from .text import RAMP, as_text, feature_maps_text, trace_text
from .weights import kernels, prototypes

__all__ = [
    "DPI",
    "INK_CMAP",
    "INSTALL_PLOT",
    "RAMP",
    "STATE_CMAP",
    "as_text",
    "confusion_matrix",
    "figure9",
    "curvature_by_pass",
    "feature_maps",
    "feature_maps_text",
    "grid_shape",
    "kernels",
    "layer_grid",
    "misclassified",
    "png_bytes",
    "prototypes",
    "require_matplotlib",
    "save_png",
    "state_limit",
    "trace_figure",
    "trace_gradients",
    "trace_text",
    "training_curves",
]
