#!/usr/bin/env python3
"""Speed of the object-recognition evaluation (evaluate.py), before and after a change, and the
projected time of a full data set.

    python benchmarks/bench_evaluation.py --l4 RUN [--l23 RUN] [--before CHECKOUT] [--images 20] [--rounds 3]

Runs ``evaluate.py --dataset digits`` on the first N images of each split with the published
10 repeats (trained and untrained network), with 1 and 2 workers, in this checkout and, with
--before, in another one (e.g. ``git archive <commit> | tar -x -C /tmp/before``), the two
alternating round by round so that both see the same load on a shared machine. Every checkout
compiles first into a build folder of its own, kept for its runs (a warm cache).

Printed per run: model seconds per second of one worker once running (the simulation alone),
model seconds per wall second of the whole run (start of the workers, loading the compiled
network, simulation), and the seconds of the run that were not simulation (start-up). Then
the ratios now/before of each round, and the projected time of one network (its trained or
its untrained snapshot) on Fashion-MNIST: 70,000 images x 4 crops x 10 repeats x 125 ms =
350,000 s of model time, on 2 workers at the measured per-worker rate, plus the start-up.
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FULL_MODEL_S = 70_000 * 4 * 10 * 0.125      # Fashion-MNIST (or MNIST), one network


def run(checkout: Path, args, workers: int, images: int, repeats: int, out: Path, build: Path) -> dict:
    cmd = [sys.executable, "evaluate.py", "--l4", str(Path(args.l4).resolve()),
           *(["--l23", str(Path(args.l23).resolve())] if args.l23 else []),
           "--limit", str(images), "--repeats", str(repeats), "--workers", str(workers), "--out", str(out),
           "--build-root", str(build), "--no-progress"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=checkout, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode:
        sys.exit(f"{checkout}: {' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    timing = json.loads((out / "digits" / "metrics.json").read_text())["timing"]
    busy_s = timing["model_time_s"] / timing["model_per_worker_second"] / workers    # per worker
    return {"per_worker": timing["model_per_worker_second"], "whole": timing["model_time_s"] / wall,
            "startup": wall - busy_s, "model_s": timing["model_time_s"], "wall": wall}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--l4", required=True, help="trained layer-4 run")
    parser.add_argument("--l23", default=None, help="trained layer-2/3 run (then layers 4 + 2/3 are evaluated)")
    parser.add_argument("--before", default=None, help="another checkout, measured alternately with this one")
    parser.add_argument("--images", type=int, default=20, help="images per split (default 20)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    parser.add_argument("-w", "--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--build-root", default=None,
                        help="keep the compiled networks here (build-before/, build-now/) for later runs "
                             "(default: a temporary folder)")
    args = parser.parse_args(argv)
    checkouts = ([("before", Path(args.before).resolve())] if args.before else []) + [("now", ROOT)]
    results = {(name, w): [] for name, _ in checkouts for w in args.workers}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        builds = Path(args.build_root).resolve() if args.build_root else tmp
        for name, checkout in checkouts:        # compile (every worker of the old engine compiles its own)
            t0 = time.perf_counter()
            run(checkout, args, max(args.workers), 4, 1, tmp / f"warm-{name}", builds / f"build-{name}")
            print(f"{name}: first run with compiling ({max(args.workers)} workers): {time.perf_counter() - t0:.0f} s",
                  flush=True)
        for r in range(args.rounds):
            for w in args.workers:
                for name, checkout in checkouts:
                    res = run(checkout, args, w, args.images, 10, tmp / f"r{r}-{name}-w{w}", builds / f"build-{name}")
                    results[(name, w)].append(res)
                    print(f"round {r + 1}, {name:6s}, {w} worker(s): {res['model_s']:,.0f} model s in "
                          f"{res['wall']:.1f} s: {res['per_worker']:6.1f} model s per worker s once running, "
                          f"{res['whole']:6.1f} per wall s whole run, start-up {res['startup']:.1f} s", flush=True)
    print("\nmedian over rounds (model s per second)" + (" and ratio now/before of each round" if args.before else ""))
    for w in args.workers:
        for name, _ in checkouts:
            rs = results[(name, w)]
            print(f"  {name:6s} {w} worker(s): once running {statistics.median(r['per_worker'] for r in rs):7.1f} per "
                  f"worker; whole run {statistics.median(r['whole'] for r in rs):7.1f}; start-up "
                  f"{statistics.median(r['startup'] for r in rs):5.1f} s")
        if args.before:
            ratios = [n["per_worker"] / b["per_worker"] for n, b in zip(results[("now", w)], results[("before", w)])]
            whole = [n["whole"] / b["whole"] for n, b in zip(results[("now", w)], results[("before", w)])]
            print(f"  ratio  {w} worker(s): once running " + ", ".join(f"{x:.2f}" for x in ratios)
                  + "; whole run " + ", ".join(f"{x:.2f}" for x in whole))
    w = 2 if 2 in args.workers else max(args.workers)
    print(f"\nprojected, one network, Fashion-MNIST ({FULL_MODEL_S:,.0f} model s) on {w} workers:")
    for name, _ in checkouts:
        rs = results[(name, w)]
        rate, startup = statistics.median(r["per_worker"] for r in rs), statistics.median(r["startup"] for r in rs)
        hours = (startup + FULL_MODEL_S / (w * rate)) / 3600
        print(f"  {name:6s}: {hours:5.2f} h ({rate:.0f} model s per worker s, start-up {startup:.0f} s); "
              f"trained + untrained: {2 * hours:.2f} h")


if __name__ == "__main__":
    main()
