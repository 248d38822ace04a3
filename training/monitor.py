"""Watching a run: what the trainer reports while it trains.

``RunMonitor`` receives every closed rate window and every snapshot from
``training.trainer.Trainer``. It keeps the weight statistics of every snapshot in
``weight_stats.json`` and redraws ``rates.png`` and ``weights.png`` (``training.plots``)
at every snapshot; with a TensorBoard folder (``--tensorboard DIR``) it also writes, with
tensorboardX's ``SummaryWriter``:

* ``rates/<E>_mean``, ``rates/<I>_mean`` and ``rates/<E>_cell_<k>`` (k = 0..3) at every
  rate window (100 patches);
* ``weights/<projection>/{mean,std,fraction_zero,fraction_max}`` and, for the LGN
  projections of layer 4, the ON - OFF receptive-field grid as an image
  (``fields/<projection>``) at every snapshot;
* ``run/record`` at the end: the run's settings and model (run.json) as text.

Steps are patches presented. A resumed run purges the events after its checkpoint, so
the curves continue without a fold.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from training import plots

RATE_CELLS = (0, 1, 2, 3)


class TensorBoardMissing(Exception):
    """--tensorboard was asked for, but tensorboardX is not installed (one line)."""


def check_tensorboard() -> None:
    """Raise TensorBoardMissing unless tensorboardX can be imported."""
    try:
        import tensorboardX  # noqa: F401
    except ImportError:
        raise TensorBoardMissing("--tensorboard: the package tensorboardX is not installed "
                                 "(pip install tensorboardX tensorboard)") from None


def tensorboard_writer(folder, purge_step: int | None = None):
    """A tensorboardX SummaryWriter writing into *folder*."""
    check_tensorboard()
    from tensorboardX import SummaryWriter
    return SummaryWriter(logdir=str(folder), purge_step=purge_step)


class RunMonitor:
    def __init__(self, layer, out_dir, *, tensorboard=None, start_patch: int = 0):
        self.layer = layer
        self.out_dir = Path(out_dir)
        self.stats = {step: s for step, s in plots.load_statistics(out_dir).items() if step < start_patch}
        self.writer = tensorboard_writer(tensorboard, purge_step=start_patch or None) if tensorboard else None

    def rate_window(self, patch: int, exc_rates: np.ndarray, inh_rates: np.ndarray) -> None:
        if self.writer is None:
            return
        e_name, i_name = self.layer.rate_populations
        self.writer.add_scalar(f"rates/{e_name}_mean", float(np.mean(exc_rates)), patch)
        self.writer.add_scalar(f"rates/{i_name}_mean", float(np.mean(inh_rates)), patch)
        for cell in RATE_CELLS:
            if cell < len(exc_rates):
                self.writer.add_scalar(f"rates/{e_name}_cell_{cell}", float(exc_rates[cell]), patch)

    def snapshot(self, step: int, weights: dict, rates_written: bool) -> None:
        """Statistics (and images) of every plastic projection at snapshot *step*; the PNGs."""
        self.stats[step] = {spec.name: plots.weight_statistics(weights[spec.name], plots.upper_bound(spec))
                            for spec in self.layer.plastic}
        plots.save_statistics(self.out_dir, self.stats)
        plots.plot_weights(self.out_dir, self.layer, self.stats)
        if rates_written and len(np.load(self.out_dir / "frExc.npy")):
            plots.plot_rates(self.out_dir, self.layer)
        if self.writer is None:
            return
        for name, values in self.stats[step].items():
            for key in ("mean", "std", "fraction_zero", "fraction_max"):
                self.writer.add_scalar(f"weights/{name}/{key}", values[key], step)
        for name in ("LGN_E", "LGN_I"):
            if name in weights and any(s.name == name for s in self.layer.plastic):
                self.writer.add_image(f"fields/{name}", plots.field_image(weights[name]), step, dataformats="HW")
        self.writer.flush()

    def finish(self, record: dict) -> None:
        if self.writer is None:
            return
        text = "```\n" + json.dumps(record, indent=2, sort_keys=True, default=str) + "\n```"
        self.writer.add_text("run/record", text, record.get("patches", 0))
        self.close()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
