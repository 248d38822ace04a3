"""Shared test set-up.

* ANNarchy is imported once here, seeing none of pytest's own options (it parses
  ``sys.argv`` at import: ``pytest -v`` would switch on its verbose mode).
* ``training_images()``: the real training data, found where the scripts look for it:
  ``input/IMAGES.mat`` (where users keep it), else ``../shared/data/IMAGES.mat``.
  Locally the tests that need it are skipped, with the reason shown (``-ra``); in CI
  (environment variable ``CI`` set to true) a missing file is a failure, so that no
  end-to-end test is ever skipped silently there. Tests that need no images never
  depend on it: a module asks for the file only in the fixtures that use it.
* ``compile_net``: compile a test's own ANNarchy network into a fresh folder.
* ``refused(proc, *texts)``: a command refused its input as the package promises.
"""
import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
# Where the training images are looked for, in this order (as input.images.resolve_images).
IMAGE_PLACES = (REPO_ROOT / "input" / "IMAGES.mat", REPO_ROOT.parent / "shared" / "data" / "IMAGES.mat")
IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")

_argv, sys.argv = sys.argv, sys.argv[:1]
try:
    import ANNarchy  # noqa: E402,F401  (imported with a clean argv, then cached)
finally:
    sys.argv = _argv


def find_training_images(places=IMAGE_PLACES) -> Path | None:
    """The first of *places* that is a file, or None."""
    return next((Path(p) for p in places if Path(p).is_file()), None)


def training_images() -> Path:
    """Path of IMAGES.mat (``IMAGE_PLACES``); skips the calling test, or the module when called
    at import, without it (fails in CI)."""
    found = find_training_images()
    if found is not None:
        return found
    message = "training images not available (looked for " + " and ".join(map(str, IMAGE_PLACES)) + ")"
    if IN_CI:
        pytest.fail(f"{message}: CI must run the end-to-end tests", pytrace=False)
    pytest.skip(f"{message}; end-to-end tests skipped", allow_module_level=True)


@pytest.fixture(scope="session")
def images_path() -> Path:
    """IMAGES.mat for the tests that need it: skipped (failed in CI) when it is absent."""
    return training_images()


@pytest.fixture(scope="module")
def compile_net(tmp_path_factory):
    """compile_net(net, name): compile *net* into a fresh folder of this module's tmp space."""
    from simulator.network import compile_network

    def compile_(net, name="build"):
        directory = tmp_path_factory.mktemp(name)
        compile_network(net, directory)
        return directory
    return compile_


def refused(proc, *texts, before_annarchy: bool = False) -> str:
    """Assert that the finished command *proc* refused its input: exit code 2 and one line
    ``error: ...`` on stderr holding every one of *texts*, no traceback. *before_annarchy*:
    also that it refused before ANNarchy was imported (nothing of ANNarchy's in its output).
    Returns the line."""
    assert proc.returncode == 2, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    for text in texts:
        assert str(text) in lines[0], f"{text!r} not in {lines[0]!r}"
    if before_annarchy:
        assert "ANNarchy" not in proc.stdout + proc.stderr, "ANNarchy was imported before the refusal"
    return lines[0]
