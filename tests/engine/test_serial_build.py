"""A serial build (no OpenMP runtime at build time) says so, with the fix for the platform.

The tests run on either build: on the one at hand as it is, and with a serial build faked by
patching ``lenet.engine.threads.openmp_enabled``, the one place that the note, the warning of
``set_num_threads`` and the commands' lines ask (tests/cli/test_cli.py checks the commands).
"""

from __future__ import annotations

import sys
import warnings

import pytest

import lenet
from lenet.engine import threads


@pytest.fixture
def serial(monkeypatch):
    """This build as a serial one would behave (its threads still set as asked)."""
    monkeypatch.setattr(threads, "openmp_enabled", lambda: False)
    monkeypatch.delenv("LENET_NO_OPENMP", raising=False)


@pytest.fixture
def restore_threads():
    """The thread count as it was (given before `serial`: restored on the real build)."""
    before = lenet.get_num_threads()
    yield
    lenet.set_num_threads(before)


def test_the_note_is_there_exactly_when_the_build_is_serial():
    note = threads.serial_build_note()
    assert (note is None) == lenet.openmp_enabled(), note
    if note is not None:
        assert "without OpenMP" in note and threads.openmp_fix() in note


def test_asking_a_serial_build_for_threads_warns_with_the_fix(restore_threads):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lenet.set_num_threads(2)
    said = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert said == ([] if lenet.openmp_enabled() else [threads.serial_build_note()])


def test_a_faked_serial_build_says_so_with_this_platforms_fix(restore_threads, serial):
    note = threads.serial_build_note()
    assert note is not None and note.startswith("lenet was built without OpenMP")
    assert threads.openmp_fix() in note and "docs/install.md" in note
    with pytest.warns(RuntimeWarning) as caught:
        lenet.set_num_threads(2)
    assert [str(w.message) for w in caught] == [note]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lenet.set_num_threads(1)  # one thread is what a serial build gives: nothing to say


@pytest.mark.parametrize(
    "system, machine, says",
    [
        ("darwin", "arm64", ["On macOS (arm64)", "brew install libomp"]),
        ("darwin", "x86_64", ["On macOS (x86_64)", "brew install libomp"]),
        ("linux", "x86_64", ["On Linux (x86_64)", "libgomp", "libomp-dev"]),
        ("linux", "aarch64", ["On Linux (aarch64)", "libgomp", "libomp-dev"]),
        ("win32", "AMD64", ["On Windows (AMD64)", "MSVC", "Visual Studio Build Tools"]),
        ("freebsd14", "amd64", ["a C compiler that has OpenMP"]),
    ],
)
def test_each_platform_has_its_fix(monkeypatch, system, machine, says):
    monkeypatch.delenv("LENET_NO_OPENMP", raising=False)
    fix = threads.openmp_fix(system, machine)
    for words in says:
        assert words in fix, fix
    # and every fix rebuilds from source, past the serial build setuptools and pip keep
    assert "delete its build/ folder" in fix and "--no-cache-dir --no-binary lenet" in fix
    assert "\n" not in fix


def test_a_build_asked_to_be_serial_is_told_to_unset_the_switch(monkeypatch):
    monkeypatch.setenv("LENET_NO_OPENMP", "1")
    assert threads.openmp_fix("darwin", "arm64").startswith("LENET_NO_OPENMP=1 is set: unset it")


def test_the_default_platform_is_this_one(monkeypatch):
    import platform

    monkeypatch.delenv("LENET_NO_OPENMP", raising=False)
    assert threads.openmp_fix() == threads.openmp_fix(sys.platform, platform.machine())
