"""Seed study of layer 4: which seeds fail early, how often, and why.

    python -m analysis.seed_study run --seeds 1-64 --patches 2000 --out output_seed_study/published
    python -m analysis.seed_study run --seeds 1-64 --order package --out output_seed_study/package
    python -m analysis.seed_study swap --failing 1 19 --healthy 2 3 --out output_seed_study/swap
    python -m analysis.seed_study report output_seed_study/published [...] --out docs/results/seed_study

Each seed trains a fresh layer 4 (fast variant, one thread, the package's own network
and patch sampler, the shared IMAGES.mat) exactly as ``ann_L4.py --seed S`` does, and
records, per window of 10 patches, the mean E and I rates, the fraction of E and I
cells that spiked and the mean input rate; every 200 patches, the fraction of E and I
cells whose LGN weights all stay below wMax/2 ("not grown") and the mean weight of
every projection; and the initial weights. The recording does not act on the
simulation (spike monitors only): a seed's weights equal those of ``ann_L4.py``.

``--order package`` balances ON/OFF before patches 0, 160, ... (this package before
it followed the published order) instead of after them. ``swap`` trains with the
three random streams of a run taken from different seeds: the initial weights, the
patch sequence and ANNarchy's Poisson spikes, to find which one decides a failure.
``report`` aggregates runs into ``seed_study.json`` and figures (``analysis.seed_study_report``;
the records and the numbers taken from them: ``analysis.seed_study_records``).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from analysis.seed_study_records import CHECK_EVERY, FIELD_PROJECTIONS, WINDOW, summary_line, weights_sha256

REPO_ROOT = Path(__file__).resolve().parent.parent
ORDERS = ("published", "package")


# -- one run (in a worker process) --------------------------------------------------------------
def run_one(seed: int, patches: int, out_json: Path, build_dir: Path, *, order: str = "published",
            weight_seed: int | None = None, patch_seed: int | None = None, prefix: tuple | None = None,
            images=None) -> dict:
    """Train layer 4 for *patches* patches and record the study's measures (see the module doc).

    *seed* seeds ANNarchy (Poisson spikes); *weight_seed* and *patch_seed* (default: *seed*)
    the initial weights and the patch sequence, as ``ann_L4.py --seed`` does for all three.
    *prefix* = (other_seed, k): the first k patches are those of *other_seed*'s sequence,
    the rest continue *patch_seed*'s own sequence from patch k on.
    """
    from simulator.annarchy_env import hand_over_argv
    hand_over_argv([])
    from input.images import resolve_images
    from input.patches import PatchSampler
    from models import criteria
    from models.layers import layer4
    from models.parameters import PUBLISHED
    from simulator.network import build_network, draw_initial_state
    from models.schedule import Schedule, balance_on_off

    weight_seed = seed if weight_seed is None else weight_seed
    patch_seed = seed if patch_seed is None else patch_seed
    t0 = time.perf_counter()
    LAYER4 = layer4(PUBLISHED)
    inp = PUBLISHED.input
    source = resolve_images(images, patch_size=inp.patch_size, whitening=inp.whitening, download=False, log=lambda m: None)
    network = build_network(LAYER4, build_dir=build_dir, seed=seed)
    if weight_seed != seed:
        # The initial weights of another seed (the same draw as building with it). I->E and
        # I->I start at a constant 0, whatever the seed.
        weights, _ = draw_initial_state(PUBLISHED, LAYER4.projections, weight_seed)
        for name in ("LGN_E", "LGN_I", "E_I"):
            network.set_weights(name, weights[name])
    def sampler_of(s):
        return PatchSampler(source.images, patch_size=inp.patch_size, max_rate=inp.max_rate,
                            flip_probability=inp.flip_probability, rng=np.random.default_rng([s, 0]))
    sampler = sampler_of(patch_seed)
    if prefix is not None:
        prefix_sampler, prefix_k = sampler_of(prefix[0]), int(prefix[1])
        sampler.sample_many(prefix_k)            # the own sequence continues at patch k
    schedule = Schedule.for_run(patches, None, LAYER4.normalize_every)
    if order == "published":
        balances_before = schedule.balances_before
    elif order == "package":
        balances_before = lambda q: q % LAYER4.normalize_every == 0  # noqa: E731
    else:
        raise ValueError(f"unknown order {order!r}")
    monitors = {pop: network.net.monitor(network.pops[pop], ["spike"]) for pop in ("E", "I")}
    w_max = {pop: LAYER4.spec(name).rule.wMax for pop, name in FIELD_PROJECTIONS.items()}

    def weight_row(patch):
        row = {"patch": patch}
        for pop, name in FIELD_PROJECTIONS.items():
            w = network.weights(name)
            row[f"not_grown_{pop}"] = float(np.mean(~criteria.has_field(PUBLISHED, w, w_max[pop])))
        for spec in LAYER4.plastic:
            row[f"mean_{spec.name}"] = float(network.weights(spec.name).mean())
        return row

    initial = {}
    for name in ("LGN_E", "LGN_I", "E_I"):
        w = network.weights(name)
        initial[name] = {"mean": float(w.mean()), "row_sum_mean": float(w.sum(1).mean()),
                         "row_sum_min": float(w.sum(1).min()), "row_sum_max": float(w.sum(1).max())}
    record = dict(seed=seed, weight_seed=weight_seed, patch_seed=patch_seed, order=order, patches=patches,
                  prefix=list(prefix) if prefix else None,
                  window=WINDOW, check_every=CHECK_EVERY, initial=initial, rate_E=[], rate_I=[],
                  active_E=[], active_I=[], input_rate=[], checks=[weight_row(0)])
    patch = 0
    while patch < patches:
        start, end = patch, min(patches, patch + WINDOW)
        input_sum = 0.0
        while patch < end:                    # the window, split where the balance is due
            if balances_before(patch):
                for name in LAYER4.onoff_balanced:
                    network.set_weights(name, balance_on_off(network.weights(name), inp.patch_size))
            stop = next((q for q in range(patch + 1, end) if balances_before(q)), end)
            if prefix is not None and patch < prefix_k:
                stop = min(stop, prefix_k)
                rates = prefix_sampler.sample_many(stop - patch)
            else:
                rates = sampler.sample_many(stop - patch)
            input_sum += float(rates.mean(axis=(1, 2, 3)).sum())
            network.present_many(rates)
            patch = stop
        record["input_rate"].append(input_sum / (end - start))
        seconds = (end - start) * inp.presentation_ms / 1000.0
        for pop in ("E", "I"):
            counts = np.zeros(network.pops[pop].size)
            for rank, times in monitors[pop].get("spike").items():
                counts[rank] += len(times)
            record[f"rate_{pop}"].append(float(counts.mean() / seconds))
            record[f"active_{pop}"].append(float(np.mean(counts > 0)))
        if patch % CHECK_EVERY == 0 or patch == patches:
            record["checks"].append(weight_row(patch))
    record["final_weights_sha256"] = {spec.name: weights_sha256(network.weights(spec.name)) for spec in LAYER4.plastic}
    record["wall_s"] = time.perf_counter() - t0
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(record))
    return record


# -- many runs ----------------------------------------------------------------------------------
def _parse_seeds(text: str) -> list[int]:
    seeds = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        seeds += list(range(int(lo), int(hi or lo) + 1))
    return seeds


def _launch(jobs, workers: int, out: Path) -> None:
    """Run (name, worker arguments) jobs in fresh processes, *workers* at a time; one build per slot."""
    out.mkdir(parents=True, exist_ok=True)
    todo = [(name, args) for name, args in jobs if not (out / f"{name}.json").exists()]
    slots = [REPO_ROOT / "build" / f"seed-study-{k}" for k in range(workers)]

    def work(slot_index):
        while todo:
            try:
                name, args = todo.pop(0)
            except IndexError:
                return
            cmd = [sys.executable, "-m", "analysis.seed_study", "worker", *map(str, args),
                   "--json", str(out / f"{name}.json"), "--build-dir", str(slots[slot_index])]
            proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True)
            if proc.returncode:
                print(f"{name}: failed\n{proc.stderr[-2000:]}", file=sys.stderr, flush=True)
            else:
                print(f"{name}: {summary_line(json.loads((out / f'{name}.json').read_text()))}", flush=True)

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(work, range(workers)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.seed_study", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="train many seeds")
    run.add_argument("--seeds", default="1-64", help="e.g. 1-64 or 1,5,9-12")
    run.add_argument("--patches", type=int, default=2000)
    run.add_argument("--order", choices=ORDERS, default="published")
    run.add_argument("--workers", type=int, default=2)
    run.add_argument("--out", required=True)
    swap = sub.add_parser("swap", help="failing x healthy seeds with one random stream exchanged")
    swap.add_argument("--failing", type=int, nargs="+", required=True)
    swap.add_argument("--healthy", type=int, nargs="+", required=True)
    swap.add_argument("--patches", type=int, default=2000)
    swap.add_argument("--workers", type=int, default=2)
    swap.add_argument("--out", required=True)
    prefix = sub.add_parser("prefix", help="the first K patches of a failing seed's sequence from a healthy one "
                                           "(and the converse)")
    prefix.add_argument("--failing", type=int, nargs="+", required=True)
    prefix.add_argument("--healthy", type=int, nargs="+", required=True)
    prefix.add_argument("--k", type=int, nargs="+", default=[10, 50, 100, 200, 500, 1000])
    prefix.add_argument("--patches", type=int, default=2000)
    prefix.add_argument("--workers", type=int, default=2)
    prefix.add_argument("--out", required=True)
    worker = sub.add_parser("worker", help=argparse.SUPPRESS)
    worker.add_argument("seed", type=int)
    worker.add_argument("patches", type=int)
    worker.add_argument("--order", default="published")
    worker.add_argument("--weight-seed", type=int, default=None)
    worker.add_argument("--patch-seed", type=int, default=None)
    worker.add_argument("--prefix", type=int, nargs=2, default=None, metavar=("SEED", "K"))
    worker.add_argument("--json", required=True)
    worker.add_argument("--build-dir", required=True)
    report = sub.add_parser("report", help="aggregate runs into tables and figures")
    report.add_argument("folders", nargs="+")
    report.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    if args.command == "worker":
        run_one(args.seed, args.patches, Path(args.json), Path(args.build_dir), order=args.order,
                weight_seed=args.weight_seed, patch_seed=args.patch_seed, prefix=args.prefix)
        return 0
    if args.command == "run":
        jobs = [(f"seed_{s:03d}", [s, args.patches, "--order", args.order]) for s in _parse_seeds(args.seeds)]
        _launch(jobs, args.workers, Path(args.out))
        return 0
    if args.command == "swap":
        jobs = []
        for f in args.failing:
            for h in args.healthy:
                for tag, (seed, wseed, pseed) in {"weights": (f, h, f), "patches": (f, f, h),
                                                   "spikes": (h, f, f)}.items():
                    jobs.append((f"fail{f:03d}_{tag}_from{h:03d}",
                                 [seed, args.patches, "--weight-seed", wseed, "--patch-seed", pseed]))
        _launch(jobs, args.workers, Path(args.out))
        return 0
    if args.command == "prefix":
        jobs = []
        for f in args.failing:
            for h in args.healthy:
                for k in args.k:
                    # failing seed, first k patches from the healthy seed; and the converse
                    jobs.append((f"fail{f:03d}_first{k}_from{h:03d}", [f, args.patches, "--prefix", h, k]))
                    jobs.append((f"healthy{h:03d}_first{k}_from{f:03d}", [h, args.patches, "--prefix", f, k]))
        _launch(jobs, args.workers, Path(args.out))
        return 0
    from analysis.seed_study_report import write_report
    return write_report([Path(f) for f in args.folders], Path(args.out))


if __name__ == "__main__":
    sys.exit(main())
