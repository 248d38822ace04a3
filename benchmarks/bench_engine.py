#!/usr/bin/env python3
"""CPU time of the evaluation engine per presentation, in this checkout and in older ones,
measured alternately in one run, with a check that every checkout computes the same features.

    python benchmarks/bench_engine.py --l4 RUN [--l23 RUN] --before CHECKOUT [CHECKOUT ...]
                                      [--images 8] [--rounds 3] [--build-root DIR]

Each measurement is a process started in one checkout (``git worktree add DIR <commit>``)
that builds the frozen network of the trained snapshot with that checkout's code (compiled
once into a build folder of its own, outside the timing), then computes the features of the
same digits crops (4 crops x 10 repeats x 125 ms per image, the published protocol) with that
checkout's ``evaluation.simulate.features`` and reports the process's CPU seconds for it.
CPU time rather than wall time: on a shared machine the load inflates wall time far more.
The features of every checkout must be equal, bit for bit (else the script says which differ).

Printed: µs of CPU per 125-ms presentation per checkout and round (median), model seconds per
CPU second (= per wall second of one worker on an idle core), the ratios to each older
checkout, and the projected time of one network on Fashion-MNIST (70,000 images x 4 crops x
10 repeats = 350,000 s of model time) on 2 idle cores.
"""
import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FULL_MODEL_S = 70_000 * 4 * 10 * 0.125


def snapshot_spec(l4, l23, build_root) -> dict:
    """The evaluation's description of the latest snapshot of a trained run (layer 4, or layers
    4 + 2/3 with *l23*), as ``evaluation.simulate.features`` takes it. Only names that every
    checkout since the per-presentation loop has (the older checkouts run this code too)."""
    from evaluation.cli import _weights_hash
    from runs.snapshots import load_trained
    run = l23 or l4
    trained = load_trained(run, None)
    spec = dict(run=run, step=trained.snapshot.step, populations=["E", "I", "E2", "I2"] if l23 else ["E", "I"],
                delays=True, build_root=build_root, weights_sha256=_weights_hash(trained))
    if l23:
        spec.update(l4=str(trained.l4.folder), l4_step=trained.l4.step)
    return spec


def measure(args) -> None:
    """Inside a checkout (cwd): the features of args.images digits images, CPU seconds, hash."""
    import time
    sys.path.insert(0, str(Path.cwd()))
    import numpy as np
    from simulator.annarchy_env import hand_over_argv
    hand_over_argv([])
    from sklearn.datasets import load_digits
    from evaluation.protocol import Protocol
    from evaluation.simulate import features
    from runs.snapshots import model_of_run

    run = args.l23 or args.l4
    spec = snapshot_spec(args.l4, args.l23, args.build_root)
    protocol = Protocol.for_model(model_of_run(run))
    # digits crops scaled to the input's rates (whitening does not matter for the timing)
    digits = load_digits().images[:args.images + 1] / 16.0
    crops = np.zeros((len(digits), 4, protocol.crop, protocol.crop))
    crops[:, :, 5:13, 5:13] = digits[:, None] - digits.mean()
    on_off = np.stack([np.maximum(crops, 0), np.maximum(-crops, 0)], axis=-1)
    rates = on_off / np.abs(crops).max(axis=(1, 2, 3))[:, None, None, None, None] * protocol.max_rate_hz
    features(spec, rates[:1], np.arange(1), 1, 0, protocol)          # compile or load, outside the timing
    t0 = time.process_time()
    out = features(spec, rates[1:], np.arange(1, len(rates)), 1, 0, protocol)
    cpu = time.process_time() - t0
    h = hashlib.sha256()
    for pop in spec["populations"]:
        h.update(np.ascontiguousarray(out[pop], dtype=np.float64).tobytes())
    print(json.dumps({"cpu_s": cpu, "presentations": args.images * 4 * protocol.repeats,
                      "model_s": args.images * 4 * protocol.repeats * protocol.presentation_ms / 1000,
                      "features_sha256": h.hexdigest()}))


def run_in(checkout: Path, args, build: Path) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--measure", "--l4", str(Path(args.l4).resolve()),
           *(["--l23", str(Path(args.l23).resolve())] if args.l23 else []), "--images", str(args.images),
           "--build-root", str(build)]
    proc = subprocess.run(cmd, cwd=checkout, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"{checkout}: {' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--l4", required=True, help="trained layer-4 run")
    parser.add_argument("--l23", default=None, help="trained layer-2/3 run (layers 4 + 2/3)")
    parser.add_argument("--before", nargs="+", default=[], metavar="CHECKOUT", help="older checkouts")
    parser.add_argument("--images", type=int, default=8, help="digits images per measurement (default 8)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--build-root", default=None, metavar="DIR",
                        help="keep the compiled networks here, one folder per checkout (default: a temporary "
                             "folder); a second run then starts at once")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        return measure(args)
    checkouts = [Path(c).resolve() for c in args.before] + [ROOT]
    results = {c: [] for c in checkouts}
    with tempfile.TemporaryDirectory() as tmp:
        builds = Path(args.build_root or tmp).resolve()
        for r in range(args.rounds):
            for k, c in enumerate(checkouts):
                results[c].append(run_in(c, args, builds / f"{'l23' if args.l23 else 'l4'}-{k}-{c.name}"))
                print(f"round {r + 1}, {c}: {1e6 * results[c][-1]['cpu_s'] / results[c][-1]['presentations']:.0f} "
                      "µs of CPU per presentation", file=sys.stderr)
    hashes = {c: {x["features_sha256"] for x in results[c]} for c in checkouts}
    same = len(set().union(*hashes.values())) == 1
    what = "layers 4 + 2/3" if args.l23 else "layer 4"
    print(f"{what} of {args.l23 or args.l4}: {args.images} digits images x 4 crops x 10 repeats per measurement, "
          f"{args.rounds} alternating rounds; features identical in every checkout: {'yes' if same else 'NO'}")
    us = {c: [1e6 * x["cpu_s"] / x["presentations"] for x in results[c]] for c in checkouts}
    for c in checkouts:
        med = statistics.median(us[c])
        print(f"  {str(c):40s} {med:7.0f} µs CPU / presentation ({', '.join(f'{v:.0f}' for v in us[c])}); "
              f"{125e3 / med:5.0f} model s per CPU s; full Fashion-MNIST, one network, 2 idle cores: "
              f"{FULL_MODEL_S / (125e3 / med) / 2 / 60:.0f} min")
    for c in checkouts[:-1]:
        ratios = [b / a for a, b in zip(us[ROOT], us[c])]
        print(f"  this checkout / {c.name}: {', '.join(f'{x:.2f}' for x in ratios)} times faster per round")
    if not same:
        for c in checkouts:
            print(f"  features of {c}: {sorted(hashes[c])}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
