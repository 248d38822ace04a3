"""Command-line receptive-field view of a layer-4 run (docs/model.md §6).

For a snapshot N it writes, under ``OUT_DIR/ONOFF/`` (or ``--out DIR``):
``V1weight_<N>_ONOFF.png`` (LGN -> E fields), ``InhibW_<N>_ONOFF.png``
(LGN -> I fields) and ``weights_hist_<N>.png`` (LGN -> E and E -> I weights).
Every file is read and checked before any PNG is written, so a malformed
snapshot leaves no partial output behind.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis.receptive_fields import (on_minus_off, patch_size_of, plot_rf_grid,
                                       plot_weight_histograms)
from models.layers import L4_SNAPSHOT_FILES
from runs.files import ensure_writable
from runs.options import OneLineErrorParser, non_negative_int
from runs.snapshots import SnapshotError, read_matrix, snapshot_steps

# (subfolder, file stem, label) of the matrices shown as receptive fields, and of E -> I.
# Any patch size and population size are accepted (a variant of the model).
FIELD_MATRICES = (L4_SNAPSHOT_FILES["LGN_E"] + ("LGN→E",), L4_SNAPSHOT_FILES["LGN_I"] + ("LGN→I",))
E_TO_I = L4_SNAPSHOT_FILES["E_I"] + ("E→I",)


@dataclass
class Snapshot:
    """The matrices found for one patch count N (None where the file is absent)."""
    step: int
    fields: dict          # stem -> (label, weights)
    e_to_i: np.ndarray | None


def _load_snapshot(out_dir: Path, step: int) -> Snapshot:
    fields = {}
    for sub, stem, label in FIELD_MATRICES:
        path = out_dir / sub / f"{stem}_{step}.txt"
        if not path.exists():
            continue
        weights = read_matrix(path)
        try:
            patch_size_of(weights.shape[1])
        except ValueError as err:
            raise SnapshotError(f"{path}: {err}")
        fields[stem] = (label, weights)
    e_to_i = None
    path = out_dir / E_TO_I[0] / f"{E_TO_I[1]}_{step}.txt"
    if path.exists():
        e_to_i = read_matrix(path)
        # E -> I has one column per E cell, i.e. per row of LGN -> E
        if "V1weight" in fields and e_to_i.shape[1] != fields["V1weight"][1].shape[0]:
            raise SnapshotError(f"{path}: {e_to_i.shape[1]} columns, but LGN→E has "
                                f"{fields['V1weight'][1].shape[0]} excitatory cells")
    return Snapshot(step, fields, e_to_i)


def available_steps(out_dir: Path) -> list[int]:
    """Patch counts N with an LGN -> E or LGN -> I snapshot."""
    steps = set()
    for sub, stem, _ in FIELD_MATRICES:
        steps.update(snapshot_steps(out_dir / sub, stem))
    return sorted(steps)


def select_steps(out_dir: Path, all_steps: bool, step: int | None) -> list[int]:
    """The snapshots to show: the latest, all of them, or the one asked for."""
    if not out_dir.is_dir():
        raise SnapshotError(f"{out_dir}: no such output folder")
    steps = available_steps(out_dir)
    if not steps:
        raise SnapshotError(f"{out_dir}: no V1weight_N.txt or InhibW_N.txt snapshots "
                            f"in {out_dir / 'excitatory'}")
    if step is not None:
        if step not in steps:
            raise SnapshotError(f"{out_dir / 'excitatory'}: no V1weight_{step}.txt or "
                                f"InhibW_{step}.txt (available: {steps})")
        return [step]
    return steps if all_steps else [steps[-1]]


def write_snapshot_figures(snapshot: Snapshot, onoff_dir: Path) -> list[Path]:
    """Receptive-field grids and the weight histogram of one snapshot; returns the PNGs.
    The titles say so when the run was trained on the stand-in images."""
    from training.plots import stand_in_note
    note = stand_in_note(onoff_dir.parent)
    written = []
    for stem, (label, weights) in snapshot.fields.items():
        path = onoff_dir / f"{stem}_{snapshot.step}_ONOFF.png"
        p = patch_size_of(weights.shape[1])
        plot_rf_grid(on_minus_off(weights), path,
                     f"{label} receptive fields (ON − OFF), {weights.shape[0]} cells, "
                     f"{p}×{p} px, N = {snapshot.step:,} patches{note}")
        written.append(path)
    histograms = {}
    if "V1weight" in snapshot.fields:
        histograms["LGN→E"] = snapshot.fields["V1weight"][1]
    if snapshot.e_to_i is not None:
        histograms["E→I"] = snapshot.e_to_i
    if histograms:
        path = onoff_dir / f"weights_hist_{snapshot.step}.png"
        plot_weight_histograms(histograms, path, f"Weights at N = {snapshot.step:,} patches{note}")
        written.append(path)
    return written


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="rezeptiv.py",
        description="Plot the ON − OFF receptive fields of the LGN→E and LGN→I weights of a "
                    "layer-4 run and histograms of the LGN→E and E→I weights, into "
                    "OUT_DIR/ONOFF/.")
    parser.add_argument("out_dir", nargs="?", default="output_L4", metavar="OUT_DIR",
                        help="output folder of a layer-4 run (default: output_L4)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true", dest="all_steps",
                       help="plot every snapshot instead of only the latest one")
    which.add_argument("--step", type=non_negative_int, metavar="N",
                       help="plot the snapshot after N patches instead of the latest one")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="folder of the figures (default: OUT_DIR/ONOFF)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 2 on a missing or malformed input
    or a folder that cannot take the figures)."""
    args = build_parser().parse_args(argv)
    out_dir = Path(args.out_dir)
    figures = Path(args.out) if args.out else out_dir / "ONOFF"
    try:
        # read and check everything first: a bad file must not leave some PNGs written
        snapshots = [_load_snapshot(out_dir, step)
                     for step in select_steps(out_dir, args.all_steps, args.step)]
    except SnapshotError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        ensure_writable(figures)
    except OSError as exc:
        print(f"error: {figures}: cannot write the figures there ({exc.strerror or exc}); "
              "choose another folder with --out DIR", file=sys.stderr)
        return 2
    for snapshot in snapshots:
        for path in write_snapshot_figures(snapshot, figures):
            print(path)
    return 0
