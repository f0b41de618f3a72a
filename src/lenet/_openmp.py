"""How the C core's OpenMP threads wait between parallel loops; imported before the core loads.

GNU OpenMP (libgomp) reads its settings from the environment once, when the library loads,
and by default lets an idle thread spin 300,000 times before it sleeps. That keeps one
process's back-to-back loops quick, but two processes sharing the cores (two learners' runs on
one laptop) spin away each other's time slices: two ``lenet train`` runs at once on two cores
each took 1.63x as long as alone with that count, 1.15x with 1,000 (docs/performance.md).
libgomp itself spins only 1,000 times when it knows there are more threads than cores, and a
process cannot know about the others, so lenet asks for that count from the start. A setting
of the user's own, ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT``, is kept. Other OpenMP runtimes
ignore ``GOMP_SPINCOUNT``.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

#: libgomp's spin count when it knows the cores are oversubscribed.
SPIN_COUNT = "1000"


def choose_wait_policy(environ: MutableMapping[str, str] = os.environ) -> bool:
    """Set GOMP_SPINCOUNT to SPIN_COUNT unless the user chose a wait policy; True if set."""
    if "OMP_WAIT_POLICY" in environ or "GOMP_SPINCOUNT" in environ:
        return False
    environ["GOMP_SPINCOUNT"] = SPIN_COUNT
    return True


choose_wait_policy()
