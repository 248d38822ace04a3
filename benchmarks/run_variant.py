"""One benchmark run in a fresh process: train a layer for N patches, print JSON.

Used by ``benchmarks/bench.py``; runs the package's real training loop
(ON/OFF balance, rate recording, snapshots at 0 and at the end only) so the
figures are what users get. Reports wall time of the loop, model time, steps
per second, peak resident memory (VmHWM) and the resident memory at the middle
and the end of the run (to show it stays flat), the mean E/I rates and the mean
and standard deviation of every plastic weight matrix at the end.
"""
import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _status_kib(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def main(argv=None):
    # numpy's BLAS would add its own threads to the count reported below.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--layer", choices=("L4", "L2_3"), required=True)
    parser.add_argument("--variant", choices=("fast", "literal"), required=True)
    parser.add_argument("--patches", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--images", default=str(ROOT.parent / "shared" / "data" / "IMAGES.mat"))
    parser.add_argument("--l4", default=None, help="layer-4 output folder (L2_3 only)")
    parser.add_argument("--out", default=None, help="keep the run's outputs here")
    args = parser.parse_args(argv)

    from simulator.annarchy_env import hand_over_argv
    hand_over_argv([])
    import numpy as np
    from input.images import load_images
    from input.patches import PatchSampler
    from models.layers import layers
    from models.parameters import PUBLISHED
    from simulator.network import build_network
    from models.schedule import Schedule
    from runs.snapshots import load_snapshot
    from training.trainer import Trainer

    layer = layers(PUBLISHED)[args.layer]
    model = layer.model
    frozen = load_snapshot(layer.frozen_from, Path(args.l4)).weights if layer.frozen_from else None
    network = build_network(layer, variant=args.variant, seed=args.seed, num_threads=args.threads,
                            build_dir=ROOT / "build" / f"bench-{layer.name}-{args.variant}-j{args.threads}",
                            weights=frozen)
    size = model.input.patch_size
    sampler = PatchSampler(load_images(args.images, patch_size=size), patch_size=size,
                           max_rate=model.input.max_rate, flip_probability=model.input.flip_probability,
                           rng=np.random.default_rng([args.seed, 0]))
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="v1bench-"))
    schedule = Schedule.for_run(args.patches, args.patches, layer.normalize_every, model.training.n_snapshots)
    trainer = Trainer(layer, network, sampler, schedule, out, progress=False)

    rss_mid = {}
    present_many = network.present_many

    def present_and_sample(rates):
        present_many(rates)
        if "kib" not in rss_mid and trainer.patch + len(rates) >= args.patches // 2:
            rss_mid["kib"] = _status_kib("VmRSS")
    network.present_many = present_and_sample
    timing = trainer.run()

    exc, inh = layer.rate_populations
    rates = trainer.rates.arrays()
    result = dict(
        layer=layer.name, variant=args.variant, patches=args.patches, threads=args.threads, seed=args.seed,
        wall_s=timing["wall_time_s"], model_s=timing["model_time_s"],
        model_per_wall=timing["model_per_wall"],
        steps_per_s=timing["model_time_s"] * 1000.0 / timing["wall_time_s"],
        peak_rss_mib=_status_kib("VmHWM") / 1024.0,
        rss_mid_mib=rss_mid.get("kib", 0) / 1024.0, rss_end_mib=_status_kib("VmRSS") / 1024.0,
        rate_E=float(rates[exc].mean()), rate_I=float(rates[inh].mean()),
        # Threads the process really runs (OpenMP keeps its pool after a parallel region).
        os_threads=len(os.listdir("/proc/self/task")),
        weights={s.name: [float(network.weights(s.name).mean()), float(network.weights(s.name).std())]
                 for s in layer.plastic},
        out=str(out),
    )
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
