"""Determinism: the same bits for one thread and for two (csrc/lenet.h's rule), the same bits
on repeated calls, and the thread-count API."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import threading

import numpy as np
import pytest

import lenet
from lenet import reference as R
from lenet.engine import _core


def _run(net, x, dout):
    out = net(x).copy()
    dx = net.backward(dout).copy()
    return out, dx, net.grad_dict()


def _assert_same_bits(a, b):
    out_a, dx_a, g_a = a
    out_b, dx_b, g_b = b
    assert np.array_equal(out_a, out_b)
    assert np.array_equal(dx_a, dx_b)
    assert list(g_a) == list(g_b)
    for key in g_a:
        assert np.array_equal(g_a[key], g_b[key]), key


def _use_threads(n):
    """Set n threads (a serial build warns and keeps one)."""
    if n > 1 and not lenet.openmp_enabled():
        with pytest.warns(RuntimeWarning, match="without OpenMP"):
            lenet.set_num_threads(n)
    else:
        lenet.set_num_threads(n)
    assert lenet.get_num_threads() == (n if lenet.openmp_enabled() else 1)


def _network(variant, dtype):
    if variant == "paper":
        return lenet.LeNet5(seed=7, dtype=dtype), (1, 32, 32)
    return lenet.LeNet5.modern(seed=7, dtype=dtype), (1, 28, 28)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("batch", [1, 64])
@pytest.mark.parametrize("variant", ["paper", "modern"])
def test_one_and_two_threads_give_identical_bits(threads, rng, variant, batch, dtype):
    net, shape = _network(variant, dtype)
    x = rng.uniform(-0.1, 1.175, (batch, *shape)).astype(dtype)
    dout = rng.standard_normal((batch, 10)).astype(dtype)
    _use_threads(1)
    one = _run(net, x, dout)
    _use_threads(2)
    two = _run(net, x, dout)
    _assert_same_bits(one, two)
    assert np.count_nonzero(two[1]) > 0 and all(np.any(g != 0) for g in two[2].values())


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_three_threads_give_the_same_bits_as_one(threads, rng, dtype):
    """A thread count that does not divide the work evenly (and exceeds the cores here)."""
    net, shape = _network("paper", dtype)
    x = rng.uniform(-0.1, 1.175, (64, *shape)).astype(dtype)
    dout = rng.standard_normal((64, 10)).astype(dtype)
    _use_threads(1)
    one = _run(net, x, dout)
    _use_threads(3)
    _assert_same_bits(one, _run(net, x, dout))


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_raw_kernels_batch_64_identical_bits(threads, rng, dtype):
    x = rng.standard_normal((64, 6, 14, 14)).astype(dtype)
    w = rng.standard_normal((16, 6, 5, 5)).astype(dtype)
    d_out = rng.standard_normal((64, 16, 10, 10)).astype(dtype)
    d_out_same = rng.standard_normal((64, 16, 14, 14)).astype(dtype)  # padding 2
    table = R.connection_table_i()
    xf = rng.standard_normal((64, 120)).astype(dtype)
    wf = rng.standard_normal((84, 120)).astype(dtype)
    df = rng.standard_normal((64, 84)).astype(dtype)
    xs = rng.standard_normal((64, 6, 28, 28)).astype(dtype)
    ds = rng.standard_normal((64, 6, 14, 14)).astype(dtype)
    coef = rng.standard_normal(6).astype(dtype)
    results = []
    for n in (1, 2):
        _use_threads(n)
        results.append(
            [
                *_core.conv_backward(x, w, d_out, table),
                *_core.conv_backward(x, w, d_out_same, None, 2),
                _core.conv_forward(x, w, np.zeros(16, dtype), table),
                *_core.dense_backward(xf, wf, df),
                _core.dense_forward(xf, wf, np.zeros(84, dtype)),
                *_core.subsample_backward(xs, ds, coef, "paper"),
            ]
        )
    for a, b in zip(*results):
        assert a.dtype == dtype
        assert np.array_equal(a, b)


@pytest.mark.parametrize("variant", ["paper", "modern"])
def test_repeated_calls_give_identical_bits(rng, variant):
    net, shape = _network(variant, np.float32)
    x = rng.uniform(-0.1, 1.175, (16, *shape)).astype(np.float32)
    dout = rng.standard_normal((16, 10)).astype(np.float32)
    first = _run(net, x, dout)
    for _ in range(3):
        _assert_same_bits(first, _run(net, x, dout))


def test_same_seed_networks_compute_identical_bits(rng):
    x = rng.uniform(-0.1, 1.175, (8, 1, 32, 32))
    a = lenet.LeNet5(seed=3)
    b = lenet.LeNet5(seed=3)
    assert np.array_equal(a(x), b(x))


def test_thread_api(threads):
    assert isinstance(lenet.openmp_enabled(), bool)
    n = lenet.get_num_threads()
    assert isinstance(n, int) and n >= 1
    _use_threads(3)
    lenet.set_num_threads(np.int64(1))
    assert lenet.get_num_threads() == 1


@pytest.mark.parametrize(
    "bad,exc,pattern",
    [
        (0, ValueError, r"from 1 to \d+, got 0"),
        (-1, ValueError, r"from 1 to \d+, got -1"),
        (1.5, TypeError, r"integer number of threads, got float"),
        ("2", TypeError, r"integer number of threads, got str"),
        (True, TypeError, r"got bool"),
        (None, TypeError, r"got NoneType"),
        (10**9, ValueError, r"from 1 to \d+, got 1000000000"),
        (2**64, ValueError, r"from 1 to \d+, got 18446744073709551616"),
        (np.int64(-(2**40)), ValueError, r"from 1 to \d+, got -1099511627776"),
        (np.float64(2.0), TypeError, r"integer number of threads, got float64"),
        ("max_threads() + 1", ValueError, None),
    ],
)
def test_set_num_threads_rejects(threads, bad, exc, pattern):
    """Not a count from 1 to max_threads(): refused, not quietly lowered (far more threads than
    cores can make the OpenMP runtime abort), and the count stays as it was."""
    if bad == "max_threads() + 1":
        bad = lenet.engine._core.max_threads() + 1
        pattern = rf"from 1 to {bad - 1}, got {bad}"
    _use_threads(2)
    with pytest.raises(exc, match=pattern):
        lenet.set_num_threads(bad)
    assert lenet.get_num_threads() == (2 if lenet.openmp_enabled() else 1)  # unchanged


def test_thread_count_is_shared_by_python_threads(threads):
    lenet.set_num_threads(1)
    seen = []
    worker = threading.Thread(target=lambda: seen.append(lenet.get_num_threads()))
    worker.start()
    worker.join()
    assert seen == [1]


def test_concurrent_python_threads_compute_the_same_bits(rng):
    """The kernels release the GIL; networks used from several Python threads at once must
    still give each caller its own, unchanged result."""
    nets = [lenet.LeNet5(seed=s) for s in range(4)]
    xs = [rng.uniform(-0.1, 1.175, (16, 1, 32, 32)).astype(np.float32) for _ in range(4)]
    expected = [net(x).copy() for net, x in zip(nets, xs)]
    results = [None] * 4

    def work(i):
        for _ in range(5):
            out = nets[i](xs[i]).copy()
            if results[i] is None or np.array_equal(results[i], out):
                results[i] = out
            else:
                results[i] = "changed"

    workers = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    for got, want in zip(results, expected):
        assert isinstance(got, np.ndarray) and np.array_equal(got, want)


@pytest.mark.skipif(not lenet.openmp_enabled(), reason="a serial build always has one thread")
def test_default_thread_count_honours_omp_num_threads():
    src = os.path.dirname(os.path.dirname(os.path.abspath(lenet.__file__)))
    env = dict(
        os.environ,
        OMP_NUM_THREADS="3",
        PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]),
    )
    result = subprocess.run(
        [sys.executable, "-c", "import lenet; print(lenet.get_num_threads())"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3"


def test_threads_fixture_restores(threads):
    # paired with the fixture: whatever this test sets is undone after it
    lenet.set_num_threads(1)
    assert lenet.get_num_threads() == 1


def test_forked_child_runs_kernels_after_the_parent_used_threads(tmp_path):
    """GNU OpenMP's thread pool does not survive fork(); lenet drops a forked child to one
    thread so that multiprocessing's default start method on Linux cannot hang."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent("""
        import multiprocessing as mp, os, numpy as np, lenet
        net = lenet.LeNet5(); x = np.zeros((256, 1, 32, 32), np.float32)
        lenet.set_num_threads(2); expected = float(net(x).sum())
        def work(_):
            return float(net(x).sum()), lenet.get_num_threads()
        if __name__ == "__main__":
            if "fork" not in mp.get_all_start_methods():
                print("no fork"); raise SystemExit(0)
            with mp.get_context("fork").Pool(2) as pool:
                results = pool.map(work, range(2))
            assert all(r == (expected, 1) for r in results), results
            print("ok")
    """)
    path = tmp_path / "fork_check.py"
    path.write_text(script)
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() in ("ok", "no fork")


def test_thread_count_is_capped():
    limit = _core.max_threads()
    assert limit >= 1
    with pytest.raises(ValueError, match=rf"from 1 to {limit}, got {limit + 1}"):
        _core.set_num_threads(limit + 1)


# ---- The register tiles' instruction sets (LENET_TILES, lenet_cpu_level) ----------------------

_LEVEL_SCRIPT = r"""
import hashlib, sys
import numpy as np
import lenet
from lenet.engine import fused
from lenet.engine.optim import SGD
from lenet.engine.sdlm import SDLM
digest = hashlib.sha256()
rng = np.random.default_rng(3)
for dtype in (np.float32, np.float64):
    for variant, shape in (("paper", (1, 32, 32)), ("modern", (1, 28, 28))):
        net = (lenet.LeNet5 if variant == "paper" else lenet.LeNet5.modern)(seed=5, dtype=dtype)
        x = rng.uniform(-0.1, 1.175, (70, *shape)).astype(dtype)
        y = rng.integers(0, 10, 70)
        out = net.forward(x)
        digest.update(out.tobytes())
        digest.update(net.backward(rng.standard_normal(out.shape).astype(dtype)).tobytes())
        digest.update(net.gradients.tobytes())
        digest.update(net.infer(x).tobytes())
        opt = SDLM(net, mu=0.5) if variant == "paper" else SGD(net, lr=1e-3)
        if variant == "paper":
            opt.start_pass(0, (x, y))
        fused.FusedTrainer(net, opt, 1 if variant == "paper" else 32).run(x, y, np.arange(70))
        digest.update(net.parameters.tobytes())
print(digest.hexdigest())
"""


def _digest_at(level):
    env = dict(os.environ)
    env.pop("LENET_CPU_LEVEL", None)
    if level is not None:
        env["LENET_CPU_LEVEL"] = str(level)
    done = subprocess.run(
        [sys.executable, "-c", _LEVEL_SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_avx2_and_avx512_tiles_give_identical_bits():
    # forward, backward, inference and fused training of both nets, in both dtypes: the tiles
    # sized for AVX-512's registers sum every value in the same order as the AVX2 ones
    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip("one instruction set off x86-64")
    assert _digest_at(None) == _digest_at(1)
