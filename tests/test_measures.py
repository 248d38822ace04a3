"""Analysis measures against known answers: Gabor parameters, von Mises tuning, sparseness, STA."""
import numpy as np
import pytest
from scipy.special import iv

from analysis.gabor import fit_gabor
from analysis.sparseness import (lifetime_sparseness, mean_population_sparseness,
                                 population_sparseness)
from analysis.sta import field_correlation, spike_triggered_average
from analysis.tuning import grating, tuning_metrics, von_mises_half_width


def hand_made_gabor(size, x0, y0, sigma, orientation_deg, frequency, phase):
    """Isotropic Gabor written out independently of analysis.gabor (x = column, y = row)."""
    y, x = np.indices((size, size), dtype=float)
    theta = np.radians(orientation_deg)
    along = (x - x0) * np.cos(theta) + (y - y0) * np.sin(theta)
    envelope = np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * sigma ** 2))
    return envelope * np.cos(2 * np.pi * frequency * along + phase)


def angle_difference_deg(a, b):
    """Smallest difference of two orientations (period 180 degrees)."""
    return abs((a - b + 90.0) % 180.0 - 90.0)


def test_gabor_fit_recovers_known_parameters():
    rng = np.random.default_rng(1)
    field = hand_made_gabor(18, 8.6, 9.2, 3.0, 30.0, 0.125, 0.5)
    field += 0.05 * rng.standard_normal(field.shape)
    fit = fit_gabor(field)
    assert fit["r2"] > 0.9
    assert angle_difference_deg(fit["orientation_deg"], 30.0) < 5.0
    assert abs(fit["frequency"] - 0.125) / 0.125 < 0.1
    assert 0.0 <= fit["orientation_deg"] < 180.0


def test_gabor_fit_of_noise_is_poor():
    field = np.random.default_rng(2).standard_normal((18, 18))
    assert fit_gabor(field)["r2"] < 0.5


def test_grating_orientation_convention():
    # orientation 0: the wave vector points along x, so the bars are vertical (constant down a column)
    image = grating(8, 0.0, 0.25)
    assert np.allclose(image, image[0:1, :])
    assert np.isclose(grating(9, 90.0, 0.1, phase=0.3, contrast=0.5)[4, 4], 0.5 * np.cos(0.3))


@pytest.mark.parametrize("kappa, preferred", [(1.0, 40.0), (3.0, 135.5)])
def test_von_mises_tuning_matches_analytic_values(kappa, preferred):
    orientations = np.arange(180) * 1.0
    responses = np.exp(kappa * np.cos(2 * np.radians(orientations - preferred)))
    metrics = tuning_metrics(orientations, responses)
    # OSI of exp(k cos 2(theta - theta0)) over the circle is I1(k) / I0(k)
    assert abs(metrics["osi"] - iv(1, kappa) / iv(0, kappa)) < 1e-3
    # r/r_max = 1/sqrt(2)  <=>  cos(2 delta) = 1 - ln(2) / (2 k)
    half_width = np.degrees(np.arccos(1 - np.log(2) / (2 * kappa)) / 2)
    assert abs(metrics["half_width_deg"] - half_width) < 1.0
    assert angle_difference_deg(metrics["preferred_deg"], preferred) <= 0.5
    assert angle_difference_deg(metrics["preferred_circular_deg"], preferred) < 1e-6


def test_flat_tuning_curve_is_unselective():
    metrics = tuning_metrics(np.arange(0, 180, 10), np.ones(18))
    assert abs(metrics["osi"]) < 1e-12
    assert np.isnan(metrics["half_width_deg"])


def test_sparseness_of_one_hot_and_uniform_responses():
    one_hot = np.eye(5)                   # each stimulus drives one of five cells
    uniform = np.full((4, 5), 3.0)
    assert np.allclose(population_sparseness(one_hot), 1.0)
    assert np.allclose(lifetime_sparseness(one_hot), 1.0)
    assert np.allclose(population_sparseness(uniform), 0.0)
    assert np.allclose(lifetime_sparseness(uniform), 0.0)
    assert mean_population_sparseness(one_hot) == pytest.approx(1.0)
    # two of four cells active at equal rates: (1 - 1/2) / (1 - 1/4) = 2/3
    assert population_sparseness([[1.0, 1.0, 0.0, 0.0]])[0] == pytest.approx(2 / 3)


def test_sta_recovers_linear_threshold_filter():
    rng = np.random.default_rng(3)
    size = 8
    filters = np.stack([hand_made_gabor(size, 3.5, 3.5, 2.0, 60.0, 0.2, 0.0).ravel(),
                        hand_made_gabor(size, 3.0, 4.0, 1.5, 0.0, 0.15, 1.5).ravel()])
    stimuli = rng.standard_normal((20000, size * size))
    drive = stimuli @ filters.T
    spike_counts = rng.poisson(np.maximum(drive - 0.5, 0.0))    # linear-threshold, Poisson spikes
    sta = spike_triggered_average(stimuli, spike_counts)
    assert np.all(field_correlation(sta, filters) > 0.9)


def test_field_correlation_known_values():
    a = np.array([[1.0, 2.0, 3.0], [1.0, 0.0, 1.0]])
    b = np.array([[2.0, 4.0, 6.0], [-1.0, 0.0, -1.0]])
    assert np.allclose(field_correlation(a, b), [1.0, -1.0])


# --- measures for hard-bounded fields: Ringach's nx, ny and De Valois' bandwidth ---------------
def anisotropic_gabor(size, x0, y0, sigma_across, sigma_along, orientation_deg, frequency, phase):
    """Gabor written out here (x = column, y = row; carrier along the wave vector)."""
    y, x = np.indices((size, size), dtype=float)
    theta = np.radians(orientation_deg)
    across = (x - x0) * np.cos(theta) + (y - y0) * np.sin(theta)
    along = -(x - x0) * np.sin(theta) + (y - y0) * np.cos(theta)
    return np.exp(-across ** 2 / (2 * sigma_across ** 2) - along ** 2 / (2 * sigma_along ** 2)) \
        * np.cos(2 * np.pi * frequency * across + phase)


GABORS = [(2.5, 4.0, 0.10, 30.0, 0.3), (2.0, 3.0, 0.15, 100.0, 1.5), (2.0, 5.0, 0.12, 145.0, 2.5)]


@pytest.mark.parametrize("sx,sy,f,theta,phase", GABORS)
def test_ringach_n_of_gabors_and_of_gabors_clipped_at_a_bound(sx, sy, f, theta, phase):
    """nx = sigma_x f, ny = sigma_y f: exact for a Gabor. A field clipped at half its peak
    (weights at the bound) keeps orientation, frequency and the elongation ny/nx; its
    envelope looks wider, so nx and ny come out up to 25 % larger."""
    from analysis.gabor import ringach_n
    g = anisotropic_gabor(18, 8.3, 9.1, sx, sy, theta, f, phase)
    nx, ny = ringach_n(fit_gabor(g))
    assert nx == pytest.approx(sx * f, rel=1e-3) and ny == pytest.approx(sy * f, rel=1e-3)
    bound = 0.5 * np.abs(g).max()
    fit = fit_gabor(np.clip(g, -bound, bound))
    nx_c, ny_c = ringach_n(fit)
    assert 1.0 <= nx_c / (sx * f) <= 1.25 and 1.0 <= ny_c / (sy * f) <= 1.25
    assert (ny_c / nx_c) == pytest.approx(sy / sx, rel=0.1)
    assert angle_difference_deg(fit["orientation_deg"], theta) < 1.0
    assert fit["frequency"] == pytest.approx(f, rel=0.03)


@pytest.mark.parametrize("kappa", [1.5, 3.0, 8.0])
def test_bandwidth_of_von_mises_and_of_a_curve_clipped_at_a_bound(kappa):
    """Full width at half height (De Valois et al. 1982) of r = exp(kappa (cos 2(theta - 60) - 1)):
    acos(1 - ln 2 / kappa) in degrees; clipped at c (saturated cells): acos(1 + ln(c/2) / kappa)."""
    theta = np.arange(0.0, 180.0, 0.5)
    r = np.exp(kappa * (np.cos(2 * np.radians(theta - 60.0)) - 1))
    expected = np.degrees(np.arccos(1 - np.log(2) / kappa))
    assert tuning_metrics(theta, r)["bandwidth_deg"] == pytest.approx(expected, abs=0.1)
    c = 0.6
    clipped = tuning_metrics(theta, np.minimum(r, c))["bandwidth_deg"]
    assert clipped == pytest.approx(np.degrees(np.arccos(1 + np.log(c / 2) / kappa)), abs=0.1)
    assert clipped > expected


def test_bandwidth_of_a_non_oriented_cell_is_nan():
    theta = np.arange(0.0, 180.0, 5.0)
    assert np.isnan(tuning_metrics(theta, 1.0 + 0.3 * np.cos(2 * np.radians(theta)))["bandwidth_deg"])


@pytest.mark.parametrize("width,preferred", [(3.0, 90.0), (2.0, 47.0), (12.0, 31.0)])
def test_von_mises_half_width_below_the_orientation_step(width, preferred):
    """A von Mises curve sampled every 5°, of known half-width at 1/√2 (from its equation:
    exp(κ (cos 2Δ − 1)) = 1/√2 at Δ = width gives κ = ln √2 / (1 − cos 2Δ)). The linear
    interpolation between samples cannot see below the step; the fit recovers the width."""
    kappa = np.log(np.sqrt(2)) / (1 - np.cos(np.radians(2 * width)))
    theta = np.arange(36) * 5.0
    curve = 10 * np.exp(kappa * (np.cos(np.radians(2 * (theta - preferred))) - 1))
    assert von_mises_half_width(theta, curve) == pytest.approx(width, abs=0.01)
    if width < 5:
        assert abs(tuning_metrics(theta, curve)["half_width_deg"] - width) > 0.25     # what the grid gives
    # with a baseline below 1/√2 of the peak: same curve shape, width read at 1/√2 of the peak
    base, amp = 2.0, 10.0
    level = ((base + amp) / np.sqrt(2) - base) / amp
    expected = np.degrees(np.arccos(1 + np.log(level) / kappa)) / 2
    assert von_mises_half_width(theta, base + amp * curve / 10) == pytest.approx(expected, abs=0.01)


def test_von_mises_half_width_of_flat_and_silent_curves_is_nan():
    theta = np.arange(36) * 5.0
    assert np.isnan(von_mises_half_width(theta, np.zeros(36)))
    assert np.isnan(von_mises_half_width(theta, np.full(36, 3.0)))


def test_gabor_analysis_flags_fits_below_one_cycle_per_field(tmp_path):
    """Two Gabors of 2.2 cycles across the field and two Gaussian blobs (no carrier): the
    blobs are counted below one cycle per field, in the subset they belong to."""
    from analysis.analyze import gabor_analysis
    y, x = np.mgrid[0:18, 0:18] - 8.5
    blob = np.exp(-(x ** 2 + y ** 2) / (2 * 3.0 ** 2))
    gabor = np.exp(-(x ** 2 + y ** 2) / (2 * 3.5 ** 2)) * np.cos(2 * np.pi * 0.12 * x)
    fields = np.stack([gabor, gabor.T, blob, -blob])
    has_field = np.array([True, False, True, True])
    metrics, arrays = gabor_analysis("E", fields, tmp_path, 1, np.random.default_rng(0), "test", has_field)
    np.testing.assert_array_equal(arrays["gabor_below_one_cycle"], [False, False, True, True])
    assert metrics["n_below_one_cycle_with_field"] == 2 and metrics["n_below_one_cycle_r2_ge_0_7"] == 2
    assert metrics["subsets"]["frequency_median_cpp_with_field"] == {"cells": "cells with a field", "n": 3, "of": 4}
    assert metrics["subsets"]["frequency_median_cpp"]["n"] == 4
