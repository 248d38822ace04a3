"""Sweeps: a grid of seeds x model variants, each trained, checked, analysed and evaluated.

    python -m experiments.sweep --seeds 2 3 --variants published leaky --patches 2000 --out sweeps/demo

Every member (one variant, one seed) runs the package's own commands in a process of its
own, exactly as a user would type them: ``ann_L4.py --model VARIANT --seed S
--stop-on-failure`` (the real trainer; a run whose early-failure check at patch 2,000
fails stops there, exit code 3, instead of training on), then ``analyze.py --quick`` on the
last snapshot and ``evaluate.py`` (digits) on it; a member that failed early is neither
analysed nor evaluated. So a member's weights are those of ``ann_L4.py`` with the same seed
(``tests/test_sweep.py``).

Members run on a Dask cluster: a local one by default (``--workers``, one process per
member at a time), or an existing one with ``--scheduler ADDRESS``. The sweep is
resumable: a finished step of a member is never redone, an interrupted training is
continued with ``--resume``, and running the same command again completes what is
missing (a member that failed early stays so). The table (``OUT/table.md``,
``OUT/results.json``) gives, per variant, the median and range over seeds of every measure,
and counts the failures: runs whose health check failed (``training.health``; stopped at
the check) and members whose commands failed. Failing runs are kept out of the medians and
listed.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from experiments.cluster import add_cluster_options, each_completed, run_command, study_client, worker_slot
from runs.options import UsageError
from training.health import EXIT_FAILED_EARLY

STEPS = ("train", "analysis", "evaluation")
FAILED_EARLY = "failed early"        # run.json status of a run stopped at a failing health check
# (label, where in the member's result, format) of the table's rows.
MEASURES = (
    ("E rate, last window (Hz)", ("rates", "E_hz"), ".2f"),
    ("I rate, last window (Hz)", ("rates", "I_hz"), ".2f"),
    ("E cells with a field", ("fields", "E"), "pct"),
    ("E fields Gabor-like (R² ≥ 0.7)", ("analysis", "E_gabor"), "pct"),
    ("E OSI, median", ("analysis", "E_osi"), ".2f"),
    ("digits accuracy, trained E+I", ("evaluation", "trained"), "pct"),
    ("digits accuracy, untrained E+I", ("evaluation", "untrained"), "pct"),
    ("training model/wall", ("timing", "model_per_wall"), ".2f"),
)


# -- one member (runs in a worker) --------------------------------------------------------------
def _status(run_dir: Path) -> str | None:
    try:
        return json.loads((run_dir / "run.json").read_text()).get("status")
    except (OSError, ValueError):
        return None


def run_member(variant: str, seed: int, out: str, patches: int, steps=STEPS, *, images=None, build_root=None,
               eval_limit: int = 300) -> dict:
    """Train, analyse and evaluate one member into ``out/<variant>/seed_<seed>``; returns its result.

    Steps already done are skipped; an interrupted training is resumed; a training that
    failed early (``--stop-on-failure``, exit code 3) is final: the member is neither
    analysed nor evaluated, and its result says ``health: failing``. Compile folders:
    ``<build_root>/<worker>/<step>`` (default build_root: ``out/build``): one worker runs
    one member at a time, and ANNarchy compiles again only when the generated code
    differs (a variant that changes only parameter values reuses the compiled network).
    """
    member = Path(out) / variant / f"seed_{seed}"
    run_dir, log = member / "L4", member / "log.txt"
    py = sys.executable
    images = ["--images", images] if images else []
    builds = Path(build_root or Path(out) / "build") / worker_slot()
    build = ["--build-dir", builds / "L4"]
    started = time.perf_counter()
    if "train" in steps:
        status = _status(run_dir)
        if status not in ("complete", FAILED_EARLY):
            resume = ["--resume"] if status in ("running", "interrupted") and (run_dir / "checkpoints").is_dir() \
                else ["--overwrite"]
            args = ["--out", run_dir, "--no-progress", "-j1", "--stop-on-failure"] + build
            if resume == ["--overwrite"]:
                args += ["--model", variant, "--seed", seed, "--patches", patches] + images
            run_command([py, "ann_L4.py"] + args + resume, log, accept=(0, EXIT_FAILED_EARLY))
    if _status(run_dir) == FAILED_EARLY:
        steps = ()                           # a failed network is not worth analysing
    if "analysis" in steps and not (member / "analysis" / "metrics.json").exists():
        build = ["--build-dir", builds / "analysis"]
        run_command([py, "analyze.py", run_dir, "--quick", "--report-dir", member / "analysis", "--seed", seed]
                    + images + build, log)
    if "evaluation" in steps and not (member / "evaluation" / "digits" / "metrics.json").exists():
        build = ["--build-root", builds / "evaluation"]
        run_command([py, "evaluate.py", "--l4", run_dir, "--dataset", "digits", "--limit", eval_limit,
                     "--workers", 1, "--out", member / "evaluation", "--no-progress", "--seed", seed] + build, log)
    result = collect_member(member)
    result.update(variant=variant, seed=seed, wall_s=time.perf_counter() - started)
    (member / "result.json").write_text(json.dumps(result, indent=1))
    return result


def collect_member(member: Path) -> dict:
    """The measures of a member folder (whatever of them exists)."""
    from models.criteria import has_field
    from runs.snapshots import SnapshotError, layer_of, load_snapshot
    run_dir = member / "L4"
    out = {"status": _status(run_dir)}
    record = json.loads((run_dir / "run.json").read_text()) if (run_dir / "run.json").exists() else {}
    out["health"] = (record.get("health") or {}).get("status", "not checked")
    out["timing"] = {"model_per_wall": record.get("model_per_wall")}
    out["model_hash"] = record.get("model", {}).get("hash")
    if (run_dir / "frExc.npy").exists():
        exc, inh = np.load(run_dir / "frExc.npy"), np.load(run_dir / "frInh.npy")
        out["rates"] = {"E_hz": float(exc[-1].mean()), "I_hz": float(inh[-1].mean())}
    try:
        layer = layer_of(run_dir)
        snap = load_snapshot(layer, run_dir)
        w_max = layer.spec("LGN_E").rule.wMax
        out["fields"] = {"E": float(np.mean(has_field(layer.model, snap.weights["LGN_E"], w_max)))}
        out["step"] = snap.step
    except SnapshotError:
        pass
    metrics = member / "analysis" / "metrics.json"
    if metrics.exists():
        m = json.loads(metrics.read_text())["populations"]["E"]
        out["analysis"] = {"E_gabor": m["gabor"].get("fraction_r2_ge_0.7"), "E_osi": m["tuning"].get("osi_median")}
    metrics = member / "evaluation" / "digits" / "metrics.json"
    if metrics.exists():
        acc = json.loads(metrics.read_text())["accuracy"]
        out["evaluation"] = {"trained": acc.get("trained E+I"), "untrained": acc.get("untrained E+I")}
    return out


# -- the table ----------------------------------------------------------------------------------
def _get(result: dict, path):
    value = result
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _fmt(x, fmt):
    return f"{100 * x:.1f} %" if fmt == "pct" else format(x, fmt)


def table(results: list, variants, seeds, patches: int) -> tuple[str, dict]:
    """Markdown table (median and range per variant over the members that did not fail) and its data."""
    summary = {}
    lines = [f"Sweep: {len(seeds)} seeds ({', '.join(map(str, seeds))}) x {len(variants)} variants, "
             f"{patches:,} patches each (layer 4). Median (range) over the seeds that did not fail.", "",
             "| measure | " + " | ".join(variants) + " |", "|---|" + "---|" * len(variants)]
    by_variant = {v: [r for r in results if r.get("variant") == v] for v in variants}
    for label, path, fmt in MEASURES:
        cells = []
        for v in variants:
            values = [_get(r, path) for r in by_variant[v] if not r.get("failed") and r.get("health") != "failing"]
            values = [x for x in values if x is not None]
            summary.setdefault(v, {})[label] = values
            if not values:
                cells.append("–")
                continue
            med, lo, hi = np.median(values), min(values), max(values)
            cells.append(f"{_fmt(med, fmt)} ({_fmt(lo, fmt)}–{_fmt(hi, fmt)})" if len(values) > 1 else _fmt(med, fmt))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    counts = []
    for v in variants:
        rs = by_variant[v]
        failed_health = [r["seed"] for r in rs if r.get("health") == "failing"]
        failed_run = [r["seed"] for r in rs if r.get("failed")]
        n_ok = len(rs) - len(failed_health) - len(failed_run)
        text = f"{n_ok} of {len(rs)} ok"
        if failed_health:
            text += f"; failed early: seed {', '.join(map(str, failed_health))}"
        if failed_run:
            text += f"; errors: seed {', '.join(map(str, failed_run))}"
        counts.append(text)
        summary[v]["failures"] = {"health": failed_health, "errors": failed_run}
    lines.append("| members | " + " | ".join(counts) + " |")
    checked = {r.get("health") for r in results}
    if checked <= {"not checked"}:
        lines += ["", f"The early-failure check runs at patch 2,000; these runs ({patches:,} patches) end "
                      "before it, so no run could be classed as failing."]
    return "\n".join(lines) + "\n", summary


# -- the sweep ----------------------------------------------------------------------------------
def main(argv=None) -> int:
    from models.variants import VARIANTS
    parser = argparse.ArgumentParser(prog="python -m experiments.sweep", description=__doc__.split("\n\n")[0],
                                     epilog="Outputs: OUT/<variant>/seed_<S>/ (L4/, analysis/, evaluation/, "
                                            "log.txt, result.json), OUT/table.md, OUT/results.json")
    parser.add_argument("--seeds", type=int, nargs="+", required=True, metavar="S")
    parser.add_argument("--variants", nargs="+", default=["published"], choices=tuple(VARIANTS), metavar="NAME",
                        help=f"named variants of models/variants.py ({', '.join(VARIANTS)})")
    parser.add_argument("--patches", type=int, required=True, metavar="N", help="patches per training run")
    parser.add_argument("--out", required=True, metavar="DIR")
    parser.add_argument("--steps", nargs="+", choices=STEPS, default=list(STEPS),
                        help="what each member does (default: all)")
    parser.add_argument("--images", default=None, metavar="PATH", help="training images (as ann_L4.py)")
    parser.add_argument("--eval-limit", type=int, default=300, metavar="N",
                        help="digits images per split in the evaluation (default: 300)")
    add_cluster_options(parser)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    members = [(v, s) for v in args.variants for s in args.seeds]

    try:
        results = run_members(members, args, out)
    except UsageError as exc:                # an unreachable scheduler
        print(f"error: {exc}", file=sys.stderr)
        return 2
    results.sort(key=lambda r: (args.variants.index(r["variant"]), r["seed"]))
    text, summary = table(results, args.variants, args.seeds, args.patches)
    (out / "table.md").write_text(text)
    (out / "results.json").write_text(json.dumps({"command": sys.argv, "patches": args.patches,
                                                   "members": results, "summary": summary}, indent=1))
    print(text)
    return 1 if any(r.get("failed") for r in results) else 0


def run_members(members, args, out: Path) -> list:
    """Every member's result, as each ends; a member that failed gets what its folder holds
    and its error (one member failing does not stop the sweep)."""
    images = str(Path(args.images).resolve()) if args.images else None     # members run in the repository
    build_root = str(Path(args.build_root).resolve()) if args.build_root else None
    results = []
    with study_client(args.workers, args.scheduler, len(members)) as (client, where):
        print(f"sweep: {len(members)} members ({len(args.variants)} variants x {len(args.seeds)} seeds) on {where}; "
              f"outputs in {out}", file=sys.stderr)
        for (v, s), result, error in each_completed(client, run_member, members, out=str(out.resolve()),
                                                    patches=args.patches, steps=tuple(args.steps), images=images,
                                                    build_root=build_root, eval_limit=args.eval_limit):
            if error is not None:
                result = dict(collect_member(out / v / f"seed_{s}"), variant=v, seed=s, failed=str(error))
                print(f"  {v} seed {s}: FAILED ({error})", file=sys.stderr)
            else:
                print(f"  {v} seed {s}: {result.get('status')}, health {result.get('health')}", file=sys.stderr)
            results.append(result)
    return results

if __name__ == "__main__":
    sys.exit(main())
