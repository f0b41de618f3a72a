"""The exercises in the order the docs present them, and what each says of itself: its
name, its summary, its starter code and its page (``NAME.md`` beside ``NAME.py``). The paper's
network first, then the modern network's own pieces (``GROUPS``)."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from types import MappingProxyType

from . import (
    c3_forward,
    loss9_gradient,
    maxpool_backward,
    rbf_backward,
    rbf_output,
    s2_backward,
    s2_forward,
    sdlm_second_derivatives,
    softmax_cross_entropy_gradient,
    squash,
    squash_derivative,
    training_step,
)
from .exercise import Exercise

#: LeNet-5 as the paper describes it (Sections II.B, II.C, Appendix C)
_PAPER = (
    squash,
    squash_derivative,
    s2_forward,
    s2_backward,
    c3_forward,
    rbf_output,
    rbf_backward,
    loss9_gradient,
    sdlm_second_derivatives,
    training_step,
)
#: the modern network's pieces that the paper's has not: max pooling, softmax cross-entropy
_MODERN = (maxpool_backward, softmax_cross_entropy_gradient)

#: name -> Exercise, in the order the docs present them
EXERCISES: Mapping[str, Exercise] = MappingProxyType(
    {module.EXERCISE.name: module.EXERCISE for module in _PAPER + _MODERN}
)
#: group -> the names of its exercises, in order: "paper", then "modern"
GROUPS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "paper": tuple(module.EXERCISE.name for module in _PAPER),
        "modern": tuple(module.EXERCISE.name for module in _MODERN),
    }
)


def names() -> tuple[str, ...]:
    """The exercises' names, in the order the docs present them."""
    return tuple(EXERCISES)


def _exercise(name: str) -> Exercise:
    try:
        return EXERCISES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown exercise {name!r}; the exercises are: {', '.join(EXERCISES)}"
        ) from None


def starter(name: str) -> str:
    """The starter code of exercise ``name``: a signature and a docstring, the text of its page."""
    return _exercise(name).starter


def summary(name: str) -> str:
    """A few lines on exercise ``name``: its title, the paper's section, what to implement,
    what it returns."""
    ex = _exercise(name)
    returns = ", ".join(f"{out} {shape}" for out, shape in ex.outputs[:4])
    if len(ex.outputs) > 4:
        returns += f", ... ({len(ex.outputs)} arrays)"
    if ex.returns_dict:
        returns = f"a dict with keys {returns}"
    return f"{ex.name}: {ex.title} ({ex.section})\n{ex.summary}\nReturns: {returns}"


def describe(name: str) -> str:
    """The page of exercise ``name`` as text (Markdown): what to implement, the formulas with
    the paper's section, the shapes, the starter code and the call that checks it. The pages
    ship inside the package, beside the exercise's module (``lenet/teach/exercises/NAME.md``)."""
    ex = _exercise(name)
    return resources.files(__package__).joinpath(f"{ex.name}.md").read_text("utf-8")
