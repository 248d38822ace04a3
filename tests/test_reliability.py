"""What the commands do with unusual inputs and situations: one run per folder, one-line
errors (exit 2, nothing written) instead of tracebacks, and no silent nonsense.

Every check here happens before a network is compiled, so the tests are fast.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO_ROOT, refused, training_images
from models.layers import layer4
from models.parameters import PUBLISHED
from test_snapshots import write_layer

LAYER4 = layer4()                    # the published model's layer 4
WHITENING = PUBLISHED.input.whitening

ERROR_TIMEOUT = 90


def _env():
    return dict(os.environ, MPLBACKEND="Agg", TQDM_DISABLE="1", PYTHONDONTWRITEBYTECODE="1")


def run(script, *args, timeout=ERROR_TIMEOUT):
    return subprocess.run([sys.executable, script, *map(str, args)], cwd=REPO_ROOT, env=_env(),
                          capture_output=True, text=True, timeout=timeout)


# --- one process per run folder ----------------------------------------------------------------

@pytest.fixture
def holder():
    """holder(folder): another process that holds *folder* (as a running run would); its pid."""
    procs = []

    def hold(folder):
        code = ("import sys; from runs.folder_lock import FolderLock; FolderLock.acquire(sys.argv[1]); "
                "print('held', flush=True); sys.stdin.read()")
        proc = subprocess.Popen([sys.executable, "-c", code, str(folder)], cwd=REPO_ROOT, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "held"
        procs.append(proc)
        return proc.pid
    yield hold
    for proc in procs:
        proc.stdin.close()
        proc.wait(timeout=30)


def test_folder_lock_one_owner_at_a_time(tmp_path):
    from runs.folder_lock import FolderBusy, FolderLock
    folder = tmp_path / "a" / "b"
    lock = FolderLock.acquire(folder)
    assert (folder / ".lock").read_text().strip() == str(os.getpid())
    with pytest.raises(FolderBusy, match=rf"in use by another run \(process {os.getpid()} holds"):
        FolderLock.acquire(folder)
    lock.release(remove_created=True)
    assert not (tmp_path / "a").exists()                 # what the lock created, empty, is gone
    again = FolderLock.acquire(folder)                   # free again
    (folder / "result.txt").write_text("x")
    again.release(remove_created=True)
    assert sorted(p.name for p in folder.iterdir()) == ["result.txt"]


def test_second_training_run_into_a_busy_folder_is_refused(tmp_path, holder):
    """Two runs into one --out (or a --resume while the run still runs): the second is refused
    in one line naming the process that holds the folder, before anything is built."""
    images = training_images()
    out, build = tmp_path / "out", tmp_path / "build"
    pid = holder(out)
    for extra in ([], ["--overwrite"], ["--resume"]):
        refused(run("ann_L4.py", "--images", images, "--out", out, "--build-dir", build, "--patches", 8,
                    "--seed", 11, *extra), str(out), f"process {pid}", "in use")
    assert not build.exists() and sorted(p.name for p in out.iterdir()) == [".lock"]


def test_second_evaluation_into_a_busy_folder_is_refused(tmp_path, holder):
    l4 = write_layer(tmp_path / "l4", LAYER4, 0)
    write_layer(l4, LAYER4, 16)
    out = tmp_path / "eval"
    pid = holder(out / "digits")
    refused(run("evaluate.py", "--l4", l4, "--out", out, "--limit", 20, "--workers", 1, "--build-root",
                tmp_path / "build", "--no-progress"), f"process {pid}", "in use")
    assert not (tmp_path / "build").exists() and sorted(p.name for p in (out / "digits").iterdir()) == [".lock"]


def _record(folder, images, status="running"):
    """A run.json as a new layer-4 run writes it, before its first checkpoint."""
    from input.images import load_images, sha256_of_array
    from models.description import describe
    folder.mkdir(parents=True, exist_ok=True)
    sha = sha256_of_array(load_images(images, patch_size=18))
    record = {"layer": "L4", "status": status, "patches": 8, "seed": 3, "save_every": 8, "variant": "fast",
              "threads": 1, "threads_requested": 1, "images": {"path": str(images), "sha256": sha},
              "model": describe(LAYER4)}
    (folder / "run.json").write_text(json.dumps(record))


def test_run_stopped_before_its_first_checkpoint_starts_again(tmp_path):
    from training import run_folder
    out = tmp_path / "out"
    out.mkdir()
    (out / "run.json").write_text(json.dumps({"layer": "L4", "status": "running"}))
    note = run_folder.prepare(out, LAYER4, overwrite=False)          # no --overwrite needed ...
    assert "stopped before its first checkpoint" in note and "starting it again" in note
    assert not (out / "run.json").exists()
    write_layer(out, LAYER4, 0)                                      # ... but a run with snapshots is kept
    (out / "run.json").write_text("{}")
    with pytest.raises(run_folder.OutputFolderError, match="already holds a run"):
        run_folder.prepare(out, LAYER4, overwrite=False)


def test_resume_before_the_first_checkpoint_says_start_again(tmp_path):
    images = training_images()
    out = tmp_path / "out"
    _record(out, images, status="interrupted")
    refused(run("ann_L4.py", "--out", out, "--build-dir", tmp_path / "b", "--resume"),
            str(out), "stopped before its first checkpoint", "without --resume")


def test_overwrite_removes_everything_of_the_old_run(tmp_path):
    from training import run_folder
    out = tmp_path / "out"
    write_layer(out, LAYER4, 0)
    write_layer(out, LAYER4, 100)
    old = ["run.json", "frExc.npy", "weight_stats.json", "V1Layer/rates.png", "ONOFF/V1weight_100_ONOFF.png",
           "analysis/report.md", "analysis/metrics.json", "checkpoints/checkpoint_100.npz"]
    for rel in old:
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text("old")
    (out / "my_notes.txt").write_text("the user's own")
    run_folder.prepare(out, LAYER4, overwrite=True)
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == ["my_notes.txt"]


# --- option values refused before anything runs ------------------------------------------------

BIG_SEED = 2**63


@pytest.mark.parametrize("script,args,option", [
    ("ann_L4.py", ["--seed", BIG_SEED], "--seed"),
    ("ann_L4.py", ["--seed", -1], "--seed"),
    ("ann_L2_3.py", ["--seed", BIG_SEED], "--seed"),
    ("analyze.py", ["{run}", "--seed", -1], "--seed"),
    ("analyze.py", ["{run}", "--seed", BIG_SEED], "--seed"),
    ("analyze.py", ["{run}", "-j", 0], "-j/--num-threads"),
    ("analyze.py", ["{run}", "--blank", -5], "--blank"),
    ("analyze.py", ["{run}", "--natural", 0], "--natural"),
    ("analyze.py", ["{run}", "--noise", 0], "--noise"),
    ("analyze.py", ["{run}", "--step", -1], "--step"),
    ("evaluate.py", ["--C", "inf"], "--C"),
    ("evaluate.py", ["--seed", -1], "--seed"),
    ("evaluate.py", ["--seed", BIG_SEED], "--seed"),
    ("rezeptiv.py", ["{run}", "--step", -1], "--step"),
])
def test_option_values_refused_naming_the_option(tmp_path, script, args, option):
    """Values no generator or loop can take are refused by the option parser, naming the option
    (the inputs here are missing too: the option must be what the one line is about)."""
    args = [str(a).replace("{run}", str(tmp_path / "no_run")) for a in args]
    value = args[-1]
    if script.startswith("ann_"):
        args += ["--images", tmp_path / "none.mat", "--out", tmp_path / "out"]
    if script == "evaluate.py":
        args += ["--l4", tmp_path / "no_run", "--out", tmp_path / "out"]
    refused(run(script, *args), f"argument {option}: ", value)
    assert not (tmp_path / "out").exists()


def test_rezeptiv_input_errors_exit_2(tmp_path):
    refused(run("rezeptiv.py", tmp_path / "no_run"), str(tmp_path / "no_run"))


# --- read-only run folders ------------------------------------------------------------------

@pytest.fixture
def read_only_run(tmp_path):
    """A layer-4 run (snapshots 0 and 16) on a file system mounted read-only."""
    mnt = tmp_path / "ro"
    mnt.mkdir()
    try:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mnt)],
                                 capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        mounted = False
    if not mounted:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        write_layer(mnt / "run", LAYER4, 0)
        write_layer(mnt / "run", LAYER4, 16)
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True, timeout=30)
        yield mnt / "run"
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_rezeptiv_on_a_read_only_run(read_only_run, tmp_path):
    refused(run("rezeptiv.py", read_only_run), str(read_only_run / "ONOFF"), "cannot write", "--out")
    proc = run("rezeptiv.py", read_only_run, "--out", tmp_path / "fields")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "fields").iterdir()) == [
        "InhibW_16_ONOFF.png", "V1weight_16_ONOFF.png", "weights_hist_16.png"]


def test_analyze_on_a_read_only_run(read_only_run, tmp_path, capsys):
    from analysis.analyze import main as analyze_main
    assert analyze_main([str(read_only_run), "--quick", "--build-dir", str(tmp_path / "build")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and str(read_only_run / "analysis") in err[0]
    assert "--report-dir" in err[0]
    assert not (tmp_path / "build").exists()


# --- evaluation data that would give tracebacks or meaningless numbers --------------------------

def _write_idx(path, array):
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(header + array.tobytes())


def _mnist_copy(folder, train, test):
    folder.mkdir(parents=True, exist_ok=True)
    labels = lambda n: np.arange(n) % 3                                   # noqa: E731
    _write_idx(folder / "train-images-idx3-ubyte", train)
    _write_idx(folder / "train-labels-idx1-ubyte", labels(len(train)))
    _write_idx(folder / "t10k-images-idx3-ubyte", test)
    _write_idx(folder / "t10k-labels-idx1-ubyte", labels(len(test)))
    return folder


@pytest.mark.parametrize("case,problem", [
    ("tiny", "5x5 pixels, smaller than the network's 18x18 input crop"),
    ("non-square", "28x20 pixels; the evaluation needs square images"),
    ("constant", "6 of the 6 training images are constant (the first: image 0)"),
    ("sizes differ", "training images are 28 pixels wide, test images 32"),
])
def test_evaluate_refuses_unusable_images(tmp_path, case, problem):
    rng = np.random.default_rng(0)
    shapes = {"tiny": ((6, 5, 5), (6, 5, 5)), "non-square": ((6, 28, 20), (6, 28, 20)),
              "constant": ((6, 28, 28), (6, 28, 28)), "sizes differ": ((6, 28, 28), (6, 32, 32))}[case]
    train, test = (np.full(s, 7) if case == "constant" else rng.integers(0, 256, s) for s in shapes)
    data = _mnist_copy(tmp_path / "mnist", train, test)
    l4 = write_layer(tmp_path / "l4", LAYER4, 0)
    out = tmp_path / "out"
    refused(run("evaluate.py", "--dataset", "mnist", "--data", data, "--l4", l4, "--out", out, "--workers", 1,
                "--build-root", tmp_path / "build", "--no-progress"), problem)
    assert not out.exists() and not (tmp_path / "build").exists()


def test_evaluate_unreachable_scheduler_fails_fast(tmp_path):
    import socket
    import time
    with socket.socket() as s:                   # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    l4 = write_layer(tmp_path / "l4", LAYER4, 0)
    started = time.monotonic()
    refused(run("evaluate.py", "--l4", l4, "--scheduler", f"tcp://127.0.0.1:{port}", "--out", tmp_path / "out",
                "--limit", 20, "--no-progress"), f"--scheduler tcp://127.0.0.1:{port}", "no Dask scheduler")
    assert time.monotonic() - started < 25
    assert not (tmp_path / "out").exists()


def test_limit_takes_every_class_in_turn():
    from evaluation.datasets import Dataset
    labels = np.array([8, 1, 4, 8, 1, 8, 6, 5, 9, 4, 6, 5, 9])
    images = np.arange(len(labels))[:, None, None] * np.ones((1, 2, 2))
    data = Dataset("d", images, labels, images, labels, list(range(10)), "test", "test")
    small = data.limited(3)
    np.testing.assert_array_equal(small.train_labels, [1, 4, 5])        # the first image of three classes
    nine = data.limited(9)
    np.testing.assert_array_equal(nine.train_labels, [1, 4, 5, 6, 8, 9, 1, 4, 5])
    np.testing.assert_array_equal(nine.train_images[:, 0, 0], [1, 2, 7, 6, 0, 8, 4, 9, 11])
    np.testing.assert_array_equal(data.limited(5).test_images, nine.test_images[:5])   # a prefix


def test_test_classes_missing_from_training_are_refused():
    from evaluation.cli import check_split
    from evaluation.datasets import Dataset
    from evaluation.protocol import Protocol
    from runs.options import UsageError
    images = np.random.default_rng(0).uniform(0, 255, (3, 28, 28))
    data = Dataset("d", images, np.array([8, 1, 4]), images, np.array([6, 5, 9]), list(range(10)), "test", "test")
    with pytest.raises(UsageError, match="test classes 5, 6, 9 never occur in the training split"):
        check_split(data, Protocol(), "d")


# --- training inputs ----------------------------------------------------------------------------

def test_layer23_on_an_unfinished_layer4_run_is_refused(tmp_path):
    l4 = write_layer(tmp_path / "l4", LAYER4, 0)
    write_layer(l4, LAYER4, 900)
    (l4 / "run.json").write_text(json.dumps({"layer": "L4", "status": "running", "patches": 2000}))
    refused(run("ann_L2_3.py", "--images", training_images(), "--l4", l4, "--out", tmp_path / "out",
                "--build-dir", tmp_path / "b", "--patches", 8),
            str(l4), "has not finished", "status running", "patch 900 of 2,000", "--l4-step")
    assert not (tmp_path / "out").exists() and not (tmp_path / "b").exists()


def test_layer4_weights_far_above_the_bound_are_refused(tmp_path):
    from runs.snapshots import SnapshotError, load_snapshot
    write_layer(tmp_path, LAYER4, 0)
    w = np.loadtxt(tmp_path / "excitatory" / "V1weight_0.txt")
    w[3, 7] = 1e6
    np.savetxt(tmp_path / "excitatory" / "V1weight_0.txt", w)
    with pytest.raises(SnapshotError, match=r"V1weight_0.txt: weights up to 1e\+06, far above the bound 5"):
        load_snapshot(LAYER4, tmp_path)
    w[3, 7] = 5.06                                 # the ON/OFF balance overshoots wMax a little: kept
    np.savetxt(tmp_path / "excitatory" / "V1weight_0.txt", w)
    assert load_snapshot(LAYER4, tmp_path).weights["LGN_E"].max() == 5.06


# --- training images: precise warnings and messages --------------------------------------------

def _whitened(n=3, size=40, seed=4):
    return np.random.default_rng(seed).standard_normal((size, size, n)) * 0.3


def test_outlier_pixel_is_named_not_the_whitening():
    from input.images import image_warnings
    images = _whitened()
    images[5, 9, 1] = 1e30
    lines = image_warnings(images, "x.mat")
    assert len(lines) == 1, lines
    assert "image 1 has an outlier" in lines[0] and "1e+30 at pixel (5, 9)" in lines[0]
    assert "whiten" not in lines[0] and "variance" not in lines[0]
    assert image_warnings(_whitened(), "x.mat") == []


def test_outlier_threshold_clears_the_training_images():
    from input.images import load_images, outlier_images
    assert outlier_images(load_images(training_images(), patch_size=18)).size == 0


def test_silent_on_channel_is_named():
    from input.images import image_warnings
    images = -np.abs(_whitened())
    (line,) = image_warnings(images, "neg.mat")
    assert "image 0, 1, 2 has no positive values" in line and "ON channel stays silent" in line


def test_hdf5_without_matlab_header(tmp_path):
    import h5py
    from input.images import InputDataError, load_images, resolve_images
    stack = _whitened(2)
    path = tmp_path / "plain.mat"
    with h5py.File(path, "w") as f:
        f["IMAGES"] = stack
    np.testing.assert_array_equal(load_images(path, patch_size=18), stack)     # read, as stored
    logged = []
    resolve_images(path, patch_size=18, whitening=WHITENING, log=logged.append)
    assert any("an HDF5 file without the MATLAB header" in line for line in logged), logged
    other = tmp_path / "other.mat"
    with h5py.File(other, "w") as f:
        f["pictures"] = stack
    with pytest.raises(InputDataError, match="an HDF5 file without the MATLAB header: variable 'IMAGES' not found "
                                             r"\(variables: pictures\)"):
        load_images(other, patch_size=18)


def test_sparse_images_are_named_sparse(tmp_path):
    import scipy.io
    import scipy.sparse
    from input.images import InputDataError, load_images
    path = tmp_path / "sparse.mat"
    scipy.io.savemat(path, {"IMAGES": scipy.sparse.random(40, 40, density=0.1, random_state=0, format="csc")})
    with pytest.raises(InputDataError) as err:
        load_images(path, patch_size=18)
    assert "IMAGES is a sparse matrix of shape (40, 40)" in str(err.value) and "cell" not in str(err.value)


def test_random_bytes_jpg_is_called_damaged(tmp_path):
    from input.images import InputDataError, whiten_folder
    (tmp_path / "photo.jpg").write_bytes(np.random.default_rng(0).bytes(4000))
    with pytest.raises(InputDataError) as err:
        whiten_folder(tmp_path, patch_size=18, whitening=WHITENING)
    message = str(err.value)
    assert message.startswith(str(tmp_path / "photo.jpg")) and "damaged or not a JPG picture" in message
    assert "imageio" not in message and "pyav" not in message and "\n" not in message
