"""The tables across runs (analysis.across_seeds) on hand-written reports with known values."""
import json

import pytest

from analysis.across_seeds import main


def _population(osi, rate, field=1.0, low_contrast_width=5.0):
    return {"gabor": {"fraction_with_field": field, "r2_median": 0.5, "fraction_r2_ge_0.7": 0.1,
                      "nx_median": 0.3, "ny_median": 0.4},
            "tuning": {"osi_median": osi, "half_width_median_deg": 10.0, "bandwidth_median_deg": 40.0,
                       "half_width_median_deg_by_contrast": {"0.1": low_contrast_width, "0.3": 8.0, "1": 10.0}},
            "sparseness": {"population_mean": 0.5, "mean_rate_hz": rate},
            "sta": {"correlation_median": 0.9}}


def _report(tmp_path, name, seed, populations):
    run, report = tmp_path / f"run_{name}", tmp_path / f"report_{name}"
    run.mkdir()
    report.mkdir()
    (run / "run.json").write_text(json.dumps({"seed": seed, "patches": 400000}))
    (report / "metrics.json").write_text(json.dumps({"out_dir": str(run), "populations": populations}))
    return str(report)


def test_layer4_table_median_range_and_failing_column(tmp_path):
    healthy = [_report(tmp_path, f"h{s}", s, {"E": _population(osi, 10.0 + s), "I": _population(0.1, 5.0)})
               for s, osi in ((2, 0.40), (3, 0.30), (4, 0.50))]
    failing = _report(tmp_path, "f1", 1, {"E": _population(0.6, 6.0, field=0.49, low_contrast_width=4.9),
                                          "I": _population(0.1, 5.0)})
    main(healthy + ["--failing", failing, "--out", str(tmp_path / "out")])
    text = (tmp_path / "out" / "across_seeds.md").read_text()
    assert "| after 400,000 patches | healthy seeds 2, 3, 4: median (range) | seed 1 (failing) |" in text
    assert "| E: OSI (1 − circular variance), median | 0.40 (0.30–0.50) | 0.60 |" in text
    assert "| E cells with a field (a weight ≥ wMax/2) | 100 % (100 %–100 %) | 49 % |" in text
    assert "| E: half-width at contrast 0.1 / 0.3 / 1, median | 5.0° (5.0°–5.0°) / 8.0° (8.0°–8.0°) / " \
           "10.0° (10.0°–10.0°) | < 5° / 8.0° / 10.0° |" in text
    assert "| E / I: mean rate on natural patches | 13.0 Hz (12.0 Hz–14.0 Hz) / 5.0 Hz (5.0 Hz–5.0 Hz) | " \
           "6.0 Hz / 5.0 Hz |" in text


def test_layer23_rows_and_no_mixing(tmp_path):
    l23 = [_report(tmp_path, f"l23_{s}", s, {"E": _population(0.4, 13.0), "E2": _population(osi, 7.0),
                                             "I": _population(0.1, 5.0), "I2": _population(0.2, 3.0)})
           for s, osi in ((2, 0.29), (3, 0.31))]
    main(l23 + ["--out", str(tmp_path / "out")])
    text = (tmp_path / "out" / "across_seeds_L2_3.md").read_text()
    assert "| E2: OSI, median | 0.30 (0.29–0.31) |" in text
    # below the 5° orientation step a half-width is not resolved: "< 5°", not the interpolated number
    assert "| E2: half-width at contrast 0.1 / 0.3 / 1, median | 5.0° (5.0°–5.0°) / 8.0° (8.0°–8.0°) / " in text
    assert "| E2 / I2: mean rate on natural patches | 7.0 Hz (7.0 Hz–7.0 Hz) / 3.0 Hz (3.0 Hz–3.0 Hz) |" in text
    l4 = _report(tmp_path, "l4", 5, {"E": _population(0.4, 13.0), "I": _population(0.1, 5.0)})
    with pytest.raises(SystemExit):
        main(l23 + [l4, "--out", str(tmp_path / "mixed")])
    assert not (tmp_path / "mixed").exists()
