"""``python -m lenet.cli``: the ``lenet`` command."""

import sys

from . import main

sys.exit(main())
