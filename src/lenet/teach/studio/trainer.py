"""The settings of the page's training worker (``assets/trainer.js``), from a recipe.

``settings(net, recipe)`` gives, as JSON-ready values, what the worker's ``init`` command takes
besides the network's description (``bundle.describe``) and the images: the passes, the batch,
the loss, the optimiser with the values its C update uses (``Optimizer.core_state``), SDLM's
schedule of eta, mu and curvature patterns, each layer's parameters (for the histogram of step
sizes). Given an ``optimizer`` with its state (a run read from its folder), the worker goes on
from ``epoch`` and ``step`` with that state. Python owns these rules, as it does the network's.
"""

from __future__ import annotations

from typing import Any

from ...engine.network import Network
from ...engine.optim import Optimizer
from ...engine.sdlm import SDLM
from ...run.recipes import Recipe, make_optimizer
from ...run.session import recipe_loss
from .bundle import encode

__all__ = ["settings"]


def settings(
    net: Network,
    recipe: Recipe,
    optimizer: Optimizer | None = None,
    epoch: int = 0,
    step: int = 0,
    running: dict[str, Any] | None = None,
    history: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """trainer.js's settings for training ``net`` by ``recipe``; with ``optimizer`` (its state
    loaded), continuing pass ``epoch`` (from 0) at ``step`` with its state and update count."""
    opt = optimizer if optimizer is not None else make_optimizer(net, recipe)
    core = opt.core_state()
    loss = recipe_loss(net, recipe)
    out: dict[str, Any] = {
        "model": net.variant,
        "passes": recipe.passes,
        "batch": recipe.batch_size,
        "seed": recipe.seed,
        "loss": loss.name,
        "j": float(loss.j),
        "optimizer": {
            "kind": opt.name,
            "lr": float(opt.base_lr),
            "lrDecay": float(opt.lr_decay),
            **{k: float(core[k]) for k in ("beta1", "beta2", "eps") if k in core},
        },
        "layers": {name: [int(a), int(b)] for name, (a, b) in net.parameter_offsets.items()},
    }
    if isinstance(opt, SDLM):
        out.update(
            schedule=[float(v) for v in opt.schedule],
            mu=float(opt.mu),
            curvaturePatterns=recipe.curvature_patterns,
        )
    if optimizer is not None:
        out["start"] = {
            "pass": int(epoch),
            "step": int(step),
            "updates": int(opt.updates),
            "state": [encode(getattr(opt, name).astype("float32")) for name in opt.state_arrays],
            "running": dict(running) if running is not None else None,
            "history": list(history or []),
        }
    return out
