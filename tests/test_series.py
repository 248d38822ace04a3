"""analysis.series: the development figure of several snapshots, on hand-made files."""
import json

import numpy as np

from analysis import series
from models.layers import layer4

LAYER4 = layer4()                # the published model's layer 4


def _metrics(step, gabor_e):
    pop = lambda g: {"gabor": {"fraction_r2_ge_0.7": g, "r2_median": 0.5},  # noqa: E731
                     "tuning": {"osi_median": 0.3, "half_width_median_deg": 20.0, "fraction_responsive": 0.5},
                     "sparseness": {"population_mean": 0.7, "mean_rate_hz": 5.0}}
    return {"step": step, "quick": True, "populations": {"E": pop(gabor_e), "I": pop(0.1)}}


def test_field_fraction_and_series(tmp_path):
    out = tmp_path / "run"
    shapes = LAYER4.snapshot_shapes()
    reports = []
    for step, n_with_field in ((0, 0), (100, 81)):
        for rel, shape in shapes.items():
            w = np.full(shape, 0.1)
            if rel == "excitatory/V1weight":
                w[:n_with_field, 7] = 2.6          # wMax(LGN->E) = 5: above half
                w[n_with_field:, 7] = 2.4          # below half
            path = out / f"{rel}_{step}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savetxt(path, w)
        rd = tmp_path / f"report_{step}"
        rd.mkdir()
        r2 = np.zeros(324)
        r2[:40] = 0.8                                 # 40 Gabor-like cells, all with a field at step 100
        np.savez(rd / "cells.npz", E_gabor_r2=r2, I_gabor_r2=np.zeros(81))
        (rd / "metrics.json").write_text(json.dumps(_metrics(step, 0.02 * (step > 0))))
        reports.append(rd)
    assert series.field_fraction(out, 100, "E") == 81 / 324
    assert series.field_fraction(out, 0, "E") == 0.0
    assert series.main([str(out), *map(str, reversed(reports)), "--out", str(tmp_path / "fig")]) == 0
    saved = json.loads((tmp_path / "fig" / "series.json").read_text())
    assert [r["step"] for r in saved["snapshots"]] == [0, 100]
    assert saved["snapshots"][1]["E"]["fraction_with_field"] == 0.25
    assert saved["snapshots"][1]["E"]["fraction_gabor_r2_ge_0.7_of_cells_with_field"] == 40 / 81
    assert saved["snapshots"][0]["E"]["fraction_gabor_r2_ge_0.7_of_cells_with_field"] == 0.0
    assert (tmp_path / "fig" / "series.png").read_bytes()[:4] == b"\x89PNG"
