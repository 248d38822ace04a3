"""Receptive fields of LGN-driven cells as ON - OFF images, and weight histograms.

A row of an LGN -> V1 weight matrix holds the weights from the (p, p, 2) LGN
grid in C order (column k <-> pixel row k // (2p), pixel column (k // 2) % p,
ON if k % 2 == 0 else OFF). The receptive field shown is ON - OFF per pixel,
the usual view of ON/OFF-input models (docs/model.md §6).
"""
from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend must be chosen first)
import numpy as np  # noqa: E402

from runs.files import atomic_write  # noqa: E402
from training.plots import grid_shape, mosaic  # noqa: E402,F401  (grid_shape: part of this module's API)

FONT_SIZE = 13
# Gaps between cells in the mosaic; a colour outside the grey scale so that a
# strongly ON (white) or OFF (black) border pixel is not mistaken for a gap.
GAP_COLOUR = "#5b84b1"


def patch_size_of(n_columns: int) -> int:
    """Patch side p of an LGN weight matrix with 2*p*p columns; ValueError otherwise."""
    p = math.isqrt(n_columns // 2)
    if n_columns < 2 or 2 * p * p != n_columns:
        raise ValueError(f"{n_columns} columns is not 2*p*p for an integer patch size p")
    return p


def on_minus_off(weights) -> np.ndarray:
    """(n, 2*p*p) LGN weights -> (n, p, p) receptive fields ON - OFF."""
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 2:
        raise ValueError(f"expected a 2-D weight matrix, got shape {weights.shape}")
    p = patch_size_of(weights.shape[1])
    on_off = weights.reshape(weights.shape[0], p, p, 2)
    return on_off[..., 0] - on_off[..., 1]


def _save_png(fig, path) -> None:
    """Save *fig* atomically as PNG, then close it so many snapshots do not pile up figures."""
    try:
        atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=fig.dpi))
    finally:
        plt.close(fig)


def plot_rf_grid(fields, path, title: str) -> None:
    """Grey images of (n, p, p) fields in a near-square grid, one symmetric colour scale.

    The scale is [-m, m] with m the largest |value| over all cells, so that
    grey means zero in every panel and cells can be compared by contrast.
    """
    fields = np.asarray(fields, dtype=np.float64)
    if fields.ndim != 3:
        raise ValueError(f"expected (n, p, p) fields, got shape {fields.shape}")
    rows, cols = grid_shape(fields.shape[0])
    m = float(np.max(np.abs(fields))) if fields.size else 0.0
    m = m if m > 0 else 1.0
    cmap = plt.get_cmap("gray").with_extremes(bad=GAP_COLOUR)

    tiled = mosaic(fields, rows, cols)   # one image instead of n axes: fast for 324 cells
    height, width = tiled.shape
    image_inches = 9.0
    fig, ax = plt.subplots(figsize=(image_inches * width / max(width, height) + 1.6,
                                    image_inches * height / max(width, height) + 0.9),
                           dpi=110, layout="constrained")
    image = ax.imshow(tiled, cmap=cmap, vmin=-m, vmax=m, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=FONT_SIZE + 2)
    colourbar = fig.colorbar(image, ax=ax, shrink=0.8, pad=0.02)
    colourbar.set_label("weight ON − OFF", fontsize=FONT_SIZE)
    colourbar.ax.tick_params(labelsize=FONT_SIZE - 2)
    _save_png(fig, path)


def plot_weight_histograms(weights_by_name: dict, path, title: str | None = None) -> None:
    """One histogram panel per weight matrix (name -> array), mean and std in each title."""
    if not weights_by_name:
        raise ValueError("no weight matrices to plot")
    n = len(weights_by_name)
    fig, axes = plt.subplots(1, n, figsize=(5.5 * n, 4.4), dpi=110, layout="constrained",
                             squeeze=False)
    for ax, (name, weights) in zip(axes[0], weights_by_name.items()):
        weights = np.asarray(weights, dtype=np.float64)
        values = weights.ravel()
        ax.hist(values, bins=60, color="#3b6ea5", edgecolor="none")
        shape = "×".join(str(s) for s in weights.shape)
        ax.set_title(f"{name} ({shape})\nmean {values.mean():.3g}, std {values.std():.3g}",
                     fontsize=FONT_SIZE)
        ax.set_xlabel("weight", fontsize=FONT_SIZE)
        ax.set_ylabel("synapses", fontsize=FONT_SIZE)
        ax.tick_params(labelsize=FONT_SIZE - 2)
    if title:
        fig.suptitle(title, fontsize=FONT_SIZE + 2)
    _save_png(fig, path)
