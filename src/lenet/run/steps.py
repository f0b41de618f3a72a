"""Training steps: a run of them on a batch order, layer by layer from Python or fused in C.

A step is forward, loss, backward and the optimiser's update on one batch. ``LayerByLayer``
runs one step per call, written as a student writes it; ``Fused`` runs the steps up to the end
of a chunk of images in one C call (``lenet.engine.fused``). Both add to the same running sums
of the pass (loss x samples, errors, samples seen) in the same order, so they give the same
bits; ``make_steps`` picks one.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..engine.fused import FusedTrainer, NotFusable
from ..engine.losses import Loss
from ..engine.network import Network
from ..engine.optim import Optimizer

__all__ = ["Fused", "LayerByLayer", "make_steps", "no_steps", "show_running"]


def no_steps() -> dict:
    """The running sums of a pass before its first step."""
    return {"loss": 0.0, "errors": 0, "seen": 0}


class LayerByLayer:
    """One training step as a student writes it, layer by layer from Python:

        out = net.forward(x)                   # every layer's states, cached for backward
        loss, grad = loss(out, labels)         # equation (8), (9) or cross-entropy
        net.backward(grad)                     # every layer's gradients, into net.gradients
        optimizer.step()                       # w <- w - eps dE/dw (SDLM), or another rule

    The loop to read and to change when learning; the fused path gives the same bits."""

    def __init__(self, net: Network, optimizer: Optimizer, loss: Loss, batch_size: int) -> None:
        self.net, self.optimizer, self.loss, self.batch_size = net, optimizer, loss, batch_size

    def steps_until(self, step: int, chunk_end: int) -> int:
        """The step this stepper stops after: one step per call, so that Ctrl-C is seen
        between any two steps."""
        return step + 1

    def run(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        order: np.ndarray,
        running: dict,
        bar: Any,
        step: int,
    ) -> tuple[int, str | None]:
        """The steps of ``order`` (indices into images and labels, one batch here): returns
        the steps done and, when a loss stopped being finite, what happened."""
        x, y = images[order], labels[order]
        out = self.net.forward(x)
        loss, grad = self.loss(out, y)
        if not math.isfinite(loss):
            return 0, f"the loss became {loss}"
        self.net.backward(grad)
        self.optimizer.step()
        running["loss"] += loss * len(order)
        running["errors"] += int(np.sum(self.net.classify(out) != y))
        running["seen"] += len(order)
        if bar is not None:
            bar.update(len(order))
            if step % 200 == 0:
                show_running(bar, running)
        return 1, None


class Fused:
    """Training steps run in C, up to the end of a chunk of images per call
    (``lenet.engine.fused``):
    forward, loss, backward and update, exactly as ``LayerByLayer`` runs them."""

    def __init__(self, trainer: FusedTrainer) -> None:
        self.trainer = trainer
        self.batch_size = trainer.batch_size

    def steps_until(self, step: int, chunk_end: int) -> int:
        return chunk_end

    def run(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        order: np.ndarray,
        running: dict,
        bar: Any,
        step: int,
    ) -> tuple[int, str | None]:
        # the C loop adds each step's loss x samples to the pass's sum, as LayerByLayer does
        done, loss_sum, errors, diverged = self.trainer.run(images, labels, order, running["loss"])
        seen = min(done * self.batch_size, len(order))
        running["loss"] = loss_sum
        running["errors"] += errors
        running["seen"] += seen
        if bar is not None:
            bar.update(seen)
            show_running(bar, running)
        return done, "the loss stopped being finite" if diverged else None


def make_steps(
    net: Network, optimizer: Optimizer, loss: Loss, batch_size: int, fused: bool | None
) -> LayerByLayer | Fused:
    """The fused steps when asked for (True) or when net and optimiser allow them (None)."""
    if fused is None or fused:
        try:
            return Fused(FusedTrainer(net, optimizer, batch_size, loss))
        except NotFusable:
            if fused:
                raise
    return LayerByLayer(net, optimizer, loss, batch_size)


def show_running(bar: Any, running: dict) -> None:
    """The running figures on the bar: the loss and error of the steps so far in this pass,
    each measured on its batch just before that batch's update."""
    seen = max(running["seen"], 1)
    bar.set_postfix_str(
        f"running: loss {running['loss'] / seen:.4f}, error {100 * running['errors'] / seen:.2f}%",
        refresh=False,
    )
