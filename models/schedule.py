"""The training schedule of docs/model.md §4/§5: snapshots and the ON/OFF balance.

Pure numpy; the training loop (``training.trainer``) follows it patch by patch.
Order at the boundary before patch N (N patches presented): ON/OFF balance (if due),
then the snapshot N. So snapshot 0 holds the initial weights, and the balance that
follows patch 0 shows first in snapshot 1.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np



@dataclass(frozen=True)
class Schedule:
    n_patches: int
    save_every: int
    normalize_every: int | None

    @classmethod
    def for_run(cls, n_patches: int, save_every: int | None, normalize_every: int | None, n_snapshots: int = 20):
        """The schedule of a run; by default a snapshot every 1/n_snapshots of it (the model's training.n_snapshots)."""
        if save_every is None:
            save_every = max(1, n_patches // n_snapshots)
        return cls(n_patches, save_every, normalize_every)

    def snapshot_steps(self) -> list[int]:
        """Patch counts at which snapshots are written: 0, every save_every, the end."""
        return sorted(set(range(0, self.n_patches, self.save_every)) | {self.n_patches})

    def balances_before(self, patch: int) -> bool:
        """Is the ON/OFF balance applied right before *patch* (counted from 0) is presented?

        The published script presents a patch and then balances when the model time at
        the start of that patch, patch * input.presentation_ms, is a multiple of
        training.normalize_ms (20 s): with ``normalize_every`` = normalize_ms / presentation_ms
        patches (160 of 125 ms), after patches 0, 160, 320, ..., i.e. before patches 1, 161,
        321, ....
        The initial weights are presented once unbalanced.
        """
        return bool(self.normalize_every) and patch >= 1 and (patch - 1) % self.normalize_every == 0


def balance_on_off(weights: np.ndarray, patch_size: int) -> np.ndarray:
    """Scale each row's ON weights so that ||ON||_2 = ||OFF||_2 (docs/model.md §4).

    Columns are (row, column, ON/OFF) ranks in C-order: even columns are ON.
    A row without ON weight is left unchanged (nothing to scale).
    """
    w = np.array(weights, dtype=np.float64, copy=True).reshape(len(weights), patch_size * patch_size, 2)
    norm_on = np.linalg.norm(w[:, :, 0], axis=1)
    norm_off = np.linalg.norm(w[:, :, 1], axis=1)
    scale = np.divide(norm_off, norm_on, out=np.ones_like(norm_on), where=norm_on > 0)
    w[:, :, 0] *= scale[:, None]
    return w.reshape(len(weights), -1)
