"""Loading a trained layer's weights as the frozen input of the next layer."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from models import io




def load_frozen_weights(layer, folder: Path, step: int | None) -> dict:
    """Weights of every plastic projection of *layer* at snapshot *step* of *folder*.

    Default step: the highest N at which every snapshot file of the layer exists.
    Each matrix is checked against the shape the current model expects, and for
    finite, non-negative values. Raises ``models.cli.UsageError`` with one line
    naming the file and the problem.
    """
    from models.cli import UsageError

    shapes = layer.snapshot_shapes()
    if not Path(folder).is_dir():
        raise UsageError(f"{folder}: layer-{layer.name[1:]} output folder not found (train it first, "
                         f"or give --l4 DIR)")
    steps = io.complete_snapshot_steps(folder, shapes)
    if step is None:
        if not steps:
            raise UsageError(f"{folder}: no complete {layer.name} snapshot (needs all of "
                             f"{', '.join(k + '_N.txt' for k in shapes)})")
        step = steps[-1]
    elif step not in steps:
        raise UsageError(f"{folder}: no complete snapshot at step {step} (complete: {steps or 'none'})")
    weights = {}
    for spec in layer.plastic:
        path = layer.snapshot_path(folder, spec.name, step)
        sub, stem = layer.snapshot_files[spec.name]
        expected = shapes[f"{sub}/{stem}"]
        try:
            matrix = np.loadtxt(path, ndmin=2)
        except (OSError, ValueError) as exc:
            raise UsageError(f"{path}: unreadable weight file ({str(exc).splitlines()[0]})")
        if matrix.shape != expected:
            raise UsageError(f"{path}: shape {matrix.shape}, the model expects {expected}")
        if not np.all(np.isfinite(matrix)):
            raise UsageError(f"{path}: contains NaN or infinite values")
        if np.any(matrix < 0):
            raise UsageError(f"{path}: contains negative weights")
        weights[spec.name] = matrix
    return {"folder": str(folder), "step": step, "weights": weights}
