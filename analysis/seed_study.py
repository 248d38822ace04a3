"""Seed study of layer 4: which seeds fail early, how often, and why.

    python -m analysis.seed_study run --seeds 1-100 --patches 2000 --images ../shared/data/IMAGES.mat --out study/published
    python -m analysis.seed_study swap --failing 1 19 --healthy 2 3 --images ... --out study/swap
    python -m analysis.seed_study report study/published [...] --out docs/results/seed_study

Every member trains a fresh layer 4 of the published model with the package's trainer
(``training.cli.train``, what ``ann_L4.py`` runs): fast variant, one thread, rate windows
of 10 patches (``training.rate_window``, which only groups the recorded rates) and
snapshots every 200 patches, trained on through a failing health check (the study measures
failing runs). So a member's weights are those of ``ann_L4.py --seed S`` bit for bit
(``tests/test_seed_study.py``). From the run's outputs the member writes its record
(``analysis.seed_study_records.record_of_run``: rates per 10 patches, cells without a field
and mean weights every 200 patches, the initial weights, the input rate of the run's own
patch sequence) as ``OUT/<name>.json``; the run folder (``OUT/runs/<name>``) is removed
afterwards unless ``--keep-runs``, and the member's output goes to ``OUT/logs/<name>.txt``.

Members run on a Dask cluster, as the sweep's do (``experiments.cluster``): a local one
(``--workers``, default one per core) or an existing one (``--scheduler ADDRESS``), each
member in a process of its own. The study is resumable: members that have a record are not
run again, so rerunning the command completes an interrupted study (a member that was
stopped trains again from its start).

``swap`` trains failing seeds with one of the three random streams of a run taken from a
healthy seed: the initial weights, the patch sequence or ANNarchy's Poisson spikes
(``train(..., weight_seed=, patch_seed=)``), to find which one decides a failure.
``report`` aggregates folders of records into ``seed_study.json`` and figures
(``analysis.seed_study_report``).

Two experiments of the published study are not run by this command: the ``package`` ON/OFF
order (the balance before patches 0, 160, ... instead of after them, the order this package
once had) and ``prefix`` (the first k patches of one seed's sequence, then another's). The
trainer follows the published order only (``models.schedule``), and its patch sequence is
one generator whose state a checkpoint restores; a spliced sequence or another order would
be options that exist for no other purpose. Their records in ``docs/results/seed_study``
came from the study's own training loop, which ``git show 26ebadb:analysis/seed_study.py``
gives (``run --order package``, ``prefix``); ``report`` still reads them.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from analysis.seed_study_records import CHECK_EVERY, WINDOW, SeedStudyError, record_of_run, summary_line
from experiments.cluster import add_cluster_options, each_completed, run_command, study_client, worker_slot
from runs.options import UsageError


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "report":
        from analysis.seed_study_report import write_report
        return write_report([Path(f) for f in args.folders], Path(args.out))
    if args.command == "worker":
        run_member(args.name, args.seed, args.weight_seed, args.patch_seed, args.patches, Path(args.out),
                   Path(args.build_dir), images=args.images, keep_run=args.keep_runs)
        return 0
    jobs = seed_jobs(args.seeds) if args.command == "run" else swap_jobs(args.failing, args.healthy)
    return run_members(jobs, args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis.seed_study", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="train many seeds")
    run.add_argument("--seeds", type=_parse_seeds, required=True, metavar="LIST", help="e.g. 1-100 or 1,5,9-12")
    _member_options(run)
    swap = sub.add_parser("swap", help="failing x healthy seeds with one random stream exchanged")
    swap.add_argument("--failing", type=int, nargs="+", required=True, metavar="S")
    swap.add_argument("--healthy", type=int, nargs="+", required=True, metavar="S")
    _member_options(swap)
    report = sub.add_parser("report", help="aggregate folders of records into tables and figures")
    report.add_argument("folders", nargs="+")
    report.add_argument("--out", required=True)
    worker = sub.add_parser("worker", help=argparse.SUPPRESS)      # one member, in its own process
    worker.add_argument("name")
    for option in ("--seed", "--weight-seed", "--patch-seed", "--patches"):
        worker.add_argument(option, type=int, required=True)
    worker.add_argument("--images", default=None)
    worker.add_argument("--keep-runs", action="store_true")
    worker.add_argument("--out", required=True)
    worker.add_argument("--build-dir", required=True)
    return parser


def _member_options(parser) -> None:
    parser.add_argument("--patches", type=_patches, default=2000, metavar="N",
                        help=f"patches per member, a multiple of {WINDOW} (default: 2000)")
    parser.add_argument("--images", default=None, metavar="PATH", help="training images (as ann_L4.py --images)")
    parser.add_argument("--keep-runs", action="store_true", help="keep every member's run folder (OUT/runs/NAME)")
    parser.add_argument("--out", required=True, metavar="DIR", help="the records, OUT/<name>.json")
    add_cluster_options(parser)


def _parse_seeds(text: str) -> list[int]:
    seeds = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        seeds += list(range(int(lo), int(hi or lo) + 1))
    return seeds


def _patches(text: str) -> int:
    """A member's length: whole rate windows, so that every window of its record is complete."""
    n = int(text)
    if n <= 0 or n % WINDOW:
        raise argparse.ArgumentTypeError(f"{text}: a positive multiple of {WINDOW} patches")
    return n


def seed_jobs(seeds) -> list[tuple]:
    """(name, seed, weight seed, patch seed) of every seed's own run."""
    return [(f"seed_{s:03d}", s, s, s) for s in seeds]


def swap_jobs(failing, healthy) -> list[tuple]:
    """(name, seed, weight seed, patch seed) for every failing x healthy pair and every stream
    taken from the healthy seed (``seed`` is the seed of ANNarchy's Poisson spikes)."""
    jobs = []
    for f in failing:
        for h in healthy:
            for tag, streams in {"weights": (f, h, f), "patches": (f, f, h), "spikes": (h, f, f)}.items():
                jobs.append((f"fail{f:03d}_{tag}_from{h:03d}", *streams))
    return jobs


# -- many members, on the cluster -----------------------------------------------------------------
def run_members(jobs, args) -> int:
    """Runs every member that has no record yet (a rerun completes an interrupted study) and
    prints each one's summary as it ends; returns 1 when a member failed."""
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    todo = [job for job in jobs if not (out / f"{job[0]}.json").exists()]
    print(f"seed study: {len(jobs)} members, {len(jobs) - len(todo)} of them with a record already; "
          f"records in {out}", file=sys.stderr, flush=True)
    if not todo:
        return 0
    options = dict(patches=args.patches, out=str(out), keep_runs=args.keep_runs,
                   images=str(Path(args.images).resolve()) if args.images else None,    # members run in the repo
                   build_root=str(Path(args.build_root).resolve()) if args.build_root else None)
    failed = 0
    try:
        with study_client(args.workers, args.scheduler, len(todo)) as (client, where):
            print(f"seed study: {len(todo)} members to run on {where}", file=sys.stderr, flush=True)
            for (name, *_), record, error in each_completed(client, member_task, todo, **options):
                if error is not None:
                    failed += 1
                    print(f"{name}: FAILED ({error})", file=sys.stderr, flush=True)
                else:
                    print(f"{name}: {summary_line(record)}", flush=True)
    except UsageError as exc:                # an unreachable scheduler
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 1 if failed else 0


def member_task(name: str, seed: int, weight_seed: int, patch_seed: int, *, patches: int, out: str,
                images: str | None, keep_runs: bool, build_root: str | None) -> dict:
    """On a Dask worker: the member in a fresh process (ANNarchy loads one network per
    process), compiled in the worker's own folder; returns its record."""
    out = Path(out)
    cmd = [sys.executable, "-m", "analysis.seed_study", "worker", name, "--seed", seed, "--weight-seed",
           weight_seed, "--patch-seed", patch_seed, "--patches", patches, "--out", out,
           "--build-dir", Path(build_root or out / "build") / worker_slot() / "L4"]
    cmd += (["--images", images] if images else []) + (["--keep-runs"] if keep_runs else [])
    run_command(cmd, out / "logs" / f"{name}.txt")
    return json.loads((out / f"{name}.json").read_text())


# -- one member, in its own process ---------------------------------------------------------------
def run_member(name: str, seed: int, weight_seed: int, patch_seed: int, patches: int, out: Path,
               build_dir: Path, *, images=None, keep_run: bool = False) -> dict:
    """Trains one member with the package's trainer and writes its record ``out/<name>.json``
    (written whole or not at all: a record marks a finished member). The study keeps the
    record, not the run folder (11 weight snapshots for 2,000 patches)."""
    from models.parameters import PUBLISHED
    from runs.files import save_json
    from training.cli import train

    model = PUBLISHED.with_overrides({"training.rate_window": WINDOW})
    source = real_images(model, images)
    run_dir = out / "runs" / name
    started = time.perf_counter()
    train(model, "L4", run_dir, seed, patches, save_every=CHECK_EVERY, images=source.path, overwrite=True,
          build_dir=build_dir, progress=False, weight_seed=weight_seed, patch_seed=patch_seed)
    record = record_of_run(run_dir, weight_seed=weight_seed, patch_seed=patch_seed,
                           input_rates=input_rates(model, source.images, patch_seed, patches),
                           wall_s=time.perf_counter() - started)
    save_json(out / f"{name}.json", record)
    if not keep_run:
        shutil.rmtree(run_dir)
    return record


def real_images(model, images):
    """The training images, found as ann_L4.py finds them; refused before any training when
    only the stand-in is there: the study's numbers describe the model on natural scenes."""
    from input.images import resolve_images
    source = resolve_images(images, patch_size=model.input.patch_size, whitening=model.input.whitening,
                            log=lambda message: print(message, file=sys.stderr))
    if source.origin == "stand-in":
        raise SeedStudyError("the training images (IMAGES.mat) are not available; give --images PATH")
    return source


def input_rates(model, images, patch_seed: int, patches: int):
    """The mean input rate (Hz) of every patch of a run: its patch sequence drawn again, which
    the network does not change (``training.cli.patch_sampler``, one draw per patch)."""
    import numpy as np
    from training.cli import patch_sampler
    sampler, chunk = patch_sampler(model, images, patch_seed), 1000     # chunks: 20,000 patches are 100 MB
    return np.concatenate([sampler.sample_many(min(chunk, patches - k)).mean(axis=(1, 2, 3))
                           for k in range(0, patches, chunk)])


if __name__ == "__main__":
    # Through the module's own name, so that Dask sends member_task to the workers by reference.
    from analysis.seed_study import main as _main
    sys.exit(_main())
