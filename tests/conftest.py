"""Shared test set-up.

* ANNarchy is imported once here, seeing none of pytest's own options (it parses
  ``sys.argv`` at import: ``pytest -v`` would switch on its verbose mode).
* ``training_images()``: the real training data, ``../shared/data/IMAGES.mat``.
  Locally the tests that need it are skipped, with the reason shown (``-ra``); in CI
  (environment variable ``CI`` set to true) a missing file is a failure, so that no
  end-to-end test is ever skipped silently there.
* ``compile_net``: compile a test's own ANNarchy network into a fresh folder.
"""
import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
SHARED_IMAGES = REPO_ROOT.parent / "shared" / "data" / "IMAGES.mat"
IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")

_argv, sys.argv = sys.argv, sys.argv[:1]
try:
    import ANNarchy  # noqa: E402,F401  (imported with a clean argv, then cached)
finally:
    sys.argv = _argv


def training_images() -> Path:
    """Path of the shared IMAGES.mat; skips the calling test module without it (fails in CI)."""
    if SHARED_IMAGES.is_file():
        return SHARED_IMAGES
    message = f"training images {SHARED_IMAGES} not available"
    if IN_CI:
        pytest.fail(f"{message}: CI must run the end-to-end tests", pytrace=False)
    pytest.skip(f"{message} (end-to-end tests skipped)", allow_module_level=True)


@pytest.fixture(scope="module")
def compile_net(tmp_path_factory):
    """compile_net(net, name): compile *net* into a fresh folder of this module's tmp space."""
    from models.network import compile_network

    def compile_(net, name="build"):
        directory = tmp_path_factory.mktemp(name)
        compile_network(net, directory)
        return directory
    return compile_
