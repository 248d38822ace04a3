"""Sinusoidal gratings and orientation-tuning measures (docs/model.md §7).

Orientation convention: the direction of the grating's wave vector, in
degrees, measured from the image x axis (columns) towards the y axis (rows,
pointing down); the bars run perpendicular to it. This is the convention of
``analysis.gabor``. Orientation selectivity is 1 - circular variance,
|sum r e^{2 i theta}| / sum r (Ringach, Shapley & Hawken 2002, J Neurosci
22:5639); the tuning width is the half-width at 1/sqrt(2) of the peak
response, as in the published model analysis.
"""
from __future__ import annotations

import numpy as np


def grating(size: int, orientation_deg: float, frequency: float, phase: float = 0.0,
            contrast: float = 1.0) -> np.ndarray:
    """(size, size) sinusoidal grating contrast * cos(2 pi f x' + phase), values in [-contrast, contrast].

    x' is the coordinate along the wave vector, measured from the patch centre
    so that *phase* is the phase at the centre; frequency in cycles/pixel.
    """
    y, x = np.indices((size, size), dtype=np.float64) - (size - 1) / 2
    theta = np.radians(orientation_deg)
    along = x * np.cos(theta) + y * np.sin(theta)
    return contrast * np.cos(2 * np.pi * frequency * along + phase)


def _crossing_distance(orientations, responses, peak_index, threshold, direction):
    """Degrees from the peak to where the curve first falls below *threshold*, walking
    *direction* (+1 or -1) around the circle; linear interpolation between samples.
    NaN if it does not fall below within a half-turn (90 degrees)."""
    n = len(orientations)
    distance = 0.0
    previous = responses[peak_index]
    for step in range(1, n):
        index = (peak_index + direction * step) % n
        gap = (direction * (orientations[index] - orientations[(index - direction) % n])) % 180.0
        current = responses[index]
        if current < threshold:
            crossing = distance + gap * (previous - threshold) / (previous - current)
            return crossing if crossing <= 90.0 else np.nan
        distance += gap
        if distance > 90.0:
            break
        previous = current
    return np.nan


def tuning_metrics(orientations_deg, responses) -> dict:
    """Preferred orientation, half-width at 1/sqrt(2) of the peak and OSI of a tuning curve.

    *orientations_deg* are taken modulo 180 (a static grating at theta and
    theta + 180 is the same stimulus); responses at equal orientations are
    averaged. Returns dict with

    - ``preferred_deg``: orientation of the largest response (grid-quantised);
    - ``preferred_circular_deg``: half the angle of sum r e^{2 i theta}, a
      grid-free estimate equal to the peak for a symmetric curve;
    - ``half_width_deg``: mean of the distances left and right of the peak to
      where the response falls to peak / sqrt(2), NaN if it never does within 90;
    - ``osi``: |sum r e^{2 i theta}| / sum r (1 - circular variance), which
      assumes evenly spaced orientations; NaN if all responses are 0;
    - ``bandwidth_deg``: the orientation bandwidth of De Valois, Yund & Hepler (1982,
      Vision Res 22:531), the full width of the curve at half its peak (left plus right
      distance from the peak to peak / 2); NaN if it does not fall to half within 90
      degrees on both sides (a non-oriented cell).
    """
    orientations = np.mod(np.asarray(orientations_deg, dtype=np.float64), 180.0)
    responses = np.asarray(responses, dtype=np.float64)
    if orientations.shape != responses.shape or orientations.ndim != 1:
        raise ValueError("orientations and responses must be 1-D arrays of equal length")
    orientations, inverse = np.unique(orientations, return_inverse=True)
    responses = np.bincount(inverse, weights=responses) / np.bincount(inverse)

    doubled = np.sum(responses * np.exp(2j * np.radians(orientations)))
    total = responses.sum()
    peak_index = int(np.argmax(responses))
    threshold = responses[peak_index] / np.sqrt(2)
    half_widths = [_crossing_distance(orientations, responses, peak_index, threshold, direction)
                   for direction in (+1, -1)]
    half_max = [_crossing_distance(orientations, responses, peak_index, responses[peak_index] / 2, direction)
                for direction in (+1, -1)]
    return dict(preferred_deg=float(orientations[peak_index]),
                bandwidth_deg=float(np.sum(half_max)),
                preferred_circular_deg=float(np.degrees(np.angle(doubled)) / 2 % 180.0),
                half_width_deg=float(np.mean(half_widths)),
                osi=float(abs(doubled) / total) if total > 0 else float("nan"))


def von_mises(orientations_deg, baseline, amplitude, kappa, preferred_deg):
    """r(θ) = baseline + amplitude exp(κ (cos 2(θ − preferred) − 1)): a tuning curve of period 180°."""
    delta = 2 * np.radians(np.asarray(orientations_deg, dtype=np.float64) - preferred_deg)
    return baseline + amplitude * np.exp(kappa * (np.cos(delta) - 1))


def von_mises_half_width(orientations_deg, responses) -> float:
    """Half-width at 1/√2 of the peak of the von Mises curve fitted to a tuning curve (degrees).

    The interpolated half-width of ``tuning_metrics`` cannot resolve widths below the
    orientation step: a curve that falls from its peak to below peak/√2 within one step is
    given the crossing of the straight line between two samples. The fit (least squares,
    baseline and amplitude ≥ 0) places the curve between the samples, so its width can be
    read below the step. Peak of the fit: baseline + amplitude; it falls to 1/√2 of that
    where exp(κ (cos 2Δ − 1)) = ((baseline + amplitude)/√2 − baseline) / amplitude. NaN when
    the baseline is above 1/√2 of the peak or the curve does not fall within 90°, or when
    every response is 0.
    """
    from scipy.optimize import least_squares
    orientations = np.asarray(orientations_deg, dtype=np.float64)
    responses = np.asarray(responses, dtype=np.float64)
    peak = responses.max() if responses.size else 0.0
    if peak <= 0:
        return float("nan")
    start_preferred = orientations[int(np.argmax(responses))]

    def residuals(p):
        return von_mises(orientations, *p) - responses

    def jacobian(p):
        _, amplitude, kappa, preferred = p
        u = 2 * np.radians(orientations - preferred)
        e = np.exp(kappa * (np.cos(u) - 1))
        return np.stack([np.ones_like(u), e, amplitude * e * (np.cos(u) - 1),
                         amplitude * e * kappa * np.sin(u) * np.pi / 90], axis=1)

    best = None
    for kappa in (3.0, 50.0):          # a broad and a narrow start
        start = (max(responses.min(), 0.0), peak - max(responses.min(), 0.0) + 1e-9, kappa, start_preferred)
        fit = least_squares(residuals, start, jac=jacobian, bounds=([0, 0, 1e-3, start_preferred - 90],
                                                                    [np.inf, np.inf, 1e4, start_preferred + 90]))
        if best is None or fit.cost < best.cost:
            best = fit
    baseline, amplitude, kappa, _ = best.x
    level = ((baseline + amplitude) / np.sqrt(2) - baseline) / amplitude if amplitude > 0 else 0.0
    if level <= 0:
        return float("nan")
    cosine = 1 + np.log(level) / kappa
    if cosine < -1:
        return float("nan")
    return float(np.degrees(np.arccos(cosine)) / 2)
