"""The run record (``run.json``) and the guard that lets ``--resume`` continue only the same run.

``run.json`` holds the settings of a run (seed, patches, threads, variant, images,
the layer-4 snapshot under layer 2/3), the complete model (``models.description``:
populations, neuron equations and parameters, rules, projections, schedule, and the
model value with its hash), the model options given (``--model``, ``--params``,
``--set``), versions, times, status and every resume. ``read`` gives it back for
``--resume``, which rebuilds the model from the recorded value, so an edit of the source
does not stop a run from being continued.
"""
from __future__ import annotations

import json
import platform
from pathlib import Path

from models.description import describe


class RecordError(Exception):
    """A run record that cannot be resumed (one line)."""


# Settings that --resume takes from run.json: option name -> run.json key.
RESUMED_SETTINGS = {"patches": "patches", "seed": "seed", "save_every": "save_every", "variant": "variant",
                    "num_threads": "threads"}


def new_record(layer, *, command, seed, schedule, variant, threads, requested_threads, force_threads, out,
               source, layer4, started, overrides=None, model_name=None) -> dict:
    """The run.json of a new run."""
    import ANNarchy
    import numpy as np
    import scipy
    return {
        "layer": layer.name,
        "command": command,
        "patches": schedule.n_patches,
        "save_every": schedule.save_every,
        "normalize_every": schedule.normalize_every,
        "snapshot_steps": schedule.snapshot_steps(),
        "seed": seed,
        "threads": threads,
        "threads_requested": requested_threads,
        "force_threads": force_threads,
        "variant": variant,
        "out": str(out),
        "images": {"origin": source.origin, "path": source.path, "sha256": source.sha256,
                   "shape": list(source.images.shape), "warning": source.warning},
        "layer4": layer4,
        "model": describe(layer),
        "model_options": {"model": model_name or ("published" if layer.frozen_from is None else None),
                          "overrides": {k: v for k, v in (overrides or {}).items()}},
        "versions": {"python": platform.python_version(), "ANNarchy": ANNarchy.__release__,
                     "numpy": np.__version__, "scipy": scipy.__version__},
        "host": platform.node(),
        "started": started,
    }


def read(run_file: Path, layer_name: str) -> dict:
    """The record of an unfinished run of layer *layer_name* in *run_file*, checked for resuming."""
    if not run_file.is_file():
        raise RecordError(f"{run_file}: not found, so there is no run to resume in {run_file.parent}")
    try:
        recorded = json.loads(run_file.read_text())
        if recorded.get("layer") != layer_name:
            raise RecordError(f"{run_file}: a run of layer {recorded.get('layer')}, not {layer_name}")
        if recorded.get("status") == "complete":
            raise RecordError(f"{run_file.parent}: the run is complete ({recorded['patches']} patches); "
                              "nothing to resume")
        for key in list(RESUMED_SETTINGS.values()) + ["images", "model"]:
            recorded[key]
    except (ValueError, KeyError, TypeError) as exc:
        raise RecordError(f"{run_file}: unreadable run record ({exc})")
    return recorded
