"""The object-recognition evaluation (evaluate.py, evaluation/): preprocessing against hand-made
arrays, every loader on tiny files in the data set's real format, bad inputs, and one small
end-to-end run on digits with 1, 2 and 3 workers (identical features, one compile), killed and
resumed (identical features), and the worker count checks."""
import gzip
import json
import os
import pickle
import signal
import subprocess
import sys
import time
import urllib.error

import numpy as np
import pytest
import scipy.io

from conftest import REPO_ROOT
from evaluation.datasets import DatasetError, load_dataset, read_idx
from evaluation.protocol import (Protocol, crop_offsets, crop_rates, crops, presentation_seed, to_grey,
                                 whiten_split)

PROTOCOL = Protocol()


# --- preprocessing -------------------------------------------------------------------------------
def test_grey_is_luminance_over_255():
    colour = np.zeros((1, 2, 2, 3))
    colour[0, 0, 0] = [255, 0, 0]
    colour[0, 0, 1] = [0, 255, 0]
    colour[0, 1, 0] = [0, 0, 255]
    colour[0, 1, 1] = [100, 200, 50]
    np.testing.assert_allclose(to_grey(colour)[0], [[0.299, 0.587], [0.114, (29.9 + 117.4 + 5.7) / 255]])
    np.testing.assert_array_equal(to_grey(np.full((2, 4, 4), 51.0)), np.full((2, 4, 4), 0.2))


def test_whitening_filter_and_variance_by_hand():
    rng = np.random.default_rng(0)
    grey = rng.uniform(0, 1, (3, 28, 28))
    white = whiten_split(grey, PROTOCOL)
    # written out here: radial frequency in cycles/image, filter f exp(-(f / (0.4 * 28))^4)
    k = np.fft.fftfreq(28) * 28
    f = np.sqrt(k[:, None] ** 2 + k[None, :] ** 2)
    expected = np.real(np.fft.ifft2(np.fft.fft2(grey) * (f * np.exp(-(f / 11.2) ** 4))))
    expected *= np.sqrt(0.1 / expected.var())          # the whole split to variance 0.1
    np.testing.assert_allclose(white, expected, rtol=1e-12, atol=1e-15)
    assert white.var() == pytest.approx(0.1, rel=1e-12)
    assert np.abs(white.mean(axis=(1, 2))).max() < 1e-12         # the filter removes the mean


def test_crop_geometry():
    assert crop_offsets(28, 18) == [(0, 0), (0, 10), (10, 0), (10, 10)]
    assert crop_offsets(32, 18) == [(0, 0), (0, 14), (14, 0), (14, 14)]
    image = np.arange(28 * 28, dtype=float).reshape(1, 28, 28)
    c = crops(image, 18)
    assert c.shape == (1, 4, 18, 18)
    assert c[0, 0, 0, 0] == 0 and c[0, 1, 0, 0] == 10 and c[0, 2, 0, 0] == 280 and c[0, 3, 17, 17] == 27 * 28 + 27


def test_crop_rates_by_hand():
    image = np.zeros((1, 28, 28))
    image[0, 0, 0], image[0, 5, 12] = 2.0, -4.0            # max |value| of the image: 4
    image[0, 27, 27] = 1.0                                  # only in the last crop
    rates = crop_rates(image, PROTOCOL)
    assert rates.shape == (1, 4, 18, 18, 2)
    assert rates[0, 0, 0, 0, 0] == 50.0 and rates[0, 0, 0, 0, 1] == 0.0      # ON: 2 / 4 * 100 Hz
    assert rates[0, 0, 5, 12, 1] == 100.0 and rates[0, 1, 5, 2, 1] == 100.0  # OFF, seen by crops 0 and 1
    assert rates[0, 3, 17, 17, 0] == 25.0
    assert rates.sum() == 50.0 + 100.0 + 100.0 + 25.0


def test_presentation_seeds_depend_on_the_presentation_only():
    a = presentation_seed(0, 0, 5, 1, 2)
    assert a == presentation_seed(0, 0, 5, 1, 2)
    assert len({a, presentation_seed(0, 0, 5, 1, 3), presentation_seed(0, 0, 6, 1, 2),
                presentation_seed(0, 1, 5, 1, 2), presentation_seed(1, 0, 5, 1, 2)}) == 5


# --- loaders on tiny files in the real formats ------------------------------------------------------
def write_idx(path, array, gz=False):
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    data = header + array.tobytes()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def test_idx_loader_mnist_and_emnist(tmp_path):
    rng = np.random.default_rng(1)
    x, y = rng.integers(0, 256, (6, 28, 28)), np.array([0, 1, 2, 0, 1, 2])
    for name, gz in (("train", True), ("t10k", False)):
        write_idx(tmp_path / (f"{name}-images-idx3-ubyte" + (".gz" if gz else "")), x, gz)
        write_idx(tmp_path / (f"{name}-labels-idx1-ubyte" + (".gz" if gz else "")), y, gz)
    d = load_dataset("mnist", tmp_path)
    np.testing.assert_array_equal(d.train_images, x)
    np.testing.assert_array_equal(d.test_labels, y)
    assert d.classes == [0, 1, 2] and d.image_size == 28
    for split in ("train", "test"):
        write_idx(tmp_path / f"emnist-balanced-{split}-images-idx3-ubyte.gz", x, gz=True)
        write_idx(tmp_path / f"emnist-balanced-{split}-labels-idx1-ubyte.gz", y, gz=True)
    e = load_dataset("emnist-balanced", tmp_path)
    np.testing.assert_array_equal(e.train_images, x.transpose(0, 2, 1))    # stored transposed


def test_idx_errors(tmp_path):
    bad = tmp_path / "bad-idx"
    bad.write_bytes(b"\x00\x00\x0d\x03" + b"\x00" * 20)              # magic of floats
    with pytest.raises(DatasetError, match="not an IDX file of unsigned bytes"):
        read_idx(bad)
    short = write_idx(tmp_path / "short", np.zeros((2, 4, 4)))
    short.write_bytes(short.read_bytes()[:-5])
    with pytest.raises(DatasetError, match=r"27 data bytes, the header says shape \(2, 4, 4\)"):
        read_idx(short)
    with pytest.raises(DatasetError, match="no train-images-idx3-ubyte"):
        load_dataset("fashion-mnist", tmp_path)


def test_cifar_loader(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(2)
    batches = []
    for name in [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (3, 3072), dtype=np.uint8)
        batches.append(data)
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": data, b"labels": [0, 1, 2]}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({b"label_names": [b"airplane", b"automobile", b"bird"]}, f)
    d = load_dataset("cifar10", tmp_path)
    assert d.train_images.shape == (15, 32, 32, 3) and d.test_images.shape == (3, 32, 32, 3)
    # row layout: 1024 red, 1024 green, 1024 blue values, each row-major 32 x 32
    assert d.train_images[0, 0, 1, 0] == batches[0][0, 1] and d.train_images[0, 1, 0, 2] == batches[0][0, 2048 + 32]
    assert d.classes == ["airplane", "automobile", "bird"]


def test_svhn_loader(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.integers(0, 256, (32, 32, 3, 4), dtype=np.uint8)
    for name in ("train_32x32.mat", "test_32x32.mat"):
        scipy.io.savemat(tmp_path / name, {"X": x, "y": np.array([[10], [1], [2], [10]], dtype=np.uint8)})
    d = load_dataset("svhn", tmp_path)
    assert d.train_images.shape == (4, 32, 32, 3)
    np.testing.assert_array_equal(d.train_images[2], x[:, :, :, 2])
    np.testing.assert_array_equal(d.train_labels, [0, 1, 2, 0])                 # 10 is the digit 0


def _write_mnist_layout(folder, x, y):
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("train", "t10k"):
        write_idx(folder / f"{name}-images-idx3-ubyte.gz", x, gz=True)
        write_idx(folder / f"{name}-labels-idx1-ubyte.gz", y, gz=True)


def test_fashion_mnist_found_in_the_system_copy_then_openml_then_error(tmp_path, monkeypatch):
    import sklearn.datasets
    from evaluation import datasets

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
    monkeypatch.setattr(sklearn.datasets, "fetch_openml", offline)
    system = tmp_path / "usr" / "share" / "datasets" / "fashion-mnist"
    monkeypatch.setattr(datasets, "SYSTEM_COPIES", {"fashion-mnist": (system,)})
    with pytest.raises(DatasetError) as err:                  # no system copy, offline
        load_dataset("fashion-mnist")
    message = str(err.value)
    assert "\n" not in message and "apt-get install dataset-fashion-mnist" in message and "--data DIR" in message
    x, y = np.random.default_rng(4).integers(0, 256, (4, 28, 28)), np.array([0, 9, 3, 9])
    _write_mnist_layout(system, x, y)
    d = load_dataset("fashion-mnist")                          # found without --data
    np.testing.assert_array_equal(d.train_images, x)
    assert d.source == f"IDX files in {system}"
    assert d.classes[0] == "T-shirt/top" and d.classes[9] == "ankle boot"


def test_offline_openml_is_one_line(monkeypatch):
    import sklearn.datasets

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
    monkeypatch.setattr(sklearn.datasets, "fetch_openml", offline)
    with pytest.raises(DatasetError) as err:
        load_dataset("mnist")
    message = str(err.value)
    assert message.startswith("mnist: not available") and "--data DIR" in message and "\n" not in message


def test_digits_split_is_fixed_and_stratified():
    a, b = load_dataset("digits"), load_dataset("digits")
    np.testing.assert_array_equal(a.test_labels, b.test_labels)
    assert a.train_images.shape[1:] == (28, 28) and len(a.train_labels) + len(a.test_labels) == 1797
    counts_train, counts_test = np.bincount(a.train_labels), np.bincount(a.test_labels)
    assert np.abs(counts_train - counts_test).max() <= 1                      # stratified halves
    assert 0 <= a.train_images.min() and a.train_images.max() <= 255


# --- the read-out ------------------------------------------------------------------------------------
def test_feature_matrix_divides_by_the_maximum_then_subtracts_the_mean():
    from evaluation.classify import feature_matrix
    a = np.array([[[1.0, 2.0]], [[3.0, 4.0]]])             # (2 images, 1 crop, 2 cells)
    b = np.array([[8.0], [0.0]])                           # a second population
    np.testing.assert_allclose(feature_matrix([a, b]), [[0.125, 0.25, 1.0], [0.375, 0.5, 0.0]])
    # divided by 8, then the mean of all six values (2.25 / 6 = 0.375) subtracted
    np.testing.assert_allclose(feature_matrix([a, b], centre=True),
                               [[-0.25, -0.125, 0.625], [0.0, 0.125, -0.375]])


@pytest.mark.parametrize("dataset,C,centre", [("mnist", 1.0, True), ("cifar10", 1.0, True),
                                               ("emnist-balanced", 1.0, False), ("svhn", 10.0, False),
                                               ("fashion-mnist", 1.0, True), ("digits", 1.0, False),
                                               ("eth80", 0.1, False), ("caltech-fm", 1.0, False)])
def test_published_read_out_per_data_set_and_C_overrides(dataset, C, centre):
    from evaluation.cli import build_parser, protocol_of
    from evaluation.datasets import DATASETS
    from evaluation.protocol import READOUTS
    assert set(READOUTS) == set(DATASETS)                    # every data set has its read-out
    protocol = protocol_of(build_parser().parse_args(["--dataset", dataset]))
    assert protocol.C == C and protocol.centre == centre
    assert protocol_of(build_parser().parse_args(["--dataset", dataset, "--C", "0.5"])).C == 0.5
    if dataset == "svhn":                    # the published SVHN read-out: the first 40,000 / 10,000 images
        assert (READOUTS["svhn"].first_train, READOUTS["svhn"].first_test) == (40_000, 10_000)


# --- the command line ---------------------------------------------------------------------------------
ERROR_TIMEOUT = 60


def evaluate(*args, timeout=900):
    env = dict(os.environ, TQDM_DISABLE="1", MPLBACKEND="Agg")
    return subprocess.run([sys.executable, "evaluate.py", *map(str, args)], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def trained_l4(tmp_path_factory, images_path):
    """A layer-4 run of 16 patches (snapshots 0 and 16): needs the training images."""
    out = tmp_path_factory.mktemp("l4") / "out"
    proc = subprocess.run([sys.executable, "ann_L4.py", "--images", str(images_path), "--out", str(out), "--build-dir",
                           str(tmp_path_factory.mktemp("l4build")), "--no-progress", "--patches", "16", "--save-every", "16", "--seed", "2"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return out


EVAL_ARGS = ("--limit", 24, "--repeats", 2, "--no-progress")    # 3 chunks per split and model


@pytest.fixture(scope="module")
def eval_build(tmp_path_factory):
    """One compile folder for this module's evaluations (compiled once, loaded by every worker)."""
    return tmp_path_factory.mktemp("evalbuild")


@pytest.fixture(scope="module")
def evaluated(trained_l4, eval_build, tmp_path_factory):
    """digits, 24 training and 24 test images, 2 repeats, with 1, 2 and 3 workers (3: a cluster of
    three worker processes given with --scheduler: local runs use at most one worker per core),
    one build folder. Also: the compiled library's modification time after each run."""
    from distributed import LocalCluster
    build = eval_build
    runs, libraries = {}, []
    for workers in (1, 2, 3):
        out = tmp_path_factory.mktemp(f"eval{workers}")
        if workers < 3:
            proc = evaluate("--l4", trained_l4, *EVAL_ARGS, "--workers", workers, "--out", out, "--build-root", build)
        else:
            os.environ["PYTHONPATH"] = str(REPO_ROOT)         # the cluster's workers import the package
            with LocalCluster(n_workers=3, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
                proc = evaluate("--l4", trained_l4, *EVAL_ARGS, "--scheduler", cluster.scheduler_address,
                                "--out", out, "--build-root", build)
        assert proc.returncode == 0, proc.stderr
        runs[workers] = (out / "digits", proc)
        libraries.append({p: p.stat().st_mtime_ns for p in build.rglob("ANNarchyWrapper*.so")})
    runs["libraries"] = libraries
    runs["build"] = build
    return runs


def test_evaluation_outputs(evaluated):
    out, proc = evaluated[2]
    for name in ("metrics.json", "report.md", "accuracy.png", "confusion.png", "rdm.png", "tsne.png", "features.npz"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["dataset"]["n_train"] == 24 and metrics["dataset"]["n_test"] == 24
    assert metrics["protocol"]["C"] == 1.0 and metrics["C_from"] == "the published value for digits"
    assert metrics["crops"]["offsets"] == [[0, 0], [0, 10], [10, 0], [10, 10]]
    assert set(metrics["accuracy"]) == {"trained E", "trained I", "trained E+I", "untrained E", "untrained I",
                                        "untrained E+I", "pixels (whitened ON/OFF crops)"}
    with np.load(out / "features.npz") as f:
        assert f["trained/train/E"].shape == (24, 4, 324) and f["untrained/test/I"].shape == (24, 4, 81)
        assert f["trained/train/E"].max() > 0
    # above chance (10 classes) for the network's best population and for the pixels
    assert max(metrics["accuracy"][k] for k in metrics["accuracy"] if k.startswith("trained")) > 0.3
    assert metrics["accuracy"]["pixels (whitened ON/OFF crops)"] > 0.3
    assert metrics["timing"]["presentations_simulated"] == 2 * 2 * 48 * 4     # models x repeats x images x crops
    assert "model/wall" in proc.stdout


def _features(folder) -> dict:
    with np.load(folder / "features.npz") as f:
        return {name: f[name] for name in f.files if not name.startswith("simulation/")}


@pytest.mark.parametrize("workers", [2, 3])
def test_features_do_not_depend_on_the_workers(evaluated, workers):
    one, other = _features(evaluated[1][0]), _features(evaluated[workers][0])
    assert sorted(one) == sorted(other) and "trained/test/E" in one
    with np.load(evaluated[workers][0] / "features.npz") as f:
        assert json.loads(str(f["simulation/record"]))["workers"] == (workers if workers < 3 else None)
    for name in one:
        assert one[name].tobytes() == other[name].tobytes(), name


def test_compiled_once_and_quiet(evaluated):
    """The three runs (six worker processes) compiled one library, in one folder, never again
    (ANNarchy's library and its copy beside the build keep their times), and left no copies
    of it behind; a finished run prints no log lines of the cluster."""
    first, *later = evaluated["libraries"]
    assert 1 <= len(first) <= 2 and all(lib == first for lib in later)
    folders = [p for p in evaluated["build"].iterdir() if p.is_dir()]
    assert len(folders) == 1 and folders[0].name.startswith("eval-L4-")
    assert not list(folders[0].glob("run_*"))
    for workers in (1, 2, 3):
        stderr = evaluated[workers][1].stderr
        assert "Traceback" not in stderr and "distributed." not in stderr, stderr


def test_killed_evaluation_resumes_with_identical_features(evaluated, trained_l4, tmp_path):
    """SIGKILL to the whole evaluation (the command and its workers) once chunks are finished;
    the same command refuses to start over, --resume finishes it: the features of an
    uninterrupted run, byte for byte."""
    out = tmp_path / "killed"
    chunks = out / "digits" / "chunks"
    args = [sys.executable, "evaluate.py", "--l4", str(trained_l4), *map(str, EVAL_ARGS), "--workers", "1",
            "--out", str(out), "--build-root", str(evaluated["build"])]
    proc = subprocess.Popen(args, cwd=REPO_ROOT, env=dict(os.environ, TQDM_DISABLE="1", MPLBACKEND="Agg"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None:
        if chunks.is_dir() and any(chunks.glob("*.npz")):
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    kept = sorted(p.name for p in chunks.glob("*.npz"))
    assert 1 <= len(kept) < 12 and not (out / "digits" / "features.npz").exists()

    again = evaluate(*args[2:])
    assert again.returncode == 2 and "continue it with --resume" in again.stderr, again.stderr
    resumed = evaluate(*args[2:], "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(kept)} chunks done before" in resumed.stderr
    with np.load(out / "digits" / "features.npz") as f:
        record = json.loads(str(f["simulation/record"]))
    assert record["resumed_presentations"] > 0 and record["presentations"] + record["resumed_presentations"] == 768
    reference, result = _features(evaluated[1][0]), _features(out / "digits")
    assert sorted(reference) == sorted(result)
    for name in reference:
        assert reference[name].tobytes() == result[name].tobytes(), name
    assert not chunks.exists()                     # complete: the chunks are gone


def test_worker_counts():
    from evaluation.workers import WORKER_MEMORY, local_workers
    from runs.options import UsageError
    assert local_workers(None, n_cores=2, memory=24 * 2**30) == (2, None)
    assert local_workers(1, n_cores=2, memory=24 * 2**30) == (1, None)
    workers, note = local_workers(64, n_cores=2, memory=24 * 2**30)
    assert workers == 2 and note.startswith("--workers 64: more workers than the 2 cores") and "\n" not in note
    assert local_workers(8, n_cores=16, memory=int(8.5 * WORKER_MEMORY)) == (8, None)
    with pytest.raises(UsageError, match=r"--workers 9: needs about .* GiB of memory .*; use --workers 8 or fewer"):
        local_workers(9, n_cores=16, memory=int(8.5 * WORKER_MEMORY))


def test_too_many_workers_capped_in_one_line(trained_l4, tmp_path):
    from evaluation.workers import cores
    n = cores()
    proc = evaluate("--l4", trained_l4, "--workers", n + 62, "--resume", "--out", tmp_path / "out", "--no-progress",
                    timeout=ERROR_TIMEOUT)
    lines = proc.stderr.strip().splitlines()
    assert lines[0] == (f"evaluate.py: --workers {n + 62}: more workers than the {n} cores this process may use "
                        f"would only share them; using {n}")
    assert proc.returncode == 2 and lines[1].startswith("error: --resume:") and len(lines) == 2, proc.stderr


def test_cached_features_refit_without_simulating(evaluated, trained_l4):
    out, _ = evaluated[2]
    before = (out / "features.npz").stat().st_mtime_ns
    results = (out / "metrics.json").read_bytes()
    args = ("--l4", trained_l4, "--limit", 24, "--repeats", 2, "--workers", 2, "--out", out.parent,
            "--C", 0.1, "--build-root", out.parent / "never", "--no-progress")
    refused = evaluate(*args, timeout=ERROR_TIMEOUT)                 # earlier results: replaced only on request
    assert refused.returncode == 2 and refused.stderr.strip().splitlines() == [
        f"error: {out}: already holds the results of an evaluation (metrics.json); use --overwrite to replace "
        "them or --out to choose another folder"]
    assert (out / "metrics.json").read_bytes() == results
    proc = evaluate(*args, "--overwrite", timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "features from the cache" in proc.stderr and (out / "features.npz").stat().st_mtime_ns == before
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["protocol"]["C"] == 0.1
    assert metrics["timing"]["simulation_wall_time_s"] == 0          # nothing simulated in this run ...
    assert metrics["timing"]["features_simulated"]["presentations"] == 2 * 2 * 48 * 4   # ... the cached run's
    assert "Features from the cache, simulated" in (out / "report.md").read_text()
    assert not (out.parent / "never").exists()


def test_without_the_untrained_network_then_added_from_the_cache(evaluated, trained_l4, tmp_path):
    """--no-untrained simulates the trained network only (the same features as a full run); a
    later run without it simulates only the untrained network and reports both."""
    full = json.loads((evaluated[1][0] / "metrics.json").read_text())
    args = ("--l4", trained_l4, *EVAL_ARGS, "--workers", 1, "--out", tmp_path, "--build-root", evaluated["build"])
    proc = evaluate(*args, "--no-untrained")
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "digits"
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["models"]) == {"trained"}
    assert metrics["timing"]["presentations_simulated"] == 2 * 48 * 4           # one network
    assert {k for k in metrics["accuracy"] if k.startswith("untrained")} == set()
    assert "| E | " in (out / "report.md").read_text() and "–" in (out / "report.md").read_text()
    for key, value in metrics["accuracy"].items():
        assert value == full["accuracy"][key], key
    assert (out / "accuracy.png").is_file()
    proc = evaluate(*args, "--overwrite")
    assert proc.returncode == 0, proc.stderr
    both = json.loads((out / "metrics.json").read_text())
    assert both["timing"]["presentations_simulated"] == 2 * 48 * 4             # only the untrained one
    assert both["accuracy"] == full["accuracy"]


def _bad_l4(tmp_path, trained_l4, case):
    import shutil
    run = tmp_path / "run"
    shutil.copytree(trained_l4, run)
    if case == "incomplete":
        (run / "inhibitory" / "INLat_16.txt").unlink()
        (run / "inhibitory" / "INLat_0.txt").unlink()
    else:
        np.savetxt(run / "excitatory" / "V1weight_16.txt", np.ones((324, 600)))
    return run


@pytest.mark.parametrize("case,args,problem", [
    ("missing run", ["--l4", "{tmp}/nothing"], "output folder"),
    ("incomplete run", ["--l4", "{bad:incomplete}"], "no complete layer-4 or layer-2/3 weight snapshot"),
    ("wrong shape", ["--l4", "{bad:shape}"], "shape (324, 600), the model expects (324, 648)"),
    ("unknown data set", ["--dataset", "imagenet"], "invalid choice: 'imagenet'"),
    ("offline, no copy", ["--dataset", "emnist-balanced"], "emnist-balanced: needs a local copy"),
    ("missing copy", ["--dataset", "mnist", "--data", "{tmp}/nowhere"], "no such folder (--data)"),
    ("no images", ["--limit", "0"], "must be a positive integer"),
    ("one class", ["--limit", "1"], "a classifier needs at least two"),
])
def test_bad_inputs_one_line_nothing_written(case, args, problem, trained_l4, tmp_path):
    values = [a.replace("{tmp}", str(tmp_path)) for a in args]
    values = [str(_bad_l4(tmp_path, trained_l4, v[5:-1])) if v.startswith("{bad:") else v for v in values]
    if "--l4" not in values:
        values += ["--l4", str(trained_l4)]
    out, build = tmp_path / "out", tmp_path / "build"
    proc = evaluate(*values, "--out", out, "--build-root", build, "--no-progress", timeout=ERROR_TIMEOUT)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert problem in lines[0], lines[0]
    assert not out.exists() and not build.exists()


def test_earlier_results_are_replaced_only_with_overwrite(tmp_path):
    from evaluation.cli import refuse_earlier_results
    from runs.options import UsageError
    refuse_earlier_results(tmp_path / "digits", overwrite=False)            # nothing there yet
    (tmp_path / "digits").mkdir()
    (tmp_path / "digits" / "features.npz").write_bytes(b"")
    refuse_earlier_results(tmp_path / "digits", overwrite=False)            # a cache alone is no result
    (tmp_path / "digits" / "metrics.json").write_text("{}")
    with pytest.raises(UsageError, match="already holds the results of an evaluation"):
        refuse_earlier_results(tmp_path / "digits", overwrite=False)
    refuse_earlier_results(tmp_path / "digits", overwrite=True)


def _metrics(accuracy, name="digits", n_test=899, repeats=10):
    return {"dataset": {"name": name, "split": "stratified, 50% test, random_state=0", "n_train": 898,
                        "n_test": n_test, "classes": [str(i) for i in range(10)]},
            "protocol": {"repeats": repeats, "presentation_ms": 125.0, "C": 1.0, "reset": True, "delays": True},
            "accuracy": accuracy}


def test_compare_table_median_range_and_failing_column(tmp_path):
    from evaluation.compare import main
    runs = {"a": 0.90, "b": 0.80, "c": 0.95}
    for name, acc in runs.items():
        (tmp_path / name / "digits").mkdir(parents=True)
        (tmp_path / name / "digits" / "metrics.json").write_text(json.dumps(_metrics({"trained E": acc})))
    (tmp_path / "bad" / "digits").mkdir(parents=True)
    (tmp_path / "bad" / "digits" / "metrics.json").write_text(json.dumps(_metrics({"trained E": 0.5})))
    out = tmp_path / "out"
    assert main([str(tmp_path / n / "digits") for n in runs] + ["--failing", str(tmp_path / "bad" / "digits"),
                                                               "--out", str(out)]) == 0
    table = (out / "compare.md").read_text()
    # binomial standard errors on 899 test images: sqrt(0.9 * 0.1 / 899) = 1.00 %, 0.8: 1.33 %, 0.95: 0.73 %, 0.5: 1.67 %
    assert ("| trained E | 90.00 ± 1.00 % | 80.00 ± 1.33 % | 95.00 ± 0.73 % | 90.00 % (80.00–95.00) | "
            "50.00 ± 1.67 % |") in table
    assert "| a | b | c | median (range) | bad (failing) |" in table
    assert "binomial standard error" in table
    row = json.loads((out / "compare.json").read_text())["rows"]["trained E"]
    assert row["median"] == pytest.approx(0.90) and row["failing"] == [0.5]
    assert row["errors"][1] == pytest.approx(0.0133407, rel=1e-4)


def test_compare_repeated_splits_show_their_standard_deviation(tmp_path):
    from evaluation.compare import main
    for name, (acc, sd) in {"s2": (0.9, 0.02), "s3": (0.8, 0.04)}.items():
        metrics = _metrics({"trained E": acc}, name="eth80")
        metrics["results"] = {"trained E": {"accuracy": acc, "accuracy_sd": sd}}
        (tmp_path / name).mkdir()
        (tmp_path / name / "metrics.json").write_text(json.dumps(metrics))
    assert main([str(tmp_path / "s2"), str(tmp_path / "s3"), "--out", str(tmp_path / "out")]) == 0
    table = (tmp_path / "out" / "compare.md").read_text()
    assert "| trained E | 90.00 ± 2.00 % | 80.00 ± 4.00 % | 85.00 % (80.00–90.00) |" in table
    assert "mean ± standard deviation over the random splits" in table


def test_compare_refuses_different_test_sets(tmp_path):
    from evaluation.compare import main
    for name, metrics in {"a": _metrics({"trained E": 0.9}), "b": _metrics({"trained E": 0.9}, n_test=100)}.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "metrics.json").write_text(json.dumps(metrics))
    with pytest.raises(SystemExit, match="compare like with like"):
        main([str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "out")])
    assert not (tmp_path / "out" / "compare.md").exists()


# --- image folders, ETH-80, Caltech: loaders on tiny folders in the real layouts ---------------------
def _png(path, array):
    from PIL import Image
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path)
    return path


def _eth80(root, categories=("apple", "car"), objects=4, views=2, side=40):
    """eth80-cropped256 layout: a folder per object (car numbers need not be contiguous), its
    views ``<object>-<tilt>-<pan>.png``, and segmentation masks in ``maps/`` (not images of the set)."""
    rng = np.random.default_rng(5)
    for category in categories:
        for k in range(objects):
            name = f"{category}{2 * k + 1 if category == 'car' else k + 1}"
            for v in range(views):
                _png(root / name / f"{name}-{v:03d}-{45 * v:03d}.png", rng.integers(0, 256, (side, side, 3)))
                _png(root / name / "maps" / f"{name}-{v:03d}-{45 * v:03d}-map.png", np.zeros((side, side)))
    return root


def test_crop_grid_covers_the_image_row_by_row():
    offsets = crop_offsets(126, 18, stride=18)
    assert len(offsets) == 49 and offsets[:2] == [(0, 0), (0, 18)] and offsets[7] == (18, 0)
    assert offsets[-1] == (108, 108)                                   # 7 x 18 = 126: no pixel left out
    image = np.arange(36 * 36, dtype=float).reshape(1, 36, 36)
    c = crops(image, 18, stride=18)
    assert c.shape == (1, 4, 18, 18) and c[0, 1, 0, 0] == 18 and c[0, 2, 0, 0] == 18 * 36 and c[0, 3, 17, 17] == 36 * 36 - 1
    grid = Protocol(stride=18)
    assert crop_rates(np.ones((2, 126, 126)), grid).shape == (2, 49, 18, 18, 2)


def test_whitening_by_object_scales_each_object_to_the_variance():
    from evaluation.protocol import whiten_groups
    rng = np.random.default_rng(6)
    grey = rng.uniform(0, 1, (6, 20, 20))
    grey[3:] *= 5.0                                                    # a high-contrast object
    groups = np.array([0, 0, 0, 1, 1, 1])
    white = whiten_groups(grey, groups, PROTOCOL)
    assert white[:3].var() == pytest.approx(0.1, rel=1e-12) and white[3:].var() == pytest.approx(0.1, rel=1e-12)
    np.testing.assert_allclose(white[:3], whiten_split(grey[:3], PROTOCOL), rtol=1e-12)


def test_folder_loader_any_size_grey_or_colour(tmp_path):
    from evaluation.datasets import load_dataset
    rng = np.random.default_rng(7)
    _png(tmp_path / "cats" / "a.png", rng.integers(0, 256, (50, 40, 3)))        # colour, not square
    _png(tmp_path / "cats" / "b.jpg", rng.integers(0, 256, (60, 60)))           # grey jpeg
    _png(tmp_path / "dogs" / "c.png", np.full((30, 30), 200))
    (tmp_path / "dogs" / "notes.txt").write_text("not an image")                 # ignored
    d = load_dataset("folder", tmp_path, side=36)
    assert d.classes == ["cats", "dogs"] and d.labels.tolist() == [0, 0, 1]
    assert d.images.shape == (3, 36, 36, 3) and d.resized_to == 36
    np.testing.assert_allclose(d.images[2], 200.0)                              # grey -> equal channels
    small = tmp_path / "small"
    for k, label in enumerate("ab" * 2):
        _png(small / label / f"{k}.png", rng.integers(0, 256, (28, 28)))
    s = load_dataset("folder", small)
    assert s.images.shape == (4, 28, 28) and s.resized_to is None              # small images keep their size


def test_eth80_loader_and_object_splits(tmp_path):
    from evaluation.datasets import load_dataset, random_splits
    d = load_dataset("eth80", _eth80(tmp_path / "eth80-cropped256"), side=36)
    assert d.classes == ["apple", "car"] and len(d.labels) == 2 * 4 * 2        # the maps are not read
    assert d.group_names[:4] == ["apple1", "apple2", "apple3", "apple4"] and d.group_names[4:6] == ["car1", "car3"]
    assert d.images.shape == (16, 36, 36, 3)
    splits = random_splits(d, 20, seed=0)
    assert len(splits) == 20 and len({tuple(train) for train, _ in splits}) > 1
    for train, test in splits:
        assert not set(d.groups[train]) & set(d.groups[test])                 # no object on both sides
        assert sorted(np.concatenate([train, test])) == list(range(16))
        for label in (0, 1):                                                  # half of every category's objects
            assert len(np.unique(d.groups[train][d.labels[train] == label])) == 2
    again = random_splits(d, 20, seed=0)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(splits, again))


def test_caltech_loader_and_splits(tmp_path):
    from evaluation.datasets import load_dataset, random_splits
    root = tmp_path / "caltech-101" / "101_ObjectCategories"
    rng = np.random.default_rng(8)
    for name, n in (("Faces", 5), ("Motorbikes", 7), ("accordion", 3), ("Faces_easy", 5)):
        for k in range(n):
            _png(root / name / f"image_{k + 1:04d}.jpg", rng.integers(0, 256, (45, 60, 3)))
    d = load_dataset("caltech-fm", tmp_path, side=36)
    assert d.classes == ["Faces", "Motorbikes"] and np.bincount(d.labels).tolist() == [5, 7]
    for train, test in random_splits(d, 3, seed=1, train_per_class=3):
        assert np.bincount(d.labels[train]).tolist() == [3, 3] and np.bincount(d.labels[test]).tolist() == [2, 4]
        assert not set(train) & set(test)
    with pytest.raises(DatasetError, match="has 5 images; 200 for training leaves none for testing"):
        random_splits(d, 1, train_per_class=200)


@pytest.mark.parametrize("case,problem", [("empty", "no class folders"), ("one class", "1 class folder(s)"),
                                          ("unreadable", "unreadable image"), ("empty class", "no images")])
def test_folder_errors(tmp_path, case, problem):
    from evaluation.datasets import load_dataset
    folder = tmp_path / "data"
    folder.mkdir()
    if case != "empty":
        _png(folder / "a" / "1.png", np.zeros((40, 40)))
    if case in ("unreadable", "empty class"):
        (folder / "b").mkdir()
    if case == "unreadable":
        (folder / "b" / "2.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DatasetError) as err:
        load_dataset("folder", folder)
    assert problem in str(err.value) and "\n" not in str(err.value) and str(folder) in str(err.value)


def test_read_out_over_splits_by_hand():
    """Mean and sd of the accuracy over splits, and the normalisation over all images (Caltech)."""
    from sklearn.svm import LinearSVC
    from evaluation.classify import read_out
    rng = np.random.default_rng(9)
    labels = np.repeat([0, 1], 20)
    x = rng.normal(0, 1, (40, 3, 2)) + labels[:, None, None] * 0.8 + 5.0
    splits = [(np.sort(rng.permutation(40)[:20]),) for _ in range(3)]
    splits = [(("all", s[0]), ("all", np.setdiff1d(np.arange(40), s[0]))) for s in splits]
    for max_over in ("split", "all"):
        protocol = Protocol(C=0.5, max_over=max_over)
        result = read_out({"all": [x]}, {"all": labels}, splits, protocol, seed=0)
        flat = x.reshape(40, -1)
        expected = []
        for (_, train), (_, test) in splits:
            if max_over == "all":
                a, b = flat[train] / flat.max(), flat[test] / flat.max()
            else:
                a, b = flat[train] / flat[train].max(), flat[test] / flat[test].max()
            model = LinearSVC(C=0.5, dual=False, random_state=0).fit(a, labels[train])
            expected.append(np.mean(model.predict(b) == labels[test]))
        assert result["split_accuracies"] == pytest.approx(expected)
        assert result["accuracy"] == pytest.approx(np.mean(expected))
        assert result["accuracy_sd"] == pytest.approx(np.std(expected, ddof=1))
        assert np.sum(result["confusion"]) == 3 * 20


def test_dissimilarity_and_figures(tmp_path):
    from evaluation.figures import class_means, dissimilarity, representation_figures
    np.testing.assert_allclose(dissimilarity(np.array([[1.0, 2, 3], [3, 2, 1], [2, 4, 6]])),
                               [[0, 2, 0], [2, 0, 2], [0, 2, 0]], atol=1e-12)
    np.testing.assert_allclose(class_means(np.array([[1.0], [3.0], [10.0]]), np.array([1, 1, 0]), [0, 1]), [[10.0], [2.0]])
    rng = np.random.default_rng(10)
    labels = np.repeat(np.arange(6), 10)
    shown = {"trained E": [rng.random((60, 4, 5)) + labels[:, None, None]], "pixels": [rng.random((60, 8))]}
    metrics = {"dataset": {"name": "toy", "classes": [f"c{i}" for i in range(6)]}}
    assert representation_figures(tmp_path, shown, labels, metrics, centre=False) == ["rdm.png", "tsne.png"]
    assert (tmp_path / "rdm.png").stat().st_size > 10_000 and (tmp_path / "tsne.png").stat().st_size > 10_000


def test_eth80_end_to_end_49_crops_object_splits_and_refit(trained_l4, eval_build, tmp_path):
    data = _eth80(tmp_path / "eth80-cropped256", objects=2, views=2, side=60)
    out = tmp_path / "out"
    proc = evaluate("--dataset", "eth80", "--data", data, "--l4", trained_l4, "--repeats", 1, "--splits", 3,
                    "--workers", 1, "--out", out, "--build-root", eval_build, "--no-progress")
    assert proc.returncode == 0, proc.stderr
    result = out / "eth80"
    metrics = json.loads((result / "metrics.json").read_text())
    d = metrics["dataset"]
    assert (d["n_images"], d["n_train"], d["n_test"], d["n_splits"], d["resized_to"]) == (8, 4, 4, 3, 126)
    for objects in d["train_objects"]:                         # one of the two objects of each category
        assert len(objects) == 2 and len({o.rstrip("0123456789") for o in objects}) == 2
    assert len(metrics["crops"]["offsets"]) == 49 and metrics["crops"]["stride"] == 18
    assert metrics["protocol"]["C"] == 0.1 and metrics["C_from"] == "the published value for eth80"
    assert len(metrics["results"]["trained E"]["split_accuracies"]) == 3 and "accuracy_sd" in metrics["results"]["trained E"]
    assert metrics["timing"]["presentations_simulated"] == 2 * 8 * 49               # models x images x crops
    with np.load(result / "features.npz") as f:
        assert f["trained/all/E"].shape == (8, 49, 324)
    for name in ("rdm.png", "tsne.png", "report.md"):
        assert (result / name).is_file(), name
    assert "mean ± standard deviation over the random splits" in (result / "report.md").read_text()
    before = (result / "features.npz").stat().st_mtime_ns
    proc = evaluate("--dataset", "eth80", "--data", data, "--l4", trained_l4, "--repeats", 1, "--splits", 3,
                    "--C", 1, "--workers", 1, "--out", out, "--build-root", tmp_path / "never", "--no-progress",
                    "--overwrite")
    assert proc.returncode == 0, proc.stderr
    assert "features from the cache" in proc.stderr and (result / "features.npz").stat().st_mtime_ns == before
    assert json.loads((result / "metrics.json").read_text())["protocol"]["C"] == 1.0


@pytest.mark.parametrize("case,problem", [("empty", "no class folders"), ("one class", "1 class folder(s)"),
                                          ("unreadable", "unreadable image")])
def test_folder_errors_on_the_command_line(trained_l4, tmp_path, case, problem):
    folder = tmp_path / "data"
    folder.mkdir()
    if case != "empty":
        _png(folder / "a" / "1.png", np.zeros((40, 40)))
    if case == "unreadable":
        (folder / "b").mkdir()
        (folder / "b" / "2.jpg").write_bytes(b"garbage")
    out = tmp_path / "out"
    proc = evaluate("--dataset", "folder", "--data", folder, "--l4", trained_l4, "--out", out,
                    "--build-root", tmp_path / "build", "--no-progress", timeout=ERROR_TIMEOUT)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and problem in lines[0], proc.stderr
    assert not out.exists()


def test_object_image_sets_are_simulated_once_and_split_for_the_read_out(tmp_path):
    from evaluation.cli import build_parser, image_sets
    from evaluation.datasets import load_dataset
    from runs.options import UsageError
    d = load_dataset("eth80", _eth80(tmp_path / "eth80"), side=36)
    images, labels, splits = image_sets(build_parser().parse_args(["--dataset", "eth80", "--splits", "5"]), d)
    assert list(images) == ["all"] and images["all"].shape[0] == 16 and len(splits) == 5
    assert all(train[0] == test[0] == "all" and len(train[1]) + len(test[1]) == 16 for train, test in splits)
    with pytest.raises(UsageError, match="--limit: not for eth80"):
        image_sets(build_parser().parse_args(["--dataset", "eth80", "--limit", "4"]), d)
