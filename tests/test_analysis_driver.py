"""The analysis driver (``analysis.analyze``) end to end on a synthetic layer-4 run.

The synthetic run has the model's file names and shapes (docs/model.md §4); its LGN→E
rows are Gabor patches of known orientation, so the Gabor fits must recover them.
One quick analysis (one ANNarchy compile) is shared by the module's tests.
"""
import contextlib
import io
import json

import numpy as np
import pytest

from analysis.responses import grating_rates, image_to_rates, noise_rates
from models.layers import layer4

LAYER4 = layer4()                # the published model's layer 4

STEP = 4000


def independent_gabor(side, x0, y0, sigma_across, sigma_along, orientation_deg, frequency, phase):
    """A Gabor written out here (not with analysis.gabor): carrier along the wave vector at
    *orientation_deg* from the column (x) axis towards the row (y) axis, the convention the
    analysis documents for gratings and fits."""
    rows, cols = np.mgrid[0:side, 0:side].astype(float)
    theta = np.radians(orientation_deg)
    across = (cols - x0) * np.cos(theta) + (rows - y0) * np.sin(theta)
    along = -(cols - x0) * np.sin(theta) + (rows - y0) * np.cos(theta)
    envelope = np.exp(-across ** 2 / (2 * sigma_across ** 2) - along ** 2 / (2 * sigma_along ** 2))
    return envelope * np.cos(2 * np.pi * frequency * across + phase)


def write_synthetic_run(out_dir, step=STEP, seed=0):
    """Snapshot files of every layer-4 projection at *step*; returns the E cells' orientations (deg).

    LGN→E: ON = max(G, 0), OFF = max(-G, 0) of a Gabor G of known orientation, plus a little
    uniform noise (weights stay non-negative, as trained ones). Everything else: small uniform.
    """
    rng = np.random.default_rng(seed)
    shapes = LAYER4.snapshot_shapes()
    n_e, n_lgn = shapes["excitatory/V1weight"]
    side = int(np.sqrt(n_lgn // 2))
    theta = rng.uniform(0, 180, n_e)
    fields = np.stack([independent_gabor(side, side / 2 - 0.5 + rng.uniform(-2, 2),
                                         side / 2 - 0.5 + rng.uniform(-2, 2), 3.0, 4.0, t,
                                         rng.uniform(0.08, 0.15), rng.uniform(0, 2 * np.pi))
                       for t in theta])
    lgn_e = np.stack([np.maximum(fields, 0), np.maximum(-fields, 0)], axis=-1).reshape(n_e, -1)
    matrices = {"excitatory/V1weight": 1.5 * lgn_e + rng.uniform(0, 0.05, (n_e, n_lgn))}
    for rel, shape in shapes.items():
        matrices.setdefault(rel, rng.uniform(0, 0.1, shape))
    for rel, matrix in matrices.items():
        sub, stem = rel.split("/")
        (out_dir / sub).mkdir(parents=True, exist_ok=True)
        np.savetxt(out_dir / sub / f"{stem}_{step}.txt", matrix, fmt="%.6g")
    return theta


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    from analysis.analyze import main
    root = tmp_path_factory.mktemp("analysis")
    out_dir = root / "output_L4"
    theta = write_synthetic_run(out_dir)
    report = root / "report"
    terminal = io.StringIO()
    with contextlib.redirect_stdout(terminal):
        rc = main([str(out_dir), "--quick", "--seed", "1", "--natural", "100", "--noise", "300",
                   "--report-dir", str(report), "--build-dir", str(root / "build")])
    return dict(rc=rc, theta=theta, report=report, stdout=terminal.getvalue())


def test_driver_writes_metrics_with_documented_keys(analysed):
    assert analysed["rc"] == 0
    metrics = json.loads((analysed["report"] / "metrics.json").read_text())
    for key in ("layer", "step", "quick", "seed", "runtime_s", "protocol", "populations"):
        assert key in metrics
    assert metrics["layer"] == "L4" and metrics["step"] == STEP and metrics["quick"] is True
    assert set(metrics["populations"]) == {"E", "I"}
    for pop in ("E", "I"):
        m = metrics["populations"][pop]
        assert m["n_cells"] == {"E": 324, "I": 81}[pop]
        assert {"r2_median", "fraction_r2_ge_0.7"} <= set(m["gabor"])
        assert {"n_responsive", "osi_median", "half_width_median_deg",
                "half_width_median_deg_by_contrast", "preferred_orientation_hist"} <= set(m["tuning"])
        assert {"population_mean", "lifetime_median", "mean_rate_hz"} <= set(m["sparseness"])
        assert {"correlation_median", "n_cells_with_spikes"} <= set(m["sta"])
    assert len(metrics["protocol"]["orientations_deg"]) >= 12
    assert metrics["populations"]["E"]["gabor"]["fraction_r2_ge_0.7"] > 0.9


def test_gabor_orientations_match_the_synthetic_fields(analysed):
    cells = np.load(analysed["report"] / "cells.npz")
    fitted = cells["E_gabor_orientation_deg"]
    error = np.abs((fitted - analysed["theta"] + 90) % 180 - 90)   # circular, period 180
    assert np.mean(error < 10) > 0.9


def test_grating_tuning_follows_the_fields(analysed):
    # cells driven by gratings prefer (to within two 15-degree steps) their field's orientation
    cells = np.load(analysed["report"] / "cells.npz")
    responsive = cells["E_responsive"]
    assert responsive.mean() > 0.5
    error = np.abs((cells["E_preferred_deg"] - analysed["theta"] + 90) % 180 - 90)[responsive]
    assert np.median(error) < 15


def test_report_and_figures_exist(analysed):
    report = analysed["report"]
    text = (report / "report.md").read_text()
    for name in ("gabor_fits_E.png", "gabor_summary_E.png", "tuning_summary_E.png",
                 "tuning_curves_E.png", "contrast_invariance_E.png", "sparseness.png",
                 "sta_E.png", "gabor_fits_I.png"):
        assert (report / name).stat().st_size > 10_000, name
        assert name in text or name.endswith("_I.png")


def test_image_to_rates_splits_on_off_and_scales_to_max():
    image = np.array([[1.0, -2.0], [0.0, 0.5]])
    rates = image_to_rates(image, max_rate=100.0)
    np.testing.assert_allclose(rates[..., 0], [[50.0, 0.0], [0.0, 25.0]])
    np.testing.assert_allclose(rates[..., 1], [[0.0, 100.0], [0.0, 0.0]])
    assert not image_to_rates(np.zeros((3, 3))).any()


def test_grating_rates_scale_with_contrast_not_per_image():
    # vertical bars (wave vector along x), period 4 px, cos phase 0 at the patch centre x = 1.5
    x = np.arange(4) - 1.5
    row = np.cos(2 * np.pi * 0.25 * x)
    expected_on = np.tile(np.maximum(row, 0), (4, 1)) * 0.5 * 100
    expected_off = np.tile(np.maximum(-row, 0), (4, 1)) * 0.5 * 100
    rates = grating_rates(0.0, 0.25, 0.0, contrast=0.5, size=4, max_rate=100.0)
    np.testing.assert_allclose(rates[..., 0], expected_on, atol=1e-12)
    np.testing.assert_allclose(rates[..., 1], expected_off, atol=1e-12)
    # the peak of this sampled grating is cos(pi/4) < 1: no renormalisation to max_rate
    assert rates.max() == pytest.approx(50 * np.cos(np.pi / 4))


def test_noise_rates_on_minus_off_is_the_image():
    images, rates = noise_rates(5, 10.0, np.random.default_rng(0), size=6)
    assert rates.shape == (5, 6, 6, 2) and (rates >= 0).all()
    np.testing.assert_allclose(rates[..., 0] - rates[..., 1], images)


def test_terminal_ends_with_the_headline_numbers(analysed):
    lines = analysed["stdout"].strip().splitlines()
    metrics = json.loads((analysed["report"] / "metrics.json").read_text())["populations"]
    assert lines[-1] == f"report: {analysed['report'] / 'report.md'}"
    for line, pop, label in zip(lines[-3:-1], ("E", "I"), ("layer 4 E (324 cells)", "layer 4 I (81 cells)")):
        m = metrics[pop]
        assert line.startswith(f"{label}: field 0 %, ")                 # no weight reaches wMax/2 here
        for name, value in (("OSI", m["tuning"]["osi_median"]), ("sparseness", m["sparseness"]["population_mean"]),
                            ("STA r", m["sta"]["correlation_median"])):
            assert f"{name} {'–' if value is None else format(value, '.2f')}" in line, line
        assert "half-width " in line


def test_every_summary_names_its_cells(analysed):
    gabor = json.loads((analysed["report"] / "metrics.json").read_text())["populations"]["E"]["gabor"]
    subsets = gabor["subsets"]
    assert subsets["r2_median"] == {"cells": "all cells", "n": 324, "of": 324}
    # the synthetic LGN->E weights stay below 1.6, under wMax/2 = 2.5: no cell has a field
    assert subsets["nx_median"]["n"] == 0 and gabor["frequency_median_cpp_with_field"] is None
    good = subsets["frequency_median_cpp"]
    assert good["cells"] == "cells with Gabor R² ≥ 0.7" and good["n"] > 0.9 * 324
    # frequencies 0.08-0.15 cycles/px: 1.4-2.7 cycles across the 18-px field, none below one
    assert gabor["n_below_one_cycle_r2_ge_0_7"] == 0
