"""Figures of a training run: firing rates over training (``frExc.npy``, ``frInh.npy``)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from models import parameters as P
from training.files import atomic_write


def plot_rates(out_dir, cells=(0, 1, 2, 3)) -> Path:
    """Rates of four E cells and the population means over training -> V1Layer/rates.png."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    exc = np.load(out_dir / "frExc.npy")
    inh = np.load(out_dir / "frInh.npy")
    patches = (np.arange(len(exc)) + 1) * P.RATE_WINDOW
    fig, (ax_cells, ax_mean) = plt.subplots(2, 1, figsize=(8, 6), sharex=True, constrained_layout=True)
    for c in cells:
        if c < exc.shape[1]:
            ax_cells.plot(patches, exc[:, c], lw=1, label=f"E cell {c}")
    ax_cells.set_ylabel("rate (Hz)")
    ax_cells.set_title(f"Firing rates over training (windows of {P.RATE_WINDOW} patches)")
    ax_cells.legend(frameon=False, ncols=4, fontsize=9)
    ax_mean.plot(patches, exc.mean(axis=1), color="tab:red", label="E mean")
    ax_mean.plot(patches, inh.mean(axis=1), color="tab:blue", label="I mean")
    ax_mean.set_xlabel("patches presented")
    ax_mean.set_ylabel("rate (Hz)")
    ax_mean.legend(frameon=False)
    path = out_dir / "V1Layer" / "rates.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=120))
    plt.close(fig)
    return path
