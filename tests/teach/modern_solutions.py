"""Plain NumPy solutions of the modern network's exercises (max pooling backward, softmax
cross-entropy), and plausible wrong ones with the words of the hint each must get; shared by
tests/teach/test_exercises.py (every exercise passes and fails as it should) and
tests/teach/test_exercises_modern.py (what is particular to these two).

Written from the formulas on the exercises' pages; they call neither the engine nor
lenet.reference.
"""

from __future__ import annotations

import numpy as np


def _windows(x):
    """The four inputs of every 2x2 window, in row-major order along the last axis:
    (N, maps, H // 2, W // 2, 4); an odd last row or column is left out."""
    n, maps, h, w = x.shape
    ho, wo = h // 2, w // 2
    x = x[:, :, : 2 * ho, : 2 * wo].reshape(n, maps, ho, 2, wo, 2)
    return x.transpose(0, 1, 2, 4, 3, 5).reshape(n, maps, ho, wo, 4)


def _unwindows(d, shape):
    """The inverse of _windows: (N, maps, Ho, Wo, 4) back to ``shape``, 0 where no window
    reads."""
    n, maps, ho, wo, _ = d.shape
    dx = np.zeros(shape)
    d = d.reshape(n, maps, ho, wo, 2, 2).transpose(0, 1, 2, 4, 3, 5)
    dx[:, :, : 2 * ho, : 2 * wo] = d.reshape(n, maps, 2 * ho, 2 * wo)
    return dx


def maxpool_backward(x, dy):
    windows = _windows(x)
    winner = np.argmax(windows, axis=-1)  # the first largest: ties go to the earliest
    d = (np.arange(4) == winner[..., None]) * dy[..., None]
    return _unwindows(d, x.shape)


def softmax_cross_entropy_gradient(z, labels):
    n = z.shape[0]
    m = z.max(axis=1, keepdims=True)
    log_sum = m + np.log(np.exp(z - m).sum(axis=1, keepdims=True))  # log sum_k e^z_k
    p = np.exp(z - log_sum)
    one_hot = np.eye(z.shape[1])[labels]
    loss = np.mean(log_sum[:, 0] - z[np.arange(n), labels])
    return loss, (p - one_hot) / n


SOLUTIONS = {
    "maxpool_backward": maxpool_backward,
    "softmax_cross_entropy_gradient": softmax_cross_entropy_gradient,
}


# ---- plausible wrong solutions ----------------------------------------------------------------


def _maxpool_with(pick):
    """Max pooling backward where ``pick(windows)`` says which inputs get dy and in what share
    (N, maps, Ho, Wo, 4)."""

    def backward(x, dy):
        return _unwindows(pick(_windows(x)) * dy[..., None], x.shape)

    return backward


def _every_maximum(windows):
    return (windows == windows.max(axis=-1, keepdims=True)).astype(float)


def _last_maximum(windows):
    last = 3 - np.argmax(windows[..., ::-1], axis=-1)
    return (np.arange(4) == last[..., None]).astype(float)


def _first_in_column_order(windows):
    order = [0, 2, 1, 3]  # top-left, bottom-left, top-right, bottom-right
    first = np.array(order)[np.argmax(windows[..., order], axis=-1)]
    return (np.arange(4) == first[..., None]).astype(float)


def _maxpool_loop_ge(x, dy):
    """A loop over the windows that keeps the last largest input (>= instead of >)."""
    dx = np.zeros_like(x)
    for n, m, r, c in np.ndindex(dy.shape):
        best = (2 * r, 2 * c)
        for dr in range(2):
            for dc in range(2):
                if x[n, m, 2 * r + dr, 2 * c + dc] >= x[(n, m) + best]:
                    best = (2 * r + dr, 2 * c + dc)
        dx[(n, m) + best] = dy[n, m, r, c]
    return dx


def _softmax_naive(z):
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _ce_naive(z, labels):
    """The textbook formulas, with no shift: e^z overflows for large logits (NumPy's warnings
    of it silenced here, which a learner would see)."""
    n = z.shape[0]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        p = _softmax_naive(z)
        return -np.log(p[np.arange(n), labels]).mean(), (p - np.eye(z.shape[1])[labels]) / n


def _ce_with_dz(make_dz):
    def ce(z, labels):
        loss, _ = softmax_cross_entropy_gradient(z, labels)
        m = z.max(axis=1, keepdims=True)
        p = np.exp(z - m) / np.exp(z - m).sum(axis=1, keepdims=True)
        return loss, make_dz(p, np.eye(z.shape[1])[labels], z.shape[0])

    return ce


def _ce_summed(z, labels):
    loss, dz = softmax_cross_entropy_gradient(z, labels)
    return loss * z.shape[0], dz * z.shape[0]


def _ce_over_the_batch(z, labels):
    m = z.max(axis=0, keepdims=True)
    p = np.exp(z - m) / np.exp(z - m).sum(axis=0, keepdims=True)
    n = z.shape[0]
    return -np.log(p[np.arange(n), labels]).mean(), (p - np.eye(z.shape[1])[labels]) / n


def _ce_without_the_label_logit(z, labels):
    _, dz = softmax_cross_entropy_gradient(z, labels)
    m = z.max(axis=1)
    return np.mean(m + np.log(np.exp(z - m[:, None]).sum(axis=1))), dz


WRONG = [
    (
        "maxpool_backward",
        lambda x, dy: _unwindows(np.ones(_windows(x).shape) * dy[..., None], x.shape),
        "copied to all four inputs",
    ),
    (
        "maxpool_backward",
        lambda x, dy: _unwindows(np.full(_windows(x).shape, 0.25) * dy[..., None], x.shape),
        "average pooling's backward",
    ),
    (
        "maxpool_backward",
        _maxpool_with(lambda w: (np.arange(4) == 0).astype(float) * np.ones(w.shape)),
        "top-left input of every window",
    ),
    (
        "maxpool_backward",
        _maxpool_with(lambda w: (np.arange(4) == np.argmin(w, axis=-1)[..., None]).astype(float)),
        "smallest input",
    ),
    ("maxpool_backward", _maxpool_with(_every_maximum), "to every input equal to the window's"),
    (
        "maxpool_backward",
        _maxpool_with(lambda w: _every_maximum(w) / _every_maximum(w).sum(axis=-1, keepdims=True)),
        "share dy among the inputs",
    ),
    ("maxpool_backward", _maxpool_with(_last_maximum), "last largest input"),
    ("maxpool_backward", _maxpool_loop_ge, "updates its best on >= keeps the last"),
    ("maxpool_backward", _maxpool_with(_first_in_column_order), "in column order"),
    ("softmax_cross_entropy_gradient", _ce_summed, "N times too large"),
    (
        "softmax_cross_entropy_gradient",
        _ce_with_dz(lambda p, one_hot, n: p / n),
        "the one-hot of the label is missing",
    ),
    (
        "softmax_cross_entropy_gradient",
        _ce_with_dz(lambda p, one_hot, n: (one_hot - p) / n),
        "dz has the wrong sign",
    ),
    (
        "softmax_cross_entropy_gradient",
        _ce_with_dz(lambda p, one_hot, n: one_hot * (p - 1) / n),
        "diagonal of softmax's Jacobian",
    ),
    (
        "softmax_cross_entropy_gradient",
        _ce_with_dz(lambda p, one_hot, n: (p * one_hot).sum(1, keepdims=True) * (p - one_hot) / n),
        "gradient of -p[label], of the softmax alone",
    ),
    ("softmax_cross_entropy_gradient", _ce_over_the_batch, "softmax taken over the batch"),
    ("softmax_cross_entropy_gradient", _ce_without_the_label_logit, "E misses the label's logit"),
    (
        "softmax_cross_entropy_gradient",
        lambda z, labels: (
            -softmax_cross_entropy_gradient(z, labels)[0],
            softmax_cross_entropy_gradient(z, labels)[1],
        ),
        "E has the wrong sign",
    ),
    ("softmax_cross_entropy_gradient", _ce_naive, "log(sum e^z) overflows"),
]
