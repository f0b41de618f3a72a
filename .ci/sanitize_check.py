"""Two checks for .ci/sanitize.

As a pytest plugin (``-p sanitize_check``, with .ci/ on PYTHONPATH): stops the run before any
test unless ``lenet.engine._core`` is imported from the sanitized build in
$LENET_SANITIZE_SITE (a run
against another build would prove nothing), and names the build in the report header.

As a script (``python .ci/sanitize_check.py LOGDIR``): reads the sanitizers' report files in
LOGDIR and exits 1 if any of them reports an error. A leak report counts only for the leaks
allocated by lenet's code: CPython does not free everything at exit, so every process ends
with a few of the interpreter's and NumPy's. The extension is built with frame pointers, so
when it allocates, its frame is always in the allocation's stack.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

# a stack frame in the extension: its file, its sources, or a Cython function of lenet.engine._core
OURS = re.compile(r"lenet/engine/_core|csrc/|5lenet_6engine_5_core")
LEAK_HEADER = re.compile(r"=+\n==\d+==ERROR: LeakSanitizer: detected memory leaks")
LEAK = re.compile(r"(Direct|Indirect) leak of ")
LEAK_SUMMARY = re.compile(r"SUMMARY: AddressSanitizer: \d+ byte\(s\) leaked in ")


def failures(text: str) -> str:
    """The parts of one report file that fail the run ("" if none)."""
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text) if b.strip()]
    if not blocks or not LEAK_HEADER.fullmatch(blocks[0]):
        return text  # an error report (or anything unexpected): all of it
    bad = []
    for block in blocks[1:]:
        if LEAK.match(block):
            if OURS.search(block):
                bad.append(block)
        elif not LEAK_SUMMARY.match(block):
            bad.append(block)
    return "\n\n".join(bad)


def check_logs(folder: Path) -> int:
    failed = False
    for path in sorted(folder.iterdir()):
        bad = failures(path.read_text(errors="replace"))
        if bad:
            print(f"==== {path}\n{bad}\n", file=sys.stderr)
            failed = True
    return 1 if failed else 0


def pytest_configure(config):
    import pytest

    import lenet.engine._core

    site = os.path.realpath(os.environ["LENET_SANITIZE_SITE"])
    core = os.path.realpath(lenet.engine._core.__file__)
    if not core.startswith(site + os.sep):
        raise pytest.UsageError(f"the tests import {core}, not the sanitized build in {site}")


def pytest_report_header(config):
    import lenet.engine._core

    return f"lenet.engine._core: {lenet.engine._core.__file__} (sanitized build)"


if __name__ == "__main__":
    sys.exit(check_logs(Path(sys.argv[1])))
