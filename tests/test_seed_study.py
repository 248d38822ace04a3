"""The seed study (analysis.seed_study): a member is the package's trainer, its record says
what ann_L4.py's outputs say, and the report's helpers count what they should."""
import ast
import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest

from analysis import seed_study, seed_study_report
from analysis.seed_study_records import clopper_pearson, measures, wilson_interval
from conftest import REPO_ROOT, training_images
from models.layers import layer4
from models.parameters import PUBLISHED

PATCHES = 200
LAYER = layer4(PUBLISHED)


def _load(path):
    return np.loadtxt(path, dtype=np.float64, ndmin=2)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """Two members (seeds 2 and 3, 200 patches) on a local Dask cluster of one worker, and the
    swap of seed 2 with 3 (10 patches)."""
    images = str(training_images())
    root = tmp_path_factory.mktemp("seed_study")
    common = ["--workers", "1", "--images", images, "--build-root", str(root / "build")]
    assert seed_study.main(["run", "--seeds", "2,3", "--patches", str(PATCHES), "--out", str(root / "run")]
                           + common) == 0
    assert seed_study.main(["swap", "--failing", "2", "--healthy", "3", "--patches", "10", "--out",
                            str(root / "swap")] + common) == 0
    return root, images, common


def _record(folder, name):
    return json.loads((folder / f"{name}.json").read_text())


def test_a_member_is_ann_L4_with_the_same_seed(study, tmp_path):
    """Seed 2's record against ann_L4.py --seed 2 (the published model, its own rate window of
    100 patches): the same final weights bit for bit, the same cells without a field and mean
    weights at patches 0 and 200, the same rates, and the input of seed 2's patch sequence."""
    root, images, _ = study
    direct = tmp_path / "direct"
    compiled = list((root / "build").glob("*/L4"))                # the worker's compile folder, reused
    assert len(compiled) == 1
    done = subprocess.run([sys.executable, "ann_L4.py", "--seed", "2", "--patches", str(PATCHES), "--images", images,
                           "--out", str(direct), "--no-progress", "--build-dir", str(compiled[0])],
                          cwd=REPO_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    record, other = _record(root / "run", "seed_002"), _record(root / "run", "seed_003")
    assert (record["seed"], record["weight_seed"], record["patch_seed"], record["order"], record["prefix"]) == \
        (2, 2, 2, "published", None)
    assert (record["patches"], record["window"], record["check_every"]) == (PATCHES, 10, 200)
    assert not (root / "run" / "runs" / "seed_002").exists()               # the run folder went
    for spec in LAYER.plastic:
        final = _load(LAYER.snapshot_path(direct, spec.name, PATCHES))
        assert record["final_weights_sha256"][spec.name] == hashlib.sha256(final.tobytes()).hexdigest(), spec.name
        assert other["final_weights_sha256"][spec.name] != record["final_weights_sha256"][spec.name]
    w_half = {"E": LAYER.spec("LGN_E").rule.wMax / 2, "I": LAYER.spec("LGN_I").rule.wMax / 2}
    assert [c["patch"] for c in record["checks"]] == [0, PATCHES]
    for check in record["checks"]:
        weights = {spec.name: _load(LAYER.snapshot_path(direct, spec.name, check["patch"])) for spec in LAYER.plastic}
        assert check["not_grown_E"] == np.mean(weights["LGN_E"].max(axis=1) < w_half["E"])
        assert check["not_grown_I"] == np.mean(weights["LGN_I"].max(axis=1) < w_half["I"])
        for name, w in weights.items():
            assert check[f"mean_{name}"] == pytest.approx(w.mean(), rel=1e-12), name
    w0 = _load(LAYER.snapshot_path(direct, "LGN_I", 0))
    assert record["initial"]["LGN_I"]["row_sum_mean"] == pytest.approx(w0.sum(axis=1).mean(), rel=1e-12)
    # rates: ten windows of 10 patches make one of ann_L4.py's windows of 100
    exc, inh = np.load(direct / "frExc.npy"), np.load(direct / "frInh.npy")
    assert len(record["rate_E"]) == PATCHES // 10 and exc.shape == (PATCHES // 100, 324)
    np.testing.assert_allclose(np.reshape(record["rate_E"], (-1, 10)).mean(axis=1), exc.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(np.reshape(record["rate_I"], (-1, 10)).mean(axis=1), inh.mean(axis=1), rtol=1e-12)
    assert inh.mean() > 0 and 0 < max(record["active_I"]) <= 1
    # the input: the patches of seed 2 (input.PatchSampler on default_rng([seed, 0]), as ann_L4.py draws them)
    from input.images import resolve_images
    from input.patches import PatchSampler
    inp = PUBLISHED.input
    source = resolve_images(images, patch_size=inp.patch_size, whitening=inp.whitening, download=False,
                            log=lambda m: None)
    sampler = PatchSampler(source.images, patch_size=inp.patch_size, max_rate=inp.max_rate,
                           flip_probability=inp.flip_probability, rng=np.random.default_rng([2, 0]))
    patch_means = np.array([sampler.sample().mean() for _ in range(PATCHES)])
    np.testing.assert_allclose(record["input_rate"], patch_means.reshape(-1, 10).mean(axis=1), rtol=1e-12)
    assert record["input_rate"] != other["input_rate"]


def test_swap_takes_one_stream_from_the_other_seed(study):
    """swap: the initial weights, the patch sequence or the Poisson spikes from the healthy seed,
    the other two streams from the failing one (here seeds 2 and 3)."""
    root, _, _ = study
    own, healthy = _record(root / "run", "seed_002"), _record(root / "run", "seed_003")
    runs = {tag: _record(root / "swap", f"fail002_{tag}_from003") for tag in ("weights", "patches", "spikes")}
    assert [(r["seed"], r["weight_seed"], r["patch_seed"]) for r in runs.values()] == [(2, 3, 2), (2, 2, 3), (3, 2, 2)]
    assert own["initial"] != healthy["initial"] and own["input_rate"][0] != healthy["input_rate"][0]
    assert runs["weights"]["initial"] == healthy["initial"] and runs["weights"]["input_rate"][0] == own["input_rate"][0]
    assert runs["patches"]["initial"] == own["initial"] and runs["patches"]["input_rate"][0] == healthy["input_rate"][0]
    assert runs["spikes"]["initial"] == own["initial"] and runs["spikes"]["input_rate"][0] == own["input_rate"][0]


def test_a_rerun_runs_only_the_members_without_a_record(study, capsys):
    """The study is resumable: members with a record are skipped (no cluster is started when
    none is left), and a member whose record is gone runs again, to the same record."""
    root, _, common = study
    folder = root / "swap"
    before = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.json")}
    argv = ["swap", "--failing", "2", "--healthy", "3", "--patches", "10", "--out", str(folder)] + common
    assert seed_study.main(argv) == 0
    assert "3 members, 3 of them with a record already" in capsys.readouterr().err
    assert {p.name: p.stat().st_mtime_ns for p in folder.glob("*.json")} == before
    gone = _record(folder, "fail002_spikes_from003")
    (folder / "fail002_spikes_from003.json").unlink()
    assert seed_study.main(argv) == 0
    again = _record(folder, "fail002_spikes_from003")
    assert again["final_weights_sha256"] == gone["final_weights_sha256"] and again["rate_I"] == gone["rate_I"]
    assert (folder / "logs" / "fail002_spikes_from003.txt").read_text().count("$ ") == 2


def test_an_unreachable_scheduler_is_one_line(tmp_path, capsys):
    import socket
    import time
    with socket.socket() as s:                   # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    assert seed_study.main(["run", "--seeds", "1", "--out", str(tmp_path / "out"),
                            "--scheduler", f"tcp://127.0.0.1:{port}"]) == 2
    assert f"error: --scheduler tcp://127.0.0.1:{port}: cannot connect" in capsys.readouterr().err
    assert time.monotonic() - started < 25 and not list((tmp_path / "out").iterdir())


def test_patches_must_fill_whole_rate_windows(capsys):
    with pytest.raises(SystemExit):
        seed_study.main(["run", "--seeds", "1", "--patches", "205", "--out", "unused"])
    assert "205: a positive multiple of 10 patches" in capsys.readouterr().err


def test_swap_jobs_take_one_stream_from_the_healthy_seed():
    assert seed_study.swap_jobs([1], [2]) == [("fail001_weights_from002", 1, 2, 1),
                                             ("fail001_patches_from002", 1, 1, 2),
                                             ("fail001_spikes_from002", 2, 1, 1)]
    assert seed_study.seed_jobs(seed_study._parse_seeds("1-2,5")) == \
        [("seed_001", 1, 1, 1), ("seed_002", 2, 2, 2), ("seed_005", 5, 5, 5)]


# --- the report's helpers, on hand-made records ---------------------------------------------------

def hand_made(seed, not_grown_2000, *, weight_seed=None, patch_seed=None, order="published", i_rate=1.0):
    """A 2,000-patch record: rate_I = i_rate * window number, every other series constant."""
    windows = 200
    checks = [{"patch": p, "not_grown_E": not_grown_2000 * p / 2000, "not_grown_I": 0.0, "mean_LGN_E": 0.5,
               "mean_LGN_I": 0.05} for p in range(0, 2001, 200)]
    initial = {name: {"mean": 0.05, "row_sum_mean": 30.0, "row_sum_min": 25.0, "row_sum_max": 35.0}
               for name in ("LGN_E", "LGN_I", "E_I")}
    return {"seed": seed, "weight_seed": seed if weight_seed is None else weight_seed,
            "patch_seed": seed if patch_seed is None else patch_seed, "order": order, "patches": 2000, "prefix": None,
            "window": 10, "check_every": 200, "initial": initial,
            "rate_E": [5.0] * windows, "rate_I": [i_rate * k for k in range(windows)],
            "active_E": [1.0] * windows, "active_I": [0.0] * 5 + [1.0] * (windows - 5),
            "input_rate": [20.0 + k % 2 for k in range(windows)], "checks": checks, "wall_s": 1.0}


def test_measures_of_a_hand_made_record():
    m = measures(hand_made(7, 0.3, i_rate=2.0))
    assert m["i_rate_100_1000"] == pytest.approx(2.0 * np.mean(np.arange(10, 100)))      # windows 10..99
    assert m["i_rate_first_100"] == pytest.approx(2.0 * 4.5)
    assert m["e_rate_100_1000"] == 5.0 and m["input_rate_first_100"] == 20.5
    assert m["i_active_windows_first_200"] == 15                                       # 20 windows, 5 silent
    assert m["not_grown_E_2000"] == 0.3 and m["not_grown_E_1200"] == pytest.approx(0.18)
    assert "not_grown_E_20000" not in m


def test_binomial_intervals():
    assert clopper_pearson(0, 10) == (0.0, pytest.approx(1 - 0.025 ** (1 / 10)))
    assert clopper_pearson(10, 10) == (pytest.approx(0.025 ** (1 / 10)), 1.0)
    lo, hi = clopper_pearson(4, 100)                                   # the study's 4 of 100 (README)
    assert (round(100 * lo, 1), round(100 * hi, 1)) == (1.1, 9.9)
    lo, hi = wilson_interval(4, 100)
    assert (round(100 * lo, 1), round(100 * hi, 1)) == (1.6, 9.8)
    assert np.isnan(wilson_interval(0, 0)).all()


def test_report_counts_failures_swaps_and_writes_its_files(tmp_path):
    """A run fails above 15 % of E cells without a field at patch 2,000 (0.15 itself does not);
    a swap run is classed by the stream taken from the healthy seed."""
    published = tmp_path / "published"
    swap = tmp_path / "swap"
    published.mkdir()
    swap.mkdir()
    for seed, lost in ((1, 0.46), (2, 0.0), (3, 0.15), (4, 0.16)):
        (published / f"seed_{seed:03d}.json").write_text(json.dumps(hand_made(seed, lost)))
    summary = seed_study_report.order_summary([hand_made(s, x) for s, x in ((1, 0.46), (2, 0.0), (3, 0.15),
                                                                              (4, 0.16))])
    assert summary["failing_seeds"] == [1, 4] and summary["n_seeds"] == 4 and summary["failure_rate"] == 0.5
    swaps = {"fail001_weights_from002": hand_made(1, 0.4, weight_seed=2),
             "fail001_patches_from002": hand_made(1, 0.0, patch_seed=2),
             "fail001_spikes_from002": hand_made(2, 0.0, weight_seed=1, patch_seed=1)}
    for name, r in swaps.items():
        (swap / f"{name}.json").write_text(json.dumps(r))
    rows = seed_study_report.swap_summary(list(swaps.values()), {1})
    assert {k: (v["runs"], v["rescued"]) for k, v in rows.items()} == \
        {"weights": (1, 0), "patches": (1, 1), "spikes": (1, 1)}
    out = tmp_path / "report"
    assert seed_study_report.write_report([published, swap], out) == 0
    result = json.loads((out / "seed_study.json").read_text())
    assert result["orders"][0]["failing_seeds"] == [1, 4]
    assert result["orders"][0]["failure_rate_ci95"] == pytest.approx(list(clopper_pearson(2, 4)))
    assert result["swap"]["patches"]["rescued"] == 1
    for name in ("timecourse", "separation", "mechanism"):
        assert (out / f"seed_study_{name}.png").stat().st_size > 10_000


def test_the_study_and_its_report_do_not_import_each_other():
    """Both import their shared helpers from analysis.seed_study_records, which imports neither."""
    def imported(module):
        tree = ast.parse((REPO_ROOT / "analysis" / f"{module}.py").read_text())
        return {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)} | \
            {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    assert "analysis.seed_study" not in imported("seed_study_report")
    assert not {"analysis.seed_study", "analysis.seed_study_report"} & imported("seed_study_records")
    assert "analysis.seed_study_records" in imported("seed_study_report") & imported("seed_study")
