"""Python threads and the core's threads: results never depend on who else is computing.

The C kernels release the GIL, so networks can run in several Python threads at once; each
caller must still get exactly the bits it would get alone, whatever the OpenMP thread count,
even when it changes between calls.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import lenet
from lenet._openmp import choose_wait_policy

from conftest import paper_digits


def _inputs(rng, n):
    return rng.uniform(-0.1, 1.175, (n, 1, 32, 32)).astype(np.float32)


@pytest.mark.parametrize("how", ["forward", "infer", "trace"])
def test_two_threads_on_two_networks_equal_one_after_the_other(rng, how):
    nets = [lenet.LeNet5(seed=1), lenet.LeNet5.modern(input_size=32, seed=2)]
    xs = [_inputs(rng, 40), _inputs(rng, 40)]

    def run(i):
        if how == "trace":
            return nets[i].trace(xs[i][:1], label=3).parameter_gradients["C1.weight"]
        return getattr(nets[i], how)(xs[i]).copy()

    one_after_the_other = [run(0), run(1)]
    results: list[list[np.ndarray]] = [[], []]
    barrier = threading.Barrier(2)

    def work(i):
        barrier.wait()  # start together
        for _ in range(10):
            results[i].append(run(i))

    workers = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    for i in range(2):
        assert len(results[i]) == 10
        for got in results[i]:
            np.testing.assert_array_equal(got, one_after_the_other[i])


def test_changing_the_thread_count_between_calls_is_safe(threads, rng):
    net = lenet.LeNet5(seed=0)
    x = _inputs(rng, 64)
    lenet.set_num_threads(1)
    expected = net.infer(x)
    stop = threading.Event()
    outputs = []

    def work():
        while not stop.is_set():
            outputs.append(net.infer(x))

    worker = threading.Thread(target=work)
    worker.start()
    try:
        for n in [2, 1, 3, 2, 1, 4, 2] * 5:  # while the other thread computes
            lenet.set_num_threads(n)
            np.testing.assert_array_equal(net.infer(x), expected)
    finally:
        stop.set()
        worker.join()
    assert outputs
    for out in outputs:
        np.testing.assert_array_equal(out, expected)


def test_the_core_releases_the_gil(threads):
    """While one thread is inside a long C call, another runs Python code. With the GIL held,
    the counting thread would get only a switch interval or two (5 ms each) of the call; here
    it must run for most of it. One core thread, so that the counter has a core of its own."""
    lenet.set_num_threads(1)
    net = lenet.LeNet5(seed=0)
    x = np.repeat(paper_digits(np.float32), 800, axis=0)  # 8,000 images: one long call

    def spin(stop: threading.Event, counts: list) -> None:
        n = 0
        while not stop.is_set():
            n += 1
        counts.append(n)

    def spin_while(call) -> tuple[float, float]:
        """(loops of a second thread per second, seconds) while `call` runs."""
        counts, stop = [], threading.Event()
        counter = threading.Thread(target=spin, args=(stop, counts))
        counter.start()
        t0 = time.perf_counter()
        call()
        seconds = time.perf_counter() - t0
        stop.set()
        counter.join()
        return counts[0] / seconds, seconds

    alone, _ = spin_while(lambda: time.sleep(0.2))  # sleeping releases the GIL
    during, seconds = spin_while(lambda: net.infer(x, batch_size=len(x)))  # one C call
    share = during / alone
    assert seconds > 0.1, "the call was too short to tell"
    assert share > 0.3, f"the other thread ran {100 * share:.0f} % of its speed during the call"


# ---- How idle OpenMP threads wait (lenet._openmp) ---------------------------------------


@pytest.mark.parametrize(
    "environ, chosen",
    [
        ({}, {"GOMP_SPINCOUNT": "1000"}),
        ({"GOMP_SPINCOUNT": "50"}, {"GOMP_SPINCOUNT": "50"}),
        ({"OMP_WAIT_POLICY": "active"}, {"OMP_WAIT_POLICY": "active"}),
    ],
)
def test_the_spin_count_is_chosen_only_when_the_user_chose_none(environ, chosen):
    environ = dict(environ)
    user_chose_none = not environ
    assert choose_wait_policy(environ) is user_chose_none
    assert environ == chosen


@pytest.mark.parametrize(
    "user, shown",
    [({}, "GOMP_SPINCOUNT = '1000'"), ({"GOMP_SPINCOUNT": "70"}, "GOMP_SPINCOUNT = '70'")],
)
def test_the_openmp_runtime_reads_the_spin_count_when_lenet_loads_it(user, shown):
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env.update(user, OMP_DISPLAY_ENV="VERBOSE")
    done = subprocess.run(
        [sys.executable, "-c", "import lenet"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    if "GOMP_SPINCOUNT" not in done.stderr:
        pytest.skip("not GNU OpenMP (or a serial build): GOMP_SPINCOUNT does not apply")
    assert shown in done.stderr
