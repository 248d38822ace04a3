"""Checkpoints: the complete state of a training run between two patches, on disk.

A checkpoint holds everything the simulation will read again, so that a run
continued from it is bit-identical to the run that never stopped: the simulation
state of the network (``simulator.state``: every neuron and synapse variable, the
spikes in flight, the fast rules' bookkeeping, ANNarchy's random generators), and
the trainer's own (patch counter, the patch sampler's generator, the firing-rate
windows so far; ``training.trainer``).

Files: ``<out>/checkpoints/checkpoint_<N>.npz`` (N = patches presented),
written atomically (temporary file, fsync, rename, fsync of the folder).
Only the newest complete checkpoint is kept.
"""
from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import numpy as np

from runs.files import atomic_write

FORMAT_VERSION = 1
FOLDER = "checkpoints"
_NAME = re.compile(r"^checkpoint_(\d+)\.npz$")


class CheckpointError(Exception):
    """A checkpoint that cannot be used: one line naming the file and the problem."""



def folder(out_dir) -> Path:
    return Path(out_dir) / FOLDER


def path_for(out_dir, patch: int) -> Path:
    return folder(out_dir) / f"checkpoint_{patch}.npz"


def save(out_dir, patch: int, arrays: dict, meta: dict) -> Path:
    """Write checkpoint *patch* atomically, then drop the older ones."""
    path = path_for(out_dir, patch)
    payload = dict(arrays)
    payload["meta"] = np.array(json.dumps(dict(meta, format=FORMAT_VERSION, patch=patch), sort_keys=True))
    atomic_write(path, lambda f: np.savez(f, **payload))
    for older in list_patches(out_dir):
        if older != patch:
            path_for(out_dir, older).unlink(missing_ok=True)
    return path


def list_patches(out_dir) -> list[int]:
    found = folder(out_dir)
    if not found.is_dir():
        return []
    return sorted(int(m.group(1)) for p in found.iterdir() if (m := _NAME.match(p.name)))


def load(path) -> tuple[dict, dict]:
    """(arrays, meta) of a checkpoint file; CheckpointError if it is unreadable."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        meta = json.loads(str(arrays.pop("meta")))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        raise CheckpointError(f"{path}: not a readable checkpoint ({exc})")
    if meta.get("format") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format {meta.get('format')}, expected {FORMAT_VERSION}")
    return arrays, meta


def load_latest(out_dir) -> tuple[dict, dict]:
    patches = list_patches(out_dir)
    if not patches:
        raise CheckpointError(f"{folder(out_dir)}: no checkpoint to resume from")
    return load(path_for(out_dir, patches[-1]))


def clear(out_dir) -> None:
    for patch in list_patches(out_dir):
        path_for(out_dir, patch).unlink()
    for leftover in folder(out_dir).glob(".checkpoint_*.tmp") if folder(out_dir).is_dir() else []:
        leftover.unlink()
