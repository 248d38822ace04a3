"""One table across training runs: ``analyze.py`` reports of several seeds side by side.

    python -m analysis.across_seeds REPORT [REPORT ...] --failing REPORT [...] --out DIR

REPORT is an ``analyze.py`` report folder of a complete run (its ``metrics.json``; the run's
``run.json`` gives the seed). Healthy runs are summarised by their median and range; failing
runs (``--failing``: the runs the training warned about) get rows of their own, labelled.
Writes ``across_seeds.json`` and ``across_seeds.md`` into DIR (``across_seeds_L2_3.*`` for
layer-2/3 reports, with the measures of E2 and I2).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from runs.files import atomic_write, save_json

# (label, population, path in metrics.json, format)
ROWS = [
    ("E cells with a field (a weight ≥ wMax/2)", "E", ("gabor", "fraction_with_field"), "pct"),
    ("I cells with a field", "I", ("gabor", "fraction_with_field"), "pct"),
    ("E: Gabor fit R², median", "E", ("gabor", "r2_median"), ".2f"),
    ("E: Gabor fit R² ≥ 0.7", "E", ("gabor", "fraction_r2_ge_0.7"), "pct"),
    ("I: Gabor fit R², median", "I", ("gabor", "r2_median"), ".2f"),
    ("E: Ringach nx / ny, median", "E", (("gabor", "nx_median"), ("gabor", "ny_median")), "pair"),
    ("E: OSI (1 − circular variance), median", "E", ("tuning", "osi_median"), ".2f"),
    ("I: OSI, median", "I", ("tuning", "osi_median"), ".2f"),
    ("E: half-width at 1/√2, full contrast, median", "E", ("tuning", "half_width_median_deg"), "deg"),
    ("E: orientation bandwidth (full width at half height), median", "E", ("tuning", "bandwidth_median_deg"), "deg"),
    ("E: half-width at contrast 0.1 / 0.3 / 1, median", "E", "contrast", "pair_deg"),
    ("E: population sparseness, natural patches (mean)", "E", ("sparseness", "population_mean"), ".2f"),
    ("I: population sparseness (mean)", "I", ("sparseness", "population_mean"), ".2f"),
    ("E / I: mean rate on natural patches", "E", ("E", "I"), "rates"),
    ("E: STA vs weight field, median correlation", "E", ("sta", "correlation_median"), ".2f"),
]
# Layer-2/3 reports (their metrics hold E2 and I2): the measures of the new layer.
ROWS_L23 = [
    ("E2: OSI, median", "E2", ("tuning", "osi_median"), ".2f"),
    ("I2: OSI, median", "I2", ("tuning", "osi_median"), ".2f"),
    ("E2: half-width at 1/√2, full contrast, median", "E2", ("tuning", "half_width_median_deg"), "deg"),
    ("E2: orientation bandwidth (full width at half height), median", "E2", ("tuning", "bandwidth_median_deg"), "deg"),
    ("E2: half-width at contrast 0.1 / 0.3 / 1, median", "E2", "contrast", "pair_deg"),
    ("E2: population sparseness, natural patches (mean)", "E2", ("sparseness", "population_mean"), ".2f"),
    ("I2: population sparseness (mean)", "I2", ("sparseness", "population_mean"), ".2f"),
    ("E2 / I2: mean rate on natural patches", "E2", ("E2", "I2"), "rates"),
    ("E2: STA vs effective field, median correlation", "E2", ("sta", "correlation_median"), ".2f"),
]


# The orientation step of the full protocol (analysis.analyze.FULL): 36 orientations over 180°.
ORIENTATION_STEP_DEG = 5.0


def _get(metrics, pop, path):
    node = metrics["populations"][pop]
    for key in path:
        node = node[key]
    return node


def values(metrics: dict, row) -> tuple:
    label, pop, path, kind = row
    if path == "contrast":
        by = metrics["populations"][pop]["tuning"]["half_width_median_deg_by_contrast"]
        return tuple(by.get(k) for k in ("0.1", "0.3", "1"))
    if kind == "rates":
        return tuple(_get(metrics, p, ("sparseness", "mean_rate_hz")) for p in path)
    if kind == "pair":
        return tuple(_get(metrics, pop, p) for p in path)
    return (_get(metrics, pop, path),)


def _fmt(value, kind) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if kind == "pct":
        return f"{100 * value:.0f} %"
    if kind in ("deg", "pair_deg"):
        # the interpolated half-width does not resolve widths below the orientation step
        return f"< {ORIENTATION_STEP_DEG:g}°" if value < ORIENTATION_STEP_DEG else f"{value:.1f}°"
    if kind == "rates":
        return f"{value:.1f} Hz"
    if kind == "pair":
        return f"{value:.2f}"
    return format(value, kind)


def _cell(vals, kind) -> str:
    return " / ".join(_fmt(v, kind) for v in vals)


def _summary(columns, kind) -> str:
    """median (min–max) of each component over the healthy runs."""
    parts = []
    for k in range(len(columns[0])):
        v = np.array([c[k] for c in columns], dtype=float)
        parts.append(f"{_fmt(float(np.median(v)), kind)} ({_fmt(float(v.min()), kind)}–{_fmt(float(v.max()), kind)})")
    return " / ".join(parts)


def load(report: Path) -> dict:
    metrics = json.loads((report / "metrics.json").read_text())
    run = json.loads((Path(metrics["out_dir"]) / "run.json").read_text())
    return {"report": str(report), "metrics": metrics, "seed": run["seed"], "patches": run["patches"],
            "health": run.get("health", {}).get("status")}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.across_seeds", description=__doc__.split("\n\n")[0])
    parser.add_argument("reports", nargs="+")
    parser.add_argument("--failing", nargs="*", default=[])
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    healthy = [load(Path(r)) for r in args.reports]
    failing = [load(Path(r)) for r in args.failing]
    layer23 = [("E2" in r["metrics"]["populations"]) for r in healthy + failing]
    if len(set(layer23)) > 1:
        parser.error("give reports of one layer: layer-4 runs or layer-2/3 runs, not both")
    rows, name = (ROWS_L23, "across_seeds_L2_3") if layer23[0] else (ROWS, "across_seeds")
    what = "seeds" if layer23[0] else "healthy seeds"
    header = ["after 400,000 patches", f"{what} {', '.join(str(h['seed']) for h in healthy)}: median (range)"] + \
             [f"seed {f['seed']} (failing)" for f in failing]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    table = []
    for row in rows:
        label, kind = row[0], row[3]
        cols = [values(h["metrics"], row) for h in healthy]
        fails = [values(f["metrics"], row) for f in failing]
        lines.append("| " + " | ".join([label, _summary(cols, kind)] + [_cell(f, kind) for f in fails]) + " |")
        table.append({"measure": label, "healthy": {str(h["seed"]): c for h, c in zip(healthy, cols)},
                      "failing": {str(f["seed"]): c for f, c in zip(failing, fails)}})
    out = Path(args.out)
    save_json(out / f"{name}.json", {"healthy_seeds": [h["seed"] for h in healthy],
                                          "failing_seeds": [f["seed"] for f in failing],
                                          "reports": [h["report"] for h in healthy + failing], "rows": table})
    text = "\n".join(lines) + "\n"
    atomic_write(out / f"{name}.md", lambda f: f.write(text.encode()))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
