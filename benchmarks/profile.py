#!/usr/bin/env python3
"""Where the milliseconds of a patch go: ANNarchy's --profile of the training scripts.

    python benchmarks/profile.py --l4 output_L4 [--before /path/to/older/checkout]

Runs ``ann_L4.py`` (2,000 patches) and ``ann_L2_3.py`` (1,000 patches, on the complete layer
4 given with --l4) with ``--profile`` in this checkout and, with --before, in another one
(e.g. ``git worktree add /tmp/before <commit>``), one thread, seed 2, and prints ms per patch
of every population and projection step (ANNarchy's timers, summed over the run), the fast
kernels' own section timers where the checkout has them, and the kernel total. Run it on a
quiet machine; compare the two columns of one run.
"""
import argparse
import collections
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT.parent / "shared" / "data" / "IMAGES.mat"


def profile(checkout: Path, script: str, patches: int, extra, tmp: Path) -> dict:
    out, prof = tmp / f"{checkout.name}-{script}-out", tmp / f"{checkout.name}-{script}-prof"
    cmd = [sys.executable, script, "--images", str(IMAGES), "--out", str(out), "--build-dir",
           str(tmp / f"{checkout.name}-{script}-build"), "--no-progress", "--patches", str(patches), "--save-every",
           str(patches), "--seed", "2", "-j", "1", "--profile", "--profile-out", str(prof), *extra]
    proc = subprocess.run(cmd, cwd=checkout, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    totals = collections.Counter()
    for path in prof.glob("profile_*.csv"):
        for row in csv.reader(path.open()):
            try:
                totals[row[0]] += float(row[1])
            except (IndexError, ValueError):
                pass
    result = {k: 1000.0 * v / patches for k, v in totals.items()}
    sections = out / "profile_sections.json"
    if not sections.is_file():
        sections = prof / "profile_sections.json"
    if sections.is_file():
        for proj, times in json.loads(sections.read_text())["ms_per_patch"].items():
            for name, ms in times.items():
                result[f"  {proj}: {name}"] = ms
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--l4", required=True, help="a complete layer-4 run, for layer 2/3")
    parser.add_argument("--before", default=None, help="another checkout, profiled with the same commands")
    parser.add_argument("--l4-patches", type=int, default=2000)
    parser.add_argument("--l23-patches", type=int, default=1000)
    args = parser.parse_args(argv)
    checkouts = [Path(args.before).resolve()] if args.before else []
    checkouts.append(ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        for script, patches, extra in (("ann_L4.py", args.l4_patches, []),
                                       ("ann_L2_3.py", args.l23_patches, ["--l4", str(Path(args.l4).resolve())])):
            columns = [profile(c, script, patches, extra, Path(tmp)) for c in checkouts]
            keys = sorted(set().union(*columns), key=lambda k: -max(c.get(k, 0.0) for c in columns))
            print(f"\n{script}, ms per patch (one thread, {patches} patches): "
                  + " | ".join(("before", "now")[-len(columns):]))
            for k in keys:
                values = [c.get(k) for c in columns]
                if max(v or 0.0 for v in values) < 0.01:
                    continue
                print(f"  {k:48s} " + " | ".join(f"{v:7.3f}" if v is not None else "      -" for v in values))


if __name__ == "__main__":
    main()
