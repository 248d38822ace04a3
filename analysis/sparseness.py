"""Population and lifetime sparseness after Vinje & Gallant (2000, Science 287:1273).

For n non-negative responses r_1..r_n::

    S = (1 - (sum r / n)^2 / (sum r^2 / n)) / (1 - 1/n)

S = 0 when all responses are equal, S = 1 when exactly one is non-zero.
Population sparseness takes the n cells' responses to one stimulus; lifetime
sparseness takes one cell's responses to the n stimuli. Responses are arrays
of shape (n_stimuli, n_cells).
"""
from __future__ import annotations

import numpy as np


def _sparseness(responses: np.ndarray, axis: int) -> np.ndarray:
    responses = np.asarray(responses, dtype=np.float64)
    if responses.ndim != 2:
        raise ValueError(f"expected (n_stimuli, n_cells) responses, got shape {responses.shape}")
    if np.any(responses < 0):
        raise ValueError("sparseness is defined for non-negative responses (rates, counts)")
    n = responses.shape[axis]
    if n < 2:
        raise ValueError("sparseness needs at least two responses")
    mean_squared = np.mean(responses, axis=axis) ** 2
    mean_of_squares = np.mean(responses ** 2, axis=axis)
    # an all-zero response set has no defined sparseness: NaN, not a division warning
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(mean_of_squares > 0, mean_squared / mean_of_squares, np.nan)
    return (1.0 - ratio) / (1.0 - 1.0 / n)


def population_sparseness(responses) -> np.ndarray:
    """Sparseness across cells for each stimulus: (n_stimuli, n_cells) -> (n_stimuli,)."""
    return _sparseness(responses, axis=1)


def mean_population_sparseness(responses) -> float:
    """Population sparseness averaged over the stimuli that evoked any response."""
    return float(np.nanmean(population_sparseness(responses)))


def lifetime_sparseness(responses) -> np.ndarray:
    """Sparseness across stimuli for each cell: (n_stimuli, n_cells) -> (n_cells,)."""
    return _sparseness(responses, axis=0)
