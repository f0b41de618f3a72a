"""The thread count at the binding's boundary, driven by Hypothesis: any Python value handed to
set_num_threads."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import lenet
from lenet.engine import _core

from properties import IGNORE_NUMPY_WARNINGS, budget, raises

pytestmark = IGNORE_NUMPY_WARNINGS


@budget(0.5)
@given(
    n=st.one_of(
        st.integers(-(2**70), 2**70),
        st.integers(-3, 10),
        st.integers(0, 20).map(np.int64),
        st.integers(0, 20).map(np.uint8),
        st.floats(allow_nan=True),
        st.booleans(),
        st.none(),
        st.text(max_size=3),
        st.just(np.float64(2.0)),
        st.just(2 + 0j),
        st.just([2]),
    )
)
def test_set_num_threads(n):
    """1 to max_threads() is taken; anything else is refused and changes nothing."""
    before = lenet.get_num_threads()
    limit = _core.max_threads()
    integral = isinstance(n, (int, np.integer)) and not isinstance(n, bool)
    try:
        if integral and 1 <= n <= limit:
            _core.set_num_threads(n)
            assert lenet.get_num_threads() == (n if lenet.openmp_enabled() else 1)
            return
        exc = ValueError if integral else TypeError
        raises(exc, r"n must be (a|an integer) number of threads", _core.set_num_threads, n)
        assert lenet.get_num_threads() == before
    finally:
        _core.set_num_threads(before)
