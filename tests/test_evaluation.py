"""The object-recognition evaluation (evaluate.py, evaluation/): preprocessing against hand-made
arrays, every loader on tiny files in the data set's real format, bad inputs, and one small
end-to-end run on digits with 1 and 2 workers (identical features)."""
import gzip
import json
import os
import pickle
import subprocess
import sys
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


@pytest.fixture(scope="module")
def evaluated(trained_l4, tmp_path_factory):
    """digits, 24 training and 24 test images, 2 repeats, once with 1 and once with 2 workers."""
    build = tmp_path_factory.mktemp("evalbuild")
    runs = {}
    for workers in (1, 2):
        out = tmp_path_factory.mktemp(f"eval{workers}")
        proc = evaluate("--l4", trained_l4, "--limit", 24, "--repeats", 2, "--workers", workers, "--out", out,
                        "--build-root", build, "--no-progress")
        assert proc.returncode == 0, proc.stderr
        runs[workers] = (out / "digits", proc)
    return runs


def test_evaluation_outputs(evaluated):
    out, proc = evaluated[2]
    for name in ("metrics.json", "report.md", "accuracy.png", "confusion.png", "features.npz"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["dataset"]["n_train"] == 24 and metrics["dataset"]["n_test"] == 24
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


def test_features_do_not_depend_on_the_workers(evaluated):
    with np.load(evaluated[1][0] / "features.npz") as one, np.load(evaluated[2][0] / "features.npz") as two:
        assert sorted(one.files) == sorted(two.files)
        assert json.loads(str(one["simulation/record"]))["workers"] == 1
        assert json.loads(str(two["simulation/record"]))["workers"] == 2
        features = [name for name in one.files if not name.startswith("simulation/")]
        assert "trained/test/E" in features
        for name in features:
            np.testing.assert_array_equal(one[name], two[name], err_msg=name)


def test_cached_features_refit_without_simulating(evaluated, trained_l4):
    out, _ = evaluated[2]
    before = (out / "features.npz").stat().st_mtime_ns
    proc = evaluate("--l4", trained_l4, "--limit", 24, "--repeats", 2, "--workers", 2, "--out", out.parent,
                    "--C", 0.1, "--build-root", out.parent / "never", "--no-progress", timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "features from the cache" in proc.stderr and (out / "features.npz").stat().st_mtime_ns == before
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["protocol"]["C"] == 0.1
    assert metrics["timing"]["simulation_wall_time_s"] == 0          # nothing simulated in this run ...
    assert metrics["timing"]["features_simulated"]["presentations"] == 2 * 2 * 48 * 4   # ... the cached run's
    assert "Features from the cache, simulated" in (out / "report.md").read_text()
    assert not (out.parent / "never").exists()


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
    assert "| trained E | 90.00 % | 80.00 % | 95.00 % | 90.00 % (80.00–95.00) | 50.00 % |" in table
    assert "| a | b | c | median (range) | bad (failing) |" in table
    row = json.loads((out / "compare.json").read_text())["rows"]["trained E"]
    assert row["median"] == pytest.approx(0.90) and row["failing"] == [0.5]


def test_compare_refuses_different_test_sets(tmp_path):
    from evaluation.compare import main
    for name, metrics in {"a": _metrics({"trained E": 0.9}), "b": _metrics({"trained E": 0.9}, n_test=100)}.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "metrics.json").write_text(json.dumps(metrics))
    with pytest.raises(SystemExit, match="compare like with like"):
        main([str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "out")])
    assert not (tmp_path / "out" / "compare.md").exists()
