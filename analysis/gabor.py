"""2-D Gabor fits of receptive fields, after Jones & Palmer (1987, J Neurophysiol 58:1233).

Model (pixel coordinates: x = column index, y = row index, so y points down)::

    x' =  (x - x0) cos(theta) + (y - y0) sin(theta)
    y' = -(x - x0) sin(theta) + (y - y0) cos(theta)
    G  = amplitude * exp(-x'^2 / (2 sigma_x^2) - y'^2 / (2 sigma_y^2))
                   * cos(2 pi frequency x' + phase) + offset

theta is the direction of the carrier's wave vector (the bars of the Gabor run
perpendicular to it), the same convention as ``analysis.tuning.grating``, so a
fitted orientation and a preferred grating orientation can be compared
directly. sigma_x is the envelope width across the bars, sigma_y along them;
frequency is in cycles per pixel.

The fit minimises the squared error with ``scipy.optimize.least_squares``
from several starts: a grid over orientation, frequency and envelope width
centred on the peak of |field|, where for each grid point the amplitude, phase
and offset are solved linearly; the best few grid points seed the nonlinear fit.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares

PARAM_NAMES = ("x0", "y0", "sigma_x", "sigma_y", "theta", "frequency", "phase",
               "amplitude", "offset")

# Start grid: 8 orientations x 5 frequencies x 2 envelope widths (fractions of the field side).
START_ORIENTATIONS = np.arange(8) * np.pi / 8
START_FREQUENCIES = (0.04, 0.07, 0.11, 0.16, 0.24)
START_WIDTH_FRACTIONS = (1 / 8, 1 / 5)
N_NONLINEAR_STARTS = 3
NYQUIST = 0.5                    # cycles per pixel


def gabor(shape, x0, y0, sigma_x, sigma_y, theta, frequency, phase, amplitude, offset):
    """The Gabor model above evaluated on a pixel grid of *shape* (rows, cols); theta in radians."""
    y, x = np.indices(shape, dtype=np.float64)
    xr = (x - x0) * np.cos(theta) + (y - y0) * np.sin(theta)
    yr = -(x - x0) * np.sin(theta) + (y - y0) * np.cos(theta)
    envelope = np.exp(-xr ** 2 / (2 * sigma_x ** 2) - yr ** 2 / (2 * sigma_y ** 2))
    return amplitude * envelope * np.cos(2 * np.pi * frequency * xr + phase) + offset


def _linear_start(field, x0, y0, sigma, theta, frequency):
    """Best amplitude, phase and offset for fixed centre, width, orientation and frequency.

    A cos(u + phase) = a cos(u) + b sin(u) with a = A cos(phase), b = -A sin(phase),
    so these three parameters follow from one linear least-squares solve.
    Returns (parameter vector, squared error).
    """
    ones = np.ones(field.shape)
    envelope = gabor(field.shape, x0, y0, sigma, sigma, theta, 0.0, 0.0, 1.0, 0.0)
    carrier_cos = gabor(field.shape, x0, y0, np.inf, np.inf, theta, frequency, 0.0, 1.0, 0.0)
    carrier_sin = gabor(field.shape, x0, y0, np.inf, np.inf, theta, frequency, -np.pi / 2, 1.0, 0.0)
    design = np.stack([(envelope * carrier_cos).ravel(), (envelope * carrier_sin).ravel(),
                       ones.ravel()], axis=1)
    (a, b, offset), *_ = np.linalg.lstsq(design, field.ravel(), rcond=None)
    error = float(np.sum((design @ (a, b, offset) - field.ravel()) ** 2))
    params = np.array([x0, y0, sigma, sigma, theta, frequency, np.arctan2(-b, a),
                       np.hypot(a, b), offset])
    return params, error


def _canonical(params) -> np.ndarray:
    """Same Gabor with theta in [0, pi) and phase in [0, 2 pi).

    Turning theta by pi mirrors x', which the envelope ignores and the carrier
    absorbs as phase -> -phase.
    """
    params = np.array(params, dtype=np.float64)
    half_turns = np.floor(params[4] / np.pi)
    params[4] -= half_turns * np.pi
    if int(half_turns) % 2:
        params[6] = -params[6]
    params[6] %= 2 * np.pi
    return params


def fit_gabor(field) -> dict:
    """Least-squares Gabor fit of one 2-D receptive field.

    Returns dict(r2, orientation_deg in [0, 180), frequency (cycles/pixel),
    sigma_x, sigma_y (pixels), phase (radians, [0, 2 pi)), params (name -> value)).
    r2 = 1 - SS_residual / SS_total (NaN for a constant field).
    """
    field = np.asarray(field, dtype=np.float64)
    if field.ndim != 2:
        raise ValueError(f"expected a 2-D field, got shape {field.shape}")
    rows, cols = field.shape
    side = max(rows, cols)
    peak_y, peak_x = np.unravel_index(np.argmax(np.abs(field)), field.shape)

    starts = sorted((_linear_start(field, peak_x, peak_y, fraction * side, theta, frequency)
                     for theta in START_ORIENTATIONS for frequency in START_FREQUENCIES
                     for fraction in START_WIDTH_FRACTIONS), key=lambda start: start[1])

    lower = np.array([-0.5, -0.5, 0.5, 0.5, -np.inf, 0.0, -np.inf, 0.0, -np.inf])
    upper = np.array([cols - 0.5, rows - 0.5, side, side, np.inf, NYQUIST, np.inf, np.inf, np.inf])

    def residuals(params):
        return (gabor(field.shape, *params) - field).ravel()

    best = None
    for start, _ in starts[:N_NONLINEAR_STARTS]:
        # least_squares needs a start strictly inside the bounds
        start = np.clip(start, lower + 1e-6, upper - 1e-6)
        result = least_squares(residuals, start, bounds=(lower, upper), x_scale="jac")
        if best is None or result.cost < best.cost:
            best = result

    params = _canonical(best.x)
    total = float(np.sum((field - field.mean()) ** 2))
    r2 = 1.0 - 2.0 * best.cost / total if total > 0 else float("nan")
    return dict(r2=float(r2), orientation_deg=float(np.degrees(params[4])) % 180.0,
                frequency=float(params[5]), sigma_x=float(params[2]), sigma_y=float(params[3]),
                phase=float(params[6]), params=dict(zip(PARAM_NAMES, map(float, params))))


def fit_all(fields) -> list[dict]:
    """``fit_gabor`` of every field of an (n, p, p) stack."""
    return [fit_gabor(field) for field in np.asarray(fields, dtype=np.float64)]


def ringach_n(fit: dict) -> tuple[float, float]:
    """(nx, ny) of a Gabor fit after Ringach (2002, J Neurophysiol 88:455): the envelope
    widths across (sigma_x) and along (sigma_y) the bars in cycles of the carrier,
    nx = sigma_x * frequency, ny = sigma_y * frequency. Elongated subregions have
    ny > nx; the number of subregions grows with nx."""
    return fit["sigma_x"] * fit["frequency"], fit["sigma_y"] * fit["frequency"]
