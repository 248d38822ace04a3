#!/usr/bin/env python3
"""Where the time of one evaluation presentation goes: the per-presentation Python loop of the
earlier engine, section by section, against the kernel-run presentations of ``evaluate.py``.

    python benchmarks/profile_evaluation.py --l4 RUN [--l23 RUN] [--presentations 400] [--rounds 3]

Builds the frozen network of the trained snapshot as the evaluation does (compiled once into
``build/``), shows the same crops (random whitened-like rates, 10 repeats each) both ways,
alternating round by round, and prints microseconds per 125-ms presentation of the process's
CPU time (a shared machine's load inflates wall time, less so CPU time):

* loop: reset to the initial state, reseed, set the rates, ``simulate`` (the kernel, with
  ANNarchy's own Poisson draws), and reading the spike monitors; one Python round trip each;
* kernel: ``present_from_initial`` for the whole block (reset, reseed, rates and spike counts
  in the kernel, the Poisson draws from the block generator).

Both give the same spike counts (checked here too, and in tests/test_presentations.py).
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def loop(network, rates, seeds, monitors, sections):
    """The earlier engine, section by section."""
    dt = network.model.dt
    steps = network.steps_per_patch
    start = network.net.current_step
    clock = time.process_time
    for r, seed in zip(rates, seeds):
        t0 = clock()
        for pop in network.pops.values():
            pop.cyInstance.restore_initial()
        for proj in network.projs.values():
            if hasattr(proj.cyInstance, "clear_delayed_spikes"):
                proj.cyInstance.clear_delayed_spikes()
        t1 = clock()
        network.reseed(seed)
        t2 = clock()
        network.pops["P"].rates = r
        t3 = clock()
        network._simulate(steps * dt)
        t4 = clock()
        for key, seconds in zip(("reset", "reseed", "rates", "simulate (kernel)"), (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            sections[key] = sections.get(key, 0.0) + seconds
    t0 = clock()
    counts = {}
    for name, mon in monitors.items():
        c = np.zeros((len(rates), network.pops[name].size), dtype=np.int64)
        for rank, times in mon.get("spike").items():
            if len(times):
                np.add.at(c[:, rank], (np.asarray(times, dtype=np.int64) - start) // steps, 1)
        counts[name] = c
    sections["monitors"] = sections.get("monitors", 0.0) + time.process_time() - t0
    return counts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--l4", required=True, help="trained layer-4 run")
    parser.add_argument("--l23", default=None, help="trained layer-2/3 run (layers 4 + 2/3)")
    parser.add_argument("--presentations", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--build-root", default=str(ROOT / "build"))
    args = parser.parse_args(argv)
    from simulator.annarchy_env import hand_over_argv
    hand_over_argv([])
    from benchmarks.bench_engine import snapshot_spec
    from evaluation.simulate import network_for
    spec = snapshot_spec(args.l4, args.l23, args.build_root)
    run, pops = spec["run"], spec["populations"]
    network = network_for(spec)
    rng = np.random.default_rng(0)
    ps, max_rate = network.model.input.patch_size, network.model.input.max_rate
    crops = rng.normal(0.0, 1.0, size=(args.presentations // 10, ps, ps))
    crops = crops / np.abs(crops).max(axis=(1, 2), keepdims=True) * max_rate
    rates = np.repeat(np.stack([np.maximum(crops, 0), np.maximum(-crops, 0)], axis=-1), 10, axis=0)
    seeds = [int(s) for s in rng.integers(0, 2**32, size=len(rates))]
    monitors = {p: network.net.monitor(network.pops[p], ["spike"]) for p in pops}
    n = len(rates)
    loop_sections, kernel = [], []
    for _ in range(args.rounds):
        sections = {}
        for mon in monitors.values():
            mon.get("spike")
        counts_loop = loop(network, rates, seeds, monitors, sections)
        loop_sections.append(sections)
        t0 = time.process_time()
        counts_kernel = network.present_from_initial(rates, seeds)
        kernel.append(time.process_time() - t0)
        for p in pops:
            if not np.array_equal(counts_loop[p], counts_kernel[p]):
                sys.exit(f"{p}: the two engines disagree")
    for mon in monitors.values():
        mon.get("spike")
    us = 1e6 / n
    print(f"{run}: {n} presentations x {args.rounds} rounds, CPU µs per presentation (median; rounds)")
    keys = list(loop_sections[0])
    for key in keys:
        values = [s[key] * us for s in loop_sections]
        print(f"  loop   {key:20s} {statistics.median(values):8.0f}   " + " ".join(f"{v:.0f}" for v in values))
    totals = [sum(s.values()) * us for s in loop_sections]
    print(f"  loop   {'total':20s} {statistics.median(totals):8.0f}   " + " ".join(f"{v:.0f}" for v in totals))
    values = [k * us for k in kernel]
    print(f"  kernel {'total':20s} {statistics.median(values):8.0f}   " + " ".join(f"{v:.0f}" for v in values))
    print(f"  loop / kernel: " + ", ".join(f"{t / k:.2f}" for t, k in zip(totals, values))
          + f"; kernel: {125e3 / statistics.median(values):.0f} model s per CPU s")


if __name__ == "__main__":
    main()
