"""Make ANNarchy importable and compilable from any interpreter.

ANNarchy compiles with CMake, which looks up ``python3`` on PATH and needs
``nanobind`` in that interpreter. With a virtual environment that is not
activated, PATH points at the system Python and compilation fails with
"CMake generation failed". Putting the running interpreter's directory first
on PATH fixes that. ANNarchy also parses ``sys.argv`` when it is imported and
when it compiles; the scripts parse their own options first and hand ANNarchy
only the flags it owns (see ``models.cli``).
"""
import contextlib
import os
import sys


def prepare_environment(annarchy_argv=None) -> None:
    """Call before ``import ANNarchy``: fix PATH and give ANNarchy a clean argv."""
    bindir = os.path.dirname(sys.executable)
    path = os.environ.get("PATH", "")
    if path.split(os.pathsep)[0] != bindir:
        os.environ["PATH"] = bindir + os.pathsep + path
    if annarchy_argv is not None:
        sys.argv = [sys.argv[0]] + list(annarchy_argv)


@contextlib.contextmanager
def annarchy_argv(flags=()):
    """ANNarchy re-reads sys.argv when compiling: show it only the flags it owns."""
    saved = sys.argv
    sys.argv = [saved[0] if saved else "v1"] + list(flags)
    try:
        yield
    finally:
        sys.argv = saved
