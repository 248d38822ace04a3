"""Command line of ``ann_L4.py`` and ``ann_L2_3.py``.

The options are parsed here *before* ANNarchy is imported: ANNarchy parses
``sys.argv`` itself (and would answer ``--help`` with its own text), so this
parser knows ANNarchy's flags, documents them, and hands ANNarchy only those.
Every input is checked before anything is written to the output folder.
The run itself: ``training.trainer``; its record: ``training.record``.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from models import parameters as P
from training import checkpoint, files, record, run_folder
from training.folder_lock import FolderBusy, FolderLock, FolderNotWritable
from training.options import OneLineErrorParser, UsageError, non_negative_int, positive_int, seed_int
from training.snapshots import SnapshotError, complete_steps, load_snapshot

REPO_ROOT = Path(__file__).resolve().parent.parent


def build_parser(layer) -> argparse.ArgumentParser:
    what = "layer 4 (LGN -> E/I)" if layer.name == "L4" else "layer 2/3 on top of the frozen layer 4"
    parser = OneLineErrorParser(
        prog=f"ann_{layer.name}.py",
        description=f"Train {what} of the spiking V1 model on whitened natural-image patches "
                    "(Teichmann, Larisch & Hamker 2021).",
    )
    run = parser.add_argument_group("run")
    run.add_argument("--patches", type=positive_int, default=None, metavar="N",
                     help=f"number of patches to present, 125 ms each (default: {P.N_PATCHES})")
    run.add_argument("--seed", type=seed_int, default=None, metavar="S",
                     help="seed of every random generator; the same seed and thread count give "
                          "identical weight files (default: a fresh seed, recorded in run.json)")
    run.add_argument("--images", default=None, metavar="PATH",
                     help="training images: an IMAGES.mat-like file (variable IMAGES, HxWxn) or a folder "
                          "of photographs, which are whitened (default: input/IMAGES.mat, downloaded "
                          "when absent, else a bundled stand-in)")
    run.add_argument("--out", default=layer.default_out, metavar="DIR", help=f"output folder (default: {layer.default_out})")
    run.add_argument("--save-every", type=positive_int, default=None, metavar="N",
                     help="patches between weight snapshots and checkpoints (default: 1/20 of the run)")
    run.add_argument("--variant", choices=("fast", "literal"), default=None,
                     help="computation of the learning rules: 'fast' (default) or 'literal', the "
                          "specification's equations per synapse and step (reference; 35-65x slower on one thread, "
                          "README, Speed); "
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
    run.add_argument("--tensorboard", default=None, metavar="DIR",
                     help="also write TensorBoard events into DIR: rates at every rate window, weight "
                          "statistics and receptive fields at every snapshot, the run record at the end "
                          "(view with: tensorboard --logdir DIR). The same figures are PNGs in the output "
                          "folder (V1Layer/, V2Layer/) in any case")
    if layer.frozen_from is not None:
        l4 = parser.add_argument_group("layer 4 input")
        l4.add_argument("--l4", default=None, metavar="DIR",
                        help="output folder of the layer-4 run whose weights are loaded, frozen "
                             f"(default: {layer.frozen_from.default_out})")
        l4.add_argument("--l4-step", type=non_negative_int, default=None, metavar="N",
                        help="layer-4 snapshot to load (default: the highest-numbered complete one)")
    ann = parser.add_argument_group("ANNarchy (passed through)")
    ann.add_argument("-j", "--num-threads", type=positive_int, default=None, metavar="N",
                     help="OpenMP threads of the simulation (default: 1). The fast variant runs on one "
                          "thread whatever N (threads cannot pay at this network size: see --force-threads), "
                          "the literal one on at most as many threads as there are cores; the run says so "
                          "and records it in run.json")
    ann.add_argument("--force-threads", action="store_true",
                     help="use exactly -j N threads, even where they make the run slower")
    ann.add_argument("-c", "--clean", action="store_true", help="force recompilation")
    ann.add_argument("-d", "--debug", action="store_true", help="compile with debug symbols and checks")
    ann.add_argument("-v", "--verbose", action="store_true", help="ANNarchy's verbose messages")
    ann.add_argument("--gpu", type=int, nargs="?", const=0, default=None, metavar="ID",
                     help="ANNarchy's CUDA backend: not supported by this package (refused)")
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
    if args.profile_out:
        # ANNarchy writes its profile there at exit but does not create the folder.
        Path(args.profile_out).mkdir(parents=True, exist_ok=True)
        flags += ["--profile-out", args.profile_out]
    return flags


def typed_interpreter(executable: str = sys.executable, cwd: str | None = None, path: str | None = None) -> str:
    """The running Python as a user can type it here: its name when PATH finds this very
    interpreter (e.g. an activated environment), else its path relative to *cwd* when it
    lies below it (``.venv/bin/python``), else its absolute path."""
    exe = Path(os.path.abspath(executable))
    found = shutil.which(exe.name, path=path)
    if found is not None and Path(os.path.abspath(found)) == exe:
        return exe.name
    relative = os.path.relpath(exe, cwd or os.getcwd())
    return relative if not relative.startswith("..") else str(exe)


def resume_command(args) -> str:
    """The command line that continues the run in ``args.out``, ready to paste."""
    return shlex.join([typed_interpreter(), args.command[0], "--out", str(args.out), "--resume"])


@dataclass
class _Progress:
    """How far a run got, for what an interruption leaves behind."""
    created_folder: bool = False      # a new run made its output folder ready
    training: bool = False            # the training loop started writing


def main(layer, argv=None) -> int:
    args = build_parser(layer).parse_args(argv)
    args.command = [sys.argv[0]] + (list(argv) if argv is not None else sys.argv[1:])
    progress = _Progress()
    try:
        try:
            # the folder is this process's until it ends: a second run into it is refused
            lock = FolderLock.acquire(Path(args.out), "run")
        except (FolderBusy, FolderNotWritable) as exc:
            raise UsageError(str(exc))
        try:
            return _run(layer, args, progress)
        except KeyboardInterrupt:              # said while the folder is still ours
            print("\n" + _interrupted(layer, args, progress), file=sys.stderr)
            return 130
        finally:
            lock.release(remove_created=True)       # a folder made for a refused run goes again
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\n" + _interrupted(layer, args, progress), file=sys.stderr)
        return 130


def _interrupted(layer, args, progress: _Progress) -> str:
    """Ctrl-C outside the training loop's own handling (while compiling, or a second Ctrl-C):
    say what is on disk; a new run without a checkpoint leaves nothing behind."""
    out_dir = Path(args.out)
    latest = checkpoint.list_patches(out_dir) if out_dir.is_dir() else []
    if latest and (progress.training or args.resume):
        state = "the checkpoint" if progress.training else f"{out_dir} is unchanged; its checkpoint"
        return f"interrupted: {state} at patch {latest[-1]} is complete; continue with: {resume_command(args)}"
    if progress.created_folder:
        run_folder.discard(out_dir, layer)
        try:
            out_dir.rmdir()                   # only if empty
        except OSError:
            pass
    when = "before training began" if not progress.training else "before the first checkpoint"
    return f"interrupted {when}: nothing was written; start the run again with the same command"


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

    if args.overwrite:
        raise UsageError("--resume and --overwrite exclude each other")
    try:
        recorded = record.read(out_dir / "run.json", layer)
    except record.RecordError as exc:
        raise UsageError(str(exc))
    wanted = {option: recorded[key] for option, key in record.RESUMED_SETTINGS.items()}
    if layer.frozen_from is not None:
        wanted.update(l4=recorded["layer4"]["folder"], l4_step=recorded["layer4"]["step"])
    images = recorded["images"]
    wanted["num_threads"] = recorded.get("threads_requested", recorded["threads"])
    args.force_threads = recorded.get("force_threads", False)
    args.resumed_threads = recorded["threads"]              # a checkpoint continues on its own threads
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


def _check_layer4_finished(layer4, folder: Path) -> None:
    """Refuse to train layer 2/3 on a layer-4 run that has not finished (still running, or
    stopped) unless a snapshot is named with --l4-step."""
    try:
        recorded = json.loads((folder / "run.json").read_text())
    except (OSError, ValueError):
        return                      # no record (a copied or hand-made folder): the snapshot checks suffice
    status = recorded.get("status") if isinstance(recorded, dict) else None
    if status in (None, "complete"):
        return
    steps = complete_steps(folder, layer4)
    latest = f"latest complete snapshot at patch {steps[-1]:,}" if steps else "no complete snapshot"
    planned = recorded.get("patches")
    latest += f" of {planned:,}" if isinstance(planned, int) else ""
    raise UsageError(f"{folder}: the layer-4 run has not finished (status {status}, {latest}): let it finish "
                     f"(ann_L4.py --out {folder} --resume continues a stopped one), or give --l4-step N to train "
                     "on one of its snapshots anyway")


def thread_policy(variant: str, requested: int, force: bool, cores: int | None = None,
                  varying_delays: bool = False) -> tuple[int, str | None]:
    """(threads to run, a note for the user or None) for ``-j requested``.

    ANNarchy's OpenMP kernel synchronises all threads about 25 times per 1-ms step
    (~0.45 µs per barrier here). The fast variant does 12-21 µs of work per step, so a
    second thread saves at most half of that and pays ~11 µs of barriers, and more threads
    pay more: it runs on one thread (measured in the README's speed table). The literal
    variant does close to a millisecond of work per step and gains from threads, up to the
    number of cores: with more threads than cores, the spinning barriers make it many times
    slower. Except with non-uniform delays (layer 2/3): there ANNarchy's OpenMP code
    synchronises the threads once per postsynaptic row and locks every queued spike, which
    makes two threads slower than one (1.36 against 0.92 model s per wall s), so the literal
    layer 2/3 runs on one thread too. The result depends on the thread count (one random
    generator per thread), so the count that runs is recorded and a resumed run keeps it.
    """
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if force or requested == 1:
        return requested, None
    if variant == "fast":
        return 1, (f"-j {requested}: the fast variant runs on one thread: with 12-21 µs of work per step, "
                   "the ~25 thread synchronisations per step cost more than more cores save (README, Speed); "
                   "--force-threads runs it on the requested threads anyway")
    if varying_delays:
        return 1, (f"-j {requested}: the literal variant of this layer runs on one thread: ANNarchy's threaded "
                   "transmission of non-uniform delays synchronises once per row and is slower on more threads "
                   "(README, Speed); --force-threads runs it on the requested threads anyway")
    if requested > cores:
        return cores, (f"-j {requested}: {cores} cores available; running on {cores} threads "
                       "(more threads than cores make the run many times slower; --force-threads overrides)")
    return requested, None


def _report_sections(network, patches: int, folder) -> None:
    """--profile: the fast kernels' own section timers, in ms per patch (thread 0)."""
    sections = network.section_times()
    if not sections or patches <= 0:
        return
    print("fast-kernel sections (ms per patch, thread 0):", file=sys.stderr)
    table = {}
    for proj, times in sections.items():
        table[proj] = {name: 1000.0 * seconds / patches for name, seconds in times.items()}
        print(f"  {proj:7s} " + ", ".join(f"{name} {ms:.3f}" for name, ms in table[proj].items()), file=sys.stderr)
    files.save_json(Path(folder) / "profile_sections.json", {"patches": patches, "ms_per_patch": table})


def _run(layer, args, progress: _Progress) -> int:
    from input.images import InputDataError, resolve_images
    import numpy as np

    out_dir = Path(args.out)
    recorded = _resolve_settings(layer, args, out_dir)
    if args.gpu is not None:
        raise UsageError("--gpu: the CUDA backend is not supported (the Poisson input and the fast rules "
                         "have no CUDA code); the model runs on CPUs")
    seed = args.seed if args.seed is not None else int(np.random.SeedSequence().entropy % (2**31))

    # 1. inputs, all checked before any output exists
    try:
        source = resolve_images(args.images, patch_size=P.PATCH_SIZE, whitening=P.WHITENING, log=lambda msg: print(msg, file=sys.stderr),
                                download=recorded is None)
    except InputDataError as exc:
        raise UsageError(str(exc))
    if recorded is not None and source.sha256 != args.recorded_images_sha256:
        raise UsageError(f"{source.path or 'stand-in images'}: not the images the interrupted run trained on "
                         "(content hash differs from run.json)")
    frozen = None
    if layer.frozen_from is not None:
        if recorded is None and args.l4_step is None:
            _check_layer4_finished(layer.frozen_from, Path(args.l4))
        try:
            frozen = load_snapshot(layer.frozen_from, Path(args.l4), args.l4_step)
        except SnapshotError as exc:
            raise UsageError(str(exc))
    if args.tensorboard:
        from training.monitor import TensorBoardMissing, check_tensorboard
        try:
            check_tensorboard()
        except TensorBoardMissing as exc:
            raise UsageError(str(exc))
    resume_state = None
    if recorded is None:
        try:
            note = run_folder.prepare(out_dir, layer, args.overwrite)
        except run_folder.OutputFolderError as exc:
            raise UsageError(str(exc))
        progress.created_folder = True
        if note:
            print(note, file=sys.stderr)
    else:
        files.remove_stale_temporaries(out_dir)     # left by a kill in the middle of a write
        try:
            resume_state = checkpoint.load_latest(out_dir)
        except checkpoint.CheckpointError as exc:
            if run_folder.never_started(out_dir, layer):
                raise UsageError(f"{out_dir}: the run stopped before its first checkpoint, so there is nothing "
                                 "to resume; start it again without --resume (the folder is reused)")
            raise UsageError(f"{exc}; start again with --overwrite")

    # 2. network (ANNarchy is imported only now, and sees only its own flags)
    from training.annarchy_env import hand_over_argv
    hand_over_argv(annarchy_flags(args))
    from input.patches import PatchSampler
    from models.network import build_network
    from models.schedule import Schedule
    from training.trainer import Interrupted, Trainer

    if recorded is None:
        threads, note = thread_policy(args.variant, args.num_threads, args.force_threads,
                                      varying_delays=layer.has_varying_delays)
        if note:
            print(note, file=sys.stderr)
    else:
        threads = args.resumed_threads
    build_dir = Path(args.build_dir) if args.build_dir else \
        REPO_ROOT / "build" / f"{layer.name}-{args.variant}-j{threads}"
    network = build_network(layer, build_dir=build_dir, variant=args.variant, seed=seed,
                            num_threads=threads, weights=frozen.weights if frozen else None,
                            annarchy_flags=annarchy_flags(args), profile=args.profile)
    sampler = PatchSampler(source.images, patch_size=P.PATCH_SIZE, max_rate=P.MAX_RATE,
                           flip_probability=P.FLIP_PROBABILITY, rng=np.random.default_rng([seed, 0]))
    schedule = Schedule.for_run(args.patches, args.save_every, layer.normalize_every)
    identity = {"layer": layer.name, "seed": seed, "threads": threads, "variant": args.variant,
                "patches": schedule.n_patches, "save_every": schedule.save_every, "images_sha256": source.sha256}
    trainer = Trainer(layer, network, sampler, schedule, out_dir, progress=not args.no_progress,
                      checkpoint_meta=identity)

    def record_health(report):            # the early-failure check (training.health), in run.json at once
        metadata["health"] = report.record()
        files.save_json(out_dir / "run.json", dict(metadata, status="running"))
    trainer.on_health = record_health

    now = lambda: _dt.datetime.now().astimezone().isoformat(timespec="seconds")  # noqa: E731
    if recorded is None:
        metadata = record.new_record(
            layer, command=args.command, seed=seed, schedule=schedule, variant=args.variant,
            threads=threads, requested_threads=args.num_threads, force_threads=args.force_threads,
            out=args.out, source=source,
            layer4=None if frozen is None else {"folder": str(frozen.folder), "step": frozen.step},
            started=now())
    else:
        try:
            trainer.resume_from(*resume_state)
        except (checkpoint.CheckpointError, KeyError, ValueError) as exc:
            raise UsageError(f"{out_dir}: cannot resume: {exc}")
        metadata = dict(recorded)
        metadata["resumed"] = list(recorded.get("resumed", [])) + [
            {"at_patch": trainer.patch, "time": now(), "command": args.command}]
        print(f"resuming {out_dir} at patch {trainer.patch} of {schedule.n_patches}", file=sys.stderr)
    from training.monitor import RunMonitor
    trainer.monitor = RunMonitor(layer, out_dir, tensorboard=args.tensorboard, start_patch=trainer.patch)

    # 3. training; an OS error (full disk, ...) keeps what a resume needs and nothing half-written
    try:
        progress.training = True
        files.save_json(out_dir / "run.json", dict(metadata, status="running"))
        timing = trainer.run()
    except Interrupted as stop:
        trainer.monitor.close()
        metadata.update(status="interrupted", interrupted_at_patch=stop.patch)
        files.save_json(out_dir / "run.json", metadata)
        print(f"\n{stop}: checkpoint {stop.path} written; continue with: {resume_command(args)}",
              file=sys.stderr)
        return 128 + stop.signum
    except OSError as exc:
        where = exc.filename or out_dir
        if checkpoint.list_patches(out_dir):
            last = checkpoint.list_patches(out_dir)[-1]
            print(f"error: {where}: {exc.strerror or exc}; the checkpoint at patch {last} is complete: "
                  f"fix the problem and continue with: {resume_command(args)}", file=sys.stderr)
        else:
            run_folder.discard(out_dir, layer)
            print(f"error: {where}: {exc.strerror or exc}; nothing was kept", file=sys.stderr)
        return 1
    metadata.update(timing, status="complete", finished=now())
    metadata.pop("interrupted_at_patch", None)
    files.save_json(out_dir / "run.json", metadata)
    trainer.monitor.finish(metadata)
    print(f"{layer.name}: {schedule.n_patches} patches, model time {timing['model_time_s']:.1f} s, "
          f"wall time {timing['wall_time_s']:.1f} s, model/wall {timing['model_per_wall']:.2f}; "
          f"outputs in {out_dir}")
    if args.profile:
        _report_sections(network, trainer.patch - (recorded or {}).get("resumed", [{}])[-1].get("at_patch", 0)
                         if recorded else schedule.n_patches, args.profile_out or out_dir)
    if metadata.get("health", {}).get("warning"):
        print(f"{out_dir}: {metadata['health']['warning']}", file=sys.stderr)   # again, after the bar
    return 0
