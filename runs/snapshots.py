"""Weight snapshots of a run: finding them, reading them, checking them. The one loader.

A snapshot is plain text (``np.loadtxt``-readable), one row per postsynaptic neuron
and one column per presynaptic neuron, named ``<folder>/<stem>_<N>.txt`` where N is
the number of patches presented so far (docs/model.md §4, §5). Layer 2/3, ``rezeptiv.py``,
the analysis, the evaluation and the benchmarks all read snapshots through this
module, so every malformed file gives the same one-line ``SnapshotError`` naming the
file and the problem.
"""
from __future__ import annotations

import json
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.layers import LayerSpec, layers
from models.parameters import PUBLISHED, Model, ModelError

_STEP = re.compile(r"_(\d+)\.txt$")
# The rules keep every weight within [0, bound] (Clopath: wMax, Vogels: hMax); the ON/OFF
# balance of layer 4 may overshoot wMax a little (5.06 for 5 in a 20,000-patch run). A file
# with weights beyond BOUND_SLACK x bound was not written by this model.
BOUND_SLACK = 2.0


class SnapshotError(ValueError):
    """A run folder or weight file that cannot be used: one line naming it and the problem."""


def snapshot_steps(folder, stem: str) -> list[int]:
    """Sorted patch counts N for which ``folder/<stem>_N.txt`` exists."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    steps = []
    for p in folder.glob(f"{stem}_*.txt"):
        m = _STEP.search(p.name)
        if m and p.name == f"{stem}_{m.group(1)}.txt":
            steps.append(int(m.group(1)))
    return sorted(steps)


def complete_steps(out_dir, layer: LayerSpec) -> list[int]:
    """Patch counts N at which every snapshot file of *layer* exists in *out_dir*."""
    common = None
    for rel in layer.snapshot_shapes():
        sub, stem = os.path.split(rel)
        steps = set(snapshot_steps(Path(out_dir) / sub, stem))
        common = steps if common is None else common & steps
    return sorted(common or [])


def read_matrix(path, shape: tuple | None = None, *, non_negative: bool = False) -> np.ndarray:
    """A 2-D float64 matrix from a text file, checked: parseable, not empty, finite,
    of *shape* (when given) and, with *non_negative*, without negative values."""
    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")    # an empty file only warns in loadtxt: malformed
            matrix = np.loadtxt(path, ndmin=2)
    except (ValueError, UserWarning, OSError) as err:
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise SnapshotError(f"{path}: cannot parse as a numeric matrix ({reason})") from None
    if matrix.size == 0:
        raise SnapshotError(f"{path}: empty matrix")
    if shape is not None and matrix.shape != tuple(shape):
        raise SnapshotError(f"{path}: shape {matrix.shape}, the model expects {tuple(shape)}")
    if not np.all(np.isfinite(matrix)):
        raise SnapshotError(f"{path}: contains NaN or infinite values")
    if non_negative and np.any(matrix < 0):
        raise SnapshotError(f"{path}: contains negative weights")
    return matrix


@dataclass
class Snapshot:
    """The weights of every plastic projection of a layer at one step of a run."""
    layer: LayerSpec
    folder: Path
    step: int
    weights: dict            # projection name -> (n_post, n_pre)


def load_snapshot(layer: LayerSpec, folder, step: int | None = None) -> Snapshot:
    """The snapshot of *layer* at *step* of *folder* (default: the highest complete one).

    Every file is checked against the shape *layer*'s model expects, for finite
    and non-negative values. Raises ``SnapshotError``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SnapshotError(f"{folder}: layer-{layer.name[1:]} output folder not found (train it first)")
    shapes = layer.snapshot_shapes()
    steps = complete_steps(folder, layer)
    if step is None:
        if not steps:
            raise SnapshotError(f"{folder}: no complete {layer.name} snapshot (needs all of "
                                f"{', '.join(k + '_N.txt' for k in shapes)})")
        step = steps[-1]
    elif step not in steps:
        raise SnapshotError(f"{folder}: no complete snapshot at step {step} (complete: {steps or 'none'})")
    weights = {}
    for spec in layer.plastic:
        expected = shapes["/".join(layer.snapshot_files[spec.name])]
        path = layer.snapshot_path(folder, spec.name, step)
        weights[spec.name] = read_matrix(path, expected, non_negative=True)
        bound = getattr(spec.rule, "wMax", None) or getattr(spec.rule, "hMax", None)
        if bound is not None and weights[spec.name].max() > BOUND_SLACK * bound:
            raise SnapshotError(f"{path}: weights up to {weights[spec.name].max():.3g}, far above the bound "
                                f"{bound:g} within which the learning rule keeps them (not a snapshot of this model?)")
    return Snapshot(layer, folder, step, weights)


def load_delays(layer: LayerSpec, folder) -> dict:
    """Recorded axonal delays (ms) of a run of *layer*: projection name -> (n_post, n_pre)."""
    delays = {}
    for name, (sub, filename) in layer.delay_files.items():
        path = Path(folder) / sub / filename
        if not path.exists():
            raise SnapshotError(f"{path}: delay file missing (needed to rebuild the {layer.name} network)")
        matrix = read_matrix(path, layer.shape(name))
        dt = layer.model.dt
        steps = matrix / dt
        if np.any(steps < 1) or np.any(np.abs(steps - np.rint(steps)) > 1e-9):
            raise SnapshotError(f"{path}: delays must be whole multiples of the {dt:g}-ms step, at least one step")
        delays[name] = matrix
    return delays


def model_of_run(out_dir) -> Model:
    """The model a run was trained with, rebuilt from its ``run.json`` (``model.value``);
    the published model for a folder without a record of it (a run of an older version, a
    hand-made folder), whose files are then checked against the published shapes."""
    run = Path(out_dir) / "run.json"
    if not run.exists():
        return PUBLISHED
    try:
        value = (json.loads(run.read_text()).get("model") or {}).get("value")
        return PUBLISHED if value is None else Model.from_record(value)
    except (ValueError, AttributeError) as exc:
        reason = str(exc) if isinstance(exc, ModelError) else f"unreadable ({exc})"
        raise SnapshotError(f"{run}: model record {reason}") from None


def layer_of(out_dir, model: Model | None = None) -> LayerSpec:
    """Layer 2/3 if *out_dir* holds complete layer-2/3 snapshots, layer 4 if layer-4 ones, of
    *model* (default: the run's own, ``model_of_run``)."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise SnapshotError(f"{out_dir}: no such output folder")
    model = model_of_run(out_dir) if model is None else model
    for layer in reversed(layers(model).values()):
        if complete_steps(out_dir, layer):
            return layer
    raise SnapshotError(f"{out_dir}: no complete layer-4 or layer-2/3 weight snapshot found")


@dataclass
class TrainedNetwork:
    """Everything needed to rebuild the frozen network of a run at one snapshot."""
    layer: LayerSpec
    snapshot: Snapshot
    weights: dict            # every projection of the layer (layer 2/3: with layer 4's)
    delays: dict | None      # recorded delays (layer 2/3)
    l4: Snapshot | None      # the layer-4 snapshot under a layer-2/3 run


def load_trained(out_dir, step: int | None = None, *, l4_dir=None, l4_step: int | None = None) -> TrainedNetwork:
    """The snapshot of a run (layer 4 or 2/3, detected from its files) and, for layer 2/3,
    the layer-4 snapshot it was trained on (default: from the run's ``run.json``) and its
    recorded delays."""
    out_dir = Path(out_dir)
    layer = layer_of(out_dir)
    snapshot = load_snapshot(layer, out_dir, step)
    weights = dict(snapshot.weights)
    if layer.frozen_from is None:
        return TrainedNetwork(layer, snapshot, weights, None, None)
    if l4_dir is None:
        run = out_dir / "run.json"
        try:
            recorded = json.loads(run.read_text()).get("layer4") if run.exists() else None
        except ValueError as exc:
            raise SnapshotError(f"{run}: unreadable run record ({exc})") from None
        if not recorded:
            raise SnapshotError(f"{out_dir}: layer-2/3 run without a 'layer4' entry in run.json; "
                                "give the layer-4 folder")
        l4_dir = Path(recorded["folder"])
        if not l4_dir.is_absolute() and not l4_dir.exists():
            l4_dir = out_dir.parent / l4_dir
        l4_step = recorded["step"] if l4_step is None else l4_step
    l4 = load_snapshot(layer.frozen_from, l4_dir, l4_step)
    weights.update(l4.weights)
    return TrainedNetwork(layer, snapshot, weights, load_delays(layer, out_dir), l4)
