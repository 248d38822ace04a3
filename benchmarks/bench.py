#!/usr/bin/env python3
"""Speed and equivalence of the fast and the literal learning-rule variants.

    python benchmarks/bench.py --patches 2000 --literal-patches 80 -j 1 2 --l4 output_L4   # speed table
    python benchmarks/bench.py --equivalence --patches 2000    # network-level equivalence

Each variant runs in its own fresh process (so peak memory is its own), back to
back, on the same seed and the same patch stream. Speed: model seconds per wall
second, simulation steps per second, peak resident memory, and the ratio
fast/literal. Equivalence: mean E and I rates and the mean and standard
deviation of every plastic weight matrix for the literal variant (seed S), the
fast variant (seed S) and the literal variant with seed S+1 (the seed-to-seed
variation the fast-vs-literal difference is judged against).
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(layer, variant, patches, threads, seed, l4=None, out=None):
    cmd = [sys.executable, str(ROOT / "benchmarks" / "run_variant.py"), "--layer", layer, "--variant", variant,
           "--patches", str(patches), "--threads", str(threads), "--seed", str(seed)]
    if l4:
        cmd += ["--l4", str(l4)]
    if out:
        cmd += ["--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    sys.exit(f"benchmark run failed ({' '.join(cmd)}):\n{proc.stderr[-3000:]}")


def speed_line(r):
    return (f"  {r['layer']:5s} {r['variant']:8s} -j{r['threads']} ({r.get('os_threads', '?')} OS threads)  "
            f"{r['patches']:6d} patches  "
            f"model/wall {r['model_per_wall']:7.2f}  steps/s {r['steps_per_s']:9.0f}  "
            f"peak RSS {r['peak_rss_mib']:6.0f} MiB (mid {r['rss_mid_mib']:.0f}, end {r['rss_end_mib']:.0f})  "
            f"E {r['rate_E']:.2f} Hz  I {r['rate_I']:.2f} Hz")


def speed(args):
    """Both variants of every layer at every thread count, in one run: a markdown table."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        l4_out = Path(args.l4) if args.l4 else Path(tmp) / "l4"
        if "L2_3" in args.layers and not args.l4:
            # Layer 2/3 needs trained layer-4 weights: a fast layer-4 run of the same length.
            run("L4", "fast", args.patches, 1, args.seed, out=l4_out)
        for layer in args.layers:
            for threads in args.threads:
                results = {}
                for variant in ("literal", "fast"):
                    n = args.patches if variant == "fast" else args.literal_patches or args.patches
                    results[variant] = run(layer, variant, n, threads, args.seed,
                                           l4=l4_out if layer == "L2_3" else None)
                    print(speed_line(results[variant]), flush=True)
                rows.append((layer, threads, results))
    print("\n| layer, threads (patches fast / literal) | literal (model s / wall s) | fast (model s / wall s) "
          "| fast / literal | peak RSS (fast: peak, mid-run, end) | 400,000 patches (fast) |")
    print("|---|---|---|---|---|---|")
    for layer, threads, r in rows:
        lit, fast = r["literal"], r["fast"]
        full = 400_000 * 0.125 / fast["model_per_wall"]
        print(f"| {layer}, `-j{threads}` ({fast['patches']:,} / {lit['patches']:,}) | {lit['model_per_wall']:.2f} | "
              f"{fast['model_per_wall']:.1f} | {fast['model_per_wall'] / lit['model_per_wall']:.0f}x | "
              f"{fast['peak_rss_mib']:.0f} / {fast['rss_mid_mib']:.0f} / {fast['rss_end_mib']:.0f} MiB | "
              f"{full / 60:.0f} min |")


def equivalence(args):
    layer = "L4"
    rows = [("literal", args.seed), ("fast", args.seed), ("literal", args.seed + 1)]
    results = [run(layer, v, args.patches, args.threads[0], s) for v, s in rows]
    for r in results:
        print(speed_line(r), flush=True)
    lit, fast, lit2 = results
    names = list(lit["weights"])
    print(f"\n{layer}, {args.patches} patches: statistic | literal s{args.seed} | fast s{args.seed} | "
          f"literal s{args.seed + 1} | |fast-literal| | |seed-to-seed|")
    ok = True

    def row(label, a, b, c):
        nonlocal ok
        d_fast, d_seed = abs(b - a), abs(c - a)
        ok &= d_fast <= max(d_seed, 1e-12)
        print(f"  {label:18s} {a:12.6g} {b:12.6g} {c:12.6g} {d_fast:12.3g} {d_seed:12.3g}")

    row("rate E (Hz)", lit["rate_E"], fast["rate_E"], lit2["rate_E"])
    row("rate I (Hz)", lit["rate_I"], fast["rate_I"], lit2["rate_I"])
    for n in names:
        row(f"{n} mean", lit["weights"][n][0], fast["weights"][n][0], lit2["weights"][n][0])
        row(f"{n} std", lit["weights"][n][1], fast["weights"][n][1], lit2["weights"][n][1])
    print("equivalence: every |fast-literal| is within the seed-to-seed difference: " + ("yes" if ok else "NO"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patches", type=int, default=400)
    parser.add_argument("--literal-patches", type=int, default=None,
                        help="patches for the (slow) literal variant in the speed test (default: --patches)")
    parser.add_argument("-j", "--threads", type=int, nargs="+", default=[1, 2],
                        help="thread counts, each run with exactly that many threads (default: 1 2)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--layers", nargs="+", default=["L4", "L2_3"], choices=["L4", "L2_3"])
    parser.add_argument("--l4", default=None, metavar="DIR",
                        help="layer 2/3: train on this layer-4 run's latest snapshot (e.g. a complete "
                             "output_L4; its cells fire as in real use) instead of a short layer-4 run")
    parser.add_argument("--equivalence", action="store_true", help="network-level equivalence (layer 4)")
    args = parser.parse_args(argv)
    equivalence(args) if args.equivalence else speed(args)


if __name__ == "__main__":
    main()
