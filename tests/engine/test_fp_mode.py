"""The floating-point mode the kernels run in (csrc/lenet.h, "Denormal floats"): denormal
results are flushed to zero inside the kernels, on every thread of a parallel loop, denormal
inputs are read as they are, and the caller's own mode is left as it was."""

from __future__ import annotations

import numpy as np
import pytest

import lenet
from lenet.engine import _core

from conftest import DTYPE_IDS, DTYPES

TINY = {np.float32: np.finfo(np.float32).tiny, np.float64: np.finfo(np.float64).tiny}

flushing = pytest.mark.skipif(
    not _core.flushes_denormals(),
    reason="this build does not flush denormals",
)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_the_build_does_what_it_reports(dtype):
    # a build that reports flushing gives exact zero for a denormal result; one that does not
    # (no SSE control register to set) gives the denormal itself, as NumPy does
    x = np.full((1, 4), 0.5, dtype)
    weight = np.zeros((3, 4), dtype)
    weight[:, 0] = TINY[dtype]
    out = _core.dense_forward(x, weight, np.zeros(3, dtype))
    expected = 0 if _core.flushes_denormals() else x[0, 0] * weight[0, 0]
    np.testing.assert_array_equal(out, np.full((1, 3), expected, dtype))


@flushing
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_a_denormal_result_is_flushed_to_zero(dtype, threads):
    # 0.5 * tiny is a denormal: the weighted sum of a full connection that should give it
    # gives exact zero instead; a batch large enough for two threads checks both threads
    before = lenet.get_num_threads()
    lenet.set_num_threads(threads)
    try:
        n, f_in, f_out = 512, 400, 120
        x = np.full((n, f_in), 0.5, dtype)
        weight = np.zeros((f_out, f_in), dtype)
        weight[:, 0] = TINY[dtype]
        out = _core.dense_forward(x, weight, np.zeros(f_out, dtype))
        assert np.all(out == 0)
        # a denormal input is read as it is: tiny/4 times 8 is 2 tiny, a normal number, and
        # 400 of those make 800 tiny (reading the input as zero would give 0)
        x[:] = TINY[dtype] / 4
        weight[:] = 8
        out = _core.dense_forward(x, weight, np.zeros(f_out, dtype))
        np.testing.assert_allclose(out, 800 * TINY[dtype], rtol=1e-3)
    finally:
        lenet.set_num_threads(before)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_a_denormal_input_is_still_seen_by_comparisons(dtype):
    a = np.array([TINY[dtype] / 8, -TINY[dtype] / 8], dtype)
    np.testing.assert_array_equal(_core.activation_derivative(a, "relu"), [1, 0])
    np.testing.assert_array_equal(_core.activation_forward(a, "relu"), [a[0], 0])


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_the_callers_mode_is_left_as_it_was(dtype):
    tiny = dtype(TINY[dtype])
    before = tiny * dtype(0.5)
    assert before != 0  # NumPy makes denormals here
    net = lenet.LeNet5(seed=0, dtype=dtype)
    net.infer(np.zeros((1, 1, 32, 32), dtype))
    net.forward(np.zeros((4, 1, 32, 32), dtype))
    assert tiny * dtype(0.5) == before  # ... and still does after the kernels ran
