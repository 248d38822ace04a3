"""End-to-end tests: the real scripts ``ann_L4.py``, ``ann_L2_3.py`` and ``rezeptiv.py``
run as subprocesses on the shared training images (docs/model.md §4–§6).

Runs are tiny (24 layer-4 patches, 16 layer-2/3 patches). Every layer compiles once,
into one build folder per layer shared by the whole module; later runs with the same
thread count reuse that build. The error cases stop before ANNarchy is imported, so
they need no compile (checked: their build folder is never created).
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from conftest import REPO_ROOT, training_images

IMAGES = training_images()

SEED = 11
THREADS = 1
L4_PATCHES, L23_PATCHES, SAVE_EVERY = 24, 16, 8
L4_STEPS = (0, 8, 16, 24)
L23_STEPS = (0, 8, 16)

L4_FILES = {            # "<subfolder>/<stem>" -> shape (docs/model.md §4)
    "excitatory/V1weight": (324, 648),
    "excitatory/InhibW": (81, 648),
    "V1toIN/V1toIN": (81, 324),
    "inhibitory/INtoV1": (324, 81),
    "inhibitory/INLat": (81, 80),
}
L23_FILES = {           # docs/model.md §5
    "excitatory/V2weight": (324, 324),
    "excitatory/V2toIN2": (81, 324),
    "excitatory/V1toIN2": (81, 324),
    "inhibitory/IN2toV2": (324, 81),
    "inhibitory/IN2Lat": (81, 80),
}
L23_DELAYS = {"excitatory/V1toV2_Delay.txt": (324, 324), "excitatory/V2toIN2_Delay.txt": (81, 324)}

RUN_TIMEOUT = 420       # s, one run including a compile on a busy 2-core machine
ERROR_TIMEOUT = 60      # s, an error case (no compile)


def _env():
    env = dict(os.environ)
    env.update(MPLBACKEND="Agg", PYTHONUNBUFFERED="1", TQDM_DISABLE="1", PYTHONDONTWRITEBYTECODE="1",
               OMP_NUM_THREADS=str(THREADS))
    return env


def run_script(script, *args, timeout=RUN_TIMEOUT):
    return subprocess.run([sys.executable, script, *map(str, args)], cwd=REPO_ROOT, env=_env(),
                          capture_output=True, text=True, timeout=timeout)


def check_ok(proc):
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def train(script, out, build, *extra, patches, seed=SEED, threads=THREADS):
    return run_script(script, "--images", IMAGES, "--out", out, "--build-dir", build, "--no-progress",
                      "--patches", patches, "--save-every", SAVE_EVERY, "--seed", seed, "-j", threads, *extra)


def load(path):
    return np.loadtxt(path, ndmin=2)


def tree(folder):
    """Every file under *folder*: relative path -> (size, mtime_ns, sha256)."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns,
                                         hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(folder.rglob("*")) if p.is_file()}


def weight_files(folder):
    folder = Path(folder)
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*.txt"))


# --- shared runs (one compile per layer) -----------------------------------------------

@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    root = tmp_path_factory.mktemp("builds")
    return {name: root / name for name in ("L4", "L2_3", "L4-literal", "L2_3-literal")}


@pytest.fixture(scope="module")
def l4_run(builds, tmp_path_factory):
    out = tmp_path_factory.mktemp("l4") / "out"
    proc = check_ok(train("ann_L4.py", out, builds["L4"], patches=L4_PATCHES))
    return out, proc


@pytest.fixture(scope="module")
def l23_run(l4_run, builds, tmp_path_factory):
    l4_out, _ = l4_run
    out = tmp_path_factory.mktemp("l23") / "out"
    proc = check_ok(train("ann_L2_3.py", out, builds["L2_3"], "--l4", l4_out, patches=L23_PATCHES))
    return out, proc


# --- 1. layer 4 -------------------------------------------------------------------------

def test_l4_writes_every_file_with_its_shape(l4_run):
    out, _ = l4_run
    expected = sorted(f"{rel}_{n}.txt" for rel in L4_FILES for n in L4_STEPS)
    assert weight_files(out) == expected
    for rel, shape in L4_FILES.items():
        for n in L4_STEPS:
            w = load(out / f"{rel}_{n}.txt")
            assert w.shape == shape, f"{rel}_{n}.txt"
            assert np.all(np.isfinite(w)), f"{rel}_{n}.txt"
            assert np.all(w >= 0), f"{rel}_{n}.txt"
    fr_e, fr_i = np.load(out / "frExc.npy"), np.load(out / "frInh.npy")
    assert fr_e.ndim == 2 and fr_e.shape[1] == 324 and fr_e.shape[0] >= 1
    assert fr_i.ndim == 2 and fr_i.shape[1] == 81 and fr_i.shape[0] == fr_e.shape[0]
    assert np.all(np.isfinite(fr_e)) and np.all(fr_e >= 0) and np.all(np.isfinite(fr_i))
    png = out / "V1Layer" / "rates.png"
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_l4_run_json(l4_run):
    out, _ = l4_run
    meta = json.loads((out / "run.json").read_text())
    assert meta["status"] == "complete"
    assert meta["layer"] == "L4"
    assert meta["seed"] == SEED
    assert meta["threads"] == THREADS
    assert meta["patches"] == L4_PATCHES
    assert meta["snapshot_steps"] == list(L4_STEPS)
    images = np.ascontiguousarray(scipy.io.loadmat(IMAGES)["IMAGES"], dtype=np.float64)
    # the documented content hash: sha256 of dtype, shape and the C-order bytes
    expected = hashlib.sha256(b"float64" + str(images.shape).encode() + images.tobytes()).hexdigest()
    assert meta["images"]["sha256"] == expected
    assert meta["images"]["shape"] == [512, 512, 10]
    from importlib.metadata import version
    assert meta["versions"]["numpy"] == np.__version__
    assert meta["versions"]["ANNarchy"] == version("ANNarchy")
    assert version("ANNarchy").split(".")[0] == "5"
    assert meta["model_time_s"] == pytest.approx(L4_PATCHES * 0.125, abs=1e-12)
    assert meta["wall_time_s"] > 0
    assert meta["layer4"] is None


# docs/model.md §4: initial weights U(low, high) (a constant where low == high) and wMax of each file
L4_INITIAL = {"excitatory/V1weight": (0.025, 1.0, 5.0), "excitatory/InhibW": (0.0, 0.1, 3.0),
              "V1toIN/V1toIN": (0.0, 0.1, 0.7), "inhibitory/INtoV1": (0.0, 0.0, 0.5),
              "inhibitory/INLat": (0.0, 0.0, 0.5)}


def onoff_norms(w):
    """Row norms of the ON (even) and OFF (odd) columns of an LGN weight matrix."""
    return np.linalg.norm(w[:, 0::2], axis=1), np.linalg.norm(w[:, 1::2], axis=1)


def test_l4_initial_weights_and_learning(l4_run):
    out, _ = l4_run
    for rel, (low, high, w_max) in L4_INITIAL.items():
        w0, w24 = load(out / f"{rel}_0.txt"), load(out / f"{rel}_24.txt")
        if low == high:
            assert np.all(w0 == low), rel
        else:   # snapshot 0 holds the draws themselves: bounds, and the mean within 5 standard errors
            assert low <= w0.min() and w0.max() <= high, rel
            assert abs(w0.mean() - (low + high) / 2) < 5 * (high - low) / np.sqrt(12 * w0.size), rel
        assert w24.min() >= 0 and w24.max() <= w_max, rel
    # 24 patches of learning move almost every LGN->E synapse (measured: 99 %, median 0.1)
    change = np.abs(load(out / "excitatory/V1weight_24.txt") - load(out / "excitatory/V1weight_0.txt"))
    assert np.mean(change > 1e-3) > 0.9, "LGN->E weights hardly changed: no learning"


def test_l4_onoff_balance_after_the_first_patch(builds, tmp_path):
    """The published order: patch 0 is presented with the initial weights, then the ON and OFF
    norms of every LGN->E and LGN->I row are balanced (next every 160 patches)."""
    out = tmp_path / "out"
    check_ok(run_script("ann_L4.py", "--images", IMAGES, "--out", out, "--build-dir", builds["L4"], "--no-progress",
                        "--patches", 2, "--save-every", 1, "--seed", SEED, "-j", THREADS))
    for stem in ("V1weight", "InhibW"):
        on0, off0 = onoff_norms(load(out / f"excitatory/{stem}_0.txt"))
        assert np.abs(on0 - off0).max() > 1e-3, f"{stem}: initial weights already balanced"
        on1, off1 = onoff_norms(load(out / f"excitatory/{stem}_1.txt"))
        np.testing.assert_allclose(on1, off1, rtol=1e-12, atol=0, err_msg=stem)
        on2, off2 = onoff_norms(load(out / f"excitatory/{stem}_2.txt"))
        assert np.abs(on2 - off2).max() > 1e-9, f"{stem}: balanced again after patch 1"


@pytest.mark.parametrize("seed,status", [(1, "failing"), (2, "healthy")])
def test_l4_warns_when_a_run_fails_early(seed, status, builds, tmp_path):
    """Seed 1 fails early (docs/results/seed_study: silent inhibition, 46 % of the E cells
    without a field at patch 2,000); seed 2 learns. The run says so and records it."""
    out = tmp_path / "out"
    proc = check_ok(run_script("ann_L4.py", "--images", IMAGES, "--out", out, "--build-dir", builds["L4"],
                               "--no-progress", "--patches", 2000, "--save-every", 2000, "--seed", seed,
                               "-j", THREADS))
    health = json.loads((out / "run.json").read_text())["health"]
    assert health["status"] == status and health["patch"] == 2000
    w = load(out / "excitatory/V1weight_2000.txt")
    assert health["n_not_grown_E"] == int(np.sum(w.max(axis=1) < 2.5))      # wMax(LGN->E) / 2
    assert health["i_rate_hz"] == pytest.approx(np.load(out / "frInh.npy")[1:20].mean())
    line = [text for text in proc.stderr.splitlines() if text.startswith("health check at patch 2,000: ")]
    assert len(line) == 1, proc.stderr                                        # one line, whatever the outcome
    if status == "failing":
        assert health["not_grown_E"] > 0.4 and health["i_rate_hz"] < 1.0
        assert line[0].startswith(f"health check at patch 2,000: failing, {health['n_not_grown_E']} of 324 E cells "
                                  "have no field")
        assert proc.stderr.count("WARNING: this layer-4 run has failed early (seed 1)") == 2   # during, at the end
        assert "start again with another --seed" in proc.stderr
    else:
        assert health["not_grown_E"] == 0 and health["warning"] is None
        assert line[0] == ("health check at patch 2,000: healthy, all 324 E cells have a field (an LGN weight "
                           f"≥ 2.5), I cells {health['i_rate_hz']:.1f} Hz")
        assert "WARNING" not in proc.stderr


def test_l4_stop_on_failure_exits_at_the_check(builds, tmp_path):
    """--stop-on-failure: the failing seed 1 stops at patch 2,000 with exit code 3 instead of training on."""
    out = tmp_path / "out"
    proc = run_script("ann_L4.py", "--images", IMAGES, "--out", out, "--build-dir", builds["L4"], "--no-progress",
                      "--patches", 4000, "--seed", 1, "-j", THREADS, "--stop-on-failure")
    assert proc.returncode == 3, proc.stderr
    meta = json.loads((out / "run.json").read_text())
    assert meta["status"] == "failed early" and meta["stopped_at_patch"] == 2000
    assert meta["health"]["status"] == "failing"
    assert len(np.load(out / "frInh.npy")) == 20                              # the rates up to the check
    assert not (out / "excitatory/V1weight_4000.txt").exists()
    assert proc.stderr.strip().splitlines()[-1] == ("stopped at patch 2,000 (--stop-on-failure): the run has failed "
                                                    "early; start again with another --seed (exit code 3)")


def test_tensorboard_events_and_figures(builds, tmp_path):
    """--tensorboard writes events with the documented tags (read back with TensorBoard's own
    reader); the PNG figures and weight_stats.json are written with or without it."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    out, events = tmp_path / "out", tmp_path / "events"
    check_ok(train("ann_L4.py", out, builds["L4"], "--tensorboard", events, patches=L4_PATCHES))
    acc = EventAccumulator(str(events), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    acc.Reload()
    tags = acc.Tags()
    rates = {"rates/E_mean", "rates/I_mean"} | {f"rates/E_cell_{k}" for k in range(4)}
    weights = {f"weights/{p}/{s}" for p in ("LGN_E", "LGN_I", "E_I", "I_E", "I_I")
               for s in ("mean", "std", "fraction_zero", "fraction_max")}
    assert rates | weights <= set(tags["scalars"])
    assert set(tags["images"]) == {"fields/LGN_E", "fields/LGN_I"}
    assert "run/record/text_summary" in tags["tensors"]
    assert [e.step for e in acc.Scalars("weights/LGN_E/mean")] == list(L4_STEPS)
    assert [e.step for e in acc.Images("fields/LGN_E")] == list(L4_STEPS)
    mean24 = acc.Scalars("weights/LGN_E/mean")[-1].value
    assert mean24 == pytest.approx(load(out / "excitatory/V1weight_24.txt").mean(), rel=1e-6)
    i_rate = acc.Scalars("rates/I_mean")[-1].value
    assert i_rate == pytest.approx(np.load(out / "frInh.npy")[-1].mean(), rel=1e-6)
    stats = json.loads((out / "weight_stats.json").read_text())["snapshots"]
    assert sorted(map(int, stats)) == list(L4_STEPS)
    for name in ("rates.png", "weights.png"):
        assert _is_png(out / "V1Layer" / name), name


def test_tensorboard_missing_is_one_line(tmp_path):
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "tensorboardX.py").write_text("raise ImportError('not installed')\n")
    out, build = tmp_path / "out", tmp_path / "build"
    env = dict(_env(), PYTHONPATH=str(fake))
    proc = subprocess.run([sys.executable, "ann_L4.py", "--images", str(IMAGES), "--out", str(out), "--build-dir",
                           str(build), "--patches", "8", "--tensorboard", str(tmp_path / "tb")], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=ERROR_TIMEOUT)
    check_refused(proc, "error: --tensorboard: ", "tensorboardX is not installed")
    assert not out.exists() and not build.exists()


# --- 2. reproducibility -----------------------------------------------------------------

def test_same_seed_same_bytes_other_seed_differs(l4_run, builds, tmp_path):
    out_a, _ = l4_run
    out_b, out_c = tmp_path / "same_seed", tmp_path / "other_seed"
    libs = sorted(builds["L4"].glob("ANNarchyWrapper*.so"))
    assert libs, "the layer-4 run left no compiled library in its build dir"
    built = {lib: lib.stat().st_mtime_ns for lib in libs}
    check_ok(train("ann_L4.py", out_b, builds["L4"], patches=L4_PATCHES))
    # same build dir, same thread count: ANNarchy reuses the library (no recompile) --
    # unless the model's source was edited while the tests ran
    assert {lib: lib.stat().st_mtime_ns for lib in libs} == built, "second run recompiled"
    check_ok(train("ann_L4.py", out_c, builds["L4"], patches=L4_PATCHES, seed=SEED + 1))
    files = weight_files(out_a)
    assert weight_files(out_b) == files == weight_files(out_c)
    for rel in files:
        assert (out_a / rel).read_bytes() == (out_b / rel).read_bytes(), f"{rel} differs with the same seed"
    for rel in ("excitatory/V1weight_0.txt", "excitatory/V1weight_24.txt", "V1toIN/V1toIN_24.txt"):
        assert (out_a / rel).read_bytes() != (out_c / rel).read_bytes(), f"{rel} equal with another seed"


def test_threads_requested_and_used(builds, tmp_path):
    """-j 4 with the fast variant runs one thread (the same results as -j 1), says so, records both."""
    out = tmp_path / "out"
    proc = check_ok(run_script("ann_L4.py", "--images", IMAGES, "--out", out, "--build-dir", builds["L4"],
                               "--no-progress", "--patches", 8, "--save-every", 8, "--seed", SEED, "-j", 4))
    assert "-j 4: the fast variant runs on one thread" in proc.stderr
    meta = json.loads((out / "run.json").read_text())
    assert meta["threads"] == 1 and meta["threads_requested"] == 4 and meta["force_threads"] is False
    ref = tmp_path / "ref"
    check_ok(train("ann_L4.py", ref, builds["L4"], patches=8))
    for rel in weight_files(ref):
        assert (out / rel).read_bytes() == (ref / rel).read_bytes(), rel


# --- 3. layer 2/3 -----------------------------------------------------------------------

def test_l23_writes_every_file(l23_run, l4_run):
    out, _ = l23_run
    expected = sorted([f"{rel}_{n}.txt" for rel in L23_FILES for n in L23_STEPS] + list(L23_DELAYS))
    assert weight_files(out) == expected
    for rel, shape in L23_FILES.items():
        for n in L23_STEPS:
            w = load(out / f"{rel}_{n}.txt")
            assert w.shape == shape, f"{rel}_{n}.txt"
            assert np.all(np.isfinite(w)) and np.all(w >= 0), f"{rel}_{n}.txt"
    for rel, shape in L23_DELAYS.items():
        d = load(out / rel)
        assert d.shape == shape, rel
        assert set(np.unique(d)) <= {1.0, 2.0, 3.0}, rel
        assert len(np.unique(d)) == 3, rel
    assert not np.array_equal(load(out / "excitatory/V2weight_0.txt"), load(out / "excitatory/V2weight_16.txt"))
    assert np.load(out / "frExc.npy").shape[1] == 324 and np.load(out / "frInh.npy").shape[1] == 81
    meta = json.loads((out / "run.json").read_text())
    assert meta["status"] == "complete" and meta["layer"] == "L2_3" and meta["patches"] == L23_PATCHES
    assert meta["model_time_s"] == pytest.approx(L23_PATCHES * 0.125, abs=1e-12)
    assert Path(meta["layer4"]["folder"]) == l4_run[0]
    assert meta["layer4"]["step"] == 24


def test_l23_evaluation_resets_the_delay_queues(l23_run, tmp_path):
    """The frozen layer-2/3 network (recorded delays, spikes in flight between presentations)
    goes back to its initial state before every presentation: two evaluations of the same
    crops give the same features, bit for bit, whatever came before them."""
    l23_out, _ = l23_run
    build, features = tmp_path / "build", []
    for k, limit in enumerate((6, 4)):          # the second run shows a subset, after other presentations
        out = tmp_path / f"eval{k}"
        proc = subprocess.run([sys.executable, "evaluate.py", "--l23", str(l23_out), "--limit", str(limit),
                               "--repeats", "1", "--workers", "1", "--out", str(out), "--build-root", str(build),
                               "--no-progress"], cwd=REPO_ROOT, env=_env(), capture_output=True, text=True,
                              timeout=RUN_TIMEOUT)
        check_ok(proc)
        features.append(np.load(out / "digits" / "features.npz"))
    for name in ("trained/train/E2", "trained/test/I2", "untrained/train/E"):
        assert features[0][name].shape[1:] == features[1][name].shape[1:]
        np.testing.assert_array_equal(features[0][name][:4], features[1][name], err_msg=name)
    assert features[0]["trained/train/E2"].max() > 0


_STATIC_DELAYS_SCRIPT = """
import json, sys
run, build = sys.argv[1:3]                  # before ANNarchy takes the command line over
from simulator.annarchy_env import hand_over_argv
hand_over_argv([])
import numpy as np
from simulator.network import build_network
from runs.snapshots import load_trained
trained = load_trained(run, None)
rates = np.random.default_rng(0).uniform(0, 80, size=(6, 18, 18, 2))
spikes = {}
for variant in ("fast", "literal"):
    net = build_network(trained.layer, build_dir=build + "/" + variant, variant=variant, static=True,
                        delays=trained.delays, weights=trained.weights)
    monitors = {p: net.net.monitor(net.pops[p], ["spike"]) for p in ("E2", "I2")}
    kinds = sorted({type(p).__name__ for p in net.projs.values()})
    for k, r in enumerate(rates):
        if k % 2 == 0:                       # from the initial state, or with spikes still in flight
            net.reset_to_initial(100 + k)
        net.present(r, 125.0)
    spikes[variant] = {p: {str(n): list(map(int, t)) for n, t in m.get("spike").items()} for p, m in monitors.items()}
    spikes[variant + " projections"] = kinds
print(json.dumps(spikes))
"""


def test_l23_frozen_delayed_projections_transmit_as_annarchy(l23_run, tmp_path):
    """The frozen layer 2/3 (analysis, evaluation) transmits its non-uniform delays with the
    package's ring of spikes in dense storage (fast variant) instead of ANNarchy's LIL code
    (literal): the same spike trains, step for step, with and without a reset between
    presentations."""
    l23_out, _ = l23_run
    proc = subprocess.run([sys.executable, "-c", _STATIC_DELAYS_SCRIPT, str(l23_out), str(tmp_path)],
                          cwd=REPO_ROOT, env=_env(), capture_output=True, text=True, timeout=RUN_TIMEOUT)
    check_ok(proc)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "FastDelayedStaticProjection" in result["fast projections"]
    assert "FastDelayedStaticProjection" not in result["literal projections"]
    for pop in ("E2", "I2"):
        assert result["fast"][pop] == result["literal"][pop], pop
    assert sum(len(t) for t in result["fast"]["E2"].values()) > 0


def test_l23_loads_the_requested_l4_step(l23_run, l4_run, builds, tmp_path):
    l4_out, _ = l4_run
    out = tmp_path / "l23_step8"
    check_ok(train("ann_L2_3.py", out, builds["L2_3"], "--l4", l4_out, "--l4-step", 8, patches=8))
    meta = json.loads((out / "run.json").read_text())
    assert meta["layer4"]["step"] == 8 and Path(meta["layer4"]["folder"]) == l4_out
    assert weight_files(out) == sorted([f"{rel}_{n}.txt" for rel in L23_FILES for n in (0, 8)]
                                       + list(L23_DELAYS))


# --- 4. receptive-field view ------------------------------------------------------------

def _is_png(path):
    return path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_rezeptiv_latest_and_all(l4_run, tmp_path):
    src, _ = l4_run
    out = tmp_path / "l4_copy"
    shutil.copytree(src, out)
    check_ok(run_script("rezeptiv.py", out))
    onoff = out / "ONOFF"
    assert sorted(p.name for p in onoff.iterdir()) == sorted(
        ["V1weight_24_ONOFF.png", "InhibW_24_ONOFF.png", "weights_hist_24.png"])
    assert all(_is_png(p) for p in onoff.iterdir())
    check_ok(run_script("rezeptiv.py", out, "--all"))
    for n in L4_STEPS:
        for name in (f"V1weight_{n}_ONOFF.png", f"InhibW_{n}_ONOFF.png", f"weights_hist_{n}.png"):
            assert _is_png(onoff / name), name


# --- 5. bad inputs: exit 2, one line, nothing written, no compile -------------------------

def _savemat(path, **arrays):
    scipy.io.savemat(path, arrays)
    return path


def _fake_l4(folder, step=0, corrupt=None):
    """A layer-4 snapshot set with the right shapes; *corrupt* = (rel, matrix) replaces one."""
    rng = np.random.default_rng(0)
    for rel, shape in L4_FILES.items():
        path = Path(folder) / f"{rel}_{step}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        matrix = corrupt[1] if corrupt and corrupt[0] == rel else rng.uniform(0, 0.1, shape)
        np.savetxt(path, matrix)
    return Path(folder)


def _bad_images(kind, tmp):
    """(images path, text the message must contain) for each bad training-image file."""
    rng = np.random.default_rng(1)
    if kind == "missing":
        return tmp / "nope.mat", "no such file"
    if kind == "garbage":
        p = tmp / "garbage.mat"
        p.write_bytes(bytes(rng.integers(0, 256, 3000, dtype=np.uint8)))
        return p, "not a readable MATLAB file"
    if kind == "truncated":
        p = _savemat(tmp / "truncated.mat", IMAGES=rng.normal(size=(40, 40, 3)))
        data = p.read_bytes()
        p.write_bytes(data[: len(data) // 2])
        return p, "not a readable MATLAB file"
    if kind == "wrong-variable":
        return _savemat(tmp / "wrongvar.mat", PICTURES=rng.normal(size=(40, 40, 3))), "'IMAGES' not found"
    if kind == "2d":
        return _savemat(tmp / "flat.mat", IMAGES=rng.normal(size=(40, 40))), "3-D"
    if kind == "nan":
        a = rng.normal(size=(40, 40, 3))
        a[5, 7, 1] = np.nan
        return _savemat(tmp / "nan.mat", IMAGES=a), "non-finite"
    if kind == "small":
        return _savemat(tmp / "small.mat", IMAGES=rng.normal(size=(18, 18, 3))), "smaller than the patch"
    if kind == "all-zero":
        a = rng.normal(size=(40, 40, 3))
        a[:, :, 1] = 0.0
        return _savemat(tmp / "zero.mat", IMAGES=a), "image 1 of 3 (0-based) is all zeros"
    if kind == "complex":
        return _savemat(tmp / "complex.mat", IMAGES=rng.normal(size=(40, 40, 3)) * 1j), "complex values"
    raise ValueError(kind)


def check_refused(proc, *must_contain, started=None):
    """Exit 2, exactly one stderr line ``error: ...`` containing every string, no compile."""
    assert proc.returncode == 2, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error:"), proc.stderr
    for text in must_contain:
        assert str(text) in lines[0], f"{text!r} not in {lines[0]!r}"
    assert "ANNarchy" not in proc.stdout + proc.stderr, "ANNarchy was imported"
    if started is not None:
        assert time.perf_counter() - started < ERROR_TIMEOUT


def _refused_run(script, tmp, *args):
    """Run *script* with a fresh --out and --build-dir; returns (proc, out, build)."""
    out, build = tmp / "out", tmp / "build"
    proc = run_script(script, "--out", out, "--build-dir", build, "--no-progress", "--patches", 8,
                      *args, timeout=ERROR_TIMEOUT)
    assert not out.exists(), "output folder created by a refused run"
    assert not build.exists(), "build folder created: the error came after ANNarchy started"
    return proc, out, build


@pytest.mark.parametrize("kind", ["missing", "garbage", "truncated", "wrong-variable", "2d", "nan", "small",
                                  "all-zero", "complex"])
def test_bad_images_file(kind, tmp_path):
    path, problem = _bad_images(kind, tmp_path)
    started = time.perf_counter()
    proc, _, _ = _refused_run("ann_L4.py", tmp_path, "--images", path)
    check_refused(proc, f"error: {path}: ", problem, started=started)


@pytest.mark.parametrize("script", ["ann_L4.py", "ann_L2_3.py"])
@pytest.mark.parametrize("option,value,problem", [
    ("--patches", "0", "must be a positive integer"),
    ("--patches", "-3", "must be a positive integer"),
    ("--patches", "abc", "is not an integer"),
    ("-j", "0", "must be a positive integer"),
    ("--save-every", "0", "must be a positive integer"),
])
def test_bad_option(script, option, value, problem, tmp_path):
    # One line, like every other refused input: "error: argument <option>: <problem> (see --help)"
    proc, _, _ = _refused_run(script, tmp_path, "--images", IMAGES, option, value)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert re.match(rf"^error: argument (-j/--num-threads|{re.escape(option)}): ", lines[0]), proc.stderr
    assert problem in lines[0] and value in lines[0]


@pytest.mark.parametrize("script", ["ann_L4.py", "ann_L2_3.py"])
def test_gpu_is_refused(script, tmp_path):
    # The Poisson input and the fast rules have no CUDA code: refused before anything starts.
    proc, _, _ = _refused_run(script, tmp_path, "--images", IMAGES, "--gpu")
    check_refused(proc, "error: --gpu: ", "not supported")


def test_existing_run_is_refused_then_overwritten(builds, tmp_path):
    out = tmp_path / "out"
    _fake_l4(out, step=40)
    (out / "run.json").write_text('{"status": "complete"}\n')
    (out / "notes.txt").write_text("keep me\n")
    before = tree(out)
    proc = run_script("ann_L4.py", "--images", IMAGES, "--out", out, "--build-dir", tmp_path / "b",
                      "--no-progress", "--patches", 8, timeout=ERROR_TIMEOUT)
    check_refused(proc, f"error: {out}: ", "already holds a run", "--overwrite")
    assert tree(out) == before, "refused run changed the existing folder"
    assert not (tmp_path / "b").exists()

    check_ok(train("ann_L4.py", out, builds["L4"], "--overwrite", patches=8))
    meta = json.loads((out / "run.json").read_text())
    assert meta["status"] == "complete" and meta["patches"] == 8
    # the earlier run's snapshots are gone: no stale step survives to be loaded by layer 2/3
    assert weight_files(out) == sorted([f"{rel}_{n}.txt" for rel in L4_FILES for n in (0, 8)] + ["notes.txt"])


def test_output_below_a_regular_file(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder\n")
    out = blocker / "sub"
    proc = run_script("ann_L4.py", "--images", IMAGES, "--out", out, "--build-dir", tmp_path / "b",
                      "--no-progress", "--patches", 8, timeout=ERROR_TIMEOUT)
    check_refused(proc, f"error: {out}: ", "not writable")
    assert blocker.read_text() == "not a folder\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root ignores directory permissions")
def test_output_folder_not_writable(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        for out in (locked, locked / "sub"):
            proc = run_script("ann_L4.py", "--images", IMAGES, "--out", out, "--build-dir", tmp_path / "b",
                              "--no-progress", "--patches", 8, timeout=ERROR_TIMEOUT)
            check_refused(proc, f"error: {out}: ", "not writable")
            assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


def _l23_refused(tmp_path, l4, *extra):
    return _refused_run("ann_L2_3.py", tmp_path, "--images", IMAGES, "--l4", l4, *extra)[0]


def test_l23_without_l4_folder(tmp_path):
    check_refused(_l23_refused(tmp_path, tmp_path / "no_such_l4"), f"error: {tmp_path / 'no_such_l4'}: ",
                  "not found")


def test_l23_l4_folder_without_snapshots(tmp_path):
    empty = tmp_path / "empty_l4"
    (empty / "excitatory").mkdir(parents=True)
    _fake_l4(tmp_path / "partial", step=0)
    (tmp_path / "partial" / "inhibitory" / "INLat_0.txt").unlink()   # one file missing: incomplete
    check_refused(_l23_refused(tmp_path, empty), f"error: {empty}: ", "no complete L4 snapshot")
    check_refused(_l23_refused(tmp_path, tmp_path / "partial"), f"error: {tmp_path / 'partial'}: ",
                  "no complete L4 snapshot", "INLat_N.txt")


def test_l23_l4_weights_of_wrong_shape(tmp_path):
    l4 = _fake_l4(tmp_path / "l4", corrupt=("excitatory/V1weight", np.full((324, 600), 0.5)))
    path = l4 / "excitatory" / "V1weight_0.txt"
    check_refused(_l23_refused(tmp_path, l4), f"error: {path}: ", "(324, 600)", "(324, 648)")


def test_l23_l4_weights_with_nan(tmp_path):
    bad = np.full((324, 648), 0.5)
    bad[3, 17] = np.nan
    l4 = _fake_l4(tmp_path / "l4", corrupt=("excitatory/V1weight", bad))
    check_refused(_l23_refused(tmp_path, l4), f"error: {l4 / 'excitatory' / 'V1weight_0.txt'}: ", "NaN")


def test_l23_l4_step_that_does_not_exist(tmp_path):
    l4 = _fake_l4(tmp_path / "l4", step=0)
    _fake_l4(l4, step=8)
    check_refused(_l23_refused(tmp_path, l4, "--l4-step", 5), f"error: {l4}: ",
                  "no complete snapshot at step 5", "[0, 8]")


# --- 6. fast and literal variants: the same network ----------------------------------------

EQUIVALENCE_ATOL = 1e-9     # weights of order 0.01-5; the lazy LTP sums agree to ~1e-12 relative


def test_fast_and_literal_variants_agree(l4_run, l23_run, builds, tmp_path):
    """Both layers, same seed and patch stream: identical spike counts of every cell and
    weights equal within 1e-9 after 24 (layer 4) and 16 (layer 2/3) patches."""
    l4_fast, l23_fast = l4_run[0], l23_run[0]
    l4_literal, l23_literal = tmp_path / "l4_literal", tmp_path / "l23_literal"
    check_ok(train("ann_L4.py", l4_literal, builds["L4-literal"], "--variant", "literal", patches=L4_PATCHES))
    check_ok(train("ann_L2_3.py", l23_literal, builds["L2_3-literal"], "--variant", "literal", "--l4", l4_fast,
                   patches=L23_PATCHES))
    for fast, literal in ((l4_fast, l4_literal), (l23_fast, l23_literal)):
        for rates in ("frExc.npy", "frInh.npy"):
            np.testing.assert_array_equal(np.load(fast / rates), np.load(literal / rates), err_msg=str(fast / rates))
        files = weight_files(fast)
        assert weight_files(literal) == files
        learned = 0
        for rel in files:
            a, b = load(fast / rel), load(literal / rel)
            if rel.endswith("_Delay.txt") or rel.endswith("_0.txt"):
                np.testing.assert_array_equal(a, b, err_msg=rel)        # drawn, not learned
                continue
            np.testing.assert_allclose(a, b, rtol=0, atol=EQUIVALENCE_ATOL, err_msg=rel)
            learned += not np.array_equal(a, load(fast / re.sub(r"_\d+\.txt$", "_0.txt", rel)))
        assert learned > 0, "no weight changed: the comparison would prove nothing"


# --- 7. help -----------------------------------------------------------------------------

@pytest.mark.parametrize("script,extra", [("ann_L4.py", ()), ("ann_L2_3.py", ("--l4", "--l4-step"))])
def test_help_is_ours(script, extra):
    started = time.perf_counter()
    proc = run_script(script, "--help", timeout=ERROR_TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    assert time.perf_counter() - started < 20
    text = proc.stdout
    assert text.startswith(f"usage: {script}")
    assert "spiking V1 model" in text
    for option in ("--patches", "--seed", "--images", "--out", "--save-every", "--variant", "-j",
                   "--build-dir", "--overwrite", *extra):
        assert re.search(rf"(^|[\s,\[]){re.escape(option)}\b", text), f"{option} missing from help"
    # ANNarchy was never imported (its banner) and did not answer with its own parser
    assert "ANNarchy 5" not in text + proc.stderr
    assert proc.stderr == ""
