"""Command line of ``ann_L4.py`` and ``ann_L2_3.py``.

The options are parsed here *before* ANNarchy is imported: ANNarchy parses
``sys.argv`` itself (and would answer ``--help`` with its own text), so this
parser knows ANNarchy's flags, documents them, and hands ANNarchy only those.
Every input is checked before anything is written to the output folder.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import sys
from pathlib import Path

from models import parameters as P

REPO_ROOT = Path(__file__).resolve().parent.parent


class UsageError(Exception):
    """A problem with the command line or an input file: one line, exit code 2."""


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _non_negative_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


class _OneLineErrorParser(argparse.ArgumentParser):
    """Option errors as one line (``error: --patches: ...``), exit code 2, like input errors."""

    def error(self, message):
        self.exit(2, f"error: {message} (see --help)\n")


def build_parser(layer) -> argparse.ArgumentParser:
    what = "layer 4 (LGN -> E/I)" if layer.name == "L4" else "layer 2/3 on top of the frozen layer 4"
    parser = _OneLineErrorParser(
        prog=f"ann_{layer.name}.py",
        description=f"Train {what} of the spiking V1 model on whitened natural-image patches "
                    "(Teichmann, Larisch & Hamker 2021).",
    )
    run = parser.add_argument_group("run")
    run.add_argument("--patches", type=_positive_int, default=None, metavar="N",
                     help=f"number of patches to present, 125 ms each (default: {P.N_PATCHES})")
    run.add_argument("--seed", type=_non_negative_int, default=None, metavar="S",
                     help="seed of every random generator; the same seed and thread count give "
                          "identical weight files (default: a fresh seed, recorded in run.json)")
    run.add_argument("--images", default=None, metavar="PATH",
                     help="training images: an IMAGES.mat-like file (variable IMAGES, HxWxn) or a folder "
                          "of photographs, which are whitened (default: input/IMAGES.mat, downloaded "
                          "when absent, else a bundled stand-in)")
    run.add_argument("--out", default=layer.default_out, metavar="DIR", help=f"output folder (default: {layer.default_out})")
    run.add_argument("--save-every", type=_positive_int, default=None, metavar="N",
                     help="patches between weight snapshots and checkpoints (default: 1/20 of the run)")
    run.add_argument("--variant", choices=("fast", "literal"), default=None,
                     help="computation of the learning rules: 'fast' (default) or 'literal', the "
                          "specification's equations per synapse and step (reference, ~15x slower); "
                          "both give the same weights")
    run.add_argument("--overwrite", action="store_true",
                     help="replace the outputs of an earlier run in --out")
    run.add_argument("--resume", action="store_true",
                     help="continue the interrupted run in --out from its latest checkpoint, with its "
                          "recorded settings (seed, patches, threads, ...); the result is identical to "
                          "an uninterrupted run")
    run.add_argument("--build-dir", default=None, metavar="DIR",
                     help="ANNarchy compile directory (default: build/<layer>-<variant>-j<threads>)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    if layer.frozen_from is not None:
        l4 = parser.add_argument_group("layer 4 input")
        l4.add_argument("--l4", default=None, metavar="DIR",
                        help="output folder of the layer-4 run whose weights are loaded, frozen "
                             f"(default: {layer.frozen_from.default_out})")
        l4.add_argument("--l4-step", type=_non_negative_int, default=None, metavar="N",
                        help="layer-4 snapshot to load (default: the highest-numbered complete one)")
    ann = parser.add_argument_group("ANNarchy (passed through)")
    ann.add_argument("-j", "--num-threads", type=_positive_int, default=None, metavar="N",
                     help="OpenMP threads of the simulation (default: 1)")
    ann.add_argument("-c", "--clean", action="store_true", help="force recompilation")
    ann.add_argument("-d", "--debug", action="store_true", help="compile with debug symbols and checks")
    ann.add_argument("-v", "--verbose", action="store_true", help="ANNarchy's verbose messages")
    ann.add_argument("--gpu", type=int, nargs="?", const=0, default=None, metavar="ID",
                     help="CUDA backend (literal variant only)")
    ann.add_argument("--profile", action="store_true",
                     help="ANNarchy's per-population/per-projection timings")
    ann.add_argument("--profile-out", default=None, metavar="DIR", help="folder of the profile data")
    return parser


def annarchy_flags(args) -> list[str]:
    """The part of the command line that belongs to ANNarchy (threads are set explicitly)."""
    flags = []
    if args.clean:
        flags.append("--clean")
    if args.debug:
        flags.append("--debug")
    if args.verbose:
        flags.append("--verbose")
    if args.gpu is not None:
        flags += ["--gpu", str(args.gpu)]
    if args.profile_out:
        # ANNarchy writes its profile there at exit but does not create the folder.
        Path(args.profile_out).mkdir(parents=True, exist_ok=True)
        flags += ["--profile-out", args.profile_out]
    return flags


def _existing_run(out_dir: Path, layer) -> list[str]:
    from models import checkpoint
    found = []
    if (out_dir / "run.json").exists():
        found.append("run.json")
    if checkpoint.list_patches(out_dir):
        found.append(f"{checkpoint.FOLDER}/")
    for rel in layer.snapshot_shapes():
        sub, stem = os.path.split(rel)
        if any((out_dir / sub).glob(f"{stem}_*.txt")):
            found.append(rel + "_*.txt")
    return found


def check_output_folder(out_dir: Path, layer, overwrite: bool) -> None:
    found = _existing_run(out_dir, layer)
    if found and not overwrite:
        raise UsageError(f"{out_dir}: already holds a run ({', '.join(found[:3])}); "
                         "use --resume to continue it, --overwrite to replace it or --out to choose "
                         "another folder")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".write_test"
        probe.write_bytes(b"ok")
        probe.unlink()
        if found:   # --overwrite: drop the earlier run's files, or stale steps would survive
            discard_outputs(out_dir, layer)
    except OSError as exc:
        raise UsageError(f"{out_dir}: output folder is not writable ({exc.strerror or exc})")


def discard_outputs(out_dir: Path, layer) -> None:
    """Remove every file a run of *layer* writes into *out_dir* (and its emptied folders)."""
    from models import checkpoint
    from models.io import snapshot_steps
    checkpoint.clear(out_dir)
    for name in ("run.json", "frExc.npy", "frInh.npy"):
        (out_dir / name).unlink(missing_ok=True)
    folders = {checkpoint.folder(out_dir)}
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


def main(layer, argv=None) -> int:
    args = build_parser(layer).parse_args(argv)
    args.command = [sys.argv[0]] + (list(argv) if argv is not None else sys.argv[1:])
    try:
        return _run(layer, args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: the snapshots and the checkpoint written so far are complete; "
              "continue with --resume", file=sys.stderr)
        return 130


def _resolve_settings(layer, args, out_dir: Path) -> dict | None:
    """Fill the options left at their defaults; with --resume, from the run's run.json.

    Returns the recorded run.json of the run to resume (None for a new run).
    """
    defaults = {"patches": P.N_PATCHES, "variant": "fast", "num_threads": 1}
    if layer.frozen_from is not None:
        defaults["l4"] = layer.frozen_from.default_out
    if not args.resume:
        for name, value in defaults.items():
            if getattr(args, name) is None:
                setattr(args, name, value)
        return None

    import json
    if args.overwrite:
        raise UsageError("--resume and --overwrite exclude each other")
    run_file = out_dir / "run.json"
    if not run_file.is_file():
        raise UsageError(f"{run_file}: not found, so there is no run to resume in {out_dir}")
    try:
        recorded = json.loads(run_file.read_text())
        if recorded.get("layer") != layer.name:
            raise UsageError(f"{run_file}: a run of layer {recorded.get('layer')}, not {layer.name}")
        if recorded.get("status") == "complete":
            raise UsageError(f"{out_dir}: the run is complete ({recorded['patches']} patches); nothing to resume")
        wanted = {"patches": recorded["patches"], "seed": recorded["seed"], "save_every": recorded["save_every"],
                  "variant": recorded["variant"], "num_threads": recorded["threads"]}
        if layer.frozen_from is not None:
            wanted.update(l4=recorded["layer4"]["folder"], l4_step=recorded["layer4"]["step"])
        images = recorded["images"]
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{run_file}: unreadable run record ({exc})")
    changed = _model_changes(layer, recorded)
    if changed:
        raise UsageError(f"{run_file}: the model was edited since this run started ({', '.join(changed[:4])} "
                         "differ); a checkpoint continues only the same model: restore the values or start "
                         "again with --overwrite")
    for name, value in wanted.items():
        given = getattr(args, name)
        if given is not None and given != value and not (name == "l4" and Path(given) == Path(value)):
            option = "--" + name.replace("_", "-") if name != "num_threads" else "-j"
            raise UsageError(f"{option} {given}: the run to resume has {value} (leave the option out; "
                             "checkpoints continue only with the same settings)")
        setattr(args, name, value)
    if args.images is None and images.get("path") is not None:
        args.images = images["path"]
    args.recorded_images_sha256 = images.get("sha256")
    return recorded


def _model_description(layer) -> dict:
    """Constants, populations and projections of the model as run.json records them."""
    import dataclasses
    constants = {k: v for k, v in vars(P).items() if k.isupper() and isinstance(v, (int, float, str))}
    return {
        "constants": constants,
        "projections": [dataclasses.asdict(s) | {"rule_type": type(s.rule).__name__ if s.rule else "static"}
                        for s in layer.projections],
        "populations": dict(layer.populations),
    }


def _model_changes(layer, recorded: dict) -> list[str]:
    """Names of the constants / projections / populations that differ from *recorded*."""
    import json
    from models.io import _json_default
    now = json.loads(json.dumps(_model_description(layer), default=_json_default))
    changed = []
    for key in ("constants", "populations"):
        old, new = recorded.get(key, {}), now[key]
        changed += [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    old_proj = {p.get("name"): p for p in recorded.get("projections", [])}
    new_proj = {p["name"]: p for p in now["projections"]}
    changed += [k for k in sorted(set(old_proj) | set(new_proj)) if old_proj.get(k) != new_proj.get(k)]
    return changed


def _run(layer, args) -> int:
    from input.images import InputDataError, resolve_images
    from input.patches import PatchSampler
    import numpy as np

    out_dir = Path(args.out)
    recorded = _resolve_settings(layer, args, out_dir)
    if args.gpu is not None and args.variant == "fast":
        raise UsageError("--gpu: the fast variant runs on CPUs only; add --variant literal for CUDA")
    seed = args.seed if args.seed is not None else int(np.random.SeedSequence().entropy % (2**31))

    # 1. inputs, all checked before any output exists
    try:
        source = resolve_images(args.images, log=lambda msg: print(msg, file=sys.stderr),
                                download=recorded is None)
    except InputDataError as exc:
        raise UsageError(str(exc))
    if recorded is not None and source.sha256 != args.recorded_images_sha256:
        raise UsageError(f"{source.path or 'stand-in images'}: not the images the interrupted run trained on "
                         "(content hash differs from run.json)")
    frozen = None
    if layer.frozen_from is not None:
        from models.layer_io import load_frozen_weights
        frozen = load_frozen_weights(layer.frozen_from, Path(args.l4), args.l4_step)
    resume_state = None
    if recorded is None:
        check_output_folder(out_dir, layer, args.overwrite)
    else:
        from models import checkpoint
        from models.io import remove_stale_temporaries
        remove_stale_temporaries(out_dir)     # left by a kill in the middle of a write
        try:
            resume_state = checkpoint.load_latest(out_dir)
        except checkpoint.CheckpointError as exc:
            raise UsageError(f"{exc}; start again with --overwrite")

    # 2. network (ANNarchy is imported only now, with a clean argv)
    from models.annarchy_env import prepare_environment
    prepare_environment(annarchy_flags(args))
    from models.network import V1Network
    from models.training import Interrupted, Schedule, Trainer

    build_dir = Path(args.build_dir) if args.build_dir else \
        REPO_ROOT / "build" / f"{layer.name}-{args.variant}-j{args.num_threads}"
    network = V1Network(layer.populations, layer.projections, variant=args.variant, seed=seed,
                        num_threads=args.num_threads, build_dir=build_dir,
                        annarchy_flags=annarchy_flags(args), profile=args.profile)
    network.compile()
    if frozen is not None:
        for name, matrix in frozen["weights"].items():
            network.set_weights(name, matrix)

    sampler = PatchSampler(source.images, rng=np.random.default_rng([seed, 0]))
    schedule = Schedule.for_run(args.patches, args.save_every, layer.normalize_every)
    identity = {"layer": layer.name, "seed": seed, "threads": args.num_threads, "variant": args.variant,
                "patches": schedule.n_patches, "save_every": schedule.save_every, "images_sha256": source.sha256}
    trainer = Trainer(layer, network, sampler, schedule, out_dir, progress=not args.no_progress,
                      checkpoint_meta=identity)

    from models import io
    now = lambda: _dt.datetime.now().astimezone().isoformat(timespec="seconds")  # noqa: E731
    if recorded is None:
        metadata = run_metadata(layer, args, seed, source, frozen, schedule, now())
    else:
        from models.checkpoint import CheckpointError
        try:
            trainer.resume_from(*resume_state)
        except (CheckpointError, KeyError, ValueError) as exc:
            raise UsageError(f"{out_dir}: cannot resume: {exc}")
        metadata = dict(recorded)
        metadata["resumed"] = list(recorded.get("resumed", [])) + [
            {"at_patch": trainer.patch, "time": now(), "command": args.command}]
        print(f"resuming {out_dir} at patch {trainer.patch} of {schedule.n_patches}", file=sys.stderr)

    # 3. training; an OS error (full disk, ...) keeps what a resume needs and nothing half-written
    try:
        io.save_json(out_dir / "run.json", dict(metadata, status="running"))
        timing = trainer.run()
    except Interrupted as stop:
        metadata.update(status="interrupted", interrupted_at_patch=stop.patch)
        io.save_json(out_dir / "run.json", metadata)
        print(f"\n{stop}: checkpoint {stop.path} written; continue with: "
              f"{' '.join(args.command[:1])} --out {out_dir} --resume", file=sys.stderr)
        return 128 + stop.signum
    except OSError as exc:
        from models import checkpoint
        where = exc.filename or out_dir
        if checkpoint.list_patches(out_dir):
            last = checkpoint.list_patches(out_dir)[-1]
            print(f"error: {where}: {exc.strerror or exc}; the checkpoint at patch {last} is complete: "
                  f"fix the problem and continue with --resume", file=sys.stderr)
        else:
            discard_outputs(out_dir, layer)
            print(f"error: {where}: {exc.strerror or exc}; nothing was kept", file=sys.stderr)
        return 1
    metadata.update(timing, status="complete", finished=now())
    metadata.pop("interrupted_at_patch", None)
    io.save_json(out_dir / "run.json", metadata)
    if layer.name == "L4":
        from analysis.rates import plot_rates
        plot_rates(out_dir)
    print(f"{layer.name}: {schedule.n_patches} patches, model time {timing['model_time_s']:.1f} s, "
          f"wall time {timing['wall_time_s']:.1f} s, model/wall {timing['model_per_wall']:.2f}; "
          f"outputs in {out_dir}")
    return 0


def run_metadata(layer, args, seed, source, frozen, schedule, started) -> dict:
    import numpy as np
    import ANNarchy
    import scipy
    return {
        "layer": layer.name,
        "command": args.command,
        "patches": schedule.n_patches,
        "save_every": schedule.save_every,
        "normalize_every": schedule.normalize_every,
        "snapshot_steps": schedule.snapshot_steps(),
        "seed": seed,
        "threads": args.num_threads,
        "variant": args.variant,
        "out": str(args.out),
        "images": {"origin": source.origin, "path": source.path, "sha256": source.sha256,
                   "shape": list(source.images.shape), "warning": source.warning},
        "layer4": None if frozen is None else {"folder": frozen["folder"], "step": frozen["step"]},
        **_model_description(layer),
        "versions": {"python": platform.python_version(), "ANNarchy": ANNarchy.__release__,
                     "numpy": np.__version__, "scipy": scipy.__version__},
        "host": platform.node(),
        "started": started,
    }
