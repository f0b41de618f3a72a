"""A pytest plugin for .ci/clang (``-p build_check``, with .ci/ on PYTHONPATH): stops the run
before any test unless ``lenet.engine._core`` is imported from the build in $LENET_BUILD_SITE
and that build is serial, or built with OpenMP when $LENET_BUILD_OPENMP is 1 (a run against
another build would prove nothing), and names the build in the report header."""

from __future__ import annotations

import os


def pytest_configure(config):
    import pytest

    import lenet.engine._core as core

    site = os.path.realpath(os.environ["LENET_BUILD_SITE"])
    path = os.path.realpath(core.__file__)
    if not path.startswith(site + os.sep):
        raise pytest.UsageError(f"the tests import {path}, not the build in {site}")
    wanted = os.environ.get("LENET_BUILD_OPENMP") == "1"
    if core.openmp_enabled() != wanted:
        built = "with OpenMP" if core.openmp_enabled() else "serially"
        raise pytest.UsageError(f"{path} is built {built}, not as asked")


def pytest_report_header(config):
    import lenet.engine._core

    openmp = "OpenMP" if lenet.engine._core.openmp_enabled() else "no OpenMP"
    return f"lenet.engine._core: {lenet.engine._core.__file__} (clang, {openmp})"
