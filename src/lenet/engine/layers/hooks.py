"""Hooks on a layer: functions called after its forward or backward with what went in and
out, for watching a run (``Layer.register_forward_hook``, ``Layer.register_backward_hook``)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

_hook_ids = itertools.count()


def read_only(arr: np.ndarray) -> np.ndarray:
    """A view of ``arr`` that cannot be written through."""
    view = arr.view()
    view.flags.writeable = False
    return view


class HookHandle:
    """What ``register_forward_hook``/``register_backward_hook`` return: ``remove()`` takes the
    hook off again (also as a context manager: the hook is removed when the block ends)."""

    def __init__(self, hooks: dict, key: int) -> None:
        self._hooks, self._key = hooks, key

    def remove(self) -> None:
        self._hooks.pop(self._key, None)

    def __enter__(self) -> HookHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class Hooked:
    """The hooks part of a layer (``Layer`` inherits it): two dicts of hooks, called in the
    order they were registered, and dropped when the layer is copied."""

    name: str
    _forward_hooks: dict[int, Callable]
    _backward_hooks: dict[int, Callable]

    def register_forward_hook(
        self, hook: Callable[[Any, np.ndarray, np.ndarray], None]
    ) -> HookHandle:
        """Call ``hook(layer, x, y)`` after every forward of this layer, with the batch's input
        x and states y (read-only views). Returns a handle whose ``remove()`` takes it off.

        For watching, printing or plotting inside a training run: hooks must return None, and
        must not write into the layer (its ``a``, ``y``, ``params``) -- that would change what
        flows through the network. A network with hooks runs layer by layer
        (``net.infer`` and ``lenet.train`` skip the fused C path, which never passes through
        the layer objects), so register them before training starts. Hooks are not copied
        with the layer (``copy.deepcopy``, pickling).
        """
        return self._add_hook(self._forward_hooks, hook, "register_forward_hook")

    def register_backward_hook(
        self, hook: Callable[[Any, np.ndarray, np.ndarray], None]
    ) -> HookHandle:
        """Call ``hook(layer, dy, dx)`` after every backward of this layer, with dy = dE/dy (the
        gradient with respect to the layer's states) and dx = dE/dx (with respect to its input),
        as read-only views; ``layer.grads`` holds dE/d(parameters) by then. Otherwise as
        ``register_forward_hook``."""
        return self._add_hook(self._backward_hooks, hook, "register_backward_hook")

    def _add_hook(self, hooks: dict, hook: Callable, where: str) -> HookHandle:
        if not callable(hook):
            raise TypeError(
                f"{self.name}.{where}: hook must be callable as hook(layer, in, out), "
                f"got {type(hook).__name__}"
            )
        key = next(_hook_ids)
        hooks[key] = hook
        return HookHandle(hooks, key)

    @property
    def has_hooks(self) -> bool:
        """True while a forward or backward hook is registered."""
        return bool(self._forward_hooks or self._backward_hooks)

    def _call_hooks(self, hooks: dict, which: str, first: np.ndarray, second: np.ndarray) -> None:
        for hook in list(hooks.values()):  # a hook may remove itself
            result = hook(self, read_only(first), read_only(second))
            if result is not None:
                raise TypeError(
                    f"{self.name}: a {which} hook returned {type(result).__name__}; "
                    f"hooks watch and must return None"
                )

    def __getstate__(self) -> dict:
        # hooks are functions of the session that registered them: copies start without any
        state = self.__dict__.copy()
        state["_forward_hooks"], state["_backward_hooks"] = {}, {}
        return state
