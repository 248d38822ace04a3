"""Interrupting and resuming a training run (``--resume``, ``models/checkpoint.py``).

The proof is end to end, with the real scripts: a run killed with SIGKILL (or
stopped with SIGTERM) and resumed with ``--resume`` writes byte-identical weight
files, rate files and delay files to the run that never stopped, with the same
seed and thread count. Layer 4 is checked at 1 thread (SIGKILL) and at 2 threads
(SIGTERM between two snapshots); layer 2/3, whose axonal delays keep spikes in
flight across the checkpoint, killed (SIGKILL) and resumed at 2 threads against
an uninterrupted run at 1 thread.

Also here: what ``--resume`` refuses, and output folders that fill up or are
read-only (tiny or read-only tmpfs mounts; skipped where mounting is not allowed).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO_ROOT, refused, training_images
from training.cli import typed_interpreter

IMAGES = training_images()

SEED = 5
RUN_TIMEOUT = 420
ERROR_TIMEOUT = 60


def _env(threads):
    env = dict(os.environ)
    env.update(MPLBACKEND="Agg", PYTHONUNBUFFERED="1", TQDM_DISABLE="1", PYTHONDONTWRITEBYTECODE="1",
               OMP_NUM_THREADS=str(threads))
    return env


def _cmd(script, *args):
    return [sys.executable, script, *map(str, args)]


def run(script, *args, threads=1, timeout=RUN_TIMEOUT):
    return subprocess.run(_cmd(script, *args), cwd=REPO_ROOT, env=_env(threads), capture_output=True,
                          text=True, timeout=timeout)


def ok(proc):
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def outputs(folder):
    """Every result file of a run (weights, delays, rates): relative path -> bytes."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.suffix in (".txt", ".npy") and p.is_file()}


def train_args(out, build, patches, save_every, threads, *extra):
    # --force-threads: these runs exercise the multi-threaded kernels on purpose
    force = ("--force-threads",) if threads > 1 else ()
    return ("--images", IMAGES, "--out", out, "--build-dir", build, "--no-progress", "--patches", patches,
            "--save-every", save_every, "--seed", SEED, "-j", threads, *force, *extra)


def start_and_stop(script, args, threads, wait_for: Path, sig):
    """Start a run, send *sig* as soon as *wait_for* exists; returns the finished process."""
    proc = subprocess.Popen(_cmd(script, *args), cwd=REPO_ROOT, env=_env(threads),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + RUN_TIMEOUT
    while not wait_for.exists():
        assert proc.poll() is None, f"run ended before {wait_for.name} appeared:\n{proc.communicate()[1]}"
        assert time.monotonic() < deadline, f"{wait_for} never appeared"
        time.sleep(0.01)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=RUN_TIMEOUT)
    proc.stdout_text, proc.stderr_text = stdout, stderr
    return proc


def assert_same_outputs(reference, resumed):
    ref, res = outputs(reference), outputs(resumed)
    assert sorted(res) == sorted(ref)
    differ = [name for name in ref if ref[name] != res[name]]
    assert not differ, f"resumed run differs from the uninterrupted one in {differ}"


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    root = tmp_path_factory.mktemp("builds")
    return {name: root / name for name in ("L4-j1", "L4-j2", "L2_3-j1", "L2_3-j2")}


@pytest.fixture(scope="module")
def l4_reference(builds, tmp_path_factory):
    """An uninterrupted layer-4 run: 400 patches, snapshots every 100."""
    out = tmp_path_factory.mktemp("l4ref") / "out"
    ok(run("ann_L4.py", *train_args(out, builds["L4-j1"], 400, 100, 1)))
    return out


def test_l4_killed_and_resumed_is_bit_identical(l4_reference, builds, tmp_path):
    out = tmp_path / "out"
    args = train_args(out, builds["L4-j1"], 400, 100, 1)
    killed = start_and_stop("ann_L4.py", args, 1, out / "checkpoints" / "checkpoint_100.npz", signal.SIGKILL)
    assert killed.returncode == -signal.SIGKILL
    assert json.loads((out / "run.json").read_text())["status"] == "running"
    assert not (out / "excitatory" / "V1weight_400.txt").exists(), "the run finished before the kill"

    resumed = ok(run("ann_L4.py", "--out", out, "--build-dir", builds["L4-j1"], "--no-progress", "--resume"))
    patch = json.loads((out / "run.json").read_text())["resumed"][0]["at_patch"]
    assert 100 <= patch < 400, resumed.stderr
    assert f"resuming {out} at patch {patch}" in resumed.stderr
    assert_same_outputs(l4_reference, out)
    meta = json.loads((out / "run.json").read_text())
    assert meta["status"] == "complete" and meta["seed"] == SEED and meta["patches"] == 400
    # only the newest checkpoint is kept; no temporary file is left behind
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["checkpoint_400.npz"]
    assert not list(out.rglob("*.tmp"))


def test_l4_sigterm_between_snapshots_two_threads(builds, tmp_path):
    ref = tmp_path / "ref"
    ok(run("ann_L4.py", *train_args(ref, builds["L4-j2"], 300, 100, 2), threads=2))
    out = tmp_path / "out"
    stopped = start_and_stop("ann_L4.py", train_args(out, builds["L4-j2"], 300, 100, 2), 2,
                             out / "excitatory" / "V1weight_100.txt", signal.SIGTERM)
    assert stopped.returncode == 128 + signal.SIGTERM, stopped.stderr_text
    meta = json.loads((out / "run.json").read_text())
    assert meta["status"] == "interrupted"
    patch = meta["interrupted_at_patch"]
    assert f"stopped by SIGTERM at patch {patch}" in stopped.stderr_text
    # the command to continue, as it can be typed here (the interpreter that ran, not a bare script name)
    assert f"continue with: {typed_interpreter()} ann_L4.py --out {out} --resume" in stopped.stderr_text
    # the checkpoint is taken where the run stopped, not at the last snapshot
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == [f"checkpoint_{patch}.npz"]
    assert 100 < patch < 300 and patch % 100, "stopped on a snapshot step: nothing tested in between"

    ok(run("ann_L4.py", "--out", out, "--build-dir", builds["L4-j2"], "--no-progress", "--resume", threads=2))
    assert_same_outputs(ref, out)


def test_l23_killed_and_resumed_is_bit_identical(l4_reference, builds, tmp_path):
    """Layer 2/3 with spikes in its delay queues; the killed and resumed run uses 2 threads,
    the reference 1: the fast kernels and the delayed transmission do not depend on it."""
    ref, out = tmp_path / "ref", tmp_path / "out"
    extra = ("--l4", l4_reference)
    ok(run("ann_L2_3.py", *train_args(ref, builds["L2_3-j1"], 200, 50, 1, *extra)))
    killed = start_and_stop("ann_L2_3.py", train_args(out, builds["L2_3-j2"], 200, 50, 2, *extra), 2,
                            out / "checkpoints" / "checkpoint_50.npz", signal.SIGKILL)
    assert killed.returncode == -signal.SIGKILL
    assert not (out / "excitatory" / "V2weight_200.txt").exists(), "the run finished before the kill"
    ok(run("ann_L2_3.py", "--out", out, "--build-dir", builds["L2_3-j2"], "--no-progress", "--resume", threads=2))
    assert_same_outputs(ref, out)


def test_checkpoint_holds_the_whole_state(l4_reference):
    from training import checkpoint
    arrays, meta = checkpoint.load_latest(l4_reference)
    assert meta["patch"] == 400 and meta["seed"] == SEED and meta["threads"] == 1
    assert int(arrays["net/step"]) == 400 * 125
    for pop in ("P", "LGN", "E", "I"):
        assert f"pop/{pop}/spiked" in arrays and f"pop/{pop}/last_spike" in arrays
    for var in ("vm", "wad", "VT", "vmean", "umeanLTD", "umeanLTP", "g_Exc", "g_Inh", "state"):
        assert arrays[f"pop/E/attr/{var}"].shape == (324,), var
    for var in ("Spike", "xtrace"):
        assert arrays[f"pop/LGN/attr/{var}"].shape == (18, 18, 2), var
    assert arrays["proj/LGN_E/var/w"].shape == (324, 648)
    # fast Clopath bookkeeping: the period start, then 5 values per presynaptic cell (no delays);
    # fast Vogels: tracePost of the 324 E cells, then tracePre of the 81 I cells
    assert arrays["proj/LGN_E/rule_state"].size == 1 + 5 * 648
    assert arrays["proj/LGN_E/rule_state"][0] == 400 * 125 - 1      # the period ended at the last step
    assert arrays["proj/I_E/rule_state"].size == 324 + 81
    assert str(arrays["net/rng"]).startswith("1 ")        # one Mersenne twister at 1 thread
    assert meta["sampler"]["bit_generator"] == "PCG64"
    assert arrays["rates/E/rows"].shape == (4, 324)


# --- what --resume refuses (before ANNarchy starts) -----------------------------------------

def _copy_run(src, dst, status=None):
    shutil.copytree(src, dst)
    if status:
        meta = json.loads((dst / "run.json").read_text())
        meta["status"] = status
        (dst / "run.json").write_text(json.dumps(meta))
    return dst


def test_continue_line_names_the_interpreter_as_typed(tmp_path):
    python = tmp_path / "project" / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("")
    python.chmod(0o755)
    project = str(tmp_path / "project")
    assert typed_interpreter(str(python), cwd=project, path="/nonexistent") == ".venv/bin/python"
    assert typed_interpreter(str(python), cwd=project, path=str(python.parent)) == "python"     # activated
    assert typed_interpreter(str(python), cwd=str(tmp_path / "elsewhere"), path="/nonexistent") == str(python)


def _interrupt_while_building(monkeypatch, argv):
    """ann_L4.py in this process, with Ctrl-C arriving while the network compiles."""
    import simulator.network
    from training import cli

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(simulator.network, "build_network", ctrl_c)
    monkeypatch.setattr(sys, "argv", ["ann_L4.py"])          # ANNarchy's argv is set from it
    return cli.main("L4", [str(a) for a in argv])


def test_ctrl_c_while_compiling_a_new_run_leaves_nothing(monkeypatch, capsys, tmp_path):
    out = tmp_path / "out"
    rc = _interrupt_while_building(monkeypatch, ["--images", IMAGES, "--out", out, "--patches", 10, "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 130
    assert err[-1] == "interrupted before training began: nothing was written; start the run again with the same command"
    assert not out.exists()


def test_ctrl_c_while_compiling_a_resume_keeps_the_run(l4_reference, monkeypatch, capsys, tmp_path):
    stopped = _copy_run(l4_reference, tmp_path / "stopped", status="interrupted")
    before = outputs(stopped)
    rc = _interrupt_while_building(monkeypatch, ["--out", stopped, "--resume"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 130
    assert err[-1] == (f"interrupted: {stopped} is unchanged; its checkpoint at patch 400 is complete; "
                       f"continue with: {typed_interpreter()} ann_L4.py --out {stopped} --resume")
    assert outputs(stopped) == before


def test_resume_refusals(l4_reference, tmp_path):
    b = tmp_path / "never_built"
    refused(run("ann_L4.py", "--out", tmp_path / "empty", "--build-dir", b, "--resume", timeout=ERROR_TIMEOUT),
            "run.json", "no run to resume", before_annarchy=True)
    refused(run("ann_L4.py", "--out", l4_reference, "--build-dir", b, "--resume", timeout=ERROR_TIMEOUT),
            "the run is complete", before_annarchy=True)
    stopped = _copy_run(l4_reference, tmp_path / "stopped", status="interrupted")
    refused(run("ann_L4.py", "--out", stopped, "--build-dir", b, "--resume", "--seed", SEED + 1,
                timeout=ERROR_TIMEOUT), f"--seed {SEED + 1}", f"has {SEED}", before_annarchy=True)
    refused(run("ann_L4.py", "--out", stopped, "--build-dir", b, "--resume", "-j", 2, timeout=ERROR_TIMEOUT),
            "-j 2", "has 1", before_annarchy=True)
    refused(run("ann_L4.py", "--out", stopped, "--build-dir", b, "--resume", "--overwrite", timeout=ERROR_TIMEOUT),
            "--resume and --overwrite", before_annarchy=True)
    refused(run("ann_L2_3.py", "--out", stopped, "--build-dir", b, "--resume", timeout=ERROR_TIMEOUT),
            "a run of layer L4", before_annarchy=True)
    # a recorded model edited since the run started (here: the learning rate of LGN->E in run.json)
    edited = _copy_run(l4_reference, tmp_path / "edited", status="interrupted")
    meta = json.loads((edited / "run.json").read_text())
    meta["model"]["value"]["l4"]["LGN_E"]["aLTP"] *= 2
    (edited / "run.json").write_text(json.dumps(meta))
    refused(run("ann_L4.py", "--out", edited, "--build-dir", b, "--resume", timeout=ERROR_TIMEOUT),
            "the model was edited", meta["model"]["hash"], before_annarchy=True)
    # a new run into the folder asks for --resume or --overwrite
    refused(run("ann_L4.py", "--images", IMAGES, "--out", stopped, "--build-dir", b, "--patches", 8,
                timeout=ERROR_TIMEOUT), "already holds a run", "--resume", "--overwrite", before_annarchy=True)
    # other images than the run's
    other = tmp_path / "other.mat"
    import scipy.io
    scipy.io.savemat(other, {"IMAGES": np.random.default_rng(0).standard_normal((64, 64, 3))})
    refused(run("ann_L4.py", "--out", stopped, "--build-dir", b, "--resume", "--images", other,
                timeout=ERROR_TIMEOUT), str(other), "not the images", before_annarchy=True)
    # a damaged checkpoint is named, never half-used
    ckpt = stopped / "checkpoints" / "checkpoint_400.npz"
    ckpt.write_bytes(ckpt.read_bytes()[:1000])
    refused(run("ann_L4.py", "--out", stopped, "--build-dir", b, "--resume", timeout=ERROR_TIMEOUT),
            str(ckpt), "not a readable checkpoint", before_annarchy=True)
    ckpt.unlink()
    refused(run("ann_L4.py", "--out", stopped, "--build-dir", b, "--resume", timeout=ERROR_TIMEOUT),
            "no checkpoint", before_annarchy=True)
    assert not b.exists()


def _package_copy(dst: Path) -> Path:
    """The model, rules, input and run machinery with the layer-4 script, copied to *dst*."""
    for name in ("input", "models", "rules", "training"):
        shutil.copytree(REPO_ROOT / name, dst / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / "ann_L4.py", dst / "ann_L4.py")
    return dst


def test_edited_source_changes_the_record_but_resume_rebuilds_the_recorded_model(l4_reference, tmp_path,
                                                                                  monkeypatch):
    """Edit one AdEx constant (C) in a copy of the package: its model description changes
    exactly there. --resume rebuilds the model from run.json, so the edit does not change
    the resumed run; a --set that contradicts the record is refused before anything runs."""
    edited = _package_copy(tmp_path / "edited_package")
    params = edited / "models" / "parameters.py"
    text = params.read_text()
    assert text.count("C: float = 281.0 ") == 1
    params.write_text(text.replace("C: float = 281.0 ", "C: float = 282.0 "))
    describe = ("import json, sys; from models.description import describe; from models.layers import layer4; "
                "json.dump(describe(layer4()), sys.stdout)")
    original = json.loads(ok(subprocess.run([sys.executable, "-c", describe], cwd=REPO_ROOT, capture_output=True,
                                            text=True)).stdout)
    changed = json.loads(ok(subprocess.run([sys.executable, "-c", describe], cwd=edited, capture_output=True,
                                           text=True)).stdout)
    recorded = json.loads((l4_reference / "run.json").read_text())
    assert recorded["model"] == original                  # the run recorded the whole current model
    assert changed["neurons"]["AdEx (Clopath 2010)"]["parameters"]["C"] == 282.0
    assert changed["value"]["adex"]["C"] == 282.0 and changed["hash"] != original["hash"]
    changed["neurons"]["AdEx (Clopath 2010)"]["parameters"]["C"] = 281.0
    changed["value"]["adex"]["C"] = 281.0
    changed["hash"] = original["hash"]
    assert changed == original                            # nothing else differs

    # The resumed model is the recorded one, whatever the source now says.
    import models.parameters as parameters
    from training.cli import build_parser, resolve_model
    monkeypatch.setattr(parameters, "PUBLISHED", parameters.PUBLISHED.with_overrides({"adex.C": 282.0}))
    args = build_parser("L4").parse_args(["--resume", "--out", str(l4_reference)])
    assert resolve_model("L4", args, recorded).adex.C == 281.0
    args = build_parser("L4").parse_args(["--resume", "--set", "adex.C=281"])
    assert resolve_model("L4", args, recorded).adex.C == 281.0                      # agrees: accepted
    monkeypatch.undo()

    stopped = _copy_run(l4_reference, tmp_path / "stopped", status="interrupted")
    proc = subprocess.run(_cmd("ann_L4.py", "--out", stopped, "--build-dir", tmp_path / "b", "--resume",
                               "--set", "adex.C=282"),
                          cwd=REPO_ROOT, env=_env(1), capture_output=True, text=True, timeout=ERROR_TIMEOUT)
    refused(proc, "adex.C = 282.0: the run to resume has adex.C = 281.0", before_annarchy=True)
    assert not (tmp_path / "b").exists()


# --- full and read-only output folders -------------------------------------------------------

def _mount_tmpfs(where: Path, options: str) -> bool:
    where.mkdir()
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                              capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@pytest.fixture
def small_disk(tmp_path):
    """A 6 MiB file system: room for the first checkpoint, not for the first snapshots."""
    mnt = tmp_path / "disk"
    if not _mount_tmpfs(mnt, "size=6m"):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield mnt
    subprocess.run(["umount", str(mnt)], check=False)


def test_disk_full_keeps_the_last_checkpoint(small_disk, builds):
    out = small_disk / "out"
    proc = run("ann_L4.py", *train_args(out, builds["L4-j1"], 400, 100, 1))
    assert proc.returncode == 1, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "No space left on device" in last, proc.stderr
    assert "checkpoint at patch 0 is complete" in last and "--resume" in last
    assert not list(out.rglob("*.tmp")), "a temporary file was left on the full disk"
    for path in out.rglob("*.txt"):      # whatever exists is complete
        assert np.loadtxt(path, ndmin=2).shape[0] in (324, 81), path
    from training import checkpoint
    arrays, meta = checkpoint.load_latest(out)
    assert meta["patch"] == 0


def test_disk_full_from_the_start_leaves_nothing(tmp_path, builds):
    mnt = tmp_path / "tiny"
    if not _mount_tmpfs(mnt, "size=64k"):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        out = mnt / "out"
        proc = run("ann_L4.py", *train_args(out, builds["L4-j1"], 40, 20, 1))
        assert proc.returncode == 1, proc.stderr
        last = proc.stderr.strip().splitlines()[-1]
        assert "No space left on device" in last and "nothing was kept" in last, proc.stderr
        assert not out.exists() or not any(out.iterdir()), sorted(out.rglob("*"))
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_read_only_output_folder(tmp_path):
    mnt = tmp_path / "ro"
    if not _mount_tmpfs(mnt, "ro,size=64k"):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        for out in (mnt, mnt / "sub"):
            proc = run("ann_L4.py", "--images", IMAGES, "--out", out, "--build-dir", tmp_path / "b",
                       "--patches", 8, timeout=ERROR_TIMEOUT)
            refused(proc, f"error: {out}: ", "not writable", before_annarchy=True)
        assert not (tmp_path / "b").exists()
    finally:
        subprocess.run(["umount", str(mnt)], check=False)
