"""The output folder of a training run: finding an earlier run, checking it is
writable, and removing exactly the files a run writes (and what was made of them).

The folder is owned by one process for the whole run (``runs.folder_lock``)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from training import checkpoint
from runs.snapshots import snapshot_steps

RUN_FILES = ("run.json", "frExc.npy", "frInh.npy", "weight_stats.json", "profile_sections.json")
PLOT_FOLDERS = ("V1Layer", "V2Layer")
# made from a run's snapshots by rezeptiv.py and analyze.py: they describe that run only
DERIVED_FOLDERS = ("ONOFF", "analysis")


class OutputFolderError(Exception):
    """The output folder cannot take this run (one line)."""


def existing_run(out_dir: Path, layer) -> list[str]:
    """What in *out_dir* belongs to an earlier run of *layer* (empty: nothing)."""
    found = []
    if (out_dir / "run.json").exists():
        found.append("run.json")
    if checkpoint.list_patches(out_dir):
        found.append(f"{checkpoint.FOLDER}/")
    for rel in layer.snapshot_shapes():
        sub, stem = os.path.split(rel)
        if snapshot_steps(out_dir / sub, stem):
            found.append(rel + "_*.txt")
    return found


def never_started(out_dir: Path, layer) -> bool:
    """True when *out_dir* holds only the record of a run stopped before its first
    checkpoint: no checkpoint and no snapshot, so nothing can be resumed or lost."""
    return existing_run(out_dir, layer) == ["run.json"]


def prepare(out_dir: Path, layer, overwrite: bool) -> str | None:
    """Make *out_dir* ready for a new run: refuse an earlier run unless *overwrite*,
    check that it is writable, then (with *overwrite*) remove the earlier run's files.

    A run stopped before its first checkpoint is replaced without *overwrite*; the
    returned note says so (None otherwise)."""
    found = existing_run(out_dir, layer)
    note = None
    if found and never_started(out_dir, layer):
        note = (f"{out_dir}: the earlier run there stopped before its first checkpoint (nothing to resume "
                "or lose); starting it again")
    elif found and not overwrite:
        raise OutputFolderError(f"{out_dir}: already holds a run ({', '.join(found[:3])}); "
                                "use --resume to continue it, --overwrite to replace it or --out to choose "
                                "another folder")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".write_test"
        probe.write_bytes(b"ok")
        probe.unlink()
        if found:   # --overwrite: drop the earlier run's files, or stale steps would survive
            discard(out_dir, layer)
            for name in DERIVED_FOLDERS:      # figures and reports of the replaced run
                if (out_dir / name).is_dir():
                    shutil.rmtree(out_dir / name)
    except OSError as exc:
        raise OutputFolderError(f"{out_dir}: output folder is not writable ({exc.strerror or exc})")
    return note


def discard(out_dir: Path, layer, extra_files=()) -> None:
    """Remove every file a run of *layer* writes into *out_dir* (and its emptied folders)."""
    checkpoint.clear(out_dir)
    for name in RUN_FILES + tuple(extra_files):
        (out_dir / name).unlink(missing_ok=True)
    folders = {checkpoint.folder(out_dir)} | {out_dir / name for name in PLOT_FOLDERS}
    for name in PLOT_FOLDERS:
        for png in ("rates.png", "weights.png"):
            (out_dir / name / png).unlink(missing_ok=True)
    for rel in layer.snapshot_shapes():
        sub, stem = os.path.split(rel)
        folders.add(out_dir / sub)
        for step in snapshot_steps(out_dir / sub, stem):
            (out_dir / sub / f"{stem}_{step}.txt").unlink()
    for sub, filename in layer.delay_files.values():
        folders.add(out_dir / sub)
        (out_dir / sub / filename).unlink(missing_ok=True)
    for folder in folders:
        try:
            folder.rmdir()          # only if empty
        except OSError:
            pass
