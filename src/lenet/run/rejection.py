"""When a network is unsure: a rejection rule on its outputs, and the error/rejection trade-off
of a threshold (docs/studio.md, "When the network is unsure").

    >>> import numpy as np
    >>> penalties = np.array([[0.4, 31.0, 40.0], [6.0, 7.5, 30.0]])  # a clear 0, a 0 or a 1
    >>> margin(penalties, "penalty-gap").tolist()
    [30.6, 1.5]
    >>> unsure(penalties, 5.0).tolist()
    [False, True]

A network's answer is the class of its smallest RBF penalty (the paper's network) or of its
largest logit (the modern one). How sure it is, is the ``margin`` between that class and the
runner-up: the second smallest penalty minus the smallest (``"penalty-gap"``, the score the
paper's rejection experiments threshold), or the largest logit minus the second largest
(``"logit-gap"``). The answer is ``unsure`` when the margin is below a threshold. ``choose``
picks the threshold that rejects at most a given share of a labelled set, and ``tradeoff``
tabulates what each threshold rejects and the error left among what it accepts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from numpy.typing import ArrayLike

from ..engine.layers import RBFOutput
from ..engine.network import Network

__all__ = ["RULES", "choose", "margin", "rule_of", "tradeoff", "unsure"]

#: the rules: name -> what the margin is
RULES = {
    "penalty-gap": "the second smallest RBF penalty minus the smallest",
    "logit-gap": "the largest logit minus the second largest",
}


def _rule(rule: str) -> str:
    if rule not in RULES:
        raise ValueError(f"rule must be one of {', '.join(RULES)}, got {rule!r}")
    return rule


def rule_of(net: Network) -> str:
    """The rule that fits ``net``'s outputs: "penalty-gap" for RBF penalties, else "logit-gap"."""
    return "penalty-gap" if isinstance(net.layers[-1], RBFOutput) else "logit-gap"


def margin(outputs: ArrayLike, rule: str = "penalty-gap") -> np.ndarray:
    """How far the answer is ahead of the runner-up, for each row of ``outputs`` (N, classes),
    or for one output (classes,): never negative; 0 for a tie."""
    out = np.asarray(outputs, dtype=np.float64)
    if out.ndim not in (1, 2) or out.shape[-1] < 2:
        raise ValueError(f"outputs must be (classes,) or (N, classes), classes >= 2: {out.shape}")
    two = np.sort(out, axis=-1)
    if _rule(rule) == "penalty-gap":
        return two[..., 1] - two[..., 0]
    return two[..., -1] - two[..., -2]


def unsure(outputs: ArrayLike, threshold: float, rule: str = "penalty-gap") -> np.ndarray:
    """True where the answer's margin (``margin(outputs, rule)``) is below ``threshold``."""
    if not (isinstance(threshold, (int, float)) and math.isfinite(threshold) and threshold >= 0):
        raise ValueError(f"threshold must be a finite number >= 0, got {threshold!r}")
    return margin(outputs, rule) < threshold


def tradeoff(
    margins: ArrayLike, correct: ArrayLike, thresholds: Iterable[float]
) -> list[dict[str, float | int]]:
    """For each threshold: how many of a labelled set's answers it rejects (margin below it),
    the errors among the answers it accepts, and the error rate among them."""
    m, ok = np.asarray(margins, np.float64), np.asarray(correct, bool)
    if m.shape != ok.shape or m.ndim != 1:
        raise ValueError(f"margins and correct must be 1-D and alike: {m.shape}, {ok.shape}")
    rows: list[dict[str, float | int]] = []
    for t in thresholds:
        accepted = m >= t
        errors = int(np.sum(accepted & ~ok))
        kept = int(np.sum(accepted))
        rows.append(
            {
                "threshold": float(t),
                "images": len(m),
                "rejected": len(m) - kept,
                "errors_accepted": errors,
                "error_accepted": errors / kept if kept else 0.0,
            }
        )
    return rows


def choose(margins: ArrayLike, most_rejected: float, decimals: int = 2) -> float:
    """The largest threshold with ``decimals`` decimals that rejects at most the share
    ``most_rejected`` (0 .. 1) of the answers whose margins are ``margins``."""
    m = np.sort(np.asarray(margins, np.float64).ravel())
    if not 0 <= most_rejected < 1 or len(m) == 0:
        raise ValueError(f"most_rejected must be in [0, 1) and margins given: {most_rejected!r}")
    allowed = math.floor(most_rejected * len(m))  # rejecting m[:allowed] at most
    # rejecting is margin < t: any t <= m[allowed] rejects at most `allowed` answers
    scale = 10**decimals
    t = math.floor(m[allowed] * scale) / scale
    assert np.sum(m < t) <= allowed
    return t
