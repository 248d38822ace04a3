"""Spike-triggered averages and the correlation of receptive-field estimates.

With white-noise stimuli the spike-triggered average, taken relative to the
mean stimulus, is proportional to the linear filter of a linear-nonlinear
cell (Chichilnisky 2001, Network 12:199). The model's LGN input is
non-negative (ON/OFF rates), so subtracting the mean stimulus matters.
"""
from __future__ import annotations

import numpy as np


def spike_triggered_average(stimuli, spike_counts, subtract_mean: bool = True) -> np.ndarray:
    """Spike-count-weighted mean stimulus of every cell.

    stimuli: (k, d), one flattened stimulus per presentation;
    spike_counts: (k, n), spikes of each cell per presentation.
    Returns (n, d); a cell that never spiked gets a row of NaN. With
    *subtract_mean* the mean stimulus over all k presentations is subtracted.
    """
    stimuli = np.asarray(stimuli, dtype=np.float64)
    spike_counts = np.asarray(spike_counts, dtype=np.float64)
    if stimuli.ndim != 2 or spike_counts.ndim != 2 or stimuli.shape[0] != spike_counts.shape[0]:
        raise ValueError(f"expected stimuli (k, d) and spike_counts (k, n), got "
                         f"{stimuli.shape} and {spike_counts.shape}")
    spikes_per_cell = spike_counts.sum(axis=0)
    weighted = spike_counts.T @ stimuli
    with np.errstate(invalid="ignore", divide="ignore"):
        average = weighted / spikes_per_cell[:, None]
    average[spikes_per_cell == 0] = np.nan
    if subtract_mean:
        average -= stimuli.mean(axis=0)
    return average


def field_correlation(a, b) -> np.ndarray:
    """Pearson correlation of each cell's field in *a* with the same cell's field in *b*.

    a, b: (n, ...) with the same shape; every cell's field is flattened.
    Returns (n,); NaN for a constant field.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} and {b.shape}")
    a = a.reshape(a.shape[0], -1)
    b = b.reshape(b.shape[0], -1)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sum(a * b, axis=1) / np.sqrt(np.sum(a * a, axis=1) * np.sum(b * b, axis=1))
