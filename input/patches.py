"""Image patches -> Poisson rates of the (patch_size, patch_size, 2) ON/OFF input.

docs/model.md §1 (Teichmann, Larisch & Hamker 2021): every whitened image is split
into ON = max(x, 0) and OFF = max(-x, 0) channels. A presentation picks an image and a
top-left corner uniformly, cuts a patch_size x patch_size x 2 patch, flips it left-right
and up-down with probability flip_probability each, and scales it to rates
``patch / max(ON/OFF array of that image) * max_rate`` (Hz). The model's values of
these numbers are in ``models/parameters.py``; this module takes them as arguments.

Rank order: a (ps, ps, 2) population is numbered in C order over (row, column, ON/OFF),
ON/OFF fastest: neuron k is (k // (2 ps), (k // 2) % ps, k % 2). Weight files use the
same order for their columns.
"""
from __future__ import annotations

import numpy as np


def on_off_split(images: np.ndarray) -> np.ndarray:
    """(H, W, n) whitened images -> (H, W, 2, n): channel 0 = max(x, 0), 1 = max(-x, 0)."""
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 3:
        raise ValueError(f"expected images of shape (H, W, n), got {images.shape}")
    return np.stack([np.maximum(images, 0.0), np.maximum(-images, 0.0)], axis=2)


class PatchSampler:
    """Draws rate patches from an image stack with a numpy Generator.

    ``rng`` (a Generator, a seed, or None for fresh entropy) is exposed as ``.rng``;
    save and restore ``sampler.rng.bit_generator.state`` to resume a run exactly.
    """

    def __init__(self, images: np.ndarray, *, patch_size: int, max_rate: float, flip_probability: float,
                 rng: np.random.Generator | int | None = None):
        self.onoff = on_off_split(images)
        self.height, self.width, _, self.n_images = self.onoff.shape
        # Corners are drawn in [0, H - patch_size), empty unless H > patch_size.
        if self.height <= patch_size or self.width <= patch_size:
            raise ValueError(f"images {self.height}x{self.width} need more than "
                             f"{patch_size} pixels per side")
        self.patch_size = patch_size
        self.max_rate = float(max_rate)          # Hz at the brightest ON/OFF value of an image
        self.flip_probability = float(flip_probability)
        self.image_max = self.onoff.max(axis=(0, 1, 2))   # per image, over both channels
        if not np.all(self.image_max > 0):
            raise ValueError("an image is all zeros: its rates cannot be normalised")
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)

    def sample(self) -> np.ndarray:
        """One (patch_size, patch_size, 2) float64 patch of rates in Hz.

        Draw order (fixed, so runs are reproducible): image index, row x of the
        top-left corner, column y, left-right flip if random() < flip_probability,
        up-down flip if random() < flip_probability.
        """
        ps = self.patch_size
        idx = self.rng.integers(self.n_images)
        x = self.rng.integers(self.height - ps)
        y = self.rng.integers(self.width - ps)
        patch = self.onoff[x:x + ps, y:y + ps, :, idx]
        if self.rng.random() < self.flip_probability:
            patch = patch[:, ::-1]
        if self.rng.random() < self.flip_probability:
            patch = patch[::-1]
        return np.ascontiguousarray(patch / self.image_max[idx] * self.max_rate)

    def sample_many(self, k: int) -> np.ndarray:
        """k consecutive samples, (k, patch_size, patch_size, 2)."""
        out = np.empty((k, self.patch_size, self.patch_size, 2))
        for i in range(k):
            out[i] = self.sample()
        return out


def rates_to_ranks(rates: np.ndarray) -> np.ndarray:
    """(ps, ps, 2) array -> 1-D vector in neuron-rank order (C order, ON/OFF fastest)."""
    rates = np.asarray(rates)
    if rates.ndim != 3 or rates.shape[2] != 2 or rates.shape[0] != rates.shape[1]:
        raise ValueError(f"expected a (ps, ps, 2) array, got {rates.shape}")
    return rates.reshape(-1)


def weights_to_onoff(row_vector: np.ndarray, patch_size: int) -> np.ndarray:
    """Inverse of :func:`rates_to_ranks`: 2 ps^2 values (e.g. one weight-file row,
    the input weights of one cell) -> (ps, ps, 2) array of (row, column, ON/OFF)."""
    row_vector = np.asarray(row_vector)
    if row_vector.size != 2 * patch_size * patch_size:
        raise ValueError(f"expected {2 * patch_size * patch_size} values, got {row_vector.size}")
    return row_vector.reshape(patch_size, patch_size, 2)
