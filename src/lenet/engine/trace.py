"""What ``Network.trace(x)`` returns: every layer's states for a batch, in Figure 2's order.

A ``Trace`` is an ordered mapping "input", "C1", ..., "output" of copies of the states (with
``pre_activations=True`` also "C1.a", ... the weighted sums). Traced with a label, it also
holds ``state_gradients`` (dE/d(states), "input" first), ``parameter_gradients``
("C1.weight" -> dE/d(weight), ...), the loss ``loss`` with its name ``loss_name``, and the
``labels``. ``network`` is the network that made it: its layers' squashing functions and
the RBF prototypes are what a picture of the trace needs.

In a notebook a trace shows itself (``_repr_html_``) through ``Trace.renderer``, which
``lenet.teach.notebook`` sets when lenet is imported: the pictures belong to the teaching tier,
above the engine. Without a renderer its display is a dict's.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

import numpy as np

if TYPE_CHECKING:
    from .network import Network

__all__ = ["Trace"]


class Trace(OrderedDict):
    """What ``Network.trace`` returns: layer name -> states, in order ("input", "C1", ...).

    With a label, also ``state_gradients`` (name -> dE/d(states), "input" first),
    ``parameter_gradients`` ("C1.weight" -> dE/d(weight), ...), ``loss`` (E), ``loss_name``
    and ``labels``; without one these are empty or None. ``network`` is the network that made
    the trace (None for a trace built by hand).
    """

    #: the HTML a notebook shows for a trace (set by ``lenet.teach.notebook``)
    renderer: ClassVar[Callable[[Trace], str] | None] = None

    def __init__(self, network: Network | None = None) -> None:
        super().__init__()
        self.network = network
        self.state_gradients: OrderedDict[str, np.ndarray] = OrderedDict()
        self.parameter_gradients: OrderedDict[str, np.ndarray] = OrderedDict()
        self.loss: float | None = None
        self.loss_name: str | None = None
        self.labels: np.ndarray | None = None

    def copy(self) -> Trace:
        """A shallow copy that keeps the network, gradients, loss and labels too."""
        other = Trace(self.network)
        other.update(self)
        other.state_gradients = OrderedDict(self.state_gradients)
        other.parameter_gradients = OrderedDict(self.parameter_gradients)
        other.loss, other.loss_name, other.labels = self.loss, self.loss_name, self.labels
        return other

    def _repr_html_(self) -> str | None:
        """The trace in a notebook: the first image's maps, prediction and penalties."""
        if self.network is None or "input" not in self or Trace.renderer is None:
            return None  # the dict's text display
        return Trace.renderer(self)
