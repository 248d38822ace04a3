"""Command line of ``ann_L4.py`` and ``ann_L2_3.py``.

The options are parsed here *before* ANNarchy is imported: ANNarchy parses
``sys.argv`` itself (and would answer ``--help`` with its own text), so this
parser knows ANNarchy's flags, documents them, and hands ANNarchy only those.
Every input is checked before anything is written to the output folder.
The model is a value (``models.parameters.Model``): ``--model NAME`` (``models.variants``),
``--params FILE.toml`` and ``--set section.key=value`` make it, ``--resume`` rebuilds it
from ``run.json``. ``train(model, layer, out, seed, patches, ...)`` is the run itself, for
notebooks as for the scripts; the loop: ``training.trainer``; the record: ``training.record``.
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

from models.layers import layers
from models.parameters import PUBLISHED, Model, ModelError, parse_set, read_params
from models.variants import VARIANTS, variant
from runs import files
from training import checkpoint, health, record, run_folder
from runs.folder_lock import FolderBusy, FolderLock, FolderNotWritable
from runs.options import OneLineErrorParser, UsageError, non_negative_int, positive_int, seed_int
from runs.snapshots import SnapshotError, complete_steps, load_snapshot

REPO_ROOT = Path(__file__).resolve().parent.parent


def build_parser(layer_name: str) -> argparse.ArgumentParser:
    layer = layers(PUBLISHED)[layer_name]
    what = "layer 4 (LGN -> E/I)" if layer.name == "L4" else "layer 2/3 on top of the frozen layer 4"
    parser = OneLineErrorParser(
        prog=f"ann_{layer.name}.py",
        description=f"Train {what} of the spiking V1 model on whitened natural-image patches "
                    "(Teichmann, Larisch & Hamker 2021).",
    )
    run = parser.add_argument_group("run")
    run.add_argument("--patches", type=positive_int, default=None, metavar="N",
                     help="number of patches to present (default: the model's training.n_patches, "
                          f"{PUBLISHED.training.n_patches} of {PUBLISHED.input.presentation_ms:g} ms in the "
                          "published model)")
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
    if layer.name == "L4":
        run.add_argument("--stop-on-failure", action="store_true",
                         help="stop with exit code 3 when the health check at patch 2,000 finds the run failed "
                              "early (about 4%% of seeds), instead of warning and training on; for unattended "
                              "runs and seed sweeps")
    run.add_argument("--build-dir", default=None, metavar="DIR",
                     help="ANNarchy compile directory (default: build/<layer>-<variant>-j<threads>-<model "
                          "hash>)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument("--tensorboard", default=None, metavar="DIR",
                     help="also write TensorBoard events into DIR: rates at every rate window, weight "
                          "statistics and receptive fields at every snapshot, the run record at the end "
                          "(view with: tensorboard --logdir DIR). The same figures are PNGs in the output "
                          "folder (V1Layer/, V2Layer/) in any case")
    model = parser.add_argument_group(
        "model", "The published model (docs/model.md) unless changed here; the model is recorded in run.json "
                 "and --resume rebuilds it from there. Order: --model, then --params, then --set.")
    model.add_argument("--model", default=None, choices=tuple(VARIANTS), metavar="NAME",
                       help=f"a named variant of models/variants.py: {', '.join(VARIANTS)} (default: published; "
                            "layer 2/3: the model of its layer-4 run)")
    model.add_argument("--params", default=None, metavar="FILE",
                       help="a TOML file of overrides, e.g. '[adex]' then 'gL = 35'")
    model.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override one number, e.g. --set adex.gL=35 --set sizes.n_exc=400 "
                            "--set l4.LGN_E.wMax=4 (repeatable; checked, one-line error if invalid)")
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


def main(layer_name: str, argv=None) -> int:
    args = build_parser(layer_name).parse_args(argv)
    args.command = [sys.argv[0]] + (list(argv) if argv is not None else sys.argv[1:])
    progress = _Progress()
    try:
        try:
            # the folder is this process's until it ends: a second run into it is refused
            lock = FolderLock.acquire(Path(args.out), "run")
        except (FolderBusy, FolderNotWritable) as exc:
            raise UsageError(str(exc))
        try:
            return _run(layer_name, args, progress)
        except KeyboardInterrupt:              # said while the folder is still ours
            print("\n" + _interrupted(layer_name, args, progress), file=sys.stderr)
            return 130
        finally:
            lock.release(remove_created=True)       # a folder made for a refused run goes again
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\n" + _interrupted(layer_name, args, progress), file=sys.stderr)
        return 130


def _interrupted(layer_name: str, args, progress: _Progress) -> str:
    """Ctrl-C outside the training loop's own handling (while compiling, or a second Ctrl-C):
    say what is on disk; a new run without a checkpoint leaves nothing behind."""
    out_dir = Path(args.out)
    latest = checkpoint.list_patches(out_dir) if out_dir.is_dir() else []
    if latest and (progress.training or args.resume):
        state = "the checkpoint" if progress.training else f"{out_dir} is unchanged; its checkpoint"
        return f"interrupted: {state} at patch {latest[-1]} is complete; continue with: {resume_command(args)}"
    if progress.created_folder:
        run_folder.discard(out_dir, layers(PUBLISHED)[layer_name])
        try:
            out_dir.rmdir()                   # only if empty
        except OSError:
            pass
    when = "before training began" if not progress.training else "before the first checkpoint"
    return f"interrupted {when}: nothing was written; start the run again with the same command"




def _model_options(args) -> dict:
    """The overrides of --params and --set, in that order, as dotted keys."""
    overrides = dict(read_params(args.params)) if args.params else {}
    overrides.update(parse_set(args.overrides))
    return overrides


def resolve_model(layer_name: str, args, recorded: dict | None) -> Model:
    """The model of this run: with --resume the recorded one (options that contradict it are
    refused), else --model (layer 2/3: by default its layer-4 run's model), --params, --set."""
    try:
        overrides = _model_options(args)
        if recorded is not None:
            value = recorded.get("model", {}).get("value")
            if value is None:
                raise UsageError(f"{args.out}/run.json: the run records no model value (an older version); "
                                 "it cannot be resumed by this one: start again with --overwrite")
            model = Model.from_record(value)
            if model.hash() != recorded["model"].get("hash"):
                raise UsageError(f"{args.out}/run.json: the model was edited since the run started (its recorded "
                                 f"value no longer matches its hash {recorded['model'].get('hash')}); a checkpoint "
                                 "continues only the same model")
            wanted = (variant(args.model) if args.model else model).with_overrides(overrides)
            if wanted != model:
                key, (given, had) = next(iter(wanted.differences(model).items()))
                raise UsageError(f"{key} = {given}: the run to resume has {key} = {had} (leave the model options "
                                 "out; a checkpoint continues only the same model)")
            return model
        if args.model:
            base = variant(args.model)
        elif layer_name == "L2_3":
            from runs.snapshots import SnapshotError, model_of_run
            try:
                base = model_of_run(Path(args.l4))
            except SnapshotError as exc:
                raise UsageError(str(exc))
        else:
            base = PUBLISHED
        return base.with_overrides(overrides)
    except ModelError as exc:
        raise UsageError(str(exc))


def _resolve_settings(layer_name: str, args, out_dir: Path) -> dict | None:
    """Fill the options left at their defaults (the number of patches: the model's, see
    ``_run``); with --resume, from the run's run.json.

    Returns the recorded run.json of the run to resume (None for a new run).
    """
    defaults = {"variant": "fast", "num_threads": 1}
    if layer_name == "L2_3":
        defaults["l4"] = "output_L4"
    if not args.resume:
        for name, value in defaults.items():
            if getattr(args, name) is None:
                setattr(args, name, value)
        return None

    if args.overwrite:
        raise UsageError("--resume and --overwrite exclude each other")
    try:
        recorded = record.read(out_dir / "run.json", layer_name)
    except record.RecordError as exc:
        raise UsageError(str(exc))
    wanted = {option: recorded[key] for option, key in record.RESUMED_SETTINGS.items()}
    if layer_name == "L2_3":
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


class TrainingFailed(Exception):
    """The run stopped on an error after its inputs were accepted (already reported)."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


def _run(layer_name: str, args, progress: _Progress) -> int:
    """The command line's run: settings (and with --resume the record), the model, then ``train``."""
    out_dir = Path(args.out)
    recorded = _resolve_settings(layer_name, args, out_dir)
    model = resolve_model(layer_name, args, recorded)
    if args.patches is None:
        args.patches = model.training.n_patches
    try:
        result = train(model, layer_name, out_dir, args.seed, args.patches, save_every=args.save_every,
                       variant=args.variant, threads=args.num_threads, force_threads=args.force_threads,
                       images=args.images, l4=getattr(args, "l4", None), l4_step=getattr(args, "l4_step", None),
                       overwrite=args.overwrite, resume=recorded, build_dir=args.build_dir,
                       progress=not args.no_progress, tensorboard=args.tensorboard, gpu=args.gpu,
                       annarchy_flags=annarchy_flags(args), profile=args.profile, profile_out=args.profile_out,
                       command=args.command, overrides=_model_options(args), model_name=args.model,
                       recorded_threads=getattr(args, "resumed_threads", None),
                       recorded_images_sha256=getattr(args, "recorded_images_sha256", None),
                       progress_state=progress, continue_command=resume_command(args),
                       stop_on_failure=getattr(args, "stop_on_failure", False))
    except TrainingFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    if result.get("status") == "failed early":
        return health.EXIT_FAILED_EARLY
    return 128 + result["stopped_by_signal"] if result.get("status") == "interrupted" else 0


def patch_sampler(model: Model, images, seed: int):
    """The patch sequence of a run with *seed* (``input.PatchSampler`` on its own generator):
    the same for every run of that seed, whatever the network does."""
    import numpy as np
    from input.patches import PatchSampler
    return PatchSampler(images, patch_size=model.input.patch_size, max_rate=model.input.max_rate,
                        flip_probability=model.input.flip_probability, rng=np.random.default_rng([seed, 0]))


def train(model: Model, layer: str, out, seed: int | None = None, patches: int | None = None, *,
          save_every: int | None = None, variant: str = "fast", threads: int = 1, force_threads: bool = False,
          images=None, l4=None, l4_step: int | None = None, overwrite: bool = False, resume: dict | None = None,
          build_dir=None, progress: bool = True, tensorboard=None, gpu=None, annarchy_flags=(),
          profile: bool = False, profile_out=None, command=None, overrides: dict | None = None,
          model_name: str | None = None, recorded_threads: int | None = None,
          recorded_images_sha256: str | None = None, progress_state=None, continue_command: str | None = None,
          stop_on_failure: bool = False, weight_seed: int | None = None, patch_seed: int | None = None) -> dict:
    """Train *layer* ("L4" or "L2_3") of *model* into *out*; returns the run record (``run.json``).

    The same steps as the scripts, which call it: check every input, build the network of
    the model, present the patches (snapshots, ON/OFF balance, health check, checkpoints),
    record everything. ``seed`` None draws one (recorded); ``patches`` None: the model's
    ``training.n_patches``; ``l4``: the layer-4 run under layer 2/3. A bad input raises
    ``UsageError`` (one line) before anything is written; an error while training raises
    ``TrainingFailed``. *resume* is the record of the run to continue (``--resume``).
    *stop_on_failure*: a failing health check ends the run there (status ``failed early``).
    *weight_seed*, *patch_seed*: the initial weights and the patch sequence from other seeds
    than ANNarchy's Poisson spikes (default: all three from *seed*); with them, the run is
    the one that *seed* gives, one random stream taken from another seed (recorded in
    run.json as ``streams``; what the seed study's ``swap`` does).
    """
    from input.images import InputDataError, resolve_images
    import numpy as np

    spec = layers(model)[layer]
    out_dir = Path(out)
    progress_state = progress_state if progress_state is not None else _Progress()
    continue_command = continue_command or f"{sys.executable} ann_{layer}.py --out {out_dir} --resume"
    patches = model.training.n_patches if patches is None else int(patches)
    if gpu is not None:
        raise UsageError("--gpu: the CUDA backend is not supported (the Poisson input and the fast rules "
                         "have no CUDA code); the model runs on CPUs")
    seed = seed if seed is not None else int(np.random.SeedSequence().entropy % (2**31))
    streams = {"spikes": seed, "weights": seed if weight_seed is None else int(weight_seed),
               "patches": seed if patch_seed is None else int(patch_seed)}
    patch_size = model.input.patch_size

    # 1. inputs, all checked before any output exists
    try:
        source = resolve_images(images, patch_size=patch_size, whitening=model.input.whitening,
                                log=lambda msg: print(msg, file=sys.stderr), download=resume is None)
    except InputDataError as exc:
        raise UsageError(str(exc))
    if resume is not None and source.sha256 != recorded_images_sha256:
        raise UsageError(f"{source.path or 'stand-in images'}: not the images the interrupted run trained on "
                         "(content hash differs from run.json)")
    frozen = None
    if spec.frozen_from is not None:
        if resume is None and l4_step is None:
            _check_layer4_finished(spec.frozen_from, Path(l4 if l4 is not None else "output_L4"))
        try:
            frozen = load_snapshot(spec.frozen_from, Path(l4 if l4 is not None else "output_L4"), l4_step)
        except SnapshotError as exc:
            raise UsageError(str(exc))
    if tensorboard:
        from training.monitor import TensorBoardMissing, check_tensorboard
        try:
            check_tensorboard()
        except TensorBoardMissing as exc:
            raise UsageError(str(exc))
    resume_state = None
    if resume is None:
        try:
            note = run_folder.prepare(out_dir, spec, overwrite)
        except run_folder.OutputFolderError as exc:
            raise UsageError(str(exc))
        progress_state.created_folder = True
        if note:
            print(note, file=sys.stderr)
    else:
        files.remove_stale_temporaries(out_dir)     # left by a kill in the middle of a write
        try:
            resume_state = checkpoint.load_latest(out_dir)
        except checkpoint.CheckpointError as exc:
            if run_folder.never_started(out_dir, spec):
                raise UsageError(f"{out_dir}: the run stopped before its first checkpoint, so there is nothing "
                                 "to resume; start it again without --resume (the folder is reused)")
            raise UsageError(f"{exc}; start again with --overwrite")

    # 2. network (ANNarchy is imported only now, and sees only its own flags)
    from simulator.annarchy_env import hand_over_argv
    hand_over_argv(list(annarchy_flags))
    from simulator.network import build_network, draw_initial_state
    from models.schedule import Schedule
    from training.trainer import Interrupted, Trainer

    if resume is None:
        run_threads, note = thread_policy(variant, threads, force_threads, varying_delays=spec.has_varying_delays)
        if note:
            print(note, file=sys.stderr)
    else:
        run_threads = recorded_threads
    build_dir = Path(build_dir) if build_dir else \
        REPO_ROOT / "build" / f"{spec.name}-{variant}-j{run_threads}-{model.hash()}"
    weights = dict(frozen.weights) if frozen else {}
    if streams["weights"] != seed:
        # the layer's drawn initial weights of another seed (constant ones are the same for every seed)
        drawn, _ = draw_initial_state(model, spec.projections, streams["weights"])
        weights.update({p.name: drawn[p.name] for p in spec.plastic if p.w_init[0] != p.w_init[1]})
    network = build_network(spec, build_dir=build_dir, variant=variant, seed=seed,
                            num_threads=run_threads, weights=weights or None,
                            annarchy_flags=annarchy_flags, profile=profile)
    sampler = patch_sampler(model, source.images, streams["patches"])
    schedule = Schedule.for_run(patches, save_every, spec.normalize_every, model.training.n_snapshots)
    identity = {"layer": spec.name, "seed": seed, "threads": run_threads, "variant": variant,
                "patches": schedule.n_patches, "save_every": schedule.save_every, "images_sha256": source.sha256}
    if streams != {"spikes": seed, "weights": seed, "patches": seed}:
        identity["streams"] = streams
    trainer = Trainer(spec, network, sampler, schedule, out_dir, progress=progress, checkpoint_meta=identity)

    def record_health(report):            # the early-failure check (training.health), in run.json at once
        metadata["health"] = report.record()
        files.save_json(out_dir / "run.json", dict(metadata, status="running"))
    trainer.on_health = record_health
    trainer.stop_on_failure = stop_on_failure

    now = lambda: _dt.datetime.now().astimezone().isoformat(timespec="seconds")  # noqa: E731
    if resume is None:
        metadata = record.new_record(
            spec, command=command, seed=seed, schedule=schedule, variant=variant,
            threads=run_threads, requested_threads=threads, force_threads=force_threads,
            out=str(out), source=source,
            layer4=None if frozen is None else {"folder": str(frozen.folder), "step": frozen.step},
            started=now(), overrides=overrides, model_name=model_name)
        if "streams" in identity:
            metadata["streams"] = streams
    else:
        try:
            trainer.resume_from(*resume_state)
        except (checkpoint.CheckpointError, KeyError, ValueError) as exc:
            raise UsageError(f"{out_dir}: cannot resume: {exc}")
        metadata = dict(resume)
        metadata["resumed"] = list(resume.get("resumed", [])) + [
            {"at_patch": trainer.patch, "time": now(), "command": command}]
        print(f"resuming {out_dir} at patch {trainer.patch} of {schedule.n_patches}", file=sys.stderr)
    from training.monitor import RunMonitor
    trainer.monitor = RunMonitor(spec, out_dir, tensorboard=tensorboard, start_patch=trainer.patch)

    # 3. training; an OS error (full disk, ...) keeps what a resume needs and nothing half-written
    first_patch = trainer.patch
    try:
        progress_state.training = True
        files.save_json(out_dir / "run.json", dict(metadata, status="running"))
        timing = trainer.run()
    except Interrupted as stop:
        trainer.monitor.close()
        metadata.update(status="interrupted", interrupted_at_patch=stop.patch)
        files.save_json(out_dir / "run.json", metadata)
        print(f"\n{stop}: checkpoint {stop.path} written; continue with: {continue_command}", file=sys.stderr)
        return dict(metadata, stopped_by_signal=stop.signum)
    except health.FailedEarly as stop:
        trainer.monitor.close()
        metadata.update(status="failed early", stopped_at_patch=stop.report.patch)
        files.save_json(out_dir / "run.json", metadata)
        print(f"{stop}; start again with another --seed (exit code {health.EXIT_FAILED_EARLY})", file=sys.stderr)
        return metadata
    except OSError as exc:
        where = exc.filename or out_dir
        if checkpoint.list_patches(out_dir):
            last = checkpoint.list_patches(out_dir)[-1]
            raise TrainingFailed(f"{where}: {exc.strerror or exc}; the checkpoint at patch {last} is complete: "
                                 f"fix the problem and continue with: {continue_command}") from None
        run_folder.discard(out_dir, spec)
        raise TrainingFailed(f"{where}: {exc.strerror or exc}; nothing was kept") from None
    metadata.update(timing, status="complete", finished=now())
    metadata.pop("interrupted_at_patch", None)
    files.save_json(out_dir / "run.json", metadata)
    trainer.monitor.finish(metadata)
    print(f"{spec.name}: {schedule.n_patches} patches, model time {timing['model_time_s']:.1f} s, "
          f"wall time {timing['wall_time_s']:.1f} s, model/wall {timing['model_per_wall']:.2f}; "
          f"outputs in {out_dir}")
    if profile:
        _report_sections(network, trainer.patch - first_patch, profile_out or out_dir)
    if metadata.get("health", {}).get("warning"):
        print(f"{out_dir}: {metadata['health']['warning']}", file=sys.stderr)   # again, after the bar
    if source.origin == "stand-in":
        print(f"{out_dir}: {source.warning}", file=sys.stderr)                  # again: not the real model
    return metadata
