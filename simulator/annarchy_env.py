"""ANNarchy's command-line flags, kept apart from the scripts' own options.

ANNarchy parses ``sys.argv`` when it is imported (and would answer ``--help`` with
its own text) and again when it compiles. The scripts therefore parse their own
options first, import ANNarchy only afterwards, and hand it only the flags it
owns (``-c/--clean``, ``-d/--debug``, ``-v/--verbose``, ``--gpu``,
``--profile-out``; threads are set on the network). ``simulator.network`` shields the
compile step itself the same way and puts the running interpreter first on PATH,
so compiling works from a virtual environment that is not activated.
"""
from __future__ import annotations

import sys


def hand_over_argv(annarchy_flags=()) -> None:
    """Call before ANNarchy is first imported: it will see only *annarchy_flags*."""
    sys.argv = [sys.argv[0] if sys.argv else "v1"] + list(annarchy_flags)
