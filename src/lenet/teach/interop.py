"""The step to PyTorch: ``to_torch(net)`` and ``from_torch(module, like=net)``.

Both need PyTorch, which lenet itself does not: ``lenet.teach.pytorch`` holds the modules and
imports
torch, and these two import it only when they are called, with a clear error when torch is
missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any

from ..engine.network import Network

__all__ = ["from_torch", "to_torch"]


def _pytorch() -> ModuleType:
    try:
        from . import pytorch  # optional: needs torch
    except ImportError as exc:
        if exc.name is not None and exc.name.split(".")[0] == "torch":
            raise ImportError(
                "lenet.to_torch and lenet.from_torch need PyTorch, which is not installed: "
                'pip install torch (in a checkout of lenet, pip install ".[torch]")'
            ) from None
        raise
    return pytorch


def to_torch(net: Network) -> Any:
    """A ``torch.nn.Module`` that computes what ``net.forward`` computes, with a copy of its
    weights and in its dtype; its parameters are named as in ``net.state_dict()``. See
    ``lenet.teach.pytorch``."""
    return _pytorch().to_torch(net)


def from_torch(source: Any | Mapping[str, Any], like: Network) -> Network:
    """A new network built as ``like``, with the weights of ``source``: a module made by
    ``to_torch`` or its ``state_dict()``. A key missing, extra or of another shape is refused,
    naming it. See ``lenet.teach.pytorch``."""
    return _pytorch().from_torch(source, like)
