"""How the learned fields develop over training: one figure and one JSON from the
reports of several snapshots of the same run.

    python -m analysis.series output_L4 REPORT_DIR [REPORT_DIR ...] --out DIR

Each REPORT_DIR is an ``analyze.py`` report (its ``metrics.json`` names the
snapshot). Besides the report's numbers, the weights of each snapshot give the
fraction of cells that kept a field: cells with at least one LGN weight above
half of wMax (the other cells lost their feed-forward input during training and
stay silent; their weight fields are noise, which no Gabor fits).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models import criteria  # noqa: E402
from models.layers import layer4  # noqa: E402
from runs import files  # noqa: E402
from runs.snapshots import model_of_run, read_matrix  # noqa: E402

_FIELD_PROJ = {"E": "LGN_E", "I": "LGN_I"}


def has_field(out_dir: Path, step: int, pop: str) -> np.ndarray:
    """Per *pop* cell: does it have a field (``models.criteria.has_field``) at *step*?"""
    name = _FIELD_PROJ[pop]
    layer = layer4(model_of_run(out_dir))
    w = read_matrix(layer.snapshot_path(out_dir, name, step))
    return criteria.has_field(layer.model, w, layer.spec(name).rule.wMax)


def field_fraction(out_dir: Path, step: int, pop: str) -> float:
    """Fraction of *pop* cells with a field at *step*."""
    return float(np.mean(has_field(out_dir, step, pop)))


def collect(out_dir: Path, report_dirs) -> list[dict]:
    rows = []
    for rd in report_dirs:
        m = json.loads((Path(rd) / "metrics.json").read_text())
        row = {"step": m["step"], "report": str(rd), "quick": m["quick"]}
        cells = np.load(Path(rd) / "cells.npz")
        for pop in ("E", "I"):
            p = m["populations"][pop]
            field = has_field(out_dir, m["step"], pop)
            good = cells[f"{pop}_gabor_r2"] >= 0.7
            row[pop] = {
                "fraction_gabor_r2_ge_0.7": p["gabor"]["fraction_r2_ge_0.7"],
                "fraction_gabor_r2_ge_0.7_of_cells_with_field": float(good[field].mean()) if field.any() else 0.0,
                "gabor_r2_median": p["gabor"]["r2_median"],
                "fraction_with_field": float(field.mean()),
                "osi_median": p["tuning"]["osi_median"],
                "half_width_median_deg": p["tuning"]["half_width_median_deg"],
                "fraction_responsive": p["tuning"]["fraction_responsive"],
                "population_sparseness": p["sparseness"]["population_mean"],
                "mean_rate_hz": p["sparseness"]["mean_rate_hz"],
            }
        rows.append(row)
    return sorted(rows, key=lambda r: r["step"])


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from analysis.figures import COLOURS, FONT, _save

    steps = np.array([r["step"] for r in rows]) / 1000.0
    panels = [("fraction_gabor_r2_ge_0.7", "fraction of cells", "Gabor-like fields (R² ≥ 0.7)"),
              ("fraction_with_field", "fraction of cells", "cells with a field (max w ≥ wMax/2)"),
              ("osi_median", "median OSI", "orientation selectivity"),
              ("population_sparseness", "mean population sparseness", "sparseness (natural patches)")]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 3.2), layout="constrained")
    for ax, (key, ylabel, title) in zip(axes, panels):
        for pop in ("E", "I"):
            ax.plot(steps, [r[pop][key] for r in rows], "o-", color=COLOURS[pop], label=pop)
            if key == "fraction_gabor_r2_ge_0.7":
                ax.plot(steps, [r[pop][key + "_of_cells_with_field"] for r in rows], "o--", color=COLOURS[pop],
                        mfc="white", label=f"{pop}, of cells with a field")
        ax.set_xlabel("patches presented (thousands)")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.set_ylim(0, 1)
    axes[0].legend(frameon=False, fontsize=FONT - 2)
    return _save(fig, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.series", description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", help="the layer-4 run (weights)")
    parser.add_argument("reports", nargs="+", help="analyze.py report folders of its snapshots")
    parser.add_argument("--out", required=True, help="folder for series.png and series.json")
    args = parser.parse_args(argv)
    rows = collect(Path(args.out_dir), args.reports)
    out = Path(args.out)
    files.save_json(out / "series.json", {"run": args.out_dir, "snapshots": rows,
                                          "wMax": {k: layer4(model_of_run(args.out_dir)).spec(v).rule.wMax
                                                  for k, v in _FIELD_PROJ.items()}})
    plot(rows, out / "series.png")
    for r in rows:
        print(f"{r['step']:>7}: E Gabor {r['E']['fraction_gabor_r2_ge_0.7']:.3f} "
              f"(of fields {r['E']['fraction_gabor_r2_ge_0.7_of_cells_with_field']:.3f}) field {r['E']['fraction_with_field']:.2f} "
              f"OSI {r['E']['osi_median']:.2f} | I Gabor {r['I']['fraction_gabor_r2_ge_0.7']:.3f} "
              f"field {r['I']['fraction_with_field']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
