"""The seed study's records and report (analysis.seed_study_records, analysis.seed_study_report):
the report's helpers count what they should on hand-made records."""
import ast
import json

import numpy as np
import pytest

from analysis import seed_study_report
from analysis.seed_study_records import clopper_pearson, measures, wilson_interval
from conftest import REPO_ROOT

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
