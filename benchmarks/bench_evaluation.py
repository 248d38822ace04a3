#!/usr/bin/env python3
"""Speed of the object-recognition evaluation (evaluate.py) and the projected time of the
large data sets.

    python benchmarks/bench_evaluation.py --l4 output_L4 [--l23 output_L2_3] [--images 100] [-w 1 2]

Runs ``evaluate.py --dataset digits`` on the first N images of each split with the published
10 repeats, once per worker count (the workers compile once, into a folder kept between the
runs; the first run's compile is reported apart), and prints model seconds per wall second
of the simulation with that many workers. The projection for a full data set counts
images x 4 crops x 10 repeats x 125 ms for the trained network, and twice that with the
untrained baseline that evaluate.py also simulates.
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FULL = {"MNIST (70,000 images)": 70_000, "CIFAR-10 (60,000 images)": 60_000}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--l4", required=True)
    parser.add_argument("--l23", default=None)
    parser.add_argument("--images", type=int, default=100, help="images per split (default 100)")
    parser.add_argument("-w", "--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        build = Path(tmp) / "build"
        # compile every worker's network once, on a tiny run
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "evaluate.py", "--l4", args.l4, *(["--l23", args.l23] if args.l23 else []),
                        "--limit", "4", "--repeats", "1", "--workers", str(max(args.workers)), "--out",
                        str(Path(tmp) / "warm"), "--build-root", str(build), "--no-progress"],
                       cwd=ROOT, check=True, capture_output=True)
        print(f"start-up with compiling ({max(args.workers)} workers): {time.perf_counter() - t0:.0f} s")
        for workers in args.workers:
            out = Path(tmp) / f"w{workers}"
            cmd = [sys.executable, "evaluate.py", "--l4", args.l4, *(["--l23", args.l23] if args.l23 else []),
                   "--limit", str(args.images), "--workers", str(workers), "--out", str(out), "--build-root",
                   str(build), "--no-progress"]
            proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
            if proc.returncode:
                sys.exit(proc.stderr[-2000:])
            timing = json.loads((out / "digits" / "metrics.json").read_text())["timing"]
            rate = timing["model_per_wall"]
            print(f"{workers} worker(s): {timing['model_time_s']:,.0f} s of model time in "
                  f"{timing['simulation_wall_time_s']:.1f} s: {rate:.0f} model s per wall s "
                  f"({timing['model_per_worker_second']:.0f} per worker once running)")
            for name, n in FULL.items():
                model_s = n * 4 * 10 * 0.125
                print(f"    {name}: {model_s / rate / 60:.0f} min for the trained network, "
                      f"{2 * model_s / rate / 60:.0f} min with the untrained baseline")


if __name__ == "__main__":
    main()
